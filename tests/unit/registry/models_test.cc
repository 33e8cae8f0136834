#include "registry/models.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../data/test_util.h"
#include "data/import.h"
#include "data/versions.h"
#include "registry/evaluations.h"
#include "registry/runs.h"

namespace fsml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Weights(float scale) {
  TensorFile f;
  Tensor t{DType::kF32, {2}, std::string(8, '\0')};
  float v[2] = {scale, -scale};
  std::memcpy(t.data.data(), v, 8);
  f.tensors["fc.weight"] = t;
  return *WriteSafetensors(f);
}

class RegistryTest : public test::WorkspaceTest {
 protected:
  void SetUp() override {
    test::WorkspaceTest::SetUp();
    project_ = MakeProject("texts", TaskType::kTextClassification, {"pos", "neg"});
    fs::path f = dir_ / "a.jsonl";
    std::string jsonl;
    for (int i = 0; i < 20; ++i) jsonl += R"({"text": "item )" + std::to_string(i) + R"(", "label": ")" + (i % 2 ? "pos" : "neg") + "\"}\n";
    test::WriteBytes(f, jsonl);
    ImportOptions io;
    io.format = ImportFormat::kJsonl;
    ASSERT_TRUE(ImportItems(*ws_, project_, f, io));
    CommitOptions co;
    co.message = "v1";
    co.author = "alice";
    ASSERT_TRUE(CommitVersion(*ws_, project_, co));
    run_ = MakeRun(project_);
  }

  int64_t MakeRun(const Project& p) {
    NewRun nr{p.id, 1, "mlp", {{"model", "mlp"}}, {{"epochs", 1}}, 0, "test"};
    auto id = CreateRun(meta(), nr);
    EXPECT_TRUE(id) << id.error().ToString();
    return id ? *id : 0;
  }

  Result<ModelVersion> Register(const std::string& name, float scale, int64_t run = 0) {
    RegisterRequest r;
    r.name = name;
    r.run_id = run ? run : run_;
    r.epoch = 1;
    r.spec = {{"model", "mlp"}, {"labels", {"neg", "pos"}}, {"parameters", 2}};
    r.weights = Weights(scale);
    r.metrics = {{"val_accuracy", 0.5}};
    r.user = "alice";
    return RegisterModelVersion(*ws_, r);
  }

  Project project_;
  int64_t run_ = 0;
};

TEST(ModelRef, Parses) {
  auto r = ParseModelRef("fashion/12");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "fashion");
  EXPECT_EQ(r->number, 12);
  r = ParseModelRef("fashion@production");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->alias, "production");
  EXPECT_FALSE(r->number);
  r = ParseModelRef("fashion@latest");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->alias, "");
  r = ParseModelRef("fashion");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->number);
  for (const char* bad : {"", "/1", "a/0", "a/-1", "a/x", "a/1x", "a@", "a@Prod", "a@v3", "a/1@b", "../x", "A"})
    EXPECT_FALSE(ParseModelRef(bad)) << bad;
  EXPECT_EQ(ParseModelRef("a/0").error().message(), "model reference 'a/0': the version after '/' must be a positive number");
}

TEST_F(RegistryTest, RegistersNumberedVersionsWithChecksums) {
  auto v1 = Register("texts", 1);
  ASSERT_TRUE(v1) << v1.error().ToString();
  auto v2 = Register("texts", 2);
  ASSERT_TRUE(v2) << v2.error().ToString();
  EXPECT_EQ(v1->number, 1);
  EXPECT_EQ(v2->number, 2);
  EXPECT_EQ(v2->weights_key, ToHex(Sha256(Weights(2))));
  EXPECT_EQ(v2->project, "texts");
  auto latest = ResolveModel(meta(), *ParseModelRef("texts"));
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->number, 2);
  auto a = LoadArtifact(*ws_, *v1);
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(a->spec["format"], "fsml-model");
  EXPECT_EQ(a->spec["format_version"], kModelFormatVersion);
  EXPECT_EQ(a->spec["weights_sha256"], v1->weights_key);
  EXPECT_EQ(a->spec["run"], run_);
  EXPECT_EQ(a->tensors.tensors.size(), 1u);
  auto all = ListModels(meta());
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].versions, 2);
  auto versions = ListModelVersions(meta(), "texts");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].number, 2);
}

