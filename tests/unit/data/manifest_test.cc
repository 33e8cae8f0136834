#include "data/manifest.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "test_util.h"

namespace fsml {
namespace {

Digest Filled(uint8_t b) {
  Digest d;
  d.fill(b);
  return d;
}

template <typename T>
void PutLe(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Appends the SHA-256 trailer, so hand-built bodies pass the checksum and
// reach the structural checks.
std::string Seal(std::string body) {
  Digest d = Sha256(body);
  body.append(reinterpret_cast<const char*>(d.data()), d.size());
  return body;
}

std::string Body(const std::string& sealed) { return sealed.substr(0, sealed.size() - 32); }

fs::path TestDataDir() {
  const char* env = std::getenv("FSML_TEST_DATA");
  return env && *env ? fs::path(env) : fs::path(FSML_SOURCE_TEST_DATA);
}

// Reads a golden .hex file: hex pairs, '#' comments and whitespace ignored.
std::string ReadHexFile(const fs::path& path) {
  std::string text = test::ReadBytes(path);
  std::string hex, out;
  bool comment = false;
  for (char c : text) {
    if (c == '#') comment = true;
    if (c == '\n') comment = false;
    if (!comment && std::isxdigit(static_cast<unsigned char>(c))) hex.push_back(c);
  }
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// labels {cat, T-shirt/top}; rows 0x11.. (T-shirt/top, val, annotation 7)
// and 0xa0.. (cat, test, annotation 0x0102030405060708).
Manifest TwoRowManifest() {
  Manifest m;
  m.labels = {"cat", "T-shirt/top"};
  m.rows = {{Filled(0x11), 1, Split::kVal, 7}, {Filled(0xa0), 0, Split::kTest, 0x0102030405060708}};
  return m;
}

void ExpectSameManifest(const Manifest& a, const Manifest& b) {
  EXPECT_EQ(a.labels, b.labels);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    EXPECT_EQ(a.rows[i].item, b.rows[i].item) << "row " << i;
    EXPECT_EQ(a.rows[i].label, b.rows[i].label) << "row " << i;
    EXPECT_EQ(a.rows[i].split, b.rows[i].split) << "row " << i;
    EXPECT_EQ(a.rows[i].annotation_id, b.rows[i].annotation_id) << "row " << i;
  }
}

TEST(ManifestTest, SerializesToTheDocumentedLayout) {
  // Built field by field from the layout in manifest.h.
  std::string want("FSMLMANI", 8);
  PutLe<uint32_t>(want, 1);
  PutLe<uint32_t>(want, 2);
  PutLe<uint16_t>(want, 3);
  want += "cat";
  PutLe<uint16_t>(want, 11);
  want += "T-shirt/top";
  PutLe<uint64_t>(want, 2);
  want += std::string(32, '\x11');
  PutLe<uint32_t>(want, 1);
  want.push_back(1);
  PutLe<uint64_t>(want, 7);
  want += std::string(32, '\xa0');
  PutLe<uint32_t>(want, 0);
  want.push_back(2);
  PutLe<uint64_t>(want, 0x0102030405060708);
  want = Seal(want);

  std::string got = SerializeManifest(TwoRowManifest());
  EXPECT_EQ(got.size(), 8u + 4 + 4 + (2 + 3) + (2 + 11) + 8 + 2 * kManifestRowBytes + 32);
  EXPECT_EQ(got, want);
}

TEST(ManifestTest, SerializationMatchesGoldenFile) {
  // The golden bytes were written without fsml (Python), checksum included.
  std::string golden = ReadHexFile(TestDataDir() / "data" / "manifest_v1_two_rows.hex");
  ASSERT_EQ(golden.size(), 164u);
  EXPECT_EQ(SerializeManifest(TwoRowManifest()), golden);
  auto parsed = ParseManifest(golden);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  ExpectSameManifest(*parsed, TwoRowManifest());
}

TEST(ManifestTest, RoundTripsThroughParse) {
  Manifest m;
  m.labels = {"shirt", "sneaker", "bag", "ünïcode label", "T-shirt/top"};
  for (int i = 0; i < 50; ++i) {
    m.rows.push_back({Sha256("item " + std::to_string(i)), static_cast<uint32_t>(i % 5), static_cast<Split>(i % 3),
                      static_cast<uint64_t>(1000 + i)});
  }
  std::sort(m.rows.begin(), m.rows.end(), [](const ManifestRow& a, const ManifestRow& b) { return a.item < b.item; });
  std::string bytes = SerializeManifest(m);
  auto back = ParseManifest(bytes);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  ExpectSameManifest(*back, m);
  EXPECT_EQ(SerializeManifest(*back), bytes);
}

TEST(ManifestTest, RoundTripsEmptyManifest) {
  std::string bytes = SerializeManifest(Manifest{});
  EXPECT_EQ(bytes.size(), 8u + 4 + 4 + 8 + 32);
  auto back = ParseManifest(bytes);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_TRUE(back->labels.empty());
  EXPECT_TRUE(back->rows.empty());
}

TEST(ManifestTest, RoundTripsLabelsWithoutRows) {
  Manifest m;
  m.labels = {"a", "", "c"};
  auto back = ParseManifest(SerializeManifest(m));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->labels, m.labels);
  EXPECT_TRUE(back->rows.empty());
}

// Every kind of damage is Corruption with a message saying what is wrong.
struct CorruptCase {
  const char* name;
  std::string bytes;
  std::string message;
};

std::vector<CorruptCase> CorruptCases() {
  const std::string good = SerializeManifest(TwoRowManifest());
  const std::string body = Body(good);
  // Offsets in the two-row body: rows start after the row count.
  const size_t rows_at = 8 + 4 + 4 + 5 + 13 + 8;
  std::vector<CorruptCase> cases;

  std::string bad_magic = good;
  bad_magic[0] = 'X';
  cases.push_back({"bad magic", bad_magic, "manifest: not a manifest (bad magic or too short)"});
  cases.push_back({"empty", "", "manifest: not a manifest (bad magic or too short)"});
  cases.push_back({"magic only", "FSMLMANI", "manifest: not a manifest (bad magic or too short)"});
  cases.push_back(
      {"one byte short of the minimum", good.substr(0, 55), "manifest: not a manifest (bad magic or too short)"});

  std::string flipped = good;
  flipped[rows_at + 40] ^= 0x01;
  cases.push_back({"flipped row byte", flipped, "manifest: checksum mismatch (damaged)"});
  std::string flipped_label = good;
  flipped_label[8 + 4 + 4 + 2] ^= 0x20;
  cases.push_back({"flipped label byte", flipped_label, "manifest: checksum mismatch (damaged)"});
  std::string flipped_sum = good;
  flipped_sum.back() ^= 0x80;
  cases.push_back({"flipped checksum byte", flipped_sum, "manifest: checksum mismatch (damaged)"});
  cases.push_back({"truncated", good.substr(0, good.size() - 10), "manifest: checksum mismatch (damaged)"});
  cases.push_back({"extra byte", good + "x", "manifest: checksum mismatch (damaged)"});

  // Structural damage behind a valid checksum.
  cases.push_back({"truncated row, resealed", Seal(body.substr(0, body.size() - 1)),
                   "manifest: row count 2 does not match the size"});
  cases.push_back({"one row missing, resealed", Seal(body.substr(0, body.size() - kManifestRowBytes)),
                   "manifest: row count 2 does not match the size"});
  std::string huge_count = body;
  for (int i = 0; i < 8; ++i) huge_count[rows_at - 8 + i] = '\xff';
  cases.push_back(
      {"row count 2^64-1", Seal(huge_count), "manifest: row count 18446744073709551615 does not match the size"});

  std::string many_labels = body.substr(0, 12);
  PutLe<uint32_t>(many_labels, 1000);
  PutLe<uint16_t>(many_labels, 3);
  many_labels += "cat";
  PutLe<uint64_t>(many_labels, 0);
  cases.push_back({"label count beyond the data", Seal(many_labels), "manifest: truncated in the label table"});
  std::string long_label = body.substr(0, 12);
  PutLe<uint32_t>(long_label, 1);
  PutLe<uint16_t>(long_label, 60000);
  long_label += std::string(20, 'x');
  cases.push_back({"label length beyond the data", Seal(long_label), "manifest: truncated in the label table"});
  std::string no_count = body.substr(0, 12);
  PutLe<uint32_t>(no_count, 1);
  PutLe<uint16_t>(no_count, 20);
  no_count += std::string(20, 'x');
  no_count += std::string(4, '\0');
  cases.push_back({"row count cut off", Seal(no_count), "manifest: truncated before the row count"});

  std::string unsorted = body;
  std::string row0 = body.substr(rows_at, kManifestRowBytes),
              row1 = body.substr(rows_at + kManifestRowBytes, kManifestRowBytes);
  unsorted.replace(rows_at, kManifestRowBytes, row1);
  unsorted.replace(rows_at + kManifestRowBytes, kManifestRowBytes, row0);
  cases.push_back({"unsorted rows", Seal(unsorted), "manifest: rows are not sorted by item id"});
  std::string repeated = body;
  repeated.replace(rows_at + kManifestRowBytes, kManifestRowBytes, row0);
  cases.push_back({"repeated row", Seal(repeated), "manifest: rows are not sorted by item id"});

  std::string bad_label = body;
  bad_label[rows_at + kManifestRowBytes + 32] = 2;  // row 1's label index; there are 2 labels
  cases.push_back({"label index out of range", Seal(bad_label), "manifest: row 1 has label index out of range"});
  std::string huge_label = body;
  for (int i = 0; i < 4; ++i) huge_label[rows_at + 32 + i] = '\xff';
  cases.push_back({"label index 2^32-1", Seal(huge_label), "manifest: row 0 has label index out of range"});

  std::string bad_split = body;
  bad_split[rows_at + 36] = 3;
  cases.push_back({"split 3", Seal(bad_split), "manifest: row 0 has an unknown split"});
  std::string bad_split2 = body;
  bad_split2[rows_at + kManifestRowBytes + 36] = '\xff';
  cases.push_back({"split 255", Seal(bad_split2), "manifest: row 1 has an unknown split"});

  std::string v2 = body;
  v2[8] = 2;
  cases.push_back({"version 2", Seal(v2), "manifest: format version 2 is not supported (this fsml reads 1)"});
  std::string v0 = body;
  v0[8] = 0;
  cases.push_back({"version 0", Seal(v0), "manifest: format version 0 is not supported (this fsml reads 1)"});
  return cases;
}

TEST(ManifestTest, RejectsEveryKindOfDamageAsCorruption) {
  for (const CorruptCase& c : CorruptCases()) {
    auto m = ParseManifest(c.bytes);
    ASSERT_FALSE(m.has_value()) << c.name << " was accepted";
    EXPECT_EQ(m.error().code(), Code::kCorruption) << c.name;
    EXPECT_EQ(m.error().message(), c.message) << c.name;
  }
}

TEST(ManifestTest, EveryFlippedByteIsDetected) {
  const std::string good = SerializeManifest(TwoRowManifest());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x04;
    auto m = ParseManifest(bad);
    EXPECT_FALSE(m.has_value()) << "flipping byte " << i << " went unnoticed";
    if (!m) {
      EXPECT_EQ(m.error().code(), Code::kCorruption);
    }
  }
}

TEST(ManifestTest, EveryTruncationIsDetected) {
  const std::string good = SerializeManifest(TwoRowManifest());
  for (size_t n = 0; n < good.size(); ++n) {
    auto m = ParseManifest(std::string_view(good).substr(0, n));
    EXPECT_FALSE(m.has_value()) << "truncated to " << n << " bytes was accepted";
  }
}

// DiffManifests: a merge by item id, labels compared by name.
Manifest Make(std::vector<std::string> labels, std::vector<std::pair<uint8_t, uint32_t>> rows) {
  Manifest m;
  m.labels = std::move(labels);
  for (auto [item, label] : rows) m.rows.push_back({Filled(item), label, Split::kTrain, item});
  return m;
}

std::vector<uint8_t> Items(const std::vector<ManifestRow>& rows) {
  std::vector<uint8_t> out;
  for (const auto& r : rows) out.push_back(r.item[0]);
  return out;
}

TEST(DiffManifestsTest, ClassifiesRowsTableDriven) {
  struct Relabel {
    uint8_t item;
    std::string from, to;
  };
  struct Case {
    const char* name;
    Manifest a, b;
    std::vector<uint8_t> added, removed;
    std::vector<Relabel> relabeled;
    uint64_t unchanged;
  };
  const std::vector<Case> cases = {
      {"both empty", Make({}, {}), Make({}, {}), {}, {}, {}, 0},
      {"empty labels tables too", Manifest{}, Make({"x"}, {}), {}, {}, {}, 0},
      {"all added", Make({"x"}, {}), Make({"x", "y"}, {{1, 0}, {2, 1}}), {1, 2}, {}, {}, 0},
      {"all removed", Make({"x", "y"}, {{1, 0}, {2, 1}}), Make({}, {}), {}, {1, 2}, {}, 0},
      {"identical",
       Make({"x", "y"}, {{1, 0}, {2, 1}, {3, 0}}),
       Make({"x", "y"}, {{1, 0}, {2, 1}, {3, 0}}),
       {},
       {},
       {},
       3},
      {"same names at different indexes are not relabels",
       Make({"x", "y"}, {{1, 0}, {2, 1}}),
       Make({"z", "y", "x"}, {{1, 2}, {2, 1}}),
       {},
       {},
       {},
       2},
      {"same index, different names is a relabel",
       Make({"x", "y"}, {{1, 0}}),
       Make({"y", "x"}, {{1, 0}}),
       {},
       {},
       {{1, "x", "y"}},
       0},
      {"mixed",
       Make({"x", "y"}, {{1, 0}, {2, 1}, {3, 0}, {5, 1}}),
       Make({"y", "x", "z"}, {{2, 0}, {3, 2}, {4, 1}, {6, 0}}),
       {4, 6},
       {1, 5},
       {{3, "x", "z"}},
       1},
      {"interleaved",
       Make({"x"}, {{1, 0}, {3, 0}, {5, 0}}),
       Make({"x"}, {{2, 0}, {4, 0}, {6, 0}}),
       {2, 4, 6},
       {1, 3, 5},
       {},
       0},
  };
  for (const Case& c : cases) {
    ManifestDiff d = DiffManifests(c.a, c.b);
    EXPECT_EQ(Items(d.added), c.added) << c.name;
    EXPECT_EQ(Items(d.removed), c.removed) << c.name;
    ASSERT_EQ(d.relabeled.size(), c.relabeled.size()) << c.name;
    for (size_t i = 0; i < c.relabeled.size(); ++i) {
      EXPECT_EQ(d.relabeled[i].item, Filled(c.relabeled[i].item)) << c.name;
      EXPECT_EQ(d.relabeled[i].from, c.relabeled[i].from) << c.name;
      EXPECT_EQ(d.relabeled[i].to, c.relabeled[i].to) << c.name;
    }
    EXPECT_EQ(d.unchanged, c.unchanged) << c.name;
  }
}

TEST(DiffManifestsTest, AddedRowsIndexLabelsOfBAndRemovedRowsOfA) {
  Manifest a = Make({"x", "y"}, {{1, 1}});
  Manifest b = Make({"q", "r", "s"}, {{2, 2}});
  ManifestDiff d = DiffManifests(a, b);
  ASSERT_EQ(d.added.size(), 1u);
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(b.labels[d.added[0].label], "s");
  EXPECT_EQ(a.labels[d.removed[0].label], "y");
  EXPECT_EQ(d.added[0].annotation_id, 2u);
}

TEST(DiffManifestsTest, SplitChangesAloneAreUnchanged) {
  Manifest a = Make({"x"}, {{1, 0}});
  Manifest b = a;
  b.rows[0].split = Split::kTest;
  ManifestDiff d = DiffManifests(a, b);
  EXPECT_EQ(d.unchanged, 1u);
  EXPECT_TRUE(d.relabeled.empty());
}

}  // namespace
}  // namespace fsml
