// Sitemaps and sitemap indexes (the sitemaps.org protocol): the URLs a site
// lists for crawlers.
//
// Pure: no I/O, no state; thread-safe (libxml2 is initialized once, on first
// use, under a C++ static's lock).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fsml::crawl {

// The protocol's limits on one sitemap (uncompressed).
inline constexpr size_t kMaxSitemapBytes = 52'428'800;  // 50 MiB
inline constexpr size_t kMaxSitemapLocs = 50'000;

struct Sitemap {
  std::vector<std::string> urls;      // <urlset><url><loc>, trimmed, as written
  std::vector<std::string> sitemaps;  // <sitemapindex><sitemap><loc>, trimmed, as written
};

// Parses a sitemap or a sitemap index: XML with a root <urlset> or
// <sitemapindex>, namespaced or not (local names are matched); a <url> or
// <sitemap> without a non-blank <loc> is skipped, one with several counts the
// first. A body whose first byte (after a UTF-8 BOM and whitespace) is not
// '<' is a plain-text sitemap: one URL per line, blank lines skipped.
// libxml2 reads the XML with XML_PARSE_NONET and without entity
// substitution or DTD loading; a document with a DOCTYPE is refused, so no
// entity is ever expanded (XXE- and billion-laughs-safe).
// Errors, all InvalidArgument starting "sitemap: ": over kMaxSitemapBytes;
// over kMaxSitemapLocs <loc> entries (or text lines); malformed XML (with
// libxml2's line number and message); a DOCTYPE; another root element; a
// gzip-compressed body (decompress it first); a text body with NUL or other
// control bytes.
Result<Sitemap> ParseSitemap(std::string_view body);

}  // namespace fsml::crawl
