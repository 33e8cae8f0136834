// The dataset version manifest: the immutable list of (item, label, split,
// annotation) rows a version consists of, sorted by item id.
//
// Binary format v1 (all integers little-endian; docs/formats/manifest.md):
//   "FSMLMANI"  magic, 8 bytes
//   u32         format version (1)
//   u32         label count L, then L × (u16 byte length, UTF-8 name)
//   u64         row count N, then N × 45-byte rows:
//               item id (32 bytes SHA-256), u32 label index, u8 split,
//               u64 annotation id
//   32 bytes    SHA-256 of everything before it
// Rows are strictly increasing by item id; label indexes are < L; split <= 2.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/sha256.h"
#include "core/status.h"
#include "data/split.h"

namespace fsml {

struct ManifestRow {
  Digest item;
  uint32_t label;  // index into Manifest::labels
  Split split;
  uint64_t annotation_id;  // the annotation that gave the label
};

struct Manifest {
  std::vector<std::string> labels;
  std::vector<ManifestRow> rows;  // sorted by item, unique
};

inline constexpr uint32_t kManifestFormatVersion = 1;
inline constexpr size_t kManifestRowBytes = 45;

// REQUIRES: rows sorted and unique, label indexes valid (Commit builds them so).
std::string SerializeManifest(const Manifest& m);
// Checks magic, version, length, checksum, order and indexes; Corruption names
// what is wrong.
Result<Manifest> ParseManifest(std::string_view bytes);

struct RelabeledRow {
  Digest item;
  std::string from;
  std::string to;
};

struct ManifestDiff {
  std::vector<ManifestRow> added;    // rows of `b` not in `a` (labels index b)
  std::vector<ManifestRow> removed;  // rows of `a` not in `b` (labels index a)
  std::vector<RelabeledRow> relabeled;
  uint64_t unchanged = 0;
};

// A merge of the two sorted row lists: O(|a| + |b|). Labels compare by name.
ManifestDiff DiffManifests(const Manifest& a, const Manifest& b);

}  // namespace fsml
