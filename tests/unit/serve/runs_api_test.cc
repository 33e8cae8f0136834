// The run list in SQL (filters, sorts, pages, totals), the runs API's request
// parsing, and its read routes through the router (no training: the e2e
// test starts one).
#include "serve/runs_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../data/test_util.h"
#include "data/import.h"
#include "data/versions.h"
#include "registry/models.h"
#include "registry/runs.h"

namespace fsml {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RunListTest : public test::WorkspaceTest {
 protected:
  void SetUp() override {
    test::WorkspaceTest::SetUp();
    a_ = MakeVersioned("alpha");
    b_ = MakeVersioned("beta");
  }

  // A project with one committed dataset version.
  Project MakeVersioned(const std::string& name) {
    Project p = MakeProject(name, TaskType::kTextClassification, {"pos", "neg"});
    fs::path f = dir_ / (name + ".jsonl");
    std::string jsonl;
    for (int i = 0; i < 6; ++i) jsonl += R"({"text": ")" + name + " " + std::to_string(i) + R"(", "label": ")" + (i % 2 ? "pos" : "neg") + "\"}\n";
    test::WriteBytes(f, jsonl);
    ImportOptions io;
    io.format = ImportFormat::kJsonl;
    EXPECT_TRUE(ImportItems(*ws_, p, f, io));
    CommitOptions co;
    co.message = "v1";
    co.author = "tester";
    EXPECT_TRUE(CommitVersion(*ws_, p, co));
    return p;
  }

  // A run with `val` as its epochs' val accuracies, each epoch taking
  // `seconds`; status finished unless `status` says otherwise.
  int64_t MakeRun(const Project& p, const std::string& model, std::vector<double> val, double seconds,
                  const std::string& status = "finished") {
    NewRun nr{p.id, 1, model, {{"model", model}, {"params", {{"width", 4}}}}, {{"epochs", 5}, {"lr", 0.01}}, 7, "test"};
    auto id = CreateRun(meta(), nr);
    EXPECT_TRUE(id) << id.error().ToString();
    double best = -1;
    for (size_t i = 0; i < val.size(); ++i) {
      EpochMetrics m;
      m.epoch = static_cast<int>(i + 1);
      m.train_loss = 1.0 / (i + 1);
      m.train_accuracy = 0.5;
      m.val_accuracy = val[i];
      m.val_loss = 0.9;
      m.learning_rate = 0.01;
      m.seconds = seconds;
      m.samples_per_second = 100;
      m.checkpoint_key = std::string(64, 'a' + static_cast<char>(i));
      m.checkpoint_bytes = 1000 + static_cast<int64_t>(i);
      bool is_best = val[i] > best;
      if (is_best) best = val[i];
      FSML_EXPECT_OK(RecordEpoch(meta(), *id, m, is_best));
    }
    if (status == "finished") FSML_EXPECT_OK(FinishRun(meta(), *id, {{"accuracy", 0.75}}));
    else if (status != "running") FSML_EXPECT_OK(EndRun(meta(), *id, status, "stopped"));
    return *id;
  }

  std::vector<int64_t> Ids(const RunQuery& q) {
    auto page = ListRuns(meta(), q);
    EXPECT_TRUE(page) << page.error().ToString();
    std::vector<int64_t> ids;
    if (page)
      for (const auto& r : page->runs) ids.push_back(r.id);
    return ids;
  }

  Project a_, b_;
};

