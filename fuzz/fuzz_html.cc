// Fuzzes the crawler's page reading: HtmlPage::Parse and XPath extraction of
// fields and links, then resolving each link against a base URL.
//
// Invariants:
// - Parse either fails with InvalidArgument or gives a document every XPath
//   evaluates on; extracted strings have no leading or trailing space.
// - Every link ResolveUrl accepts is a normalized http(s) URL (a fixed point).
#include <cstdint>
#include <string>
#include <string_view>

#include "crawl/extract.h"
#include "crawl/url.h"
#include "fuzz_util.h"

namespace {
const fsml::crawl::XPath& Compiled(const char* text) {
  static std::vector<std::pair<std::string, fsml::crawl::XPath>> cache;
  for (auto& [t, x] : cache)
    if (t == text) return x;
  cache.emplace_back(text, std::move(*fsml::crawl::XPath::Compile(text)));  // constant, valid expressions
  return cache.back().second;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fsml::crawl;
  std::string_view in = fsml::fuzz::AsView(data, size);
  auto page = HtmlPage::Parse(in);
  if (!page) {
    FSML_FUZZ_CHECK(page.error().code() == fsml::Code::kInvalidArgument);
    return 0;
  }
  static const Url base = *ParseUrl("https://shop.example/category/a/page-1.html");
  for (const char* field : {"//h1", "//img[@id='product']/@src", "//span[@class='price']", "string(//title)", "count(//a)",
                            "//div[@class='description']"}) {
    for (const auto& s : page->Strings(Compiled(field), 16)) {
      FSML_FUZZ_CHECK(!s.empty());
      FSML_FUZZ_CHECK(s.front() != ' ' && s.back() != ' ');
    }
  }
  (void)page->Test(Compiled("//img[@id='product']"));
  std::string href = page->BaseHref();
  for (const auto& link : page->Strings(Compiled("//a/@href"), 64)) {
    auto u = ResolveUrl(base, link);
    if (!u) continue;
    auto again = ParseUrl(u->ToString());
    FSML_FUZZ_CHECK(again.has_value());
    FSML_FUZZ_CHECK(again->ToString() == u->ToString());
  }
  return 0;
}
