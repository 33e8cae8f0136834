#include "data/project.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "data/import.h"
#include "test_util.h"

namespace fsml {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Names(const Project& p) {
  std::vector<std::string> out;
  for (const auto& l : p.labels) out.push_back(l.name);
  return out;
}

class ProjectTest : public test::WorkspaceTest {
 protected:
  // Imports JSONL text records, e.g. {"text": "x", "label": "a", "split": "train"}.
  ImportSummary ImportJsonl(const Project& p, const std::string& jsonl) {
    fs::path f = dir_ / ("import" + std::to_string(imports_++) + ".jsonl");
    test::WriteBytes(f, jsonl);
    ImportOptions opt;
    opt.format = ImportFormat::kJsonl;
    opt.threads = 2;
    auto s = ImportItems(*ws_, p, f, opt);
    EXPECT_TRUE(s.has_value()) << s.error().message();
    return s ? *s : ImportSummary{};
  }
  int imports_ = 0;
};

// ------------------------------------------------------------ validation

TEST(ValidateProjectNameTest, AcceptsLowercaseNames) {
  for (const std::string& name :
       std::vector<std::string>{"a", "0", "fashion", "fashion-mnist", "v1.2_x", "0abc", "a-", std::string(64, 'x')})
    FSML_EXPECT_OK(ValidateProjectName(name));
}

TEST(ValidateProjectNameTest, RejectsOtherNamesWithMessage) {
  for (const std::string& name : std::vector<std::string>{"", "-abc", ".abc", "_abc", "Fashion", "fashiOn", "a b",
                                                          "a/b", "a@b", "caf\xC3\xA9", std::string(65, 'x')}) {
    Status s = ValidateProjectName(name);
    ASSERT_FALSE(s.ok()) << "'" << name << "' was accepted";
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_EQ(s.message(), "project name '" + name +
                               "' must be 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter "
                               "or digit");
  }
}

TEST(ValidateLabelNameTest, AcceptsLabelsIncludingSlashAndPercent) {
  for (const std::string& name : std::vector<std::string>{"shirt", "T-shirt/top", "50%", "Ankle boot", "ünïcode", "a.b",
                                                          "...", "0", std::string(64, 'x')}) {
    FSML_EXPECT_OK(ValidateLabelName(name));
  }
  // 64 bytes of two-byte characters.
  std::string e_acute;
  for (int i = 0; i < 32; ++i) e_acute += "\xC3\xA9";
  FSML_EXPECT_OK(ValidateLabelName(e_acute));
}

TEST(ValidateLabelNameTest, RejectsBadLabelsTableDriven) {
  struct Case {
    std::string name;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "empty label name"},
      {std::string(65, 'x'), "label '" + std::string(65, 'x') + "' is longer than 64 bytes"},
      {"caf\xC3", "label 'caf\xC3' is not valid UTF-8"},
      {".", "label '.' is not allowed"},
      {"..", "label '..' is not allowed"},
      {" shirt", "label ' shirt' has leading or trailing spaces"},
      {"shirt ", "label 'shirt ' has leading or trailing spaces"},
      {"a\tb", "label 'a\tb' contains a control character"},
      {"a\nb", "label 'a\nb' contains a control character"},
      {"a\x7f", "label 'a\x7f' contains a control character"},
      {"a,b", "label 'a,b' contains one of \\ , @"},
      {"a\\b", "label 'a\\b' contains one of \\ , @"},
      {"a@b", "label 'a@b' contains one of \\ , @"},
  };
  for (const Case& c : cases) {
    Status s = ValidateLabelName(c.name);
    ASSERT_FALSE(s.ok()) << "'" << c.name << "' was accepted";
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_EQ(s.message(), c.message);
  }
}

TEST(ParseLabelListTest, SplitsTrimsAndKeepsOrder) {
  auto l = ParseLabelList("shirt, sneaker ,bag,T-shirt/top");
  ASSERT_TRUE(l.has_value()) << l.error().message();
  EXPECT_THAT(*l, ElementsAre("shirt", "sneaker", "bag", "T-shirt/top"));
  auto one = ParseLabelList("solo");
  ASSERT_TRUE(one.has_value());
  EXPECT_THAT(*one, ElementsAre("solo"));
}

