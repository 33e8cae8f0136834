// Parsers for the import formats. Each takes bytes in memory (so fuzzers can
// drive them), never trusts sizes from the input, and reports errors naming
// the source and the position ("labels.csv: line 14: ...").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace fsml {

// Decompresses gzip data; fails if the output would exceed `max_out`.
Result<std::string> Gunzip(std::string_view gz, std::string_view name, uint64_t max_out);
// Gunzip when the data starts with the gzip magic, else a copy.
Result<std::string> MaybeGunzip(std::string_view data, std::string_view name, uint64_t max_out);

// An IDX array (the MNIST file format): unsigned-byte data only.
struct IdxArray {
  std::vector<uint32_t> dims;  // e.g. {60000, 28, 28} or {60000}
  std::string_view data;       // dims' product bytes, a view into the input
};
// REQUIRES nothing of `bytes`; the result's data views into `bytes`.
Result<IdxArray> ParseIdx(std::string_view bytes, std::string_view name);

// CSV per RFC 4180: comma-separated, "quoted" fields with "" escapes, CRLF or
// LF line ends, a header row. Calls `on_row(line_number, fields)` per record
// (line number of the record's first line, 1-based; the header is line 1).
// Errors: unterminated quote, a record with a different field count than
// the header, a stray quote inside an unquoted field, a line over 1 MiB.
using CsvRowFn = std::function<Status(uint64_t line, const std::vector<std::string>& fields)>;
Status ParseCsv(std::string_view text, std::string_view name, std::vector<std::string>* header,
                const CsvRowFn& on_row);

// JSON Lines: one JSON object per non-empty line. Calls `on_object(line, obj)`.
using JsonlFn = std::function<Status(uint64_t line, const nlohmann::json& obj)>;
Status ParseJsonl(std::string_view text, std::string_view name, const JsonlFn& on_object);

// Checks that `s` is valid UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view s);

}  // namespace fsml
