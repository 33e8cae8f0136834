// Fuzzes crawl/sitemap.h: a sitemap is whatever a site serves, XML or text.
//
// Invariants:
// - Every failure is InvalidArgument with a message that starts "sitemap: ".
// - At most kMaxSitemapLocs entries in all; each is non-empty and trimmed.
// - An XML sitemap lists URLs or sitemaps, not both.
// - The text read is at most 3 times the input (UTF-8 from UTF-16 or a
//   one-byte encoding): no entity expansion.
#include <cstdint>
#include <string>
#include <string_view>

#include "crawl/sitemap.h"
#include "fuzz_util.h"

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  auto s = fsml::crawl::ParseSitemap(in);
  if (!s) {
    FSML_FUZZ_CHECK(s.error().code() == fsml::Code::kInvalidArgument);
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(s.error().message(), "sitemap: "));
    return 0;
  }
  FSML_FUZZ_CHECK(s->urls.size() + s->sitemaps.size() <= fsml::crawl::kMaxSitemapLocs);
  FSML_FUZZ_CHECK(s->urls.empty() || s->sitemaps.empty());
  size_t text = 0;
  for (const auto* list : {&s->urls, &s->sitemaps}) {
    for (const std::string& loc : *list) {
      FSML_FUZZ_CHECK(!loc.empty() && !IsSpace(loc.front()) && !IsSpace(loc.back()));
      text += loc.size();
    }
  }
  FSML_FUZZ_CHECK(text <= 3 * in.size());
  return 0;
}
