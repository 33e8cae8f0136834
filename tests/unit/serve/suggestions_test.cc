#include "serve/suggestions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <thread>

#include "../data/test_util.h"
#include "data/import.h"
#include "data/versions.h"
#include "label/labeling.h"
#include "ml/inference.h"
#include "ml/train.h"
#include "registry/models.h"
#include "registry/runs.h"
#include "serve/retrain.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kSide = 8;  // tiny images: a forward pass costs nothing

// An image project with a small mlp registered from one short training.
class SuggestionsTest : public test::WorkspaceTest {
 protected:
  static void SetUpTestSuite() { ::setenv("FSML_ML_MODULE", FSML_TEST_ML_MODULE, /*overwrite=*/1); }

  // Imports `n` images (seeds from `first_seed`), labeled round-robin with
  // `labels` unless that is empty.
  void ImportImages(const Project& p, int n, int first_seed, const std::vector<std::string>& labels,
                    const std::string& split = "") {
    fs::path dir = dir_ / ("batch" + std::to_string(first_seed));
    fs::create_directories(dir);
    std::ofstream index(dir / "items.jsonl");
    for (int i = 0; i < n; ++i) {
      std::string file = "img" + std::to_string(i) + ".png";
      test::WriteBytes(dir / file, test::TestPng(kSide, kSide, first_seed + i));
      nlohmann::json line = {{"image", file}};
      if (!labels.empty()) line["label"] = labels[static_cast<size_t>(i) % labels.size()];
      if (!split.empty()) line["split"] = split;
      index << line.dump() << "\n";
    }
    index.close();
    ImportOptions opt;
    opt.format = ImportFormat::kJsonl;
    opt.threads = 1;
    auto s = ImportItems(*ws_, p, dir / "items.jsonl", opt);
    ASSERT_TRUE(s) << s.error().ToString();
  }

  Project MakeImageProject(const std::string& name, int labeled) {
    Project p = MakeProject(name, TaskType::kImageClassification, labels_);
    if (labeled > 0) ImportImages(p, labeled, 1000, labels_);
    return p;
  }

  // Trains a one-epoch mlp on the project's labels (committing them when
  // they changed) and registers it as the next version of `model`.
  ModelVersion TrainAndRegister(const Project& p, const std::string& model, uint64_t seed) {
    auto version = CommitVersion(*ws_, p, {"test labels", "tester", false});
    if (!version) version = ResolveVersion(meta(), p, "");
    EXPECT_TRUE(version) << version.error().ToString();
    auto ml = LoadMlModule();
    EXPECT_TRUE(ml) << ml.error().ToString();
    if (!version || !ml) return {};
    TrainOptions opt;
    opt.model = "mlp";
    opt.model_params = {{"hidden", {16}}};
    opt.epochs = 1;
    opt.batch_size = 8;
    opt.threads = 1;
    opt.seed = seed;
    opt.quiet = true;
    auto trained = (*ml)->Train(*ws_, p, *version, opt);
    EXPECT_TRUE(trained) << trained.error().ToString();
    if (!trained) return {};
    auto v = RegisterRunCheckpoint(*ws_, {trained->run_id, 0, model, "", "tester"});
    EXPECT_TRUE(v) << v.error().ToString();
    return v ? *v : ModelVersion{};
  }

  void Alias(const ModelVersion& v, const std::string& alias) {
    FSML_ASSERT_OK(SetAlias(meta(), v.name, v.number, alias, "tester", false, ""));
  }

  NextItems Next(const Project& p, const std::string& user) {
    LabelingService svc(*ws_);
    auto next = svc.Next(p, user, 100, {});
    EXPECT_TRUE(next) << next.error().ToString();
    return next ? *next : NextItems{};
  }

  size_t Score(SuggestionScorer& scorer, const Project& p) {
    auto n = scorer.ScoreProject(p);
    EXPECT_TRUE(n) << n.error().ToString();
    return n ? *n : 0;
  }

