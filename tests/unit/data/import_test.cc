#include "data/import.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "data/image.h"
#include "data/split.h"
#include "test_util.h"

namespace fsml {
namespace {

using ::testing::StartsWith;

// What an import may change; equal before and after a failed one.
struct Snapshot {
  int64_t items = 0;          // the shared items table
  int64_t project_items = 0;  // this project's items
  int64_t labeled = 0;
  int64_t annotations = 0;
  int64_t imports = 0;
  bool operator==(const Snapshot&) const = default;
};

void PrintTo(const Snapshot& s, std::ostream* os) {
  *os << "{items " << s.items << ", project_items " << s.project_items << ", labeled " << s.labeled << ", annotations "
      << s.annotations << ", imports " << s.imports << "}";
}

class ImportTest : public test::WorkspaceTest {
 protected:
  void SetUp() override {
    test::WorkspaceTest::SetUp();
    text_ = MakeProject("texts", TaskType::kTextClassification, {"pos", "neg", "neutral"});
    image_ = MakeProject("imgs", TaskType::kImageClassification, {"cat", "dog"});
  }

  fs::path Write(const std::string& rel, std::string_view bytes) {
    fs::path f = dir_ / "src" / rel;
    test::WriteBytes(f, bytes);
    return f;
  }

  Result<ImportSummary> Import(const Project& p, const fs::path& source, ImportFormat format, ImportOptions opt = {}) {
    opt.format = format;
    if (opt.threads == 0) opt.threads = 2;
    return ImportItems(*ws_, p, source, opt);
  }

  ImportSummary MustImport(const Project& p, const fs::path& source, ImportFormat format, ImportOptions opt = {}) {
    auto s = Import(p, source, format, opt);
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return s ? *s : ImportSummary{};
  }

  Snapshot Take(const Project& p) {
    Snapshot s;
    s.items = Count("SELECT COUNT(*) FROM items");
    s.project_items = Count("SELECT COUNT(*) FROM project_items WHERE project_id = ?", {p.id});
    s.labeled = Count("SELECT COUNT(*) FROM project_items WHERE project_id = ? AND label_id IS NOT NULL", {p.id});
    s.annotations = Count("SELECT COUNT(*) FROM annotations WHERE project_id = ?", {p.id});
    s.imports = Count("SELECT COUNT(*) FROM imports WHERE project_id = ?", {p.id});
    return s;
  }

  // Runs an import that must fail with `code` and exactly `message`, and
  // checks that the project is exactly as before.
  void ExpectFailsUnchanged(const Project& p, const fs::path& source, ImportFormat format, Code code,
                            const std::string& message, ImportOptions opt = {}) {
    Snapshot before = Take(p);
    auto s = Import(p, source, format, opt);
    ASSERT_FALSE(s.has_value()) << "import of " << source << " succeeded";
    EXPECT_EQ(s.error().code(), code) << s.error().ToString();
    EXPECT_EQ(s.error().message(), message);
    EXPECT_EQ(Take(p), before);
  }

  // A few items already in the project, so "unchanged" is not just "empty".
  void SeedTextProject() {
    fs::path f = Write("seed.jsonl", "{\"text\": \"seed one\", \"label\": \"pos\"}\n{\"text\": \"seed two\"}\n");
    ImportSummary s = MustImport(text_, f, ImportFormat::kJsonl);
    ASSERT_EQ(s.added, 2u);
    ASSERT_EQ(Take(text_), (Snapshot{2, 2, 1, 1, 1}));
  }

  std::optional<std::string> LabelOf(const Project& p, const std::string& item) {
    auto l = meta().QueryText(
        "SELECT l.name FROM project_items i JOIN labels l ON l.id = i.label_id "
        "WHERE i.project_id = ? AND i.item_id = ?",
        {p.id, item});
    EXPECT_TRUE(l.has_value());
    return l ? *l : std::nullopt;
  }

  int64_t SplitOf(const Project& p, const std::string& item) {
    return Count("SELECT split FROM project_items WHERE project_id = ? AND item_id = ?", {p.id, item});
  }

  std::string MetaOf(const Project& p, const std::string& item) {
    auto m = meta().QueryText("SELECT meta FROM project_items WHERE project_id = ? AND item_id = ?", {p.id, item});
    return m && *m ? **m : "";
  }

  std::string SourceOf(const Project& p, const std::string& item) {
    auto m = meta().QueryText("SELECT source FROM project_items WHERE project_id = ? AND item_id = ?", {p.id, item});
    return m && *m ? **m : "";
  }