TEST(ParseLabelListTest, RejectsDuplicatesAndEmptyNames) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {Case{"a,b,a", "label 'a' is listed twice"}, Case{"a, b, b ", "label 'b' is listed twice"},
                        Case{"", "empty label name"}, Case{"a,,b", "empty label name"},
                        Case{"a,b,", "empty label name"}, Case{"a,.", "label '.' is not allowed"}}) {
    auto l = ParseLabelList(c.text);
    ASSERT_FALSE(l.has_value()) << c.text;
    EXPECT_EQ(l.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(l.error().message(), c.message) << c.text;
  }
}

TEST(LabelFolderNameTest, EscapesSlashAndPercentTableDriven) {
  struct Case {
    const char* label;
    const char* folder;
  };
  for (const Case& c :
       {Case{"shirt", "shirt"}, Case{"T-shirt/top", "T-shirt%2Ftop"}, Case{"50%", "50%25"}, Case{"a/b/c", "a%2Fb%2Fc"},
        Case{"%2F", "%252F"}, Case{"100%/x", "100%25%2Fx"}, Case{"%", "%25"}}) {
    EXPECT_EQ(LabelToFolderName(c.label), c.folder) << c.label;
    EXPECT_EQ(FolderNameToLabel(c.folder), c.label) << c.folder;
    EXPECT_EQ(FolderNameToLabel(LabelToFolderName(c.label)), c.label);
    EXPECT_EQ(LabelToFolderName(c.label).find('/'), std::string::npos);
  }
}

TEST(LabelFolderNameTest, KeepsOtherPercentSequencesAndAcceptsLowercase) {
  EXPECT_EQ(FolderNameToLabel("T-shirt%2ftop"), "T-shirt/top");
  EXPECT_EQ(FolderNameToLabel("a%41b"), "a%41b");
  EXPECT_EQ(FolderNameToLabel("50%"), "50%");
  EXPECT_EQ(FolderNameToLabel("%2"), "%2");
}

TEST(TaskTypeTest, ParsesAndNames) {
  for (TaskType t : {TaskType::kImageClassification, TaskType::kTextClassification}) {
    auto back = ParseTaskType(TaskTypeName(t));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(TaskTypeName(TaskType::kImageClassification), "image-classification");
  auto bad = ParseTaskType("image");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "unknown task type 'image' (expected image-classification or text-classification)");
}

// ------------------------------------------------------------- projects

TEST_F(ProjectTest, CreatesAndGetsProject) {
  ProjectSpec spec;
  spec.name = "fashion";
  spec.type = TaskType::kImageClassification;
  spec.labels = {"T-shirt/top", "Trouser", "Bag"};
  spec.guidelines = "# Rules\nLabel the garment.";
  spec.ratios = {700, 200, 100};
  auto created = CreateProject(meta(), spec, "alice");
  ASSERT_TRUE(created.has_value()) << created.error().message();
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->name, "fashion");
  EXPECT_EQ(created->type, TaskType::kImageClassification);
  EXPECT_THAT(Names(*created), ElementsAre("T-shirt/top", "Trouser", "Bag"));
  EXPECT_EQ(created->guidelines, spec.guidelines);
  EXPECT_EQ(created->ratios.train_permille, 700);
  EXPECT_EQ(created->ratios.val_permille, 200);
  EXPECT_EQ(created->ratios.test_permille, 100);
  EXPECT_EQ(created->created_by, "alice");
  EXPECT_EQ(created->split_salt.size(), 16u);
  EXPECT_FALSE(created->created_at.empty());

  auto got = GetProject(meta(), "fashion");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(got->id, created->id);
  EXPECT_EQ(got->split_salt, created->split_salt);
  EXPECT_EQ(got->created_at, created->created_at);
  ASSERT_EQ(got->labels.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got->labels[i].id, created->labels[i].id);
    EXPECT_EQ(got->labels[i].name, created->labels[i].name);
  }
  EXPECT_EQ(got->LabelList(), "T-shirt/top, Trouser, Bag");
  ASSERT_NE(got->FindLabel("Trouser"), nullptr);
  EXPECT_EQ(got->FindLabelById(got->FindLabel("Trouser")->id)->name, "Trouser");
  EXPECT_EQ(got->FindLabel("trouser"), nullptr);
}