  std::vector<std::string> labels_ = {"shirt", "trouser", "bag"};
};

TEST_F(SuggestionsTest, ServesOpenItemsLeastConfidentFirstWithTheModelsSuggestion) {
  Project p = MakeImageProject("shirts", 40);
  ModelVersion v1 = TrainAndRegister(p, "shirts", 0);
  Alias(v1, "production");
  ImportImages(p, 20, 5000, {});

  NextItems before = Next(p, "ann");
  EXPECT_EQ(before.order, "random");
  ASSERT_EQ(before.items.size(), 20u);
  for (const auto& item : before.items) EXPECT_FALSE(item.suggestion) << item.item_id;

  SuggestionScorer scorer(*ws_);
  EXPECT_EQ(Score(scorer, p), 20u);

  NextItems after = Next(p, "ann");  // the items ann holds, in the new order
  EXPECT_EQ(after.order, "uncertainty");
  ASSERT_EQ(after.items.size(), 20u);
  double previous = 0;
  for (const auto& item : after.items) {
    ASSERT_TRUE(item.suggestion) << item.item_id;
    EXPECT_EQ(item.suggestion->model, "shirts/1");
    EXPECT_TRUE(p.FindLabel(item.suggestion->label)) << item.suggestion->label;
    EXPECT_GT(item.suggestion->confidence, 0.0);
    EXPECT_LE(item.suggestion->confidence, 1.0);
    EXPECT_GE(item.suggestion->confidence, previous) << "open items must come least confident first";
    previous = item.suggestion->confidence;
  }

  EXPECT_EQ(scorer.Status(p), nlohmann::json({{"model", "shirts/1"}, {"scored", 20}, {"open", 20}, {"running", false},
                                              {"last_error", ""}}));
  EXPECT_EQ(Score(scorer, p), 0u) << "every open item already has this model's suggestion";
}

TEST_F(SuggestionsTest, RescoresWhenANewVersionIsAliasedStaging) {
  Project p = MakeImageProject("shirts", 40);
  ModelVersion v1 = TrainAndRegister(p, "shirts", 0);
  Alias(v1, "production");
  ImportImages(p, 12, 5000, {});
  SuggestionScorer scorer(*ws_);
  EXPECT_EQ(Score(scorer, p), 12u);

  ModelVersion v2 = TrainAndRegister(p, "shirts", 1);
  ASSERT_EQ(v2.number, 2);
  Alias(v2, "staging");  // preferred over production: the newer candidate
  EXPECT_EQ(scorer.Status(p)["model"], "shirts/2");
  EXPECT_EQ(scorer.Status(p)["scored"], 0);
  EXPECT_EQ(Score(scorer, p), 12u);
  for (const auto& item : Next(p, "ann").items) {
    ASSERT_TRUE(item.suggestion);
    EXPECT_EQ(item.suggestion->model, "shirts/2");
  }
  EXPECT_EQ(Score(scorer, p), 0u);
}