  Project text_;
  Project image_;
};

// ------------------------------------------------------------ JSONL, CSV

TEST_F(ImportTest, ImportsJsonlIntoTextProject) {
  fs::path f = Write("data.jsonl",
                     "{\"text\": \"great movie\", \"label\": \"pos\", \"split\": \"train\", \"id\": \"r1\"}\n"
                     "\n"
                     "{\"text\": \"awful\", \"label\": \"neg\", \"split\": \"test\", \"stars\": 1}\n"
                     "{\"text\": \"no label yet\"}\n");
  ImportSummary s = MustImport(text_, f, ImportFormat::kJsonl);
  EXPECT_EQ(s.records, 3u);
  EXPECT_EQ(s.added, 3u);
  EXPECT_EQ(s.present, 0u);
  EXPECT_EQ(s.relabeled, 0u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(s.labels_added, 2u);
  EXPECT_GT(s.import_id, 0);
  uint64_t per_split = 0;
  for (const auto& [split, n] : s.added_per_split) per_split += n;
  EXPECT_EQ(per_split, 3u);
  EXPECT_EQ(Take(text_), (Snapshot{3, 3, 2, 2, 1}));

  std::string great = Sha256Hex("great movie"), awful = Sha256Hex("awful"), none = Sha256Hex("no label yet");
  EXPECT_EQ(LabelOf(text_, great), "pos");
  EXPECT_EQ(LabelOf(text_, awful), "neg");
  EXPECT_EQ(LabelOf(text_, none), std::nullopt);
  EXPECT_EQ(SplitOf(text_, great), static_cast<int64_t>(Split::kTrain));
  EXPECT_EQ(SplitOf(text_, awful), static_cast<int64_t>(Split::kTest));
  // Without a split in the source, the hash rule decides.
  EXPECT_EQ(SplitOf(text_, none), static_cast<int64_t>(AssignSplit(none, text_.split_salt, text_.ratios)));
  EXPECT_EQ(SourceOf(text_, awful), "data.jsonl:3");
  // Other fields are kept as item metadata; id, text, label and split are not.
  EXPECT_EQ(nlohmann::json::parse(MetaOf(text_, awful)), nlohmann::json({{"stars", 1}}));
  EXPECT_EQ(nlohmann::json::parse(MetaOf(text_, great)), nlohmann::json::object());

  EXPECT_EQ(Count("SELECT size_bytes FROM items WHERE id = ?", {great}), 11);
  auto media = meta().QueryText("SELECT media_type FROM items WHERE id = ?", {great});
  ASSERT_TRUE(media.has_value());
  EXPECT_EQ(*media, "text/plain");
  EXPECT_EQ(Count("SELECT items_added FROM imports WHERE id = ?", {s.import_id}), 3);
  EXPECT_EQ(Count("SELECT labels_added FROM imports WHERE id = ?", {s.import_id}), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM annotations WHERE import_id = ? AND origin = 'import'", {s.import_id}), 2);
  // The bytes are in the object store under their hash.
  auto bytes = ws_->blobs().Get(great);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, "great movie");
}

TEST_F(ImportTest, ImportsCsvIntoTextProject) {
  fs::path f = Write("texts.csv",
                     "text,label,split,source_id\n"
                     "\"Hello, world\",pos,train,s1\n"
                     "\"multi\nline \"\"quoted\"\"\",neg,,s2\n"
                     "plain,,test,s3\n");
  ImportSummary s = MustImport(text_, f, ImportFormat::kCsv);
  EXPECT_EQ(s.records, 3u);
  EXPECT_EQ(s.added, 3u);
  EXPECT_EQ(s.labels_added, 2u);
  EXPECT_EQ(Take(text_), (Snapshot{3, 3, 2, 2, 1}));
  std::string hello = Sha256Hex("Hello, world"), multi = Sha256Hex("multi\nline \"quoted\""),
              plain = Sha256Hex("plain");
  EXPECT_EQ(LabelOf(text_, hello), "pos");
  EXPECT_EQ(LabelOf(text_, multi), "neg");
  EXPECT_EQ(LabelOf(text_, plain), std::nullopt);
  EXPECT_EQ(SplitOf(text_, hello), static_cast<int64_t>(Split::kTrain));
  EXPECT_EQ(SplitOf(text_, plain), static_cast<int64_t>(Split::kTest));
  EXPECT_EQ(SplitOf(text_, multi), static_cast<int64_t>(AssignSplit(multi, text_.split_salt, text_.ratios)));
  EXPECT_EQ(nlohmann::json::parse(MetaOf(text_, hello)), nlohmann::json({{"source_id", "s1"}}));
  // Line numbers count the embedded newline.
  EXPECT_EQ(SourceOf(text_, multi), "texts.csv:3");
  EXPECT_EQ(SourceOf(text_, plain), "texts.csv:5");
}

TEST_F(ImportTest, CsvWithoutTextColumnIsRejectedNamingIt) {
  SeedTextProject();
  fs::path f = Write("texts.csv", "body,label\nhello,pos\n");
  ExpectFailsUnchanged(text_, f, ImportFormat::kCsv, Code::kInvalidArgument,
                       "texts.csv: line 1: missing column 'text' (header has: body, label)");
}

TEST_F(ImportTest, CsvSyntaxErrorIsRejectedNamingTheLine) {
  SeedTextProject();
  fs::path f = Write("texts.csv", "text,label\nfine,pos\n\"broken,pos\n");
  ExpectFailsUnchanged(text_, f, ImportFormat::kCsv, Code::kInvalidArgument,
                       "texts.csv: line 3: unterminated quoted field");
}

TEST_F(ImportTest, UnknownLabelIsRejectedNamingPositionAndProjectLabels) {
  SeedTextProject();
  fs::path f = Write("data.jsonl",
                     "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"label\": \"meh\"}\n"
                     "{\"text\": \"c\", \"label\": \"neg\"}\n");
  ExpectFailsUnchanged(text_, f, ImportFormat::kJsonl, Code::kInvalidArgument,
                       "data.jsonl: line 2: unknown label 'meh' (project labels: pos, neg, neutral)");
}

TEST_F(ImportTest, LabelsAreCaseSensitive) {
  fs::path f = Write("texts.csv", "text,label\nx,Pos\n");
  ExpectFailsUnchanged(text_, f, ImportFormat::kCsv, Code::kInvalidArgument,
                       "texts.csv: line 2: unknown label 'Pos' (project labels: pos, neg, neutral)");
}

TEST_F(ImportTest, DuplicateItemIsRejectedNamingBothPositions) {
  SeedTextProject();
  fs::path f = Write("data.jsonl",
                     "{\"text\": \"same\", \"label\": \"pos\"}\n{\"text\": \"other\"}\n"
                     "{\"text\": \"same\", \"label\": \"neg\"}\n");
  ExpectFailsUnchanged(text_, f, ImportFormat::kJsonl, Code::kInvalidArgument,
                       "data.jsonl: line 3: duplicate item (same bytes as data.jsonl: line 1); pass "
                       "--skip-duplicates to keep the first");
}

TEST_F(ImportTest, SkipDuplicatesKeepsTheFirst) {
  fs::path f = Write("data.jsonl",
                     "{\"text\": \"same\", \"label\": \"pos\"}\n{\"text\": \"other\"}\n"
                     "{\"text\": \"same\", \"label\": \"neg\"}\n{\"text\": \"same\"}\n");
  ImportOptions opt;
  opt.skip_duplicates = true;
  ImportSummary s = MustImport(text_, f, ImportFormat::kJsonl, opt);
  EXPECT_EQ(s.records, 4u);
  EXPECT_EQ(s.added, 2u);
  EXPECT_EQ(s.duplicates, 2u);
  EXPECT_EQ(s.labels_added, 1u);
  EXPECT_EQ(LabelOf(text_, Sha256Hex("same")), "pos");
  EXPECT_EQ(Take(text_), (Snapshot{2, 2, 1, 1, 1}));
}

TEST_F(ImportTest, RejectsBadRecordsLeavingProjectUnchanged) {
  SeedTextProject();
  struct Case {
    const char* what;
    std::string file;
    std::string content;
    ImportFormat format;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"invalid UTF-8 in CSV text", "texts.csv", "text,label\nok,pos\nbad \xC3(,pos\n", ImportFormat::kCsv,
       "texts.csv: line 3: text is not valid UTF-8"},
      {"overlong UTF-8 in CSV text", "texts.csv", "text\n\xC0\xAF\n", ImportFormat::kCsv,
       "texts.csv: line 2: text is not valid UTF-8"},
      {"invalid UTF-8 in JSONL", "data.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"bad \xff\"}\n", ImportFormat::kJsonl,
       "data.jsonl: line 2: not valid JSON"},
      {"empty text", "data.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"\"}\n", ImportFormat::kJsonl,
       "data.jsonl: line 2: empty text"},
      {"missing text", "data.jsonl", "{\"label\": \"pos\"}\n", ImportFormat::kJsonl,
       "data.jsonl: line 1: missing \"text\" (project 'texts' is text-classification)"},
      {"label not a string", "data.jsonl", "{\"text\": \"x\", \"label\": 3}\n", ImportFormat::kJsonl,
       "data.jsonl: line 1: \"label\" must be a string"},
      {"text not a string", "data.jsonl", "{\"text\": [\"x\"]}\n", ImportFormat::kJsonl,
       "data.jsonl: line 1: \"text\" must be a string"},
      {"unknown split", "data.jsonl", "{\"text\": \"x\", \"split\": \"dev\"}\n", ImportFormat::kJsonl,
       "data.jsonl: line 1: unknown split 'dev' (expected train, val or test)"},
      {"unknown split in CSV", "texts.csv", "text,split\nx,holdout\n", ImportFormat::kCsv,
       "texts.csv: line 2: unknown split 'holdout' (expected train, val or test)"},
      {"invalid JSON", "data.jsonl", "{\"text\": \"x\"}\n{\"text\": \n", ImportFormat::kJsonl,
       "data.jsonl: line 2: not valid JSON"},
      {"not an object", "data.jsonl", "[\"x\"]\n", ImportFormat::kJsonl,
       "data.jsonl: line 1: expected a JSON object, got array"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    fs::path f = Write(c.file, c.content);
    ExpectFailsUnchanged(text_, f, c.format, Code::kInvalidArgument, c.message);
  }
}

TEST_F(ImportTest, MissingSourceFileIsNotFound) {
  fs::path f = dir_ / "nope.jsonl";
  ExpectFailsUnchanged(text_, f, ImportFormat::kJsonl, Code::kNotFound, f.string() + ": no such file");
}

TEST_F(ImportTest, ReimportingTheSameSourceIsANoOp) {
  fs::path f =
      Write("data.jsonl",
            "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"label\": \"neg\"}\n{\"text\": \"c\"}\n");
  MustImport(text_, f, ImportFormat::kJsonl);
  Snapshot before = Take(text_);
  ImportSummary again = MustImport(text_, f, ImportFormat::kJsonl);
  EXPECT_EQ(again.records, 3u);
  EXPECT_EQ(again.added, 0u);
  EXPECT_EQ(again.present, 3u);
  EXPECT_EQ(again.relabeled, 0u);
  EXPECT_EQ(again.labels_added, 0u);
  EXPECT_EQ(again.import_id, 0);
  EXPECT_TRUE(again.added_per_split.empty());
  EXPECT_EQ(Take(text_), before);
}

TEST_F(ImportTest, ImportingAChangedLabelRelabels) {
  fs::path first = Write("v1.jsonl",
                         "{\"text\": \"a\", \"label\": \"pos\", \"split\": \"val\"}\n"
                         "{\"text\": \"b\", \"label\": \"neg\"}\n{\"text\": \"c\"}\n");
  MustImport(text_, first, ImportFormat::kJsonl);
  std::string a = Sha256Hex("a");
  auto old_annotation =
      Count("SELECT annotation_id FROM project_items WHERE project_id = ? AND item_id = ?", {text_.id, a});
  // a: pos -> neutral; b: same label; c: gets its first label; d: new.
  fs::path second = Write("v2.jsonl",
                          "{\"text\": \"a\", \"label\": \"neutral\"}\n{\"text\": \"b\", \"label\": \"neg\"}\n"
                          "{\"text\": \"c\", \"label\": \"pos\"}\n{\"text\": \"d\", \"label\": \"pos\"}\n");
  ImportSummary s = MustImport(text_, second, ImportFormat::kJsonl);
  EXPECT_EQ(s.records, 4u);
  EXPECT_EQ(s.added, 1u);
  EXPECT_EQ(s.present, 1u);
  EXPECT_EQ(s.relabeled, 2u);
  EXPECT_EQ(s.labels_added, 3u);
  EXPECT_GT(s.import_id, 0);
  EXPECT_EQ(Take(text_), (Snapshot{4, 4, 4, 5, 2}));
  EXPECT_EQ(LabelOf(text_, a), "neutral");
  EXPECT_EQ(LabelOf(text_, Sha256Hex("c")), "pos");
  // The item keeps its split; the new annotation points at the new label and
  // the old one is kept as history.
  EXPECT_EQ(SplitOf(text_, a), static_cast<int64_t>(Split::kVal));
  auto new_annotation =
      Count("SELECT annotation_id FROM project_items WHERE project_id = ? AND item_id = ?", {text_.id, a});
  EXPECT_NE(new_annotation, old_annotation);
  EXPECT_EQ(Count("SELECT import_id FROM annotations WHERE id = ?", {new_annotation}), s.import_id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM annotations WHERE item_id = ?", {a}), 2);
  EXPECT_EQ(Count("SELECT items_present FROM imports WHERE id = ?", {s.import_id}), 3);
  EXPECT_EQ(Count("SELECT labels_added FROM imports WHERE id = ?", {s.import_id}), 3);
}

TEST_F(ImportTest, RecordWithoutLabelDoesNotClearALabel) {
  fs::path first = Write("v1.jsonl", "{\"text\": \"a\", \"label\": \"pos\"}\n");
  MustImport(text_, first, ImportFormat::kJsonl);
  fs::path second = Write("v2.jsonl", "{\"text\": \"a\"}\n");
  ImportSummary s = MustImport(text_, second, ImportFormat::kJsonl);
  EXPECT_EQ(s.present, 1u);
  EXPECT_EQ(s.relabeled, 0u);
  EXPECT_EQ(LabelOf(text_, Sha256Hex("a")), "pos");
}

TEST_F(ImportTest, ItemsAreSharedAcrossProjects) {
  Project other = MakeProject("other", TaskType::kTextClassification, {"x"});
  MustImport(text_, Write("a.jsonl", "{\"text\": \"shared\", \"label\": \"pos\"}\n"), ImportFormat::kJsonl);
  ImportSummary s =
      MustImport(other, Write("b.jsonl", "{\"text\": \"shared\", \"label\": \"x\"}\n"), ImportFormat::kJsonl);
  EXPECT_EQ(s.added, 1u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM items"), 1);
  EXPECT_EQ(LabelOf(text_, Sha256Hex("shared")), "pos");
  EXPECT_EQ(LabelOf(other, Sha256Hex("shared")), "x");
}

// ------------------------------------------------------------- images

TEST_F(ImportTest, ImportsImageJsonlWithRelativePaths) {
  std::string a = test::TestPng(6, 4, 1), b = test::TestPng(3, 5, 2), c = test::TestPng(2, 2, 3);
  Write("imgs/a.png", a);
  Write("imgs/sub/b.png", b);
  fs::path abs = Write("elsewhere/c.png", c);
  fs::path f = Write("data.jsonl",
                     "{\"image\": \"imgs/a.png\", \"label\": \"cat\"}\n"
                     "{\"image\": \"imgs/sub/b.png\", \"label\": \"dog\", \"split\": \"test\", \"w\": 3}\n"
                     "{\"image\": \"" +
                         abs.string() + "\"}\n");
  ImportSummary s = MustImport(image_, f, ImportFormat::kJsonl);
  EXPECT_EQ(s.added, 3u);
  EXPECT_EQ(s.labels_added, 2u);
  EXPECT_EQ(LabelOf(image_, Sha256Hex(a)), "cat");
  EXPECT_EQ(LabelOf(image_, Sha256Hex(b)), "dog");
  EXPECT_EQ(SplitOf(image_, Sha256Hex(b)), static_cast<int64_t>(Split::kTest));
  EXPECT_EQ(Count("SELECT width FROM items WHERE id = ?", {Sha256Hex(a)}), 6);
  EXPECT_EQ(Count("SELECT height FROM items WHERE id = ?", {Sha256Hex(a)}), 4);
  EXPECT_EQ(Count("SELECT channels FROM items WHERE id = ?", {Sha256Hex(a)}), 1);
  EXPECT_EQ(Count("SELECT size_bytes FROM items WHERE id = ?", {Sha256Hex(b)}), static_cast<int64_t>(b.size()));
  EXPECT_EQ(nlohmann::json::parse(MetaOf(image_, Sha256Hex(b))),
            nlohmann::json({{"image", "imgs/sub/b.png"}, {"w", 3}}));
  auto stored = ws_->blobs().Get(Sha256Hex(c));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*stored, c);
}

TEST_F(ImportTest, ImageJsonlErrorsNameTheLine) {
  Write("imgs/a.png", test::TestPng(4, 4, 1));
  Write("imgs/bad.png", "not an image");
  struct Case {
    const char* what;
    std::string jsonl;
    Code code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"missing file", "{\"image\": \"imgs/a.png\"}\n{\"image\": \"imgs/missing.png\"}\n", Code::kNotFound,
       "data.jsonl: line 2: " + (dir_ / "src" / "imgs" / "missing.png").string() + ": no such file"},
      {"not an image", "{\"image\": \"imgs/bad.png\"}\n", Code::kInvalidArgument,
       "data.jsonl: line 1: not a PNG or JPEG image"},
      {"missing image field", "{\"text\": \"hi\"}\n", Code::kInvalidArgument,
       "data.jsonl: line 1: missing \"image\" (a path relative to the file; project 'imgs' is image-classification)"},
      {"empty path", "{\"image\": \"\"}\n", Code::kInvalidArgument, "data.jsonl: line 1: empty \"image\" path"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ExpectFailsUnchanged(image_, Write("data.jsonl", c.jsonl), ImportFormat::kJsonl, c.code, c.message);
  }
}

TEST_F(ImportTest, ImportsImageFolderFlatLayout) {
  std::string a = test::TestPng(4, 4, 1), b = test::TestPng(4, 4, 2), c = test::TestPng(5, 5, 3);
  Write("folder/cat/a.png", a);
  Write("folder/cat/b.PNG", b);
  Write("folder/dog/c.png", c);
  Write("folder/dog/notes.txt", "ignored");
  Write("folder/top-level.png", test::TestPng(4, 4, 4));  // not in a label folder: ignored
  ImportSummary s = MustImport(image_, dir_ / "src" / "folder", ImportFormat::kImageFolder);
  EXPECT_EQ(s.records, 3u);
  EXPECT_EQ(s.added, 3u);
  EXPECT_EQ(s.labels_added, 3u);
  EXPECT_EQ(LabelOf(image_, Sha256Hex(a)), "cat");
  EXPECT_EQ(LabelOf(image_, Sha256Hex(b)), "cat");
  EXPECT_EQ(LabelOf(image_, Sha256Hex(c)), "dog");
  for (const std::string& bytes : {a, b, c}) {
    std::string id = Sha256Hex(bytes);
    EXPECT_EQ(SplitOf(image_, id), static_cast<int64_t>(AssignSplit(id, image_.split_salt, image_.ratios)));
  }
  EXPECT_EQ(SourceOf(image_, Sha256Hex(c)), "dog/c.png");
  auto media = meta().QueryText("SELECT media_type FROM items WHERE id = ?", {Sha256Hex(a)});
  ASSERT_TRUE(media.has_value());
  EXPECT_EQ(*media, "image/png");
}

TEST_F(ImportTest, ImageFolderSplitLayoutFixesTheSplit) {
  std::string t = test::TestPng(4, 4, 1), v = test::TestPng(4, 4, 2), v2 = test::TestPng(4, 4, 3),
              e = test::TestPng(4, 4, 4);
  Write("folder/train/cat/1.png", t);
  Write("folder/val/dog/2.png", v);
  Write("folder/validation/cat/3.png", v2);
  Write("folder/test/dog/4.png", e);
  ImportSummary s = MustImport(image_, dir_ / "src" / "folder", ImportFormat::kImageFolder);
  EXPECT_EQ(s.added, 4u);
  EXPECT_EQ(s.added_per_split, (std::map<std::string, uint64_t>{{"train", 1}, {"val", 2}, {"test", 1}}));
  EXPECT_EQ(SplitOf(image_, Sha256Hex(t)), static_cast<int64_t>(Split::kTrain));
  EXPECT_EQ(SplitOf(image_, Sha256Hex(v)), static_cast<int64_t>(Split::kVal));
  EXPECT_EQ(SplitOf(image_, Sha256Hex(v2)), static_cast<int64_t>(Split::kVal));
  EXPECT_EQ(SplitOf(image_, Sha256Hex(e)), static_cast<int64_t>(Split::kTest));
  EXPECT_EQ(LabelOf(image_, Sha256Hex(v)), "dog");
  EXPECT_EQ(LabelOf(image_, Sha256Hex(v2)), "cat");
}

TEST_F(ImportTest, ImageFolderUnescapesLabelFolderNames) {
  Project p = MakeProject("fashion", TaskType::kImageClassification, {"T-shirt/top", "50%"});
  std::string a = test::TestPng(4, 4, 1), b = test::TestPng(4, 4, 2);
  Write("folder/T-shirt%2Ftop/a.png", a);
  Write("folder/50%25/b.png", b);
  MustImport(p, dir_ / "src" / "folder", ImportFormat::kImageFolder);
  EXPECT_EQ(LabelOf(p, Sha256Hex(a)), "T-shirt/top");
  EXPECT_EQ(LabelOf(p, Sha256Hex(b)), "50%");
}

TEST_F(ImportTest, CorruptPngInImageFolderIsRejectedNamingTheFile) {
  Write("seed/cat/s.png", test::TestPng(4, 4, 100));
  MustImport(image_, dir_ / "src" / "seed", ImportFormat::kImageFolder);
  std::string png = test::TestPng(16, 16, 1);
  Write("folder/cat/good.png", test::TestPng(4, 4, 2));
  Write("folder/dog/bad.png", png.substr(0, png.size() - 30));
  Snapshot before = Take(image_);
  auto s = Import(image_, dir_ / "src" / "folder", ImportFormat::kImageFolder);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(s.error().message(), StartsWith("dog/bad.png: corrupt or truncated "));
  EXPECT_EQ(Take(image_), before);
}

TEST_F(ImportTest, ImageFolderErrors) {
  Write("unknown/bird/1.png", test::TestPng(4, 4, 1));
  Write("fake/cat/x.png", "GIF89a, not a png");
  fs::create_directories(dir_ / "src" / "empty" / "cat");
  Write("empty/cat/readme.md", "no images");
  const fs::path root = dir_ / "src";
  ExpectFailsUnchanged(image_, root / "unknown", ImportFormat::kImageFolder, Code::kInvalidArgument,
                       "bird/1.png: unknown label 'bird' (project labels: cat, dog)");
  ExpectFailsUnchanged(image_, root / "fake", ImportFormat::kImageFolder, Code::kInvalidArgument,
                       "cat/x.png: not a PNG or JPEG image");
  ExpectFailsUnchanged(image_, root / "empty", ImportFormat::kImageFolder, Code::kInvalidArgument,
                       (root / "empty").string() + ": no .png or .jpg files in <label>/ folders");
  ExpectFailsUnchanged(image_, root / "missing", ImportFormat::kImageFolder, Code::kNotFound,
                       (root / "missing").string() + ": no such folder");
}

TEST_F(ImportTest, ImageFormatsAreRefusedForTextProjects) {
  SeedTextProject();
  Write("folder/pos/a.png", test::TestPng(4, 4, 1));
  ImportOptions opt;
  opt.label_names = {"pos", "neg"};
  ExpectFailsUnchanged(text_, dir_ / "src", ImportFormat::kIdx, Code::kInvalidArgument,
                       "idx files hold images; project 'texts' is text-classification", opt);
  ExpectFailsUnchanged(text_, dir_ / "src", ImportFormat::kFashionMnist, Code::kInvalidArgument,
                       "idx files hold images; project 'texts' is text-classification");
  ExpectFailsUnchanged(text_, dir_ / "src" / "folder", ImportFormat::kImageFolder, Code::kInvalidArgument,
                       "an image folder holds images; project 'texts' is text-classification");
}

// ---------------------------------------------------------------- IDX

class IdxImportTest : public ImportTest {
 protected:
  static constexpr int kSide = 4;

  // Images `first`..`first+n-1` (TestPixels seeds), labels label_of(i).
  void WriteIdxPair(const std::string& prefix, int first, int n, const std::function<uint8_t(int)>& label_of, bool gzip,
                    const std::string& folder = "idx") {
    std::string pixels, labels;
    for (int i = 0; i < n; ++i) {
      auto px = test::TestPixels(kSide, kSide, first + i);
      pixels.append(px.begin(), px.end());
      labels.push_back(static_cast<char>(label_of(i)));
    }
    std::string images = test::IdxBytes(0x08, {static_cast<uint32_t>(n), kSide, kSide}, pixels);
    std::string label_bytes = test::IdxBytes(0x08, {static_cast<uint32_t>(n)}, labels);
    fs::path dir = dir_ / "src" / folder;
    std::string suffix = gzip ? ".gz" : "";
    if (gzip) {
      test::WriteGzipFile(dir / (prefix + "-images-idx3-ubyte" + suffix), images);
      test::WriteGzipFile(dir / (prefix + "-labels-idx1-ubyte" + suffix), label_bytes);
    } else {
      test::WriteBytes(dir / (prefix + "-images-idx3-ubyte"), images);
      test::WriteBytes(dir / (prefix + "-labels-idx1-ubyte"), label_bytes);
    }
  }

  static std::string ItemIdOf(int seed) {
    auto px = test::TestPixels(kSide, kSide, seed);
    return Sha256Hex(EncodeGrayPng(px.data(), kSide, kSide));
  }

  ImportOptions Names(std::vector<std::string> names) {
    ImportOptions opt;
    opt.label_names = std::move(names);
    return opt;
  }
};

TEST_F(IdxImportTest, ImportsTrainAndTestPairs) {
  // Val is 40% of the pool, so 40 training images give both train and val
  // (all 40 in one split has probability below 1e-9).
  Project p = MakeProject("mnist", TaskType::kImageClassification, {"cat", "dog"}, {500, 400, 100});
  WriteIdxPair(
      "train", 0, 40, [](int i) { return i % 2; }, /*gzip=*/true);
  WriteIdxPair(
      "t10k", 1000, 10, [](int i) { return i < 3 ? 1 : 0; }, /*gzip=*/false);
  ImportSummary s = MustImport(p, dir_ / "src" / "idx", ImportFormat::kIdx, Names({"cat", "dog"}));
  EXPECT_EQ(s.records, 50u);
  EXPECT_EQ(s.added, 50u);
  EXPECT_EQ(s.labels_added, 50u);
  EXPECT_EQ(s.added_per_split["test"], 10u);
  EXPECT_EQ(s.added_per_split["train"] + s.added_per_split["val"], 40u);
  EXPECT_GT(s.added_per_split["train"], 0u);
  EXPECT_GT(s.added_per_split["val"], 0u);

  for (int i = 0; i < 10; ++i) {
    std::string id = ItemIdOf(1000 + i);
    EXPECT_EQ(SplitOf(p, id), static_cast<int64_t>(Split::kTest)) << "t10k image " << i;
    EXPECT_EQ(LabelOf(p, id), i < 3 ? "dog" : "cat");
  }
  for (int i = 0; i < 40; ++i) {
    std::string id = ItemIdOf(i);
    EXPECT_EQ(SplitOf(p, id), static_cast<int64_t>(AssignSplit(id, p.split_salt, p.ratios, SourceSplit::kTrainPool)))
        << "train image " << i;
    EXPECT_EQ(LabelOf(p, id), i % 2 ? "dog" : "cat");
  }
  std::string first = ItemIdOf(0);
  EXPECT_EQ(Count("SELECT width FROM items WHERE id = ?", {first}), kSide);
  EXPECT_EQ(Count("SELECT height FROM items WHERE id = ?", {first}), kSide);
  EXPECT_EQ(Count("SELECT channels FROM items WHERE id = ?", {first}), 1);
  EXPECT_EQ(SourceOf(p, ItemIdOf(7)), "train-images-idx3-ubyte.gz#7");
  EXPECT_EQ(SourceOf(p, ItemIdOf(1002)), "t10k-images-idx3-ubyte#2");
  // The stored object decodes to the idx pixels.
  auto png = ws_->blobs().Get(first);
  ASSERT_TRUE(png.has_value());
  auto info = InspectImage(*png, "first");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->width, kSide);

  // Again: nothing new.
  ImportSummary again = MustImport(p, dir_ / "src" / "idx", ImportFormat::kIdx, Names({"cat", "dog"}));
  EXPECT_EQ(again.added, 0u);
  EXPECT_EQ(again.present, 50u);
}

TEST_F(IdxImportTest, FashionMnistFormatUsesTheTenClassNames) {
  const auto& names = FashionMnistLabels();
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names[0], "T-shirt/top");
  EXPECT_EQ(names[9], "Ankle boot");
  Project p = MakeProject("fashion", TaskType::kImageClassification, names);
  WriteIdxPair(
      "t10k", 0, 10, [](int i) { return static_cast<uint8_t>(i); }, /*gzip=*/true);
  ImportSummary s = MustImport(p, dir_ / "src" / "idx", ImportFormat::kFashionMnist);
  EXPECT_EQ(s.added, 10u);
  EXPECT_EQ(LabelOf(p, ItemIdOf(0)), "T-shirt/top");
  EXPECT_EQ(LabelOf(p, ItemIdOf(9)), "Ankle boot");
}

TEST_F(IdxImportTest, RejectsLabelValuesBeyondTheNames) {
  WriteIdxPair(
      "train", 0, 4, [](int i) { return i == 3 ? 2 : 0; }, /*gzip=*/true);
  ExpectFailsUnchanged(image_, dir_ / "src" / "idx", ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-labels-idx1-ubyte.gz: label 3 has value 2 but only 2 label names were given",
                       Names({"cat", "dog"}));
}

TEST_F(IdxImportTest, RejectsNamesOutsideTheProject) {
  WriteIdxPair(
      "train", 0, 3, [](int i) { return i; }, /*gzip=*/false);
  ExpectFailsUnchanged(image_, dir_ / "src" / "idx", ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-images-idx3-ubyte: image 2: unknown label 'bird' (project labels: cat, dog)",
                       Names({"cat", "dog", "bird"}));
}

TEST_F(IdxImportTest, RejectsMismatchedCounts) {
  WriteIdxPair(
      "train", 0, 5, [](int) { return 0; }, /*gzip=*/false);
  test::WriteBytes(dir_ / "src" / "idx" / "train-labels-idx1-ubyte", test::IdxBytes(0x08, {4}, std::string(4, '\0')));
  ExpectFailsUnchanged(image_, dir_ / "src" / "idx", ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-images-idx3-ubyte has 5 images but train-labels-idx1-ubyte has 4 labels",
                       Names({"cat", "dog"}));
}

TEST_F(IdxImportTest, RejectsBadIdxFilesNamingThem) {
  const fs::path idx = dir_ / "src" / "idx";
  ImportOptions names = Names({"cat", "dog"});

  WriteIdxPair(
      "train", 0, 2, [](int) { return 0; }, /*gzip=*/false);
  test::WriteBytes(idx / "train-images-idx3-ubyte", test::IdxBytes(0x08, {2, 4}, std::string(8, 'x')));
  ExpectFailsUnchanged(image_, idx, ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-images-idx3-ubyte: expected images of rank 3 (count, rows, columns), got rank 2", names);

  WriteIdxPair(
      "train", 0, 2, [](int) { return 0; }, /*gzip=*/false);
  test::WriteBytes(idx / "train-labels-idx1-ubyte", test::IdxBytes(0x08, {2, 1}, "ab"));
  ExpectFailsUnchanged(image_, idx, ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-labels-idx1-ubyte: expected labels of rank 1, got rank 2", names);

  WriteIdxPair(
      "train", 0, 2, [](int) { return 0; }, /*gzip=*/false);
  test::WriteBytes(idx / "train-labels-idx1-ubyte", test::IdxBytes(0x08, {2}, "a"));
  ExpectFailsUnchanged(image_, idx, ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-labels-idx1-ubyte: truncated: header promises 2 data bytes, file has 1", names);

  WriteIdxPair(
      "train", 0, 2, [](int) { return 0; }, /*gzip=*/false);
  test::WriteBytes(idx / "train-images-idx3-ubyte", test::IdxBytes(0x08, {1, 0, 4}, ""));
  test::WriteBytes(idx / "train-labels-idx1-ubyte", test::IdxBytes(0x08, {1}, "a"));
  ExpectFailsUnchanged(image_, idx, ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-images-idx3-ubyte: image size 0x4 is outside 1 to 16384", names);
}

TEST_F(IdxImportTest, RejectsTruncatedGzip) {
  WriteIdxPair(
      "train", 0, 8, [](int) { return 0; }, /*gzip=*/true);
  fs::path images = dir_ / "src" / "idx" / "train-images-idx3-ubyte.gz";
  std::string gz = test::ReadBytes(images);
  test::WriteBytes(images, gz.substr(0, gz.size() / 2));
  ExpectFailsUnchanged(image_, dir_ / "src" / "idx", ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-images-idx3-ubyte.gz: gzip: truncated", Names({"cat", "dog"}));
}

TEST_F(IdxImportTest, RejectsMissingFilesAndNames) {
  const fs::path idx = dir_ / "src" / "idx";
  ExpectFailsUnchanged(image_, idx, ImportFormat::kIdx, Code::kNotFound,
                       idx.string() + ": no such folder (expected the idx files' folder)", Names({"cat"}));
  fs::create_directories(idx);
  ExpectFailsUnchanged(image_, idx, ImportFormat::kIdx, Code::kNotFound,
                       idx.string() + ": no *-images-idx3-ubyte[.gz] files", Names({"cat"}));
  WriteIdxPair(
      "train", 0, 2, [](int) { return 0; }, /*gzip=*/true);
  fs::remove(idx / "train-labels-idx1-ubyte.gz");
  ExpectFailsUnchanged(
      image_, idx, ImportFormat::kIdx, Code::kNotFound,
      (idx / "train-labels-idx1-ubyte.gz").string() + ": missing (the labels for train-images-idx3-ubyte.gz)",
      Names({"cat"}));
  ExpectFailsUnchanged(image_, idx, ImportFormat::kIdx, Code::kInvalidArgument,
                       "--format idx needs --label-names (names for label values 0, 1, ...)");
}

TEST_F(IdxImportTest, DuplicateImagesAcrossFilesAreDetected) {
  WriteIdxPair(
      "train", 0, 3, [](int) { return 0; }, /*gzip=*/false);
  WriteIdxPair(
      "t10k", 2, 2, [](int) { return 1; }, /*gzip=*/false);  // seed 2 is also train image 2
  ExpectFailsUnchanged(image_, dir_ / "src" / "idx", ImportFormat::kIdx, Code::kInvalidArgument,
                       "train-images-idx3-ubyte: image 2: duplicate item (same bytes as t10k-images-idx3-ubyte: "
                       "image 0); pass --skip-duplicates to keep the first",
                       Names({"cat", "dog"}));
}

TEST(ImportFormatTest, ParsesAndNamesFormats) {
  struct Case {
    const char* name;
    ImportFormat format;
  };
  for (const Case& c : {Case{"fashion-mnist", ImportFormat::kFashionMnist}, Case{"idx", ImportFormat::kIdx},
                        Case{"imagefolder", ImportFormat::kImageFolder}, Case{"jsonl", ImportFormat::kJsonl},
                        Case{"csv", ImportFormat::kCsv}}) {
    auto f = ParseImportFormat(c.name);
    ASSERT_TRUE(f.has_value()) << c.name;
    EXPECT_EQ(*f, c.format);
    EXPECT_EQ(ImportFormatName(c.format), c.name);
  }
  auto mnist = ParseImportFormat("mnist");
  ASSERT_TRUE(mnist.has_value());
  EXPECT_EQ(*mnist, ImportFormat::kIdx);
  auto bad = ParseImportFormat("parquet");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(),
            "unknown import format 'parquet' (expected fashion-mnist, idx, imagefolder, jsonl or csv)");
}

}  // namespace
}  // namespace fsml
