#include "data/versions.h"

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "data/import.h"
#include "test_util.h"

namespace fsml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// (item id, label name, split): what a version says about each item,
// independent of label indexes and annotation ids.
using Row = std::tuple<std::string, std::string, std::string>;

std::vector<Row> RowsOf(const Manifest& m) {
  std::vector<Row> out;
  for (const auto& r : m.rows) out.emplace_back(ToHex(r.item), m.labels[r.label], std::string(SplitName(r.split)));
  return out;
}

class VersionsTest : public test::WorkspaceTest {
 protected:
  void SetUp() override {
    test::WorkspaceTest::SetUp();
    text_ = MakeProject("texts", TaskType::kTextClassification, {"pos", "neg", "neutral"});
  }

  Result<ImportSummary> Import(const Project& p, const fs::path& source, ImportFormat format) {
    ImportOptions opt;
    opt.format = format;
    opt.threads = 2;
    return ImportItems(*ws_, p, source, opt);
  }

  void ImportJsonl(const Project& p, const std::string& jsonl) {
    fs::path f = dir_ / ("import" + std::to_string(n_++) + ".jsonl");
    test::WriteBytes(f, jsonl);
    auto s = Import(p, f, ImportFormat::kJsonl);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }

  Result<DatasetVersion> Commit(const Project& p, const std::string& message, bool allow_empty = false) {
    CommitOptions opt;
    opt.message = message;
    opt.author = "alice";
    opt.allow_empty = allow_empty;
    return CommitVersion(*ws_, p, opt);
  }

  DatasetVersion MustCommit(const Project& p, const std::string& message) {
    auto v = Commit(p, message);
    EXPECT_TRUE(v.has_value()) << v.error().ToString();
    return v ? *v : DatasetVersion{};
  }

  Manifest MustLoad(const DatasetVersion& v) {
    auto m = LoadManifest(ws_->blobs(), v);
    EXPECT_TRUE(m.has_value()) << m.error().ToString();
    return m ? *m : Manifest{};
  }

  // Three labeled texts with fixed splits and one unlabeled.
  void ImportBasics() {
    ImportJsonl(text_,
                "{\"text\": \"good\", \"label\": \"pos\", \"split\": \"train\"}\n"
                "{\"text\": \"fine\", \"label\": \"pos\", \"split\": \"train\"}\n"
                "{\"text\": \"bad\", \"label\": \"neg\", \"split\": \"test\"}\n"
                "{\"text\": \"unlabeled\", \"split\": \"val\"}\n");
  }

  Project text_;
  int n_ = 0;
};

// --------------------------------------------------------------- commit

TEST_F(VersionsTest, CommitMakesVersionOneWithCountsAndStats) {
  ImportBasics();
  DatasetVersion v = MustCommit(text_, "first cut");
  EXPECT_EQ(v.number, 1);
  EXPECT_EQ(v.parent, std::nullopt);
  EXPECT_EQ(v.message, "first cut");
  EXPECT_EQ(v.author, "alice");
  EXPECT_EQ(v.item_count, 3u);
  EXPECT_TRUE(IsSha256Hex(v.manifest_key)) << v.manifest_key;
  EXPECT_EQ(v.stats, nlohmann::json::parse(R"({
      "splits": {"train": 2, "val": 0, "test": 1},
      "labels": {"pos": {"train": 2, "val": 0, "test": 0, "total": 2},
                 "neg": {"train": 0, "val": 0, "test": 1, "total": 1},
                 "neutral": {"train": 0, "val": 0, "test": 0, "total": 0}}})"));

  Manifest m = MustLoad(v);
  EXPECT_THAT(m.labels, ElementsAre("pos", "neg", "neutral"));  // the project's label order
  std::vector<Row> want = {
      {Sha256Hex("good"), "pos", "train"}, {Sha256Hex("fine"), "pos", "train"}, {Sha256Hex("bad"), "neg", "test"}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(RowsOf(m), want);  // sorted by item id; the unlabeled item is left out
  for (const auto& r : m.rows) {
    EXPECT_EQ(static_cast<int64_t>(r.annotation_id),
              Count("SELECT annotation_id FROM project_items WHERE item_id = ?", {ToHex(r.item)}));
  }
  // The manifest is stored under its hash, and stored bytes parse.
  auto bytes = ws_->blobs().Get(v.manifest_key);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(Sha256Hex(*bytes), v.manifest_key);

  auto st = GetProjectStats(meta(), text_);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->versions, 1u);
}

