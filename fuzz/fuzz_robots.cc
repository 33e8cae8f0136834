// Fuzzes crawl/robots.h: a robots.txt is whatever a site serves. The input
// is the file; the targets asked about are taken from it (each line, and
// each line's value after ':'), so patterns and targets share bytes.
//
// Invariants:
// - Parse never fails and never hangs (libFuzzer's -timeout: patterns are
//   matched without backtracking).
// - "/robots.txt" is always allowed; AllowAll allows and DisallowAll
//   refuses every other target.
// - The crawler's product token matches case-insensitively: "FuzzBot/2.0
//   (+http://x)" and "fuzzbot" read the same rules.
// - Crawl-delay is finite and >= 0; sitemaps are URLs in normal form.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crawl/robots.h"
#include "crawl/url.h"
#include "fuzz_util.h"

namespace {

constexpr size_t kMaxTargets = 64;

std::vector<std::string_view> TargetsIn(std::string_view text) {
  std::vector<std::string_view> targets = {"/", "/robots.txt"};
  while (!text.empty() && targets.size() < kMaxTargets) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    targets.push_back(line);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      targets.push_back(value);
    }
  }
  return targets;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  using fsml::crawl::RobotsRules;
  RobotsRules rules = RobotsRules::Parse(in, "FuzzBot/2.0 (+http://fuzz.example/bot)");
  RobotsRules lower = RobotsRules::Parse(in, "fuzzbot");
  static const RobotsRules kAll = RobotsRules::AllowAll();
  static const RobotsRules kNone = RobotsRules::DisallowAll();

  FSML_FUZZ_CHECK(rules.Allowed("/robots.txt"));
  for (std::string_view t : TargetsIn(in)) {
    bool allowed = rules.Allowed(t);
    FSML_FUZZ_CHECK(lower.Allowed(t) == allowed);
    FSML_FUZZ_CHECK(kAll.Allowed(t));
    // Escapes and a missing leading '/' may spell "/robots.txt" too.
    if (t.substr(0, t.find('?')) == "/robots.txt") FSML_FUZZ_CHECK(kNone.Allowed(t));
    if (t.find("obots") == std::string_view::npos && t.find('%') == std::string_view::npos)
      FSML_FUZZ_CHECK(!kNone.Allowed(t));
  }
  if (auto delay = rules.crawl_delay_seconds()) FSML_FUZZ_CHECK(std::isfinite(*delay) && *delay >= 0);
  FSML_FUZZ_CHECK(rules.crawl_delay_seconds() == lower.crawl_delay_seconds());
  for (const std::string& s : rules.sitemaps()) {
    auto u = fsml::crawl::ParseUrl(s);
    FSML_FUZZ_CHECK(u && u->ToString() == s);
  }
  return 0;
}