TEST_F(RunListTest, FiltersByProjectModelAndStatusWithTotals) {
  int64_t r1 = MakeRun(a_, "mlp", {0.5}, 1);
  int64_t r2 = MakeRun(a_, "cnn-small", {0.6}, 1, "failed");
  int64_t r3 = MakeRun(b_, "mlp", {0.7}, 1, "running");
  int64_t r4 = MakeRun(b_, "cnn-small", {0.8}, 1, "interrupted");
  RunQuery q;
  q.sort = "-started_at";
  EXPECT_THAT(Ids(q), ElementsAre(r4, r3, r2, r1));  // same second: the id breaks the tie
  q.project = "alpha";
  EXPECT_THAT(Ids(q), ElementsAre(r2, r1));
  q.project = "";
  q.model = "mlp";
  EXPECT_THAT(Ids(q), ElementsAre(r3, r1));
  q.model = "";
  q.status = "interrupted";
  EXPECT_THAT(Ids(q), ElementsAre(r4));
  q.status = "running";
  q.project = "beta";
  q.model = "mlp";
  auto page = ListRuns(meta(), q);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 1);
  q.project = "no-such-project";
  page = ListRuns(meta(), q);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 0);
  EXPECT_TRUE(page->runs.empty());
}

TEST_F(RunListTest, SortsByAccuracyAndDurationWithRunsWithoutAccuracyLast) {
  int64_t low = MakeRun(a_, "mlp", {0.2, 0.4}, 3);   // best 0.4, 6 s
  int64_t high = MakeRun(a_, "mlp", {0.9, 0.1}, 1);  // best 0.9 (epoch 1), 2 s
  int64_t none = MakeRun(a_, "mlp", {}, 0, "running");
  int64_t mid = MakeRun(a_, "mlp", {0.6}, 10);       // 10 s
  RunQuery q;
  q.sort = "-accuracy";
  EXPECT_THAT(Ids(q), ElementsAre(high, mid, low, none));
  q.sort = "accuracy";
  EXPECT_THAT(Ids(q), ElementsAre(low, mid, high, none));
  q.sort = "duration";
  EXPECT_THAT(Ids(q), ElementsAre(none, high, low, mid));
  q.sort = "-duration";
  EXPECT_THAT(Ids(q), ElementsAre(mid, low, high, none));
  q.sort = "started_at";
  EXPECT_THAT(Ids(q), ElementsAre(low, high, none, mid));

  auto page = ListRuns(meta(), RunQuery{.sort = "-accuracy"});
  ASSERT_TRUE(page);
  const ::fsml::Run& best = page->runs[0];
  ASSERT_TRUE(best.best_val_accuracy);
  EXPECT_DOUBLE_EQ(*best.best_val_accuracy, 0.9);
  EXPECT_DOUBLE_EQ(best.train_seconds, 2);
  EXPECT_TRUE(best.log.empty());  // the list leaves the log out
  json j = RunToJson(best, false);
  EXPECT_EQ(j["epochs_done"], 2);
  EXPECT_EQ(j["epochs_planned"], 5);
  EXPECT_EQ(j["test_accuracy"], 0.75);
  EXPECT_EQ(j["version"], 1);
}

TEST_F(RunListTest, PagesDoNotOverlapAndCarryTheTotal) {
  std::vector<int64_t> all;
  for (int i = 0; i < 7; ++i) all.insert(all.begin(), MakeRun(a_, "mlp", {0.5}, 1));
  RunQuery q;
  q.limit = 3;
  std::vector<int64_t> seen;
  for (q.offset = 0; q.offset < 9; q.offset += 3) {
    auto page = ListRuns(meta(), q);
    ASSERT_TRUE(page) << page.error().ToString();
    EXPECT_EQ(page->total, 7);
    for (const auto& r : page->runs) seen.push_back(r.id);
  }
  EXPECT_EQ(seen, all);
}

