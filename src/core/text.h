// Small ASCII text helpers shared by the parsers of protocols (HTTP, S3).
#pragma once

#include <string>
#include <string_view>

namespace fsml {

// `s` with A-Z mapped to a-z; other bytes unchanged (no locale).
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// `s` without leading and trailing spaces, tabs, CRs and LFs.
inline std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace fsml
