// URLs as the crawler sees them: absolute http(s) URLs in one normal form,
// and the links of a page resolved against the page's URL (RFC 3986).
//
// Pure functions, no state: thread-safe (libcurl's URL API needs no global
// initialization).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fsml::crawl {

// The longest URL accepted, as given and after normalization.
inline constexpr size_t kMaxUrlBytes = 8 * 1024;

// An absolute http(s) URL in normal form. Two URLs that name the same
// resource in the ways below compare equal as strings (the crawler's seen-set
// key): scheme and host lowercased, the scheme's default port dropped,
// fragment dropped, empty path -> "/", dot segments resolved, percent-escapes
// of unreserved characters decoded and the others' hex uppercased, bytes that
// may not appear in a path or query (non-ASCII, '"', '<', '>', '\', '^', '`',
// '{', '|', '}', '[', ']') percent-encoded, query parameters sorted by name
// (stable: repeated names keep their order; UrlOptions turns it off), an
// empty query ("?") dropped.
//
// Invariant: ParseUrl(u.ToString(), o) gives u back for the same options o.
struct Url {
  std::string scheme;  // "http" | "https"
  std::string host;    // lowercase letters, digits, '-', '_', '.'; or an IPv6 literal in brackets "[::1]"
  int port = 0;        // explicit or the scheme's default (80/443)
  std::string target;  // path + optional "?query", starts with "/"

  std::string Origin() const;    // "http://shop.example:8080" (port only when not default)
  std::string ToString() const;  // Origin() + target
  std::string Path() const;      // target without the query

  friend bool operator==(const Url&, const Url&) = default;
};

struct UrlOptions {
  // "?b=2&a=1" and "?a=1&b=2" name one resource on most sites; on a site
  // where order matters, turn it off.
  bool sort_query = true;
};

// How NormalizePercentEscapes treats a path, a query or a robots.txt pattern.
struct PercentRules {
  bool question_mark = false;    // '?' stays as it is (a query; robots.txt)
  std::string_view also_escape;  // bytes escaped although a path allows them (robots.txt: "*$")
  bool lenient = false;          // a '%' that starts no escape becomes "%25" instead of an error
};

// The percent-normal form Url keeps paths and queries in: escapes of
// unreserved characters decoded, the others' hex uppercased, bytes outside
// RFC 3986's pchar set (plus '/', and '?' per `rules`) escaped. nullopt on a
// '%' that starts no escape (unless lenient); `*bad` is then the offending text.
std::optional<std::string> NormalizePercentEscapes(std::string_view s, const PercentRules& rules,
                                                   std::string* bad = nullptr);

// Parses an absolute URL and normalizes it.
// Errors, all InvalidArgument naming the URL ("<problem> in '<url>'"): not
// http or https ("unsupported scheme 'ftp' in 'ftp://x/'"), no scheme, no
// "//" and host, an empty or invalid host, a non-ASCII host (IDN is not
// supported: give the xn-- form), an IPv6 zone id, userinfo ("user:pass@"),
// over kMaxUrlBytes (as given or once normalized), a space or control
// character, a port that is not 1-65535, a '%' not followed by two hex digits.
Result<Url> ParseUrl(std::string_view absolute, const UrlOptions& options = {});

// Resolves an href found in a page (relative, root-relative, protocol-relative
// "//host/x", absolute) against `base` per RFC 3986 §5.2, then normalizes.
// As browsers do: leading and trailing whitespace and control characters are
// trimmed, tabs and line breaks inside are removed, spaces inside become
// "%20", and "http:g" (the base's own scheme without "//") is read as the
// relative "g" (RFC 3986 §5.4.2's backward-compatible reading).
// A fragment-only ref ("#x") resolves to `base` itself.
// Errors, all InvalidArgument naming the ref: an empty ref, javascript:,
// mailto:, data:, tel: and every other non-http(s) scheme, and what ParseUrl
// refuses in the result.
Result<Url> ResolveUrl(const Url& base, std::string_view ref, const UrlOptions& options = {});

}  // namespace fsml::crawl
