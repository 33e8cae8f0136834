// Fuzzes ParseJsonl (annotations.jsonl imports) and IsValidUtf8.
//
// Invariants:
// - Every value the callback sees is a JSON object; line numbers are 1-based,
//   strictly increasing and within the input's line count.
// - Errors name the source and a line.
// - IsValidUtf8 agrees with an independent check written from the table of
//   well-formed byte sequences (Unicode 15, table 3-7).
#include <algorithm>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "data/parsers.h"
#include "fuzz_util.h"

namespace {

// Table 3-7: each row is a lead byte range and the ranges of its continuation bytes.
bool ReferenceUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0, n = s.size();
  auto in = [&](size_t k, unsigned lo, unsigned hi) { return k < n && p[k] >= lo && p[k] <= hi; };
  while (i < n) {
    unsigned c = p[i];
    if (c <= 0x7F) {
      i += 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!in(i + 1, 0x80, 0xBF)) return false;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      if (!in(i + 1, lo, hi) || !in(i + 2, 0x80, 0xBF)) return false;
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      if (!in(i + 1, lo, hi) || !in(i + 2, 0x80, 0xBF) || !in(i + 3, 0x80, 0xBF)) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  FSML_FUZZ_CHECK(fsml::IsValidUtf8(in) == ReferenceUtf8(in));

  uint64_t lines = static_cast<uint64_t>(std::count(in.begin(), in.end(), '\n')) + 1;
  uint64_t last_line = 0;
  fsml::Status s = fsml::ParseJsonl(in, "fuzz.jsonl", [&](uint64_t line, const nlohmann::json& obj) {
    FSML_FUZZ_CHECK(obj.is_object());
    FSML_FUZZ_CHECK(line > last_line && line <= lines);
    last_line = line;
    return fsml::Status::Ok();
  });
  if (!s.ok()) FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(s.message(), "fuzz.jsonl: line "));
  return 0;
}