TEST_F(ProjectTest, ProjectsGetDifferentSalts) {
  Project a = MakeProject("a", TaskType::kTextClassification, {"x"});
  Project b = MakeProject("b", TaskType::kTextClassification, {"x"});
  EXPECT_NE(a.split_salt, b.split_salt);
}

TEST_F(ProjectTest, ListsProjectsByName) {
  auto none = ListProjects(meta());
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  MakeProject("zeta", TaskType::kTextClassification, {"x", "y"});
  MakeProject("alpha", TaskType::kImageClassification, {"cat"});
  MakeProject("mid", TaskType::kTextClassification, {"q"});
  auto all = ListProjects(meta());
  ASSERT_TRUE(all.has_value()) << all.error().message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "alpha");
  EXPECT_EQ((*all)[1].name, "mid");
  EXPECT_EQ((*all)[2].name, "zeta");
  EXPECT_THAT(Names((*all)[2]), ElementsAre("x", "y"));
  EXPECT_EQ((*all)[0].type, TaskType::kImageClassification);
}

TEST_F(ProjectTest, GetProjectNamesWhatExists) {
  auto missing = GetProject(meta(), "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_EQ(missing.error().message(), "no project 'nope' (this workspace has no projects yet)");
  MakeProject("b", TaskType::kTextClassification, {"x"});
  MakeProject("a", TaskType::kTextClassification, {"x"});
  missing = GetProject(meta(), "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message(), "no project 'nope' (projects: a, b)");
}

TEST_F(ProjectTest, RejectsDuplicateProjectName) {
  Project first = MakeProject("fashion", TaskType::kTextClassification, {"x"});
  ProjectSpec spec;
  spec.name = "fashion";
  spec.labels = {"other"};
  auto again = CreateProject(meta(), spec, "bob");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  EXPECT_EQ(again.error().message(), "project 'fashion' already exists");
  auto still = GetProject(meta(), "fashion");
  ASSERT_TRUE(still.has_value());
  EXPECT_THAT(Names(*still), ElementsAre("x"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM projects"), 1);
}

TEST_F(ProjectTest, RejectsInvalidSpecsWithoutCreatingAnything) {
  struct Case {
    std::string name;
    std::vector<std::string> labels;
    SplitRatios ratios;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"Bad Name",
       {"x"},
       {},
       "project name 'Bad Name' must be 1-64 lowercase letters, digits, '.', '_' or '-', "
       "starting with a letter or digit"},
      {"ok", {}, {}, "project 'ok' needs at least one label"},
      {"ok", {"a", "b", "a"}, {}, "label 'a' is listed twice"},
      {"ok", {"a", "b,c"}, {}, "label 'b,c' contains one of \\ , @"},
      {"ok", {""}, {}, "empty label name"},
      {"ok",
       {"a"},
       {500, 400, 200},
       "project 'ok': split ratios 500,400,200 (permille) must be non-negative and add up to 1000"},
      {"ok", {"a"}, {0, 0, 0}, "project 'ok': split ratios 0,0,0 (permille) must be non-negative and add up to 1000"},
      {"ok",
       {"a"},
       {1100, -50, -50},
       "project 'ok': split ratios 1100,-50,-50 (permille) must be non-negative and add up to 1000"},
  };
  for (const Case& c : cases) {
    ProjectSpec spec;
    spec.name = c.name;
    spec.labels = c.labels;
    spec.ratios = c.ratios;
    auto p = CreateProject(meta(), spec, "x");
    ASSERT_FALSE(p.has_value()) << c.message;
    EXPECT_EQ(p.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(p.error().message(), c.message);
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM projects"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM labels"), 0);
}

// --------------------------------------------------------------- labels

TEST_F(ProjectTest, SetLabelsAddsAndReorders) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a", "b"});
  int64_t a_id = p.FindLabel("a")->id, b_id = p.FindLabel("b")->id;
  FSML_ASSERT_OK(SetLabels(meta(), p, {"c", "b", "a"}));
  EXPECT_THAT(Names(p), ElementsAre("c", "b", "a"));
  EXPECT_EQ(p.FindLabel("a")->id, a_id);
  EXPECT_EQ(p.FindLabel("b")->id, b_id);
  auto reloaded = GetProject(meta(), "p");
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_THAT(Names(*reloaded), ElementsAre("c", "b", "a"));
}

TEST_F(ProjectTest, SetLabelsRemovesUnusedLabel) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a", "b", "c"});
  ImportJsonl(p, "{\"text\": \"one\", \"label\": \"a\"}\n");
  FSML_ASSERT_OK(SetLabels(meta(), p, {"a", "c"}));
  EXPECT_THAT(Names(p), ElementsAre("a", "c"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM labels WHERE project_id = ?", {p.id}), 2);
}

TEST_F(ProjectTest, SetLabelsRefusesToRemoveALabelWithAnnotations) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a", "b"});
  ImportJsonl(p,
              "{\"text\": \"one\", \"label\": \"a\"}\n{\"text\": \"two\", \"label\": \"a\"}\n"
              "{\"text\": \"three\", \"label\": \"b\"}\n");
  Status s = SetLabels(meta(), p, {"b", "new"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(
      s.message(),
      "label 'a' has 2 annotations in project 'p'; removing it would orphan them (rename it instead, or keep it)");
  // All or nothing: "new" was not added either.
  EXPECT_THAT(Names(p), ElementsAre("a", "b"));
  auto reloaded = GetProject(meta(), "p");
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_THAT(Names(*reloaded), ElementsAre("a", "b"));
}

TEST_F(ProjectTest, SetLabelsRejectsEmptyInvalidAndDuplicateNames) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a", "b"});
  struct Case {
    std::vector<std::string> labels;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "project 'p' needs at least one label"},
      {{"a", "b,c"}, "label 'b,c' contains one of \\ , @"},
      {{"a", " b"}, "label ' b' has leading or trailing spaces"},
      {{"a", "b", "a"}, "label 'a' is listed twice"},
      {{"a", "b", "n", "n"}, "label 'n' is listed twice"},
  };
  for (const Case& c : cases) {
    Status s = SetLabels(meta(), p, c.labels);
    ASSERT_FALSE(s.ok()) << c.message;
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_EQ(s.message(), c.message);
  }
  auto reloaded = GetProject(meta(), "p");
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_THAT(Names(*reloaded), ElementsAre("a", "b"));
}

TEST_F(ProjectTest, RenameLabelKeepsAnnotations) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a", "b"});
  ImportJsonl(p,
              "{\"text\": \"one\", \"label\": \"a\", \"split\": \"train\"}\n"
              "{\"text\": \"two\", \"label\": \"a\", \"split\": \"test\"}\n");
  int64_t id = p.FindLabel("a")->id;
  FSML_ASSERT_OK(RenameLabel(meta(), p, "a", "T-shirt/top"));
  EXPECT_THAT(Names(p), ElementsAre("T-shirt/top", "b"));
  EXPECT_EQ(p.FindLabel("T-shirt/top")->id, id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM annotations WHERE label_id = ?", {id}), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM project_items WHERE label_id = ?", {id}), 2);
  auto st = GetProjectStats(meta(), p);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->per_label_split["T-shirt/top"]["train"], 1u);
  EXPECT_EQ(st->per_label_split["T-shirt/top"]["test"], 1u);
  EXPECT_EQ(st->per_label_split.count("a"), 0u);
  // The renamed label is in use, so it cannot be removed either.
  Status s = SetLabels(meta(), p, {"b"});
  EXPECT_EQ(s.message(),
            "label 'T-shirt/top' has 2 annotations in project 'p'; removing it would orphan them "
            "(rename it instead, or keep it)");
}