TEST_F(VersionsTest, CommitWithoutChangesIsRefusedUnlessAllowed) {
  ImportBasics();
  MustCommit(text_, "v1");
  auto again = Commit(text_, "again");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(again.error().message(), "nothing changed since texts@v1 (pass --allow-empty to commit anyway)");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM dataset_versions"), 1);

  // Adding an unlabeled item does not change the labeled snapshot either.
  ImportJsonl(text_, "{\"text\": \"still unlabeled\"}\n");
  EXPECT_EQ(Commit(text_, "again").error().code(), Code::kFailedPrecondition);

  auto forced = Commit(text_, "forced", /*allow_empty=*/true);
  ASSERT_TRUE(forced.has_value()) << forced.error().ToString();
  EXPECT_EQ(forced->number, 2);
  EXPECT_EQ(forced->parent, 1);
  EXPECT_EQ(forced->item_count, 3u);
}

TEST_F(VersionsTest, CommitWithNothingLabeledIsRefused) {
  auto empty = Commit(text_, "empty");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(empty.error().message(), "project 'texts' has no labeled items to commit");
  ImportJsonl(text_, "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
  auto unlabeled = Commit(text_, "unlabeled", /*allow_empty=*/true);
  ASSERT_FALSE(unlabeled.has_value());
  EXPECT_EQ(unlabeled.error().message(), "project 'texts' has no labeled items to commit");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM dataset_versions"), 0);
}

TEST_F(VersionsTest, CommitNeedsAMessage) {
  ImportBasics();
  auto v = Commit(text_, "");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(v.error().message(), "a version needs a message (-m \"what changed\")");
  auto long_message = Commit(text_, std::string(10001, 'm'));
  ASSERT_FALSE(long_message.has_value());
  EXPECT_EQ(long_message.error().message(), "version message longer than 10,000 bytes");
}

TEST_F(VersionsTest, RelabelThenCommitGivesADiffWithTheRelabel) {
  ImportBasics();
  DatasetVersion v1 = MustCommit(text_, "v1");
  ImportJsonl(text_,
              "{\"text\": \"fine\", \"label\": \"neutral\"}\n"
              "{\"text\": \"new\", \"label\": \"neg\", \"split\": \"val\"}\n"
              "{\"text\": \"unlabeled\", \"label\": \"pos\"}\n");
  DatasetVersion v2 = MustCommit(text_, "relabel fine, add new");
  EXPECT_EQ(v2.number, 2);
  EXPECT_EQ(v2.parent, 1);
  EXPECT_EQ(v2.item_count, 5u);
  EXPECT_EQ(v2.stats["splits"], nlohmann::json({{"train", 2}, {"val", 2}, {"test", 1}}));
  EXPECT_EQ(v2.stats["labels"]["neutral"]["total"], 1);

  ManifestDiff d = DiffManifests(MustLoad(v1), MustLoad(v2));
  ASSERT_EQ(d.relabeled.size(), 1u);
  EXPECT_EQ(ToHex(d.relabeled[0].item), Sha256Hex("fine"));
  EXPECT_EQ(d.relabeled[0].from, "pos");
  EXPECT_EQ(d.relabeled[0].to, "neutral");
  std::set<std::string> added;
  for (const auto& r : d.added) added.insert(ToHex(r.item));
  EXPECT_EQ(added, (std::set<std::string>{Sha256Hex("new"), Sha256Hex("unlabeled")}));
  EXPECT_TRUE(d.removed.empty());
  EXPECT_EQ(d.unchanged, 2u);

  // v1's manifest is immutable.
  auto v1_again = ResolveVersion(meta(), text_, "v1");
  ASSERT_TRUE(v1_again.has_value());
  EXPECT_EQ(v1_again->manifest_key, v1.manifest_key);
  EXPECT_EQ(MustLoad(*v1_again).rows.size(), 3u);
}

TEST_F(VersionsTest, RenamedLabelShowsAsRelabelInTheNextVersion) {
  ImportBasics();
  DatasetVersion v1 = MustCommit(text_, "v1");
  FSML_ASSERT_OK(RenameLabel(meta(), text_, "neg", "negative"));
  DatasetVersion v2 = MustCommit(text_, "renamed");
  ManifestDiff d = DiffManifests(MustLoad(v1), MustLoad(v2));
  ASSERT_EQ(d.relabeled.size(), 1u);
  EXPECT_EQ(d.relabeled[0].from, "neg");
  EXPECT_EQ(d.relabeled[0].to, "negative");
}

// -------------------------------------------------------- refs and tags

TEST_F(VersionsTest, ResolvesNumbersLatestAndTags) {
  ImportBasics();
  MustCommit(text_, "v1");
  ImportJsonl(text_, "{\"text\": \"more\", \"label\": \"pos\"}\n");
  MustCommit(text_, "v2");
  FSML_ASSERT_OK(TagVersion(meta(), text_, 1, "gold", "alice", false));
  FSML_ASSERT_OK(TagVersion(meta(), text_, 1, "first", "alice", false));

  struct Case {
    const char* ref;
    int64_t number;
  };
  for (const Case& c : {Case{"v1", 1}, Case{"v2", 2}, Case{"", 2}, Case{"latest", 2}, Case{"gold", 1}}) {
    auto v = ResolveVersion(meta(), text_, c.ref);
    ASSERT_TRUE(v.has_value()) << "'" << c.ref << "': " << v.error().ToString();
    EXPECT_EQ(v->number, c.number) << c.ref;
  }
  auto v1 = ResolveVersion(meta(), text_, "v1");
  ASSERT_TRUE(v1.has_value());
  EXPECT_THAT(v1->tags, ElementsAre("first", "gold"));
  EXPECT_EQ(v1->message, "v1");
  EXPECT_EQ(v1->item_count, 3u);

  auto list = ListVersions(meta(), text_);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].number, 2);  // newest first
  EXPECT_EQ((*list)[1].number, 1);
  EXPECT_TRUE((*list)[0].tags.empty());
  EXPECT_THAT((*list)[1].tags, ElementsAre("first", "gold"));
}