TEST_F(SuggestionsTest, LabeledItemsAreNotScored) {
  Project p = MakeImageProject("shirts", 40);
  Alias(TrainAndRegister(p, "shirts", 0), "production");
  ImportImages(p, 6, 5000, {});
  LabelingService svc(*ws_);
  auto next = svc.Next(p, "ann", 2, {});
  ASSERT_TRUE(next) << next.error().ToString();
  ASSERT_EQ(next->items.size(), 2u);
  FSML_ASSERT_OK(svc.Annotate(p, "ann", {{next->items[0].item_id, "bag", "req-ann-0001"}}));
  SuggestionScorer scorer(*ws_);
  EXPECT_EQ(Score(scorer, p), 5u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM label_tasks WHERE project_id = ? AND suggestion_model IS NOT NULL", {p.id}), 5);
}

TEST_F(SuggestionsTest, ItemsWhoseTopLabelIsNotAProjectLabelGetNoSuggestion) {
  Project p = MakeImageProject("shirts", 40);
  Alias(TrainAndRegister(p, "shirts", 0), "production");
  ImportImages(p, 8, 5000, {});
  // The model knows shirt, trouser and bag; the project no longer does.
  FSML_ASSERT_OK(RenameLabel(meta(), p, "shirt", "top"));
  FSML_ASSERT_OK(RenameLabel(meta(), p, "trouser", "pants"));
  FSML_ASSERT_OK(RenameLabel(meta(), p, "bag", "handbag"));
  SuggestionScorer scorer(*ws_);
  EXPECT_EQ(Score(scorer, p), 0u);
  NextItems next = Next(p, "ann");
  EXPECT_EQ(next.order, "random");
  for (const auto& item : next.items) EXPECT_FALSE(item.suggestion);
  // Seen by this model: not tried again on every pass.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM label_tasks WHERE project_id = ? AND suggestion_model = 'shirts/1'", {p.id}), 8);
  EXPECT_EQ(scorer.Status(p)["scored"], 0);
  EXPECT_EQ(scorer.Status(p)["open"], 8);
}

TEST_F(SuggestionsTest, SkipsTextProjectsAndProjectsWithoutAModel) {
  Project text = MakeProject("reviews", TaskType::kTextClassification, {"pos", "neg"});
  Project image = MakeImageProject("shirts", 0);
  ImportImages(image, 3, 5000, {});
  SuggestionScorer scorer(*ws_);
  EXPECT_EQ(Score(scorer, text), 0u);
  EXPECT_EQ(Score(scorer, image), 0u);
  auto all = scorer.ScoreAll();
  ASSERT_TRUE(all) << all.error().ToString();
  EXPECT_EQ(*all, 0u);
  nlohmann::json status = scorer.Status(image);
  EXPECT_TRUE(status["model"].is_null());
  EXPECT_EQ(status["open"], 3);
  EXPECT_EQ(status["scored"], 0);
  EXPECT_TRUE(scorer.Status(text)["model"].is_null());
}

TEST_F(SuggestionsTest, AModelThatCannotLoadIsReportedAsLastError) {
  Project p = MakeImageProject("shirts", 40);
  ModelVersion v1 = TrainAndRegister(p, "shirts", 0);
  Alias(v1, "production");
  ImportImages(p, 4, 5000, {});
  std::string missing(64, 'a');
  FSML_ASSERT_OK(meta().Exec("UPDATE model_versions SET weights_key = ?", {missing}));
  SuggestionScorer scorer(*ws_);
  auto n = scorer.ScoreProject(p);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), Code::kCorruption);
  EXPECT_THAT(n.error().message(), StartsWith("model shirts/1: weights object " + missing));
  nlohmann::json status = scorer.Status(p);
  EXPECT_EQ(status["last_error"], n.error().message());
  EXPECT_EQ(status["running"], false);
  EXPECT_EQ(status["scored"], 0);
}

