// The flywheel: predictions the model is unsure of bring their input back
// to the model's project as an unlabeled item (serve/collect.h), through the
// same predict route the API serves.
#include "serve/collect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <future>

#include "../data/test_util.h"
#include "core/sha256.h"
#include "data/import.h"
#include "data/versions.h"
#include "ml/inference.h"
#include "ml/train.h"
#include "registry/models.h"
#include "registry/runs.h"
#include "serve/api.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int kSide = 8;  // tiny images: a forward pass costs nothing

class CollectTest : public test::WorkspaceTest {
 protected:
  static void SetUpTestSuite() { ::setenv("FSML_ML_MODULE", FSML_TEST_ML_MODULE, /*overwrite=*/1); }

  void SetUp() override {
    test::WorkspaceTest::SetUp();
    project_ = MakeProject("shirts", TaskType::kImageClassification, labels_);
    ImportLabeled(40);
    model_ = TrainAndRegister();
    FSML_ASSERT_OK(SetAlias(meta(), model_.name, model_.number, "production", "tester", false, ""));
  }

  void ImportLabeled(int n) {
    fs::path dir = dir_ / "labeled";
    fs::create_directories(dir);
    std::ofstream index(dir / "items.jsonl");
    for (int i = 0; i < n; ++i) {
      std::string file = "img" + std::to_string(i) + ".png";
      test::WriteBytes(dir / file, test::TestPng(kSide, kSide, 1000 + i));
      index << json({{"image", file}, {"label", labels_[static_cast<size_t>(i) % labels_.size()]}}).dump() << "\n";
    }
    index.close();
    ImportOptions opt;
    opt.format = ImportFormat::kJsonl;
    opt.threads = 1;
    auto s = ImportItems(*ws_, project_, dir / "items.jsonl", opt);
    ASSERT_TRUE(s) << s.error().ToString();
  }

  // A one-epoch mlp on the project's labels, registered as shirts/1.
  ModelVersion TrainAndRegister() {
    auto version = CommitVersion(*ws_, project_, {"test labels", "tester", false});
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
    opt.seed = 7;
    opt.quiet = true;
    auto trained = (*ml)->Train(*ws_, project_, *version, opt);
    EXPECT_TRUE(trained) << trained.error().ToString();
    if (!trained) return {};
    auto v = RegisterRunCheckpoint(*ws_, {trained->run_id, 0, "shirts", "", "tester"});
    EXPECT_TRUE(v) << v.error().ToString();
    return v ? *v : ModelVersion{};
  }

  void SetThreshold(std::optional<double> below) {
    auto p = GetProject(meta(), "shirts");
    ASSERT_TRUE(p) << p.error().ToString();
    FSML_ASSERT_OK(SetCollectBelow(meta(), *p, below));
  }