TEST_F(RunListTest, ListsAndShowsTheModelVersionsMadeFromARun) {
  int64_t run = MakeRun(a_, "mlp", {0.5}, 1);
  MakeRun(a_, "mlp", {0.5}, 1);
  RegisterRequest r;
  r.name = "alpha-model";
  r.run_id = run;
  r.epoch = 1;
  r.spec = {{"model", "mlp"}, {"labels", {"neg", "pos"}}, {"parameters", 2}};
  TensorFile f;
  f.tensors["w"] = Tensor{DType::kF32, {1}, std::string(4, '\0')};
  r.weights = *WriteSafetensors(f);
  r.metrics = {{"val_accuracy", 0.5}};
  r.user = "tester";
  ASSERT_TRUE(RegisterModelVersion(*ws_, r));
  auto page = ListRuns(meta(), RunQuery{.sort = "started_at"});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->runs.size(), 2u);
  EXPECT_THAT(page->runs[0].model_versions, ElementsAre("alpha-model/1"));
  EXPECT_TRUE(page->runs[1].model_versions.empty());
  auto got = GetRun(meta(), run);
  ASSERT_TRUE(got);
  EXPECT_THAT(got->model_versions, ElementsAre("alpha-model/1"));
  ASSERT_EQ(got->epochs.size(), 1u);
  EXPECT_EQ(got->epochs[0].checkpoint_bytes, 1000);
}

TEST_F(RunListTest, ResumedEpochsReplaceTheSummaryColumns) {
  int64_t run = MakeRun(a_, "mlp", {0.3, 0.9}, 2, "interrupted");
  // A resume from epoch 1's checkpoint redoes epoch 2 with a lower accuracy.
  EpochMetrics m;
  m.epoch = 2;
  m.val_accuracy = 0.4;
  m.seconds = 5;
  FSML_ASSERT_OK(RecordEpoch(meta(), run, m, /*is_best=*/true));
  auto got = GetRun(meta(), run);
  ASSERT_TRUE(got);
  EXPECT_DOUBLE_EQ(*got->best_val_accuracy, 0.4);
  EXPECT_DOUBLE_EQ(got->train_seconds, 7);
}

