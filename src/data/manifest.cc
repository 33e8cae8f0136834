#include "data/manifest.h"

#include <cstring>

namespace fsml {
namespace {

constexpr char kMagic[8] = {'F', 'S', 'M', 'L', 'M', 'A', 'N', 'I'};

template <typename T>
void PutLe(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

template <typename T>
T GetLe(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

}  // namespace

std::string SerializeManifest(const Manifest& m) {
  std::string out;
  size_t label_bytes = 0;
  for (const auto& l : m.labels) label_bytes += 2 + l.size();
  out.reserve(8 + 4 + 4 + label_bytes + 8 + m.rows.size() * kManifestRowBytes + 32);
  out.append(kMagic, 8);
  PutLe<uint32_t>(out, kManifestFormatVersion);
  PutLe<uint32_t>(out, static_cast<uint32_t>(m.labels.size()));
  for (const auto& l : m.labels) {
    FSML_DCHECK(l.size() <= 0xffff);  // project labels are at most 64 bytes
    PutLe<uint16_t>(out, static_cast<uint16_t>(l.size()));
    out.append(l);
  }
  PutLe<uint64_t>(out, m.rows.size());
  for (const auto& r : m.rows) {
    out.append(reinterpret_cast<const char*>(r.item.data()), 32);
    PutLe<uint32_t>(out, r.label);
    out.push_back(static_cast<char>(r.split));
    PutLe<uint64_t>(out, r.annotation_id);
  }
  Digest sum = Sha256(out);
  out.append(reinterpret_cast<const char*>(sum.data()), 32);
  return out;
}

Result<Manifest> ParseManifest(std::string_view b) {
  auto bad = [](std::string what) { return Err(Corruption("manifest: " + what)); };
  if (b.size() < 8 + 4 + 4 + 8 + 32 || std::memcmp(b.data(), kMagic, 8) != 0)
    return bad("not a manifest (bad magic or too short)");
  Digest want{};
  std::memcpy(want.data(), b.data() + b.size() - 32, 32);
  if (Sha256(b.substr(0, b.size() - 32)) != want) return bad("checksum mismatch (damaged)");
  std::string_view body = b.substr(0, b.size() - 32);
  size_t pos = 8;
  uint32_t version = GetLe<uint32_t>(body.data() + pos);
  pos += 4;
  if (version != kManifestFormatVersion)
    return bad("format version " + std::to_string(version) + " is not supported (this fsml reads 1)");
  uint32_t nlabels = GetLe<uint32_t>(body.data() + pos);
  pos += 4;
  Manifest m;
  for (uint32_t i = 0; i < nlabels; ++i) {
    if (pos + 2 > body.size()) return bad("truncated in the label table");
    uint16_t len = GetLe<uint16_t>(body.data() + pos);
    pos += 2;
    if (pos + len > body.size()) return bad("truncated in the label table");
    m.labels.emplace_back(body.substr(pos, len));
    pos += len;
  }
  if (pos + 8 > body.size()) return bad("truncated before the row count");
  uint64_t nrows = GetLe<uint64_t>(body.data() + pos);
  pos += 8;
  if ((body.size() - pos) % kManifestRowBytes != 0 || (body.size() - pos) / kManifestRowBytes != nrows)
    return bad("row count " + std::to_string(nrows) + " does not match the size");
  m.rows.resize(nrows);
  for (uint64_t i = 0; i < nrows; ++i, pos += kManifestRowBytes) {
    ManifestRow& r = m.rows[i];
    std::memcpy(r.item.data(), body.data() + pos, 32);
    r.label = GetLe<uint32_t>(body.data() + pos + 32);
    uint8_t split = static_cast<uint8_t>(body[pos + 36]);
    r.annotation_id = GetLe<uint64_t>(body.data() + pos + 37);
    if (r.label >= nlabels) return bad("row " + std::to_string(i) + " has label index out of range");
    if (split > 2) return bad("row " + std::to_string(i) + " has an unknown split");
    r.split = static_cast<Split>(split);
    if (i > 0 && !(m.rows[i - 1].item < r.item)) return bad("rows are not sorted by item id");
  }
  return m;
}

ManifestDiff DiffManifests(const Manifest& a, const Manifest& b) {
  ManifestDiff d;
  size_t i = 0, j = 0;
  while (i < a.rows.size() || j < b.rows.size()) {
    if (j == b.rows.size() || (i < a.rows.size() && a.rows[i].item < b.rows[j].item)) {
      d.removed.push_back(a.rows[i++]);
    } else if (i == a.rows.size() || b.rows[j].item < a.rows[i].item) {
      d.added.push_back(b.rows[j++]);
    } else {
      const std::string& la = a.labels[a.rows[i].label];
      const std::string& lb = b.labels[b.rows[j].label];
      if (la != lb) d.relabeled.push_back({a.rows[i].item, la, lb});
      else ++d.unchanged;
      ++i;
      ++j;
    }
  }
  return d;
}

}  // namespace fsml