  // POSTs `image` to the predict route of a started app, as the API would,
  // and returns the answer.
  static http::Response Predict(ServeApp& app, const std::string& ref, const std::string& image) {
    auto match = app.router().Find("POST", "/api/v1/models/" + ref + "/predict");
    EXPECT_NE(match.route, nullptr);
    if (!match.route) return {};
    http::Request req;
    req.method = "POST";
    req.path = "/api/v1/models/" + ref + "/predict";
    req.headers["content-type"] = "image/png";
    req.body = image;
    req.params = match.params;
    req.principal = "viewer";
    req.role = http::Role::kViewer;
    std::promise<http::Response> answer;
    match.route->handler(req, [&](http::Response r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }

  // Serves, predicts each image, then stops the app, which writes every
  // collected input before it returns. The answers, in order.
  std::vector<json> PredictAll(const std::vector<std::string>& images) {
    ServeOptions opt;
    opt.http.listen = "127.0.0.1:0";
    opt.access_log = "off";
    opt.workers = 0;
    opt.collect.settings_ttl = std::chrono::milliseconds(0);
    ServeApp app(*ws_, opt);
    Status started = app.Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
    std::vector<json> out;
    for (const auto& image : images) {
      http::Response r = Predict(app, "shirts@production", image);
      EXPECT_EQ(r.status, 200) << r.body;
      out.push_back(json::parse(r.body, nullptr, false));
    }
    app.Stop();
    return out;
  }

  int64_t Items() { return Count("SELECT COUNT(*) FROM project_items WHERE project_id = ?", {project_.id}); }

  std::vector<std::string> labels_ = {"shirt", "trouser", "bag"};
  Project project_;
  ModelVersion model_;
};

TEST_F(CollectTest, UnsureInputComesBackAsAnUnlabeledItemWithItsPrediction) {
  SetThreshold(1.0);  // a one-epoch model is never fully sure
  const int64_t before = Items();
  std::string image = test::TestPng(kSide, kSide, 9001);
  auto answers = PredictAll({image, image});  // the same input twice: one item

  ASSERT_EQ(Items(), before + 1);
  const json& top = answers[0]["predictions"][0];
  std::string id = Sha256Hex(image);
  bool found = false;
  FSML_ASSERT_OK(meta().Query(
      "SELECT pi.label_id, pi.meta, pi.source, i.format FROM project_items pi JOIN imports i ON i.id = pi.import_id "
      "WHERE pi.project_id = ? AND pi.item_id = ?",
      {project_.id, id}, [&](const SqlRow& r) {
        found = true;
        EXPECT_TRUE(r.IsNull(0)) << "collected items are unlabeled";
        json m = json::parse(r.Text(1));
        EXPECT_EQ(m["source"], "production");
        EXPECT_EQ(m["model"], "shirts/1");
        EXPECT_EQ(m["predicted"], top["label"]);
        EXPECT_DOUBLE_EQ(m["confidence"].get<double>(), top["probability"].get<double>());
        EXPECT_EQ(r.Text(2), "production:shirts/1");
        EXPECT_EQ(r.Text(3), "production");
        return Status::Ok();
      }));
  EXPECT_TRUE(found) << "no item " << id;
  EXPECT_TRUE(ws_->blobs().Exists(id).value_or(false));
}

TEST_F(CollectTest, ConfidentPredictionsAndCollectionOffAddNothing) {
  const int64_t before = Items();
  PredictAll({test::TestPng(kSide, kSide, 9101)});  // collection off (unset)
  EXPECT_EQ(Items(), before);

  SetThreshold(0.01);  // every top probability of three labels is at least 1/3
  PredictAll({test::TestPng(kSide, kSide, 9102)});
  EXPECT_EQ(Items(), before);

  SetThreshold(std::nullopt);
  PredictAll({test::TestPng(kSide, kSide, 9103)});
  EXPECT_EQ(Items(), before);
}

TEST_F(CollectTest, InputsAlreadyInTheProjectStayAsTheyAre) {
  SetThreshold(1.0);
  const int64_t before = Items();
  std::string labeled = test::TestPng(kSide, kSide, 1000);  // imported with label "shirt"
  PredictAll({labeled});
  EXPECT_EQ(Items(), before);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM project_items WHERE project_id = ? AND item_id = ? AND label_id IS NOT NULL",
                  {project_.id, Sha256Hex(labeled)}),
            1);
}

TEST_F(CollectTest, FailedWritesAndAFullQueueAreCountedAndLoseNothingElse) {
  SetThreshold(1.0);
  Metrics metrics;
  {
    Collector c(*ws_, {}, &metrics);
    c.Offer({"shirts", "shirts/1", "bag", 0.4, "not an image"});
    c.Offer({"no-such-project", "shirts/1", "bag", 0.4, test::TestPng(kSide, kSide, 9201)});
    c.Offer({"shirts", "shirts/1", "bag", 0.4, test::TestPng(kSide, kSide, 9202)});
    c.Flush();
  }
  std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("fsml_collect_errors_total 2"));
  EXPECT_THAT(text, HasSubstr("fsml_collect_inputs_total{outcome=\"added\"} 1"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM project_items WHERE project_id = ? AND source LIKE 'production:%'", {project_.id}), 1);

  CollectOptions none;
  none.max_queued = 0;
  Collector full(*ws_, none, &metrics);
  full.Offer({"shirts", "shirts/1", "bag", 0.4, test::TestPng(kSide, kSide, 9203)});
  full.Flush();
  EXPECT_THAT(metrics.Render(), HasSubstr("fsml_collect_dropped_total 1"));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM project_items WHERE project_id = ? AND source LIKE 'production:%'", {project_.id}), 1);
}

TEST_F(CollectTest, WantsFollowsTheThresholdItLastRead) {
  SetThreshold(0.5);
  CollectOptions opt;
  opt.settings_ttl = std::chrono::hours(1);
  Collector c(*ws_, opt, nullptr);
  EXPECT_TRUE(c.Wants("shirts", 0.9)) << "an unknown project is checked by the background thread";
  c.Offer({"shirts", "shirts/1", "bag", 0.9, test::TestPng(kSide, kSide, 9301)});
  c.Flush();
  EXPECT_FALSE(c.Wants("shirts", 0.9));
  EXPECT_TRUE(c.Wants("shirts", 0.4));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM project_items WHERE project_id = ? AND source LIKE 'production:%'", {project_.id}), 0);
}

}  // namespace
}  // namespace fsml