TEST_F(ProjectTest, RenameLabelErrors) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a", "b"});
  Status missing = RenameLabel(meta(), p, "zzz", "y");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_EQ(missing.message(), "project 'p' has no label 'zzz' (labels: a, b)");
  Status taken = RenameLabel(meta(), p, "a", "b");
  EXPECT_EQ(taken.code(), Code::kAlreadyExists);
  EXPECT_EQ(taken.message(), "project 'p' already has a label 'b'");
  Status invalid = RenameLabel(meta(), p, "a", "x@y");
  EXPECT_EQ(invalid.code(), Code::kInvalidArgument);
  EXPECT_EQ(invalid.message(), "label 'x@y' contains one of \\ , @");
  EXPECT_THAT(Names(p), ElementsAre("a", "b"));
}

TEST_F(ProjectTest, SetGuidelinesStoresMarkdown) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a"});
  FSML_ASSERT_OK(SetGuidelines(meta(), p, "# How to label\n* be consistent"));
  auto reloaded = GetProject(meta(), "p");
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ(reloaded->guidelines, "# How to label\n* be consistent");
  EXPECT_EQ(SetGuidelines(meta(), p, "bad \xff").message(), "guidelines are not valid UTF-8");
  EXPECT_EQ(SetGuidelines(meta(), p, std::string((1 << 20) + 1, 'x')).message(), "guidelines larger than 1 MiB");
  EXPECT_EQ(p.guidelines, "# How to label\n* be consistent");
}