TEST_F(VersionsTest, MissingRefsAreNotFoundWithMessages) {
  auto none = ResolveVersion(meta(), text_, "");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), Code::kNotFound);
  EXPECT_EQ(none.error().message(), "project 'texts' has no versions yet (fsml data commit texts -m MSG)");
  EXPECT_EQ(ResolveVersion(meta(), text_, "latest").error().message(),
            "project 'texts' has no versions yet (fsml data commit texts -m MSG)");
  EXPECT_EQ(ResolveVersion(meta(), text_, "v1").error().message(), "no version texts@v1 (no versions yet)");

  ImportBasics();
  MustCommit(text_, "v1");
  struct Case {
    const char* ref;
    const char* message;
  };
  for (const Case& c :
       {Case{"v9", "no version texts@v9 (latest is texts@v1)"}, Case{"gold", "no version or tag 'texts@gold'"},
        Case{"v0", "no version or tag 'texts@v0'"}, Case{"v-1", "no version or tag 'texts@v-1'"},
        Case{"v1x", "no version or tag 'texts@v1x'"}, Case{"V1", "no version or tag 'texts@V1'"}}) {
    auto v = ResolveVersion(meta(), text_, c.ref);
    ASSERT_FALSE(v.has_value()) << c.ref;
    EXPECT_EQ(v.error().code(), Code::kNotFound) << c.ref;
    EXPECT_EQ(v.error().message(), c.message);
  }
}

