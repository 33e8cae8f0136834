// Fuzzes ParseCrawlConfig (crawl.toml).
//
// Invariants:
// - Errors name the source: "fuzz.toml: ...".
// - On success the config is usable: seeds are normalized http(s) URLs whose
//   origins are in scope unless deny/allow say otherwise, every XPath compiles,
//   the item field exists.
#include <cstdint>
#include <string>
#include <string_view>

#include "crawl/crawl_config.h"
#include "crawl/extract.h"
#include "crawl/url.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fsml::crawl;
  if (size > 64 * 1024) return 0;
  std::string_view in = fsml::fuzz::AsView(data, size);
  auto c = ParseCrawlConfig(in, "fuzz.toml");
  if (!c) {
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(c.error().message(), "fuzz.toml: "));
    return 0;
  }
  FSML_FUZZ_CHECK(!c->crawl.seeds.empty());
  for (const auto& seed : c->crawl.seeds) {
    auto url = ParseUrl(seed);
    FSML_FUZZ_CHECK(url.has_value());
    FSML_FUZZ_CHECK(url->ToString() == seed);
    (void)c->InScope(seed);
  }
  FSML_FUZZ_CHECK(XPath::Compile(c->extract.follow).has_value());
  for (const auto& [name, xpath] : c->extract.fields) FSML_FUZZ_CHECK(XPath::Compile(xpath).has_value());
  FSML_FUZZ_CHECK(c->extract.fields.count(c->extract.media.empty() ? c->extract.text : c->extract.media) == 1);
  return 0;
}
