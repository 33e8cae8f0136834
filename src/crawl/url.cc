// URL parsing and RFC 3986 resolution with libcurl's URL API (curl_url);
// the normal form (crawl/url.h) on top of what curl gives back.
#include "crawl/url.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"

namespace fsml::crawl {
namespace {

using CurlUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

constexpr size_t kQuoteBytes = 200;  // of a URL quoted in a message

// `s` for a message: cut at kQuoteBytes, bytes outside printable ASCII as \xNN.
std::string Quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kQuoteBytes; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kQuoteBytes) out += "...";
  return out + "'";
}

// "<problem> in '<input>' (<hint>)"
tl::unexpected<Status> Bad(std::string_view problem, std::string_view input, std::string_view hint = {}) {
  std::string m = std::string(problem) + " in " + Quote(input);
  if (!hint.empty()) m += " (" + std::string(hint) + ")";
  return Err(InvalidArgument(std::move(m)));
}

tl::unexpected<Status> UnsupportedScheme(std::string_view scheme, std::string_view input) {
  return Bad("unsupported scheme '" + std::string(scheme) + "'", input, "only http and https are crawled");
}

tl::unexpected<Status> TooLong(size_t size, std::string_view what, std::string_view input) {
  return Bad(std::to_string(size) + " bytes" + std::string(what), input,
             "the limit is " + std::to_string(kMaxUrlBytes));
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSubDelim(char c) { return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos; }

// The RFC 3986 scheme `s` starts with, lowercased; nullopt when it has none
// (a ':' before any '/', '?' or '#' after ALPHA *(ALPHA / DIGIT / + - .)).
std::optional<std::string> SchemeOf(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return std::nullopt;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':') return AsciiLower(s.substr(0, i));
    if (!IsAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.') return std::nullopt;
  }
  return std::nullopt;
}

// RFC 3986 §5.2.4: "/a/./b/../c" -> "/a/c".
std::string RemoveDotSegments(std::string_view in) {
  std::string out;
  auto pop_segment = [&out] {
    size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  auto starts = [&in](std::string_view p) { return in.substr(0, p.size()) == p; };
  while (!in.empty()) {
    if (starts("../")) {
      in.remove_prefix(3);
    } else if (starts("./")) {
      in.remove_prefix(2);
    } else if (starts("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (starts("/../")) {
      in.remove_prefix(3);
      pop_segment();
    } else if (in == "/..") {
      in = "/";
      pop_segment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      size_t end = in.find('/', 1);
      if (end == std::string_view::npos) end = in.size();
      out += in.substr(0, end);
      in.remove_prefix(end);
    }
  }
  return out;
}

// "b=2&a=1&b=1" -> "a=1&b=2&b=1": parameters sorted by name, stable.
std::string SortQuery(std::string_view query) {
  std::vector<std::string_view> params;
  for (size_t start = 0;;) {
    size_t amp = query.find('&', start);
    params.push_back(query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start));
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  auto name = [](std::string_view p) { return p.substr(0, p.find('=')); };
  std::stable_sort(params.begin(), params.end(),
                   [&](std::string_view a, std::string_view b) { return name(a) < name(b); });
  std::string out;
  out.reserve(query.size());
  for (size_t i = 0; i < params.size(); ++i) {
    if (i) out += '&';
    out += params[i];
  }
  return out;
}

int DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

std::optional<std::string> Part(CURLU* u, CURLUPart what) {
  char* p = nullptr;
  if (curl_url_get(u, what, &p, 0) != CURLUE_OK || !p) return std::nullopt;
  std::string s(p);
  curl_free(p);
  return s;
}

Result<CurlUrl> NewCurlUrl() {
  CurlUrl u(curl_url(), &curl_url_cleanup);
  if (!u) return Err(ResourceExhausted("curl_url: out of memory"));
  return u;
}

// A host as the normal form allows it: an IPv6 literal curl has checked, or
// LDH labels (with '_', which some hosts use) and dots.
bool ValidHost(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') return true;
  return std::all_of(host.begin(), host.end(),
                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == '-' || c == '_' || c == '.'; });
}

// Whether `host` could be an IPv4 address in one of the forms curl reads
// ("127.1", "0x7f.1", "2130706433").
bool LooksNumeric(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) { return HexDigitValue(c) >= 0 || c == 'x' || c == '.'; });
}