TEST(RunQueryTest, RefusesBadParametersNamingThem) {
  auto q = ParseRunQuery({});
  ASSERT_TRUE(q);
  EXPECT_EQ(q->sort, "-started_at");
  EXPECT_EQ(q->limit, 50);
  struct Case {
    std::map<std::string, std::string> query;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{{"sort", "name"}}, "sort must be started_at, -started_at, accuracy, -accuracy, duration or -duration, not 'name'"},
           {{{"sort", "-id"}}, "sort must be"},
           {{{"status", "done"}}, "status must be running, finished, failed or interrupted, not 'done'"},
           {{{"limit", "0"}}, "limit must be an integer from 1 to 1000"},
           {{{"limit", "1001"}}, "limit must be an integer from 1 to 1000"},
           {{{"limit", "5x"}}, "limit must be an integer"},
           {{{"offset", "-1"}}, "offset must be an integer from 0"},
           {{{"colour", "red"}}, "unknown parameter 'colour'"},
       }) {
    auto r = ParseRunQuery(c.query);
    ASSERT_FALSE(r) << c.message;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(c.message));
  }
  auto ok = ParseRunQuery({{"project", "x'; DROP TABLE runs; --"}, {"sort", "-accuracy"}, {"limit", "10"}, {"offset", "20"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->project, "x'; DROP TABLE runs; --");
  EXPECT_EQ(ok->offset, 20);
}

TEST(CompareIdsTest, TakesTwoToFiveDistinctIds) {
  auto ids = ParseCompareIds("3,1,2");
  ASSERT_TRUE(ids);
  EXPECT_THAT(*ids, ElementsAre(3, 1, 2));
  for (const char* bad : {"1", "1,2,3,4,5,6", "1,1", "1,,2", "1,x", "0,1", "-1,2", "", "1,2,"}) {
    auto r = ParseCompareIds(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    }
  }
  EXPECT_THAT(ParseCompareIds("1,2,3,4,5,6").error().message(), HasSubstr("2 to 5 runs to compare, not 6"));
}

TEST(TrainRequestTest, ParsesEveryOption) {
  auto r = ParseTrainRequest(json::parse(R"({"data": "shirts@v2", "model": "mlp", "model_params": {"hidden": [32]},
      "epochs": 3, "batch_size": 16, "lr": 0.01, "optimizer": "sgd", "weight_decay": 0.0005, "momentum": 0.9,
      "schedule": "step", "warmup_epochs": 1, "label_smoothing": 0.1, "patience": 2, "seed": 42,
      "augment": "crop=2,flip", "evaluate_test": true})"));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->project, "shirts");
  EXPECT_EQ(r->version_ref, "v2");
  const TrainOptions& o = r->options;
  EXPECT_EQ(o.model, "mlp");
  EXPECT_EQ(o.model_params, json::parse(R"({"hidden": [32]})"));
  EXPECT_EQ(o.epochs, 3);
  EXPECT_EQ(o.batch_size, 16u);
  EXPECT_DOUBLE_EQ(o.lr, 0.01);
  EXPECT_EQ(o.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(o.weight_decay, 0.0005);
  EXPECT_DOUBLE_EQ(o.momentum, 0.9);
  EXPECT_EQ(o.schedule, "step");
  EXPECT_EQ(o.warmup_epochs, 1);
  EXPECT_DOUBLE_EQ(o.label_smoothing, 0.1);
  EXPECT_EQ(o.patience, 2);
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.augment, "crop=2,flip");
  EXPECT_TRUE(o.evaluate_test);
  EXPECT_TRUE(o.quiet);

  // Omitted fields keep the recipe's markers.
  auto d = ParseTrainRequest(json::parse(R"({"data": "shirts@v1"})"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->options.model, "cnn-small");
  EXPECT_EQ(d->options.epochs, 0);
  EXPECT_EQ(d->options.augment, "-");
  EXPECT_FALSE(d->options.seed);
  auto none = ParseTrainRequest(json::parse(R"({"data": "shirts@v1", "augment": "none"})"));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->options.augment, "");
}

TEST(TrainRequestTest, RefusesBadFieldsNamingThem) {
  struct Case {
    const char* body;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({})", "\"data\" is required"},
           {R"({"data": 5})", "\"data\" is required"},
           {R"({"data": "no version"})", "\"data\""},
           {R"({"data": "p@v1", "model": "transformer"})", "\"model\" must be one of mlp, cnn-small, resnet"},
           {R"({"data": "p@v1", "epochs": -1})", "\"epochs\" must be an integer from 1 to 1000"},
           {R"({"data": "p@v1", "epochs": 0})", "\"epochs\" must be an integer from 1 to 1000"},
           {R"({"data": "p@v1", "epochs": 1.5})", "\"epochs\" must be an integer"},
           {R"({"data": "p@v1", "epochs": "3"})", "\"epochs\" must be an integer"},
           {R"({"data": "p@v1", "epochs": 18446744073709551615})", "\"epochs\" must be an integer"},
           {R"({"data": "p@v1", "batch_size": 0})", "\"batch_size\" must be an integer from 1 to 65536"},
           {R"({"data": "p@v1", "lr": 0})", "\"lr\" must be a number in (0, 100)"},
           {R"({"data": "p@v1", "lr": "fast"})", "\"lr\" must be a number"},
           {R"({"data": "p@v1", "optimizer": "adam"})", "\"optimizer\" must be one of sgd, adamw"},
           {R"({"data": "p@v1", "schedule": "linear"})", "\"schedule\" must be one of cosine, step, constant"},
           {R"({"data": "p@v1", "momentum": 2})", "\"momentum\" must be a number in [0, 1]"},
           {R"({"data": "p@v1", "weight_decay": -0.1})", "\"weight_decay\" must be a number"},
           {R"({"data": "p@v1", "label_smoothing": 1})", "\"label_smoothing\" must be a number in [0, 1)"},
           {R"({"data": "p@v1", "epochs": 2, "warmup_epochs": 2})", "\"warmup_epochs\" must be fewer than \"epochs\""},
           {R"({"data": "p@v1", "patience": -3})", "\"patience\" must be an integer from 0 to 1000"},
           {R"({"data": "p@v1", "seed": -1})", "\"seed\" must be an integer"},
           {R"({"data": "p@v1", "augment": "rotate"})", "\"augment\""},
           {R"({"data": "p@v1", "augment": 3})", "\"augment\" must be a string"},
           {R"({"data": "p@v1", "evaluate_test": "yes"})", "\"evaluate_test\" must be true or false"},
           {R"({"data": "p@v1", "model_params": [1]})", "\"model_params\" must be an object"},
           {R"({"data": "p@v1", "model_params": {"hidden": "big"}})", "\"model_params\": each value"},
           {R"({"data": "p@v1", "threads": 4})", "unknown field \"threads\""},
           {R"({"data": "p@v1", "<script>": 1})", "unknown field \"<script>\""},
       }) {
    auto r = ParseTrainRequest(json::parse(c.body));
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << c.body;
    EXPECT_THAT(r.error().message(), HasSubstr(c.message)) << c.body;
  }
}