// ---------------------------------------------------------------- stats

TEST_F(ProjectTest, StatsOfEmptyProject) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a"});
  auto st = GetProjectStats(meta(), p);
  ASSERT_TRUE(st.has_value()) << st.error().message();
  EXPECT_EQ(st->items, 0u);
  EXPECT_EQ(st->labeled, 0u);
  EXPECT_EQ(st->annotations, 0u);
  EXPECT_EQ(st->versions, 0u);
  EXPECT_EQ(st->per_split, (std::map<std::string, uint64_t>{{"test", 0}, {"train", 0}, {"val", 0}}));
  EXPECT_TRUE(st->per_label_split.empty());
}

TEST_F(ProjectTest, StatsCountItemsLabelsAndSplits) {
  Project p = MakeProject("p", TaskType::kTextClassification, {"a", "b", "unused"});
  ImportJsonl(p,
              "{\"text\": \"1\", \"label\": \"a\", \"split\": \"train\"}\n"
              "{\"text\": \"2\", \"label\": \"a\", \"split\": \"train\"}\n"
              "{\"text\": \"3\", \"label\": \"a\", \"split\": \"val\"}\n"
              "{\"text\": \"4\", \"label\": \"b\", \"split\": \"test\"}\n"
              "{\"text\": \"5\", \"split\": \"test\"}\n");
  // A relabel adds an annotation but no item.
  ImportJsonl(p, "{\"text\": \"4\", \"label\": \"a\"}\n");
  Project other = MakeProject("other", TaskType::kTextClassification, {"a"});
  ImportJsonl(other, "{\"text\": \"elsewhere\", \"label\": \"a\"}\n");

  auto st = GetProjectStats(meta(), p);
  ASSERT_TRUE(st.has_value()) << st.error().message();
  EXPECT_EQ(st->items, 5u);
  EXPECT_EQ(st->labeled, 4u);
  EXPECT_EQ(st->annotations, 5u);
  EXPECT_EQ(st->versions, 0u);
  EXPECT_EQ(st->per_split, (std::map<std::string, uint64_t>{{"test", 2}, {"train", 2}, {"val", 1}}));
  using PerSplit = std::map<std::string, uint64_t>;
  EXPECT_EQ(st->per_label_split,
            (std::map<std::string, PerSplit>{{"a", PerSplit{{"train", 2}, {"val", 1}, {"test", 1}}}}));

  nlohmann::json j = ProjectToJson(p, &*st);
  EXPECT_EQ(j["name"], "p");
  EXPECT_EQ(j["task_type"], "text-classification");
  EXPECT_EQ(j["items"], 5);
  EXPECT_EQ(j["labeled"], 4);
  EXPECT_EQ(j["unlabeled"], 1);
  EXPECT_EQ(j["per_label"]["a"]["total"], 4);
  EXPECT_EQ(j["per_label"]["b"]["total"], 0);
  EXPECT_EQ(j["per_label"]["unused"]["total"], 0);
  EXPECT_EQ(j["labels"], nlohmann::json({"a", "b", "unused"}));
}

}  // namespace
}  // namespace fsml
