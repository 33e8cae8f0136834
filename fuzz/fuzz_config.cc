// Fuzzes Config::Parse (fsml.toml).
//
// Invariants:
// - On success every known key has a value and an origin, and no other keys
//   appear (unknown keys are errors, never stored).
// - Errors name the source and a line: "fuzz.toml: line N: ...".
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  auto r = fsml::Config::Parse(in, "fuzz.toml");
  if (!r) {
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(r.error().message(), "fuzz.toml: line "));
    return 0;
  }
  const auto& keys = fsml::KnownConfigKeys();
  FSML_FUZZ_CHECK(r->values().size() == keys.size());
  for (const auto& k : keys) {
    std::string dotted = std::string(k.section) + "." + k.key;
    FSML_FUZZ_CHECK(r->values().count(dotted) == 1);
    const std::string& origin = r->Origin(dotted);
    FSML_FUZZ_CHECK(origin == "default" || origin == "fuzz.toml" || fsml::fuzz::StartsWith(origin, "env "));
  }
  return 0;
}