// The read routes, called through the router as the server does.
class RunsRoutesTest : public RunListTest {
 protected:
  void SetUp() override {
    RunListTest::SetUp();
    api_ = std::make_unique<RunsApi>(*ws_);
    api_->AddRoutes(router_);
  }
  void TearDown() override {
    api_.reset();
    RunListTest::TearDown();
  }

  http::Response Call(const std::string& method, const std::string& target, const std::string& body = "") {
    http::Request req;
    req.method = method;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.body = body;
    req.headers["content-type"] = "application/json";
    req.principal = "tester";
    req.role = http::Role::kAdmin;
    auto m = router_.Find(method, req.path);
    EXPECT_TRUE(m.route) << method << " " << target;
    http::Response out;
    if (!m.route) return out;
    req.params = m.params;
    m.route->handler(req, [&](http::Response r) { out = std::move(r); });
    return out;
  }
  json Body(const http::Response& r) { return json::parse(r.body); }

  http::Router router_;
  std::unique_ptr<RunsApi> api_;
};

TEST_F(RunsRoutesTest, ListsShowsAndCompares) {
  int64_t r1 = MakeRun(a_, "mlp", {0.5, 0.6}, 1);
  int64_t r2 = MakeRun(a_, "cnn-small", {0.7}, 1);
  FSML_ASSERT_OK(AppendRunLog(meta(), r1, "line one"));
  FSML_ASSERT_OK(AppendRunLog(meta(), r1, "line two"));

  auto list = Call("GET", "/api/v1/runs?project=alpha&sort=-accuracy&limit=1");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(Body(list)["total"], 2);
  ASSERT_EQ(Body(list)["runs"].size(), 1u);
  EXPECT_EQ(Body(list)["runs"][0]["id"], r2);
  EXPECT_EQ(Call("GET", "/api/v1/runs?sort=bogus").status, 400);

  auto show = Call("GET", "/api/v1/runs/" + std::to_string(r1) + "?log_lines=1");
  ASSERT_EQ(show.status, 200) << show.body;
  json j = Body(show);
  EXPECT_THAT(j["log"].get<std::string>(), HasSubstr("line two"));
  EXPECT_THAT(j["log"].get<std::string>(), ::testing::Not(HasSubstr("line one")));
  EXPECT_EQ(j["epochs"].size(), 2u);
  EXPECT_EQ(j["dataset_version"], json({{"project", "alpha"}, {"number", 1}}));
  ASSERT_EQ(j["artifacts"]["checkpoints"].size(), 2u);
  EXPECT_EQ(j["artifacts"]["checkpoints"][1]["bytes"], 1001);
  EXPECT_EQ(j["artifacts"]["checkpoints"][1]["best"], true);
  EXPECT_EQ(j["params"]["lr"], 0.01);

  EXPECT_EQ(Call("GET", "/api/v1/runs/abc").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/runs/0").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/runs/99999").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/runs/" + std::to_string(r1) + "?log_lines=-1").status, 400);
  // A checkpoint whose object is not in the store: its key is the database's.
  EXPECT_EQ(Call("GET", "/api/v1/runs/" + std::to_string(r1) + "/artifacts/9").status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/runs/" + std::to_string(r1) + "/artifacts/..%2f").status, 400);

  auto cmp = Call("GET", "/api/v1/runs/compare?ids=" + std::to_string(r1) + "," + std::to_string(r2));
  ASSERT_EQ(cmp.status, 200) << cmp.body;
  json c = Body(cmp);
  ASSERT_EQ(c["runs"].size(), 2u);
  EXPECT_EQ(c["runs"][0]["epochs"].size(), 2u);
  EXPECT_EQ(c["params"]["differing"]["model"], json({"mlp", "cnn-small"}));
  EXPECT_EQ(c["params"]["common"]["lr"], 0.01);
  EXPECT_EQ(c["params"]["common"]["model.width"], 4);
  EXPECT_EQ(Call("GET", "/api/v1/runs/compare?ids=1,2,3,4,5,6").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/runs/compare").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/runs/compare?ids=" + std::to_string(r1) + ",99999").status, 404);
}