TEST_F(RegistryTest, RefusesBadWeightsUnknownRunsAndForeignProjects) {
  RegisterRequest r;
  r.name = "texts";
  r.run_id = run_;
  r.weights = "garbage";
  EXPECT_THAT(RegisterModelVersion(*ws_, r).error().message(), HasSubstr("not a valid safetensors file"));
  EXPECT_EQ(Register("texts", 1, 999).error().message(), "no run 999");
  ASSERT_TRUE(Register("texts", 1));
  Project other = MakeProject("other", TaskType::kTextClassification, {"x"});
  fs::path f = dir_ / "b.jsonl";
  test::WriteBytes(f, "{\"text\": \"hello\", \"label\": \"x\"}\n");
  ImportOptions io;
  io.format = ImportFormat::kJsonl;
  ASSERT_TRUE(ImportItems(*ws_, other, f, io));
  CommitOptions co;
  co.message = "v1";
  ASSERT_TRUE(CommitVersion(*ws_, other, co));
  EXPECT_THAT(Register("texts", 3, MakeRun(other)).error().message(), HasSubstr("model 'texts' belongs to another project"));
}

TEST_F(RegistryTest, AliasesMoveAtomicallyWithHistory) {
  ASSERT_TRUE(Register("texts", 1));
  ASSERT_TRUE(Register("texts", 2));
  FSML_ASSERT_OK(SetAlias(meta(), "texts", 1, "production", "alice", false, ""));
  FSML_ASSERT_OK(SetAlias(meta(), "texts", 2, "production", "bob", true, "forced past the gate"));
  auto v = ResolveModel(meta(), *ParseModelRef("texts@production"));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->number, 2);
  EXPECT_THAT(v->aliases, ElementsAre("production"));
  FSML_ASSERT_OK(RemoveAlias(meta(), "texts", "production", "carol"));
  auto h = AliasHistory(meta(), "texts");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].number, 1);
  EXPECT_FALSE((*h)[0].previous);
  EXPECT_EQ((*h)[1].previous, 1);
  EXPECT_TRUE((*h)[1].forced);
  EXPECT_EQ((*h)[1].by, "bob");
  EXPECT_FALSE((*h)[2].number);
  EXPECT_THAT(ResolveModel(meta(), *ParseModelRef("texts@production")).error().message(),
              HasSubstr("model 'texts' has no alias 'production' (it has no aliases"));
  EXPECT_THAT(SetAlias(meta(), "texts", 9, "staging", "a", false, "").message(), HasSubstr("has no version 9"));
  EXPECT_THAT(SetAlias(meta(), "texts", 1, "latest", "a", false, "").message(), HasSubstr("reserved"));
  EXPECT_THAT(SetAlias(meta(), "nope", 1, "x", "a", false, "").message(), HasSubstr("no model named 'nope' (models: texts)"));
}

TEST_F(RegistryTest, DeleteIsRefusedWhileAliased) {
  ASSERT_TRUE(Register("texts", 1));
  FSML_ASSERT_OK(SetAlias(meta(), "texts", 1, "production", "alice", false, ""));
  EXPECT_THAT(DeleteModelVersion(meta(), "texts", 1).message(), HasSubstr("texts/1 is aliased as production"));
  FSML_ASSERT_OK(RemoveAlias(meta(), "texts", "production", "alice"));
  FSML_ASSERT_OK(DeleteModelVersion(meta(), "texts", 1));
  EXPECT_THAT(ResolveModel(meta(), *ParseModelRef("texts/1")).error().message(), HasSubstr("has no version 1"));
  EXPECT_THAT(DeleteModelVersion(meta(), "texts", 1).message(), HasSubstr("has no version 1"));
}

TEST_F(RegistryTest, CorruptArtifactsAreNamed) {
  auto v = Register("texts", 1);
  ASSERT_TRUE(v);
  ModelVersion damaged = *v;
  damaged.weights_key = std::string(64, 'a');
  EXPECT_THAT(LoadArtifact(*ws_, damaged).error().message(), HasSubstr("weights object " + std::string(64, 'a')));
  // A spec from a newer fsml.
  auto spec = LoadArtifact(*ws_, *v)->spec;
  spec["format_version"] = 99;
  auto key = ws_->blobs().Put(spec.dump());
  ASSERT_TRUE(key);
  ModelVersion newer = *v;
  newer.spec_key = *key;
  EXPECT_THAT(LoadArtifact(*ws_, newer).error().message(), HasSubstr("has format version 99"));
}