TEST_F(SuggestionsTest, BackgroundThreadScoresNewItemsAndStopsPromptly) {
  Project p = MakeImageProject("shirts", 40);
  Alias(TrainAndRegister(p, "shirts", 0), "production");
  ImportImages(p, 10, 5000, {});
  ScorerOptions opt;
  opt.interval = std::chrono::milliseconds(20);
  opt.batch = 4;
  SuggestionScorer scorer(*ws_, opt);
  scorer.Start();
  scorer.Start();  // no second thread
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (scorer.Status(p)["scored"] != 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(scorer.Status(p)["scored"], 10);

  // Items imported later are scored by a later pass.
  ImportImages(p, 3, 7000, {});
  scorer.Wake();
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (scorer.Status(p)["scored"] != 13 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(scorer.Status(p)["scored"], 13);

  auto t0 = std::chrono::steady_clock::now();
  scorer.Stop();
  scorer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// ---- Retrainer -----------------------------------------------------------

using RetrainerTest = SuggestionsTest;

RetrainStatus WaitForEnd(Retrainer& r, const std::string& project) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  RetrainStatus s = r.Get(project);
  while (s.state != "done" && s.state != "failed" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s = r.Get(project);
  }
  return s;
}

TEST_F(RetrainerTest, CommitsTrainsRegistersAndAliasesStaging) {
  // The recipe's batch is 128: enough labels for one training batch.
  Project p = MakeImageProject("shirts", 200);
  ModelVersion v1 = TrainAndRegister(p, "shirts", 0);
  Alias(v1, "production");
  ImportImages(p, 4, 5000, {});
  LabelingService svc(*ws_);
  auto next = svc.Next(p, "ann", 1, {});
  ASSERT_TRUE(next && next->items.size() == 1);
  FSML_ASSERT_OK(svc.Annotate(p, "ann", {{next->items[0].item_id, "bag", "req-ann-0001"}}));

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::string> done;
  Retrainer retrainer(*ws_, [&](const Project& project) {
    released.wait();
    done.push_back(project.name);
  });
  EXPECT_EQ(retrainer.Get("shirts").state, "idle");
  auto started = retrainer.Start({"shirts", "ann", 1});
  ASSERT_TRUE(started) << started.error().ToString();
  EXPECT_EQ(started->state, "committing");
  EXPECT_FALSE(started->started_at.empty());

  auto again = retrainer.Start({"shirts", "bob", 1});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(again.error().message(), StartsWith("a retrain of project 'shirts' is already running ("));
  EXPECT_THAT(again.error().message(), HasSubstr("wait for it to finish"));
  release.set_value();

  RetrainStatus s = WaitForEnd(retrainer, "shirts");
  ASSERT_EQ(s.state, "done") << s.error;
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(s.version, 2);  // the new label made a new version
  EXPECT_EQ(s.model, "shirts/2");
  EXPECT_FALSE(s.finished_at.empty());
  EXPECT_EQ(done, std::vector<std::string>{"shirts"});
  auto staging = ResolveModel(meta(), "shirts@staging");
  ASSERT_TRUE(staging) << staging.error().ToString();
  EXPECT_EQ(staging->number, 2);
  EXPECT_EQ(staging->run_id, s.run_id);
  EXPECT_EQ(staging->architecture, "mlp");
  EXPECT_EQ(staging->created_by, "ann");
  auto run = GetRun(meta(), s.run_id);
  ASSERT_TRUE(run) << run.error().ToString();
  EXPECT_EQ(run->spec["params"]["hidden"], nlohmann::json({16}));  // the staging model's network
  EXPECT_EQ(run->params["epochs"], 1);
  EXPECT_EQ(run->params["batch_size"], 128);  // the recipe's
  auto production = ResolveModel(meta(), "shirts@production");
  ASSERT_TRUE(production);
  EXPECT_EQ(production->number, 1);

  // Nothing changed since: the next retrain trains on the same version.
  ASSERT_TRUE(retrainer.Start({"shirts", "ann", 1}));
  s = WaitForEnd(retrainer, "shirts");
  ASSERT_EQ(s.state, "done") << s.error;
  EXPECT_EQ(s.version, 2);
  EXPECT_EQ(s.model, "shirts/3");
  auto versions = ListVersions(meta(), p);
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->size(), 2u);
}

TEST_F(RetrainerTest, WithoutAModelTrainsCnnSmallNamedAfterTheProject) {
  Project p = MakeImageProject("shirts", 200);
  Retrainer retrainer(*ws_, nullptr);
  ASSERT_TRUE(retrainer.Start({"shirts", "ann", 1}));
  RetrainStatus s = WaitForEnd(retrainer, "shirts");
  ASSERT_EQ(s.state, "done") << s.error;
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.model, "shirts/1");
  auto staging = ResolveModel(meta(), "shirts@staging");
  ASSERT_TRUE(staging) << staging.error().ToString();
  EXPECT_EQ(staging->architecture, "cnn-small");
}