TEST_F(RunsRoutesTest, RefusesTrainingATextProjectAndBadBodies) {
  auto text = Call("POST", "/api/v1/runs", R"({"data": "alpha@v1", "model": "mlp", "epochs": 1})");
  EXPECT_EQ(text.status, 409) << text.body;
  EXPECT_THAT(text.body, HasSubstr("no text models"));
  EXPECT_EQ(Call("POST", "/api/v1/runs", R"({"data": "nowhere@v1"})").status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/runs", R"({"data": "alpha@v1", "epochs": -2})").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/runs", R"([1, 2])").status, 400);
  auto trainings = Call("GET", "/api/v1/trainings");
  ASSERT_EQ(trainings.status, 200);
  EXPECT_TRUE(Body(trainings)["trainings"].empty());
}

TEST_F(RunsRoutesTest, MovesAliasesAndShowsHistoryAndLineage) {
  int64_t run = MakeRun(a_, "mlp", {0.5}, 1);
  RegisterRequest r;
  r.name = "alpha-model";
  r.run_id = run;
  r.epoch = 1;
  r.spec = {{"model", "mlp"}, {"labels", {"neg", "pos"}}, {"parameters", 2}};
  TensorFile f;
  f.tensors["w"] = Tensor{DType::kF32, {1}, std::string(4, '\0')};
  r.weights = *WriteSafetensors(f);
  r.metrics = {{"val_accuracy", 0.5}};
  r.user = "tester";
  ASSERT_TRUE(RegisterModelVersion(*ws_, r));

  auto set = Call("POST", "/api/v1/registry/alpha-model/aliases/staging", R"({"version": 1})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Body(set)["forced"], false);
  // No requirements: the gate passes.
  auto prod = Call("POST", "/api/v1/registry/alpha-model/aliases/production", R"({"version": 1})");
  ASSERT_EQ(prod.status, 200) << prod.body;
  EXPECT_EQ(Body(prod)["gate"]["passed"], true);

  auto show = Call("GET", "/api/v1/registry/alpha-model");
  ASSERT_EQ(show.status, 200) << show.body;
  json j = Body(show);
  EXPECT_EQ(j["aliases"], json({{"production", 1}, {"staging", 1}}));
  EXPECT_EQ(j["alias_history"].size(), 2u);
  EXPECT_EQ(j["versions"][0]["lineage"]["run_id"], run);
  EXPECT_EQ(j["versions"][0]["lineage"]["dataset"], "alpha@v1");

  EXPECT_EQ(Call("POST", "/api/v1/registry/alpha-model/aliases/staging", R"({"version": 9})").status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/registry/alpha-model/aliases/Bad%20Alias", R"({"version": 1})").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/registry/alpha-model/aliases/staging", R"({"version": "1"})").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/registry/alpha-model/aliases/production", R"({"version": 1, "force": true})").status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/registry/nothing-here").status, 404);
  auto gate = Call("GET", "/api/v1/registry/alpha-model/versions/1/gate");
  ASSERT_EQ(gate.status, 200) << gate.body;
  EXPECT_EQ(Body(gate)["passed"], true);
}

}  // namespace
}  // namespace fsml
