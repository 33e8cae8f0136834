#include "data/parsers.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/fs.h"

namespace fsml {

Result<std::string> Gunzip(std::string_view gz, std::string_view name, uint64_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Err(Internal("zlib init failed"));
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(gz.size(), UINT32_MAX));
  size_t fed = zs.avail_in;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && fed < gz.size()) {
      size_t more = std::min<size_t>(gz.size() - fed, UINT32_MAX);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + fed));
      zs.avail_in = static_cast<uInt>(more);
      fed += more;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      std::string why = rc == Z_BUF_ERROR ? "truncated" : (zs.msg ? zs.msg : "corrupt data");
      return Err(InvalidArgument(std::string(name) + ": gzip: " + why));
    }
    size_t produced = sizeof buf - zs.avail_out;
    if (out.size() + produced > max_out) {
      inflateEnd(&zs);
      return Err(InvalidArgument(std::string(name) + ": gzip: decompresses to more than " +
                                 HumanBytes(max_out)));
    }
    out.append(buf, produced);
    if (rc == Z_STREAM_END && (zs.avail_in > 0 || fed < gz.size())) {
      // Another gzip member follows (as `cat a.gz b.gz` makes): read it too.
      inflateReset(&zs);
      rc = Z_OK;
      continue;
    }
    if (rc != Z_STREAM_END && produced == 0 && zs.avail_in == 0 && fed >= gz.size()) {
      inflateEnd(&zs);
      return Err(InvalidArgument(std::string(name) + ": gzip: truncated"));
    }
  }
  inflateEnd(&zs);
  return out;
}

Result<std::string> MaybeGunzip(std::string_view data, std::string_view name, uint64_t max_out) {
  if (data.size() >= 2 && static_cast<uint8_t>(data[0]) == 0x1f && static_cast<uint8_t>(data[1]) == 0x8b)
    return Gunzip(data, name, max_out);
  return std::string(data);
}

Result<IdxArray> ParseIdx(std::string_view b, std::string_view name) {
  auto bad = [&](const std::string& what) {
    return Err(InvalidArgument(std::string(name) + ": " + what));
  };
  if (b.size() < 4) return bad("too short for an IDX header (" + std::to_string(b.size()) + " bytes)");
  if (b[0] != 0 || b[1] != 0) return bad("not an IDX file (bad magic)");
  if (static_cast<uint8_t>(b[2]) != 0x08) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    auto type = static_cast<uint8_t>(b[2]);
    return bad(std::string("IDX data type 0x") + kHex[type >> 4] + kHex[type & 0xf] +
               " is not supported (only unsigned bytes, 0x08)");
  }
  int ndims = static_cast<uint8_t>(b[3]);
  if (ndims < 1 || ndims > 4) return bad("IDX rank " + std::to_string(ndims) + " is not 1 to 4");
  size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (b.size() < header) return bad("truncated in the IDX header");
  IdxArray a;
  uint64_t total = 1;
  for (int i = 0; i < ndims; ++i) {
    const auto* p = reinterpret_cast<const uint8_t*>(b.data() + 4 + 4 * i);
    uint32_t d = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
    a.dims.push_back(d);
    // Checked before multiplying: total <= 2^40 and d < 2^32 could overflow.
    if (d != 0 && total > (uint64_t{1} << 40) / d) return bad("IDX dimensions are implausibly large");
    total *= d;
  }
  uint64_t have = b.size() - header;
  if (have < total)
    return bad("truncated: header promises " + std::to_string(total) + " data bytes, file has " +
               std::to_string(have));
  if (have > total)
    return bad("has " + std::to_string(have - total) + " bytes after the data the header describes");
  a.data = b.substr(header);
  return a;
}

Status ParseCsv(std::string_view t, std::string_view name, std::vector<std::string>* header,
                const CsvRowFn& on_row) {
  constexpr size_t kMaxRecord = 1 << 20;
  size_t pos = 0;
  uint64_t line = 1;
  bool have_header = false;
  if (t.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;  // UTF-8 byte order mark
  std::vector<std::string> fields;
  while (pos < t.size()) {
    uint64_t record_line = line;
    size_t record_start = pos;
    fields.clear();
    std::string field;
    bool end_of_record = false;
    while (!end_of_record) {
      field.clear();
      if (pos < t.size() && t[pos] == '"') {
        ++pos;
        while (true) {
          if (pos >= t.size())
            return InvalidArgument(std::string(name) + ": line " + std::to_string(record_line) +
                                   ": unterminated quoted field");
          char c = t[pos++];
          if (c == '"') {
            if (pos < t.size() && t[pos] == '"') {
              field.push_back('"');
              ++pos;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line;
            field.push_back(c);
          }
        }
        if (pos < t.size() && t[pos] != ',' && t[pos] != '\n' && t[pos] != '\r')
          return InvalidArgument(std::string(name) + ": line " + std::to_string(line) +
                                 ": unexpected character after a closing quote");
      } else {
        while (pos < t.size() && t[pos] != ',' && t[pos] != '\n' && t[pos] != '\r') {
          if (t[pos] == '"')
            return InvalidArgument(std::string(name) + ": line " + std::to_string(line) +
                                   ": a quote inside an unquoted field (quote the whole field)");
          field.push_back(t[pos++]);
        }
      }
      fields.push_back(field);
      if (pos - record_start > kMaxRecord)
        return InvalidArgument(std::string(name) + ": line " + std::to_string(record_line) +
                               ": record longer than 1 MiB");
      if (pos >= t.size()) {
        end_of_record = true;
      } else if (t[pos] == ',') {
        ++pos;
      } else {  // \r, \n or \r\n
        if (t[pos] == '\r') ++pos;
        if (pos < t.size() && t[pos] == '\n') ++pos;
        ++line;
        end_of_record = true;
      }
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (!have_header) {
      *header = fields;
      have_header = true;
      continue;
    }
    if (fields.size() != header->size())
      return InvalidArgument(std::string(name) + ": line " + std::to_string(record_line) + ": " +
                             std::to_string(fields.size()) + " fields, the header has " +
                             std::to_string(header->size()));
    FSML_RETURN_IF_ERROR(on_row(record_line, fields));
  }
  if (!have_header) return InvalidArgument(std::string(name) + ": empty file (no header row)");
  return Status::Ok();
}

Status ParseJsonl(std::string_view t, std::string_view name, const JsonlFn& on_object) {
  uint64_t line = 0;
  size_t pos = 0;
  while (pos < t.size()) {
    size_t nl = t.find('\n', pos);
    std::string_view text = t.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? t.size() : nl + 1;
    ++line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    nlohmann::json obj = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded())
      return InvalidArgument(std::string(name) + ": line " + std::to_string(line) + ": not valid JSON");
    if (!obj.is_object())
      return InvalidArgument(std::string(name) + ": line " + std::to_string(line) +
                             ": expected a JSON object, got " + obj.type_name());
    FSML_RETURN_IF_ERROR(on_object(line, obj));
  }
  return Status::Ok();
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return false;
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (p[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

}  // namespace fsml