TEST_F(RetrainerTest, ASmallProjectTrainsWithOneBatchPerEpoch) {
  Project p = MakeImageProject("shirts", 20);  // fewer than the recipe's batch of 128
  Retrainer retrainer(*ws_, nullptr);
  ASSERT_TRUE(retrainer.Start({"shirts", "ann", 1}));
  RetrainStatus s = WaitForEnd(retrainer, "shirts");
  ASSERT_EQ(s.state, "done") << s.error;
  auto run = GetRun(meta(), s.run_id);
  ASSERT_TRUE(run) << run.error().ToString();
  auto version = ResolveVersion(meta(), p, "");
  ASSERT_TRUE(version);
  int64_t train_items = version->stats["splits"]["train"];
  ASSERT_GT(train_items, 0);
  EXPECT_LT(train_items, 128);
  EXPECT_EQ(run->params["batch_size"], train_items);  // the recipe's 128, shrunk to the split
}

TEST_F(RetrainerTest, ATrainingErrorEndsTheRetrainAsFailed) {
  Project p = MakeProject("shirts", TaskType::kImageClassification, labels_);
  ImportImages(p, 20, 1000, labels_, "test");  // labeled, but nothing to train on
  Retrainer retrainer(*ws_, nullptr);
  ASSERT_TRUE(retrainer.Start({"shirts", "ann", 1}));
  RetrainStatus s = WaitForEnd(retrainer, "shirts");
  EXPECT_EQ(s.state, "failed");
  EXPECT_THAT(s.error, HasSubstr("has no items in the train split"));
  EXPECT_TRUE(s.model.empty());
  EXPECT_FALSE(s.finished_at.empty());
  nlohmann::json j = RetrainStatusToJson(s);
  EXPECT_EQ(j["state"], "failed");
  EXPECT_TRUE(j["model"].is_null());
  EXPECT_EQ(j["version"], 1);
}

TEST_F(RetrainerTest, RefusesProjectsItCannotTrain) {
  Project empty = MakeImageProject("empty", 0);
  ImportImages(empty, 3, 5000, {});
  MakeProject("reviews", TaskType::kTextClassification, {"pos", "neg"});
  Retrainer retrainer(*ws_, nullptr);

  auto r = retrainer.Start({"empty", "ann", 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.error().message(), "project 'empty' has no labeled items to train on; label some first");

  r = retrainer.Start({"reviews", "ann", 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(r.error().message(), HasSubstr("retraining needs an image-classification project"));

  r = retrainer.Start({"nope", "ann", 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kNotFound);

  r = retrainer.Start({"empty", "ann", -1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);

  EXPECT_EQ(retrainer.Get("empty").state, "idle");
}

TEST_F(RetrainerTest, StopEndsARunningRetrainBeforeItRegisters) {
  Project p = MakeImageProject("shirts", 200);
  bool called = false;
  Retrainer retrainer(*ws_, [&](const Project&) { called = true; });
  ASSERT_TRUE(retrainer.Start({"shirts", "ann", 1}));
  retrainer.Stop();  // returns once the retrain's thread has ended
  RetrainStatus s = retrainer.Get("shirts");
  EXPECT_EQ(s.state, "failed");
  EXPECT_THAT(s.error, StartsWith("stopped "));
  EXPECT_THAT(s.error, HasSubstr("the server is shutting down"));
  EXPECT_FALSE(called);
  EXPECT_FALSE(ResolveModel(meta(), "shirts@staging"));
}

TEST_F(RetrainerTest, StopRefusesNewRetrains) {
  MakeImageProject("shirts", 3);
  Retrainer retrainer(*ws_, nullptr);
  retrainer.Stop();
  retrainer.Stop();
  auto r = retrainer.Start({"shirts", "ann", 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.error().message(), "the server is shutting down; start the retrain again after it restarts");
}

}  // namespace
}  // namespace fsml