// The normal form of the URL held by `u`; `input` names it in messages.
Result<Url> Normalize(CURLU* u, std::string_view input, const UrlOptions& options) {
  Url url;
  url.scheme = AsciiLower(Part(u, CURLUPART_SCHEME).value_or(""));
  if (url.scheme != "http" && url.scheme != "https") return UnsupportedScheme(url.scheme, input);
  if (Part(u, CURLUPART_USER) || Part(u, CURLUPART_PASSWORD) || Part(u, CURLUPART_OPTIONS))
    return Bad("userinfo (user:password@) is not allowed", input);
  std::string host = Part(u, CURLUPART_HOST).value_or("");
  if (host.empty()) return Bad("no host", input);
  if (Part(u, CURLUPART_ZONEID)) return Bad("an IPv6 zone id", input, "not supported");
  if (std::any_of(host.begin(), host.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
    return Bad("non-ASCII host", input, "IDN is not supported: give its xn-- form");
  url.host = AsciiLower(host);
  if (!ValidHost(url.host)) return Bad("invalid host " + Quote(url.host), input);
  // curl decodes escapes in a host but does not then read it as an IPv4
  // address ("%32" gives "2", where "2" gives "0.0.0.2"): a second pass does.
  if (LooksNumeric(url.host)) {
    FSML_ASSIGN_OR_RETURN(CurlUrl again, NewCurlUrl());
    std::string text = "http://" + url.host + "/";
    if (curl_url_set(again.get(), CURLUPART_URL, text.c_str(), 0) == CURLUE_OK)
      url.host = AsciiLower(Part(again.get(), CURLUPART_HOST).value_or(url.host));
  }

  url.port = DefaultPort(url.scheme);
  if (std::optional<std::string> port = Part(u, CURLUPART_PORT)) {
    // curl has checked it is decimal and at most 65535.
    int value = 0;
    for (char c : *port) value = IsDigit(c) && value <= 65535 ? value * 10 + (c - '0') : 65536;
    if (value < 1 || value > 65535) return Bad("bad port '" + *port + "'", input, "expected 1 to 65535");
    url.port = value;
  }

  std::string bad;
  std::optional<std::string> path = NormalizePercentEscapes(Part(u, CURLUPART_PATH).value_or("/"), {}, &bad);
  if (!path) return Bad("bad percent-escape " + Quote(bad), input);
  url.target = RemoveDotSegments(*path);
  if (url.target.empty() || url.target.front() != '/') url.target = "/" + url.target;
  if (std::optional<std::string> raw_query = Part(u, CURLUPART_QUERY); raw_query && !raw_query->empty()) {
    std::optional<std::string> query = NormalizePercentEscapes(*raw_query, {.question_mark = true}, &bad);
    if (!query) return Bad("bad percent-escape " + Quote(bad), input);
    url.target += '?';
    url.target += options.sort_query ? SortQuery(*query) : *query;
  }
  size_t size = url.Origin().size() + url.target.size();
  if (size > kMaxUrlBytes) return TooLong(size, " once normalized", input);
  return url;
}

bool IsControlOrSpace(char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }

tl::unexpected<Status> CurlError(CURLUcode rc, std::string_view input) {
  return Bad("malformed URL", input, std::string("curl: ") + curl_url_strerror(rc));
}

}  // namespace

std::optional<std::string> NormalizePercentEscapes(std::string_view s, const PercentRules& rules, std::string* bad) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int h = i + 1 < s.size() ? HexDigitValue(s[i + 1]) : -1;
      int l = h >= 0 && i + 2 < s.size() ? HexDigitValue(s[i + 2]) : -1;
      if (l < 0) {
        if (!rules.lenient) {
          if (bad) *bad = std::string(s.substr(i, 3));
          return std::nullopt;
        }
        out += "%25";
        continue;
      }
      auto decoded = static_cast<char>(h * 16 + l);
      if (IsUriUnreserved(decoded)) out += decoded;
      else AppendPercentEscape(out, static_cast<unsigned char>(decoded));
      i += 2;
    } else if ((IsUriUnreserved(c) || IsSubDelim(c) || c == ':' || c == '@' || c == '/' ||
                (rules.question_mark && c == '?')) &&
               rules.also_escape.find(c) == std::string_view::npos) {
      out += c;
    } else {
      AppendPercentEscape(out, static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string Url::Origin() const {
  std::string out = scheme + "://" + host;
  if (port != DefaultPort(scheme)) out += ":" + std::to_string(port);
  return out;
}

std::string Url::ToString() const { return Origin() + target; }

std::string Url::Path() const { return target.substr(0, target.find('?')); }

Result<Url> ParseUrl(std::string_view absolute, const UrlOptions& options) {
  if (absolute.size() > kMaxUrlBytes) return TooLong(absolute.size(), "", absolute);
  if (auto at = std::find_if(absolute.begin(), absolute.end(), IsControlOrSpace); at != absolute.end())
    return Bad("a space or control character at offset " + std::to_string(at - absolute.begin()), absolute);
  std::optional<std::string> scheme = SchemeOf(absolute);
  if (!scheme) return Bad("no scheme", absolute, "expected an absolute URL: http://HOST/...");
  if (*scheme != "http" && *scheme != "https") return UnsupportedScheme(*scheme, absolute);
  std::string_view rest = absolute.substr(scheme->size() + 1);
  if (rest.substr(0, 2) != "//" || rest.substr(2, 1) == "/")
    return Bad("no host", absolute, "expected " + *scheme + "://HOST/...");

  FSML_ASSIGN_OR_RETURN(CurlUrl u, NewCurlUrl());
  std::string text(absolute);
  if (CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK)
    return CurlError(rc, absolute);
  return Normalize(u.get(), absolute, options);
}

Result<Url> ResolveUrl(const Url& base, std::string_view ref, const UrlOptions& options) {
  std::string_view given = ref;
  while (!ref.empty() && IsControlOrSpace(ref.front())) ref.remove_prefix(1);
  while (!ref.empty() && IsControlOrSpace(ref.back())) ref.remove_suffix(1);
  if (ref.size() > kMaxUrlBytes) return TooLong(ref.size(), "", given);
  if (ref.empty()) return Err(InvalidArgument("an empty link"));
  if (ref.front() == '#') return base;
  ref = ref.substr(0, ref.find('#'));

  std::string cleaned;
  cleaned.reserve(ref.size());
  for (char c : ref) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == ' ') {
      cleaned += "%20";
    } else if (IsControlOrSpace(c)) {
      return Bad("a control character", given);
    } else {
      cleaned += c;
    }
  }
  std::string_view relative = cleaned;
  if (std::optional<std::string> scheme = SchemeOf(relative)) {
    if (*scheme != "http" && *scheme != "https") return UnsupportedScheme(*scheme, given);
    std::string_view rest = relative.substr(scheme->size() + 1);
    if (rest.substr(0, 2) != "//") {
      if (*scheme != base.scheme) return Bad("no host", given, "expected " + *scheme + "://HOST/...");
      relative = rest;
    }
  }
  // RFC 3986 §5.2.2: an empty reference is the base (curl would give the
  // base's directory).
  if (relative.empty()) return base;

  FSML_ASSIGN_OR_RETURN(CurlUrl u, NewCurlUrl());
  std::string base_text = base.ToString();
  if (CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, base_text.c_str(), 0); rc != CURLUE_OK)
    return CurlError(rc, base_text);
  std::string text(relative);
  if (CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK)
    return CurlError(rc, given);
  return Normalize(u.get(), given, options);
}

}  // namespace fsml::crawl