TEST_F(VersionsTest, VersionsBelongToTheirProject) {
  ImportBasics();
  MustCommit(text_, "v1");
  Project other = MakeProject("other", TaskType::kTextClassification, {"pos"});
  EXPECT_EQ(ResolveVersion(meta(), other, "v1").error().message(), "no version other@v1 (no versions yet)");
  ImportJsonl(other, "{\"text\": \"x\", \"label\": \"pos\"}\n");
  DatasetVersion ov = MustCommit(other, "other v1");
  EXPECT_EQ(ov.number, 1);  // numbering is per project
  EXPECT_EQ(ov.item_count, 1u);
}

TEST(ParseVersionRefTest, ParsesNameAndRef) {
  struct Case {
    const char* text;
    const char* project;
    const char* ref;
  };
  for (const Case& c :
       {Case{"fashion@v3", "fashion", "v3"}, Case{"fashion", "fashion", ""}, Case{"fashion@gold", "fashion", "gold"},
        Case{"a.b-c_d@latest", "a.b-c_d", "latest"}, Case{"x@T-shirt/top", "x", "T-shirt/top"}}) {
    auto r = ParseVersionRef(c.text);
    ASSERT_TRUE(r.has_value()) << c.text << ": " << r.error().message();
    EXPECT_EQ(r->project, c.project);
    EXPECT_EQ(r->ref, c.ref);
  }
}

