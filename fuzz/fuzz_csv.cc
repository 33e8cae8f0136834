// Fuzzes ParseCsv (labels.csv imports).
//
// Invariants:
// - Every row the callback sees has exactly the header's field count, and
//   line numbers are past the header and strictly increasing.
// - A header is set on success; errors name the source.
// - Round trip: writing the accepted header and rows back out with every
//   field quoted gives text that parses to the same header and rows.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/parsers.h"
#include "fuzz_util.h"

namespace {

using Rows = std::vector<std::vector<std::string>>;

fsml::Status Parse(std::string_view text, std::vector<std::string>* header, Rows* rows) {
  uint64_t last_line = 1;  // the header's line or later
  return fsml::ParseCsv(text, "fuzz.csv", header,
                        [&](uint64_t line, const std::vector<std::string>& fields) {
                          FSML_FUZZ_CHECK(fields.size() == header->size());
                          FSML_FUZZ_CHECK(line > last_line);
                          last_line = line;
                          rows->push_back(fields);
                          return fsml::Status::Ok();
                        });
}

void AppendRecord(std::string& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : fields[i]) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('\n');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  std::vector<std::string> header;
  Rows rows;
  fsml::Status s = Parse(in, &header, &rows);
  if (!s.ok()) {
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(s.message(), "fuzz.csv: "));
    return 0;
  }
  FSML_FUZZ_CHECK(!header.empty());

  std::string text;
  AppendRecord(text, header);
  for (const auto& r : rows) AppendRecord(text, r);
  std::vector<std::string> header2;
  Rows rows2;
  fsml::Status s2 = Parse(text, &header2, &rows2);
  FSML_FUZZ_CHECK(s2.ok());
  FSML_FUZZ_CHECK(header2 == header);
  FSML_FUZZ_CHECK(rows2 == rows);
  return 0;
}