TEST_F(RegistryTest, ExportWritesAFolderOnce) {
  auto v = Register("texts", 1);
  ASSERT_TRUE(v);
  // An export needs input geometry for its README; a text spec lacks it, so use a full image-like spec.
  RegisterRequest r;
  r.name = "texts";
  r.run_id = run_;
  r.epoch = 1;
  r.spec = {{"model", "mlp"}, {"labels", {"neg", "pos"}}, {"input", {{"channels", 1}, {"height", 2}, {"width", 1}}},
            {"dataset", "texts@v1"}};
  r.weights = Weights(3);
  auto v2 = RegisterModelVersion(*ws_, r);
  ASSERT_TRUE(v2) << v2.error().ToString();
  fs::path out = dir_ / "export";
  FSML_ASSERT_OK(ExportModel(*ws_, *v2, out));
  EXPECT_EQ(test::ReadBytes(out / "model.safetensors"), Weights(3));
  EXPECT_THAT(test::ReadBytes(out / "README.md"), HasSubstr("from fsml_model import load, preprocess"));
  EXPECT_THAT(test::ReadBytes(out / "fsml_model.py"), HasSubstr("def load(folder)"));
  EXPECT_THAT(ExportModel(*ws_, *v2, out).message(), HasSubstr("exists and is not empty"));
}

TEST_F(RegistryTest, PredictionsRoundTrip) {
  Predictions p;
  p.labels = {"neg", "pos"};
  p.items = {std::string(64, '0'), std::string(64, 'f')};
  p.truth = {1, 0};
  p.probs = {0.25f, 0.75f, 0.9f, 0.1f};
  auto bytes = EncodePredictions(p);
  ASSERT_TRUE(bytes);
  auto back = DecodePredictions(*bytes, "p");
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->items, p.items);
  EXPECT_EQ(back->truth, p.truth);
  EXPECT_EQ(back->probs, p.probs);
  EXPECT_EQ(back->labels, p.labels);
  p.truth.pop_back();
  EXPECT_FALSE(EncodePredictions(p));
  EXPECT_THAT(DecodePredictions(Weights(1), "x").error().message(), HasSubstr("lacks probs, truth, items or labels"));
}

TEST_F(RegistryTest, RequirementsGateProduction) {
  auto v = Register("texts", 1);
  ASSERT_TRUE(v);
  auto gate = CheckProductionGate(*ws_, project_, *v);
  ASSERT_TRUE(gate);
  EXPECT_TRUE(gate->passed) << "no requirements: nothing to fail";
  FSML_ASSERT_OK(SetRequirements(meta(), project_, {"accuracy>=0.9", "recall[pos] >= 0.5"}, "alice"));
  EXPECT_THAT(*GetRequirements(meta(), project_.id), ElementsAre("accuracy >= 0.9", "recall[pos] >= 0.5"));
  EXPECT_FALSE(SetRequirements(meta(), project_, {"recall[nope] >= 1"}, "alice").ok());
  EXPECT_EQ(GetRequirements(meta(), project_.id)->size(), 2u) << "a bad set leaves the old one";
  gate = CheckProductionGate(*ws_, project_, *v);
  ASSERT_TRUE(gate);
  EXPECT_FALSE(gate->passed);
  EXPECT_EQ(gate->reason, "texts/1 has no evaluation on the test split of texts@v1 (the project's current version); run "
                          "fsml eval texts/1 texts@v1");
  // An evaluation: 3 of 4 right; pos recall 1/2.
  NewEvaluation e;
  e.model = &*v;
  e.project_id = project_.id;
  e.version_number = 1;
  e.split = "test";
  e.predictions.labels = {"neg", "pos"};
  e.predictions.items = {std::string(64, '1'), std::string(64, '2'), std::string(64, '3'), std::string(64, '4')};
  e.predictions.truth = {0, 0, 1, 1};
  e.predictions.probs = {0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.6f, 0.4f};
  auto m = eval::ComputeMetrics(e.predictions.labels, e.predictions.probs, e.predictions.truth);
  ASSERT_TRUE(m);
  e.metrics = *m;
  e.user = "alice";
  auto id = SaveEvaluation(*ws_, e);
  ASSERT_TRUE(id) << id.error().ToString();
  gate = CheckProductionGate(*ws_, project_, *v);
  ASSERT_TRUE(gate);
  EXPECT_FALSE(gate->passed);
  EXPECT_EQ(gate->reason, "texts/1 fails the requirements of texts on texts@v1 (evaluation 1): accuracy >= 0.9 (is 0.75)");
  FSML_ASSERT_OK(SetRequirements(meta(), project_, {"accuracy >= 0.75"}, "alice"));
  gate = CheckProductionGate(*ws_, project_, *v);
  ASSERT_TRUE(gate);
  EXPECT_TRUE(gate->passed) << gate->reason;
  auto stored = GetEvaluation(meta(), *id);
  ASSERT_TRUE(stored);
  EXPECT_DOUBLE_EQ(stored->metrics.accuracy, 0.75);
  EXPECT_EQ(stored->model, "texts/1");
  FSML_ASSERT_OK(DeleteModelVersion(meta(), "texts", 1));
  EXPECT_FALSE(GetEvaluation(meta(), *id)) << "deleting a version deletes its evaluations";
}

}  // namespace
}  // namespace fsml