TEST(ParseVersionRefTest, RejectsBadRefsWithMessages) {
  struct Case {
    const char* text;
    const char* message;
  };
  const std::string name_rule =
      "' must be 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit";
  for (const Case& c : {Case{"fashion@", "'fashion@': nothing after '@' (expected NAME@vN or NAME@TAG)"},
                        Case{"@v1", ""}, Case{"Fashion@v1", ""}, Case{"", ""}}) {
    auto r = ParseVersionRef(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    if (*c.message) {
      EXPECT_EQ(r.error().message(), c.message);
    }
  }
  EXPECT_EQ(ParseVersionRef("Fashion@v1").error().message(),
            "version ref 'Fashion@v1': project name 'Fashion" + name_rule);
  EXPECT_EQ(ParseVersionRef("@v1").error().message(), "version ref '@v1': project name '" + name_rule);
}

TEST_F(VersionsTest, TagsAreImmutableUnlessForced) {
  ImportBasics();
  MustCommit(text_, "v1");
  ImportJsonl(text_, "{\"text\": \"more\", \"label\": \"pos\"}\n");
  MustCommit(text_, "v2");
  FSML_ASSERT_OK(TagVersion(meta(), text_, 1, "gold", "alice", false));
  FSML_EXPECT_OK(TagVersion(meta(), text_, 1, "gold", "bob", false));  // same version: a no-op
  Status moved = TagVersion(meta(), text_, 2, "gold", "alice", false);
  EXPECT_EQ(moved.code(), Code::kAlreadyExists);
  EXPECT_EQ(moved.message(), "tag 'gold' already names texts@v1 (pass --force to move it)");
  EXPECT_EQ(ResolveVersion(meta(), text_, "gold")->number, 1);

  FSML_ASSERT_OK(TagVersion(meta(), text_, 2, "gold", "alice", true));
  EXPECT_EQ(ResolveVersion(meta(), text_, "gold")->number, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM version_tags"), 1);
}

TEST_F(VersionsTest, RejectsBadTagNames) {
  ImportBasics();
  MustCommit(text_, "v1");
  struct Case {
    const char* tag;
    const char* message;
  };
  for (const Case& c : {Case{"v3", "tag 'v3' would be confused with a version number or 'latest'"},
                        Case{"v1", "tag 'v1' would be confused with a version number or 'latest'"},
                        Case{"latest", "tag 'latest' would be confused with a version number or 'latest'"},
                        Case{"", "tag: empty label name"}, Case{"a,b", "tag: label 'a,b' contains one of \\ , @"},
                        Case{"a@b", "tag: label 'a@b' contains one of \\ , @"}}) {
    Status s = TagVersion(meta(), text_, 1, c.tag, "alice", false);
    ASSERT_FALSE(s.ok()) << c.tag;
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.tag;
    EXPECT_EQ(s.message(), c.message);
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM version_tags"), 0);
}

TEST_F(VersionsTest, CannotTagAMissingVersion) {
  ImportBasics();
  MustCommit(text_, "v1");
  Status s = TagVersion(meta(), text_, 7, "gold", "alice", false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "no version texts@v7 (latest is texts@v1)");
  Project other = MakeProject("other", TaskType::kTextClassification, {"x"});
  Status none = TagVersion(meta(), other, 1, "gold", "alice", false);
  EXPECT_EQ(none.code(), Code::kNotFound);
  EXPECT_EQ(none.message(), "no version other@v1 (no versions yet)");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM version_tags"), 0);
}

TEST_F(VersionsTest, VersionToJsonDescribesTheVersion) {
  ImportBasics();
  DatasetVersion v = MustCommit(text_, "v1");
  nlohmann::json j = VersionToJson(text_, v);
  EXPECT_EQ(j["ref"], "texts@v1");
  EXPECT_EQ(j["version"], 1);
  EXPECT_TRUE(j["parent"].is_null());
  EXPECT_EQ(j["items"], 3);
  EXPECT_EQ(j["manifest"], v.manifest_key);
  EXPECT_EQ(j["stats"]["splits"]["train"], 2);
}

// --------------------------------------------------------------- export

class ExportTest : public VersionsTest {
 protected:
  Project MakeImageProject(const std::string& name) {
    return MakeProject(name, TaskType::kImageClassification, {"T-shirt/top", "50%", "Bag"});
  }

  // Images in all three splits and under labels that need escaping.
  void ImportImages(const Project& p) {
    fs::path src = dir_ / "images-src";
    int seed = 0;
    for (const char* split : {"train", "val", "test"}) {
      for (const char* label : {"T-shirt%2Ftop", "50%25", "Bag"}) {
        for (int i = 0; i < 2; ++i, ++seed)
          test::WriteBytes(src / split / label / (std::to_string(seed) + ".png"), test::TestPng(5, 4, seed));
      }
    }
    ImportOptions opt;
    opt.format = ImportFormat::kImageFolder;
    opt.threads = 2;
    auto s = ImportItems(*ws_, p, src, opt);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    ASSERT_EQ(s->added, 18u);
  }

  // Re-imports an export into a new project with the same labels, commits,
  // and checks the rows are the original's.
  void ExpectRoundTrip(const Project& original, const DatasetVersion& v, const fs::path& exported, ImportFormat format,
                       const std::string& new_name) {
    std::vector<std::string> labels;
    for (const auto& l : original.labels) labels.push_back(l.name);
    Project copy = MakeProject(new_name, original.type, labels);
    fs::path source = format == ImportFormat::kJsonl ? exported / "data.jsonl" : exported;
    auto s = Import(copy, source, format);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    EXPECT_EQ(s->added, v.item_count);
    DatasetVersion cv = MustCommit(copy, "round trip");
    EXPECT_EQ(RowsOf(MustLoad(cv)), RowsOf(MustLoad(v)));
    EXPECT_EQ(cv.stats, v.stats);
  }

  std::vector<std::string> Listing(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      out.push_back(fs::relative(e.path(), dir).string() + (e.is_directory() ? "/" : ""));
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(ExportTest, JsonlExportOfTextProjectRoundTrips) {
  ImportBasics();
  ImportJsonl(text_, "{\"text\": \"line one\\nline two \\\"quoted\\\" ünïcode\", \"label\": \"neutral\"}\n");
  DatasetVersion v = MustCommit(text_, "v1");
  fs::path out = dir_ / "export";
  auto sum = ExportVersion(*ws_, text_, v, out, ExportFormat::kJsonl);
  ASSERT_TRUE(sum.has_value()) << sum.error().ToString();
  EXPECT_EQ(sum->items, 4u);
  EXPECT_EQ(sum->bytes,
            std::string("good").size() + 4 + 3 + std::string("line one\nline two \"quoted\" ünïcode").size());
  EXPECT_THAT(Listing(out), ElementsAre("data.jsonl", "version.json"));

  // One line per row, in manifest order.
  std::string data = test::ReadBytes(out / "data.jsonl");
  std::vector<nlohmann::json> lines;
  size_t pos = 0;
  for (size_t nl; (nl = data.find('\n', pos)) != std::string::npos; pos = nl + 1)
    lines.push_back(nlohmann::json::parse(data.substr(pos, nl - pos)));
  EXPECT_EQ(pos, data.size());
  Manifest m = MustLoad(v);
  ASSERT_EQ(lines.size(), m.rows.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["id"], ToHex(m.rows[i].item));
    EXPECT_EQ(lines[i]["label"], m.labels[m.rows[i].label]);
    EXPECT_EQ(lines[i]["split"], SplitName(m.rows[i].split));
    EXPECT_EQ(Sha256Hex(lines[i]["text"].get<std::string>()), lines[i]["id"]);
  }

  nlohmann::json info = nlohmann::json::parse(test::ReadBytes(out / "version.json"));
  EXPECT_EQ(info["project"], "texts");
  EXPECT_EQ(info["version"], 1);
  EXPECT_EQ(info["ref"], "texts@v1");
  EXPECT_EQ(info["task_type"], "text-classification");
  EXPECT_EQ(info["labels"], nlohmann::json({"pos", "neg", "neutral"}));
  EXPECT_EQ(info["items"], 4);
  EXPECT_EQ(info["stats"], v.stats);

  ExpectRoundTrip(text_, v, out, ImportFormat::kJsonl, "texts-copy");
}

TEST_F(ExportTest, ImageFolderExportRoundTrips) {
  Project p = MakeImageProject("fashion");
  ImportImages(p);
  DatasetVersion v = MustCommit(p, "v1");
  fs::path out = dir_ / "export";
  auto sum = ExportVersion(*ws_, p, v, out, ExportFormat::kImageFolder);
  ASSERT_TRUE(sum.has_value()) << sum.error().ToString();
  EXPECT_EQ(sum->items, 18u);

  // dir/<split>/<escaped label>/<item id>.png, and version.json.
  Manifest m = MustLoad(v);
  std::vector<std::string> want = {"version.json"};
  for (const char* split : {"train", "val", "test"}) {
    want.push_back(std::string(split) + "/");
    for (const char* folder : {"T-shirt%2Ftop", "50%25", "Bag"})
      want.push_back(std::string(split) + "/" + folder + "/");
  }
  for (const auto& r : m.rows) {
    std::string id = ToHex(r.item);
    std::string path = std::string(SplitName(r.split)) + "/" + LabelToFolderName(m.labels[r.label]) + "/" + id + ".png";
    want.push_back(path);
    auto blob = ws_->blobs().Get(id);
    ASSERT_TRUE(blob.has_value());
    EXPECT_EQ(test::ReadBytes(out / path), *blob) << path;
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Listing(out), want);

  ExpectRoundTrip(p, v, out, ImportFormat::kImageFolder, "fashion-from-folder");
}

TEST_F(ExportTest, JsonlExportOfImageProjectRoundTrips) {
  Project p = MakeImageProject("fashion");
  ImportImages(p);
  DatasetVersion v = MustCommit(p, "v1");
  fs::path out = dir_ / "export";
  auto sum = ExportVersion(*ws_, p, v, out, ExportFormat::kJsonl);
  ASSERT_TRUE(sum.has_value()) << sum.error().ToString();
  Manifest m = MustLoad(v);
  std::string first_id = ToHex(m.rows[0].item);
  EXPECT_TRUE(fs::exists(out / "items" / (first_id + ".png")));
  std::string data = test::ReadBytes(out / "data.jsonl");
  nlohmann::json first = nlohmann::json::parse(data.substr(0, data.find('\n')));
  EXPECT_EQ(first["image"], "items/" + first_id + ".png");
  EXPECT_FALSE(first.contains("text"));

  ExpectRoundTrip(p, v, out, ImportFormat::kJsonl, "fashion-from-jsonl");
}

TEST_F(ExportTest, ExportsIntoAnExistingEmptyFolder) {
  ImportBasics();
  DatasetVersion v = MustCommit(text_, "v1");
  fs::path out = dir_ / "made-by-user";
  fs::create_directories(out);
  auto sum = ExportVersion(*ws_, text_, v, out, ExportFormat::kJsonl);
  ASSERT_TRUE(sum.has_value()) << sum.error().ToString();
  EXPECT_TRUE(fs::exists(out / "data.jsonl"));
  // No temporary folder is left beside it.
  EXPECT_THAT(Listing(dir_ / "made-by-user"), ElementsAre("data.jsonl", "version.json"));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
}

TEST_F(ExportTest, RefusesANonEmptyFolder) {
  ImportBasics();
  DatasetVersion v = MustCommit(text_, "v1");
  fs::path out = dir_ / "busy";
  test::WriteBytes(out / "keep.txt", "mine");
  auto sum = ExportVersion(*ws_, text_, v, out, ExportFormat::kJsonl);
  ASSERT_FALSE(sum.has_value());
  EXPECT_EQ(sum.error().code(), Code::kAlreadyExists);
  EXPECT_EQ(sum.error().message(), out.string() + " exists and is not empty; export into a new folder");
  EXPECT_THAT(Listing(out), ElementsAre("keep.txt"));
  EXPECT_EQ(test::ReadBytes(out / "keep.txt"), "mine");

  test::WriteBytes(dir_ / "a-file", "x");
  auto onto_file = ExportVersion(*ws_, text_, v, dir_ / "a-file", ExportFormat::kJsonl);
  ASSERT_FALSE(onto_file.has_value());
  EXPECT_EQ(onto_file.error().code(), Code::kAlreadyExists);
}

TEST_F(ExportTest, ImageFolderExportOfTextProjectIsRefused) {
  ImportBasics();
  DatasetVersion v = MustCommit(text_, "v1");
  auto sum = ExportVersion(*ws_, text_, v, dir_ / "export", ExportFormat::kImageFolder);
  ASSERT_FALSE(sum.has_value());
  EXPECT_EQ(sum.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(sum.error().message(), "imagefolder export needs an image project; 'texts' is text (use --format jsonl)");
  EXPECT_FALSE(fs::exists(dir_ / "export"));
}

TEST_F(ExportTest, ExportOfAnOlderVersionHasItsRows) {
  ImportBasics();
  DatasetVersion v1 = MustCommit(text_, "v1");
  ImportJsonl(text_, "{\"text\": \"good\", \"label\": \"neg\"}\n{\"text\": \"later\", \"label\": \"pos\"}\n");
  MustCommit(text_, "v2");
  fs::path out = dir_ / "v1";
  ASSERT_TRUE(ExportVersion(*ws_, text_, v1, out, ExportFormat::kJsonl).has_value());
  std::string data = test::ReadBytes(out / "data.jsonl");
  EXPECT_THAT(data, HasSubstr("\"label\":\"pos\",\"split\":\"train\",\"text\":\"good\""));
  EXPECT_THAT(data, ::testing::Not(HasSubstr("later")));
}

TEST(ExportFormatTest, ParsesFormats) {
  EXPECT_EQ(*ParseExportFormat("jsonl"), ExportFormat::kJsonl);
  EXPECT_EQ(*ParseExportFormat("imagefolder"), ExportFormat::kImageFolder);
  EXPECT_EQ(ParseExportFormat("csv").error().message(), "unknown export format 'csv' (expected imagefolder or jsonl)");
}

}  // namespace
}  // namespace fsml
