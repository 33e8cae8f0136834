#include "serve/eval_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "../data/test_util.h"
#include "core/sha256.h"
#include "data/import.h"
#include "label/labeling.h"

namespace fsml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ItemId(int i) { return ToHex(Sha256("item " + std::to_string(i))); }

// Rows with given truth and probabilities over labels a, b, c.
Predictions MakePredictions(const std::vector<std::pair<int64_t, std::vector<float>>>& rows) {
  Predictions p;
  p.labels = {"a", "b", "c"};
  for (size_t i = 0; i < rows.size(); ++i) {
    p.items.push_back(ItemId(static_cast<int>(i)));
    p.truth.push_back(rows[i].first);
    p.probs.insert(p.probs.end(), rows[i].second.begin(), rows[i].second.end());
  }
  return p;
}

Evaluation MakeEvaluation(int64_t id) {
  Evaluation e;
  e.id = id;
  e.project = "toy";
  return e;
}

// Row 0..7: truth, probabilities. Predicted = arg max.
PredictionIndex SampleIndex() {
  return PredictionIndex(MakeEvaluation(1), MakePredictions({
                                                {0, {0.9f, 0.05f, 0.05f}},  // 0: a→a 0.9
                                                {0, {0.2f, 0.7f, 0.1f}},    // 1: a→b 0.7
                                                {0, {0.1f, 0.8f, 0.1f}},    // 2: a→b 0.8
                                                {0, {0.3f, 0.4f, 0.3f}},    // 3: a→b 0.4
                                                {1, {0.1f, 0.8f, 0.1f}},    // 4: b→b 0.8
                                                {0, {0.1f, 0.7f, 0.2f}},    // 5: a→b 0.7 (tie with row 1)
                                                {2, {0.6f, 0.1f, 0.3f}},    // 6: c→a 0.6
                                                {1, {0.5f, 0.5f, 0.0f}},    // 7: b→a 0.5 (tie: lowest index)
                                            }));
}

std::vector<size_t> Rows(const PredictionIndex::Page& p) { return p.rows; }

TEST(PredictionIndexTest, CellRowsAreSortedByConfidenceThenRow) {
  PredictionIndex x = SampleIndex();
  EXPECT_EQ(x.predicted(7), 0);  // ties go to the lowest index, as eval::Predictions
  auto page = x.Select({0, 1, false}, /*ascending=*/false, 0, 100);
  EXPECT_EQ(page.total, 4u);
  EXPECT_THAT(Rows(page), ElementsAre(2, 1, 5, 3));
  page = x.Select({0, 1, false}, /*ascending=*/true, 0, 100);  // the exact reverse, so pages never overlap
  EXPECT_THAT(Rows(page), ElementsAre(3, 5, 1, 2));
}

TEST(PredictionIndexTest, PagesCoverTheSelectionOnceAndStopAtItsEnd) {
  PredictionIndex x = SampleIndex();
  std::vector<size_t> all;
  for (size_t offset = 0; offset < 10; offset += 3) {
    auto page = x.Select({0, 1, false}, false, offset, 3);
    EXPECT_EQ(page.total, 4u);
    all.insert(all.end(), page.rows.begin(), page.rows.end());
  }
  EXPECT_THAT(all, ElementsAre(2, 1, 5, 3));
  EXPECT_TRUE(x.Select({0, 1, false}, false, 4, 3).rows.empty());
  EXPECT_TRUE(x.Select({0, 1, false}, false, size_t{1} << 40, size_t{1} << 40).rows.empty());
  EXPECT_THAT(Rows(x.Select({0, 1, false}, true, 3, 100)), ElementsAre(2));
  // An empty cell.
  auto empty = x.Select({2, 2, false}, false, 0, 10);
  EXPECT_EQ(empty.total, 0u);
  EXPECT_TRUE(empty.rows.empty());
}

TEST(PredictionIndexTest, RowsColumnsAndMistakes) {
  PredictionIndex x = SampleIndex();
  EXPECT_THAT(Rows(x.Select({-1, -1, true}, false, 0, 100)), ElementsAre(2, 1, 5, 6, 7, 3));
  EXPECT_THAT(Rows(x.Select({0, -1, false}, false, 0, 100)), ElementsAre(0, 2, 1, 5, 3));   // true a
  EXPECT_THAT(Rows(x.Select({-1, 0, false}, false, 0, 100)), ElementsAre(0, 6, 7));         // predicted a
  EXPECT_THAT(Rows(x.Select({-1, 0, true}, false, 0, 100)), ElementsAre(6, 7));             // predicted a, wrongly
  EXPECT_EQ(x.Select({-1, -1, false}, false, 0, 100).total, 8u);
}

TEST(PredictionIndexTest, EachSelectionIsSortedOnce) {
  PredictionIndex x = SampleIndex();
  EXPECT_EQ(x.SortedSelectionsForTest(), 0u);
  x.Select({0, 1, false}, false, 0, 2);
  x.Select({0, 1, false}, true, 2, 2);
  x.Select({0, 1, false}, false, 1, 1);
  EXPECT_EQ(x.SortedSelectionsForTest(), 1u);
  x.Select({0, 1, true}, false, 0, 1);
  EXPECT_EQ(x.SortedSelectionsForTest(), 2u);
}

TEST(PredictionIndexTest, FindsLabelsAndItems) {
  PredictionIndex x = SampleIndex();
  EXPECT_EQ(x.Label("b"), 1);
  EXPECT_EQ(x.Label("B"), std::nullopt);
  EXPECT_EQ(x.Row(ItemId(6)), 6u);
  EXPECT_EQ(x.Row("no such item"), std::nullopt);
  EXPECT_FLOAT_EQ(x.confidence(2), 0.8f);
  EXPECT_GT(x.bytes(), 8 * 3 * sizeof(float));
}

class PredictionCacheTest : public ::testing::Test {
 protected:
  PredictionCache::Loader Loader(int64_t id) {
    return [this, id]() -> Result<std::shared_ptr<const PredictionIndex>> {
      ++loads_[id];
      return std::make_shared<const PredictionIndex>(MakeEvaluation(id), MakePredictions({{0, {0.5f, 0.3f, 0.2f}}}));
    };
  }
  size_t OneBytes() { return PredictionIndex(MakeEvaluation(0), MakePredictions({{0, {0.5f, 0.3f, 0.2f}}})).bytes(); }
  std::map<int64_t, int> loads_;
};

TEST_F(PredictionCacheTest, KeepsDecodedEvaluationsAndLoadsEachOnce) {
  PredictionCache cache(OneBytes() * 10);
  for (int i = 0; i < 3; ++i) {
    auto x = cache.Get(7, Loader(7));
    ASSERT_TRUE(x) << x.error().ToString();
    EXPECT_EQ((*x)->evaluation().id, 7);
  }
  EXPECT_EQ(loads_[7], 1);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), OneBytes());
}

TEST_F(PredictionCacheTest, EvictsTheLeastRecentlyUsedPastItsBytes) {
  PredictionCache cache(OneBytes() * 2);
  ASSERT_TRUE(cache.Get(1, Loader(1)));
  ASSERT_TRUE(cache.Get(2, Loader(2)));
  ASSERT_TRUE(cache.Get(1, Loader(1)));  // 1 is now the most recent
  ASSERT_TRUE(cache.Get(3, Loader(3)));  // over the bound: 2 goes
  EXPECT_TRUE(cache.Contains(1));
  EXPECT_FALSE(cache.Contains(2));
  EXPECT_TRUE(cache.Contains(3));
  EXPECT_EQ(cache.bytes(), OneBytes() * 2);
  ASSERT_TRUE(cache.Get(2, Loader(2)));  // decoded again
  EXPECT_EQ(loads_[2], 2);
  EXPECT_EQ(loads_[1], 1);
}

TEST_F(PredictionCacheTest, KeepsOneEvaluationLargerThanItsBound) {
  PredictionCache cache(1);
  ASSERT_TRUE(cache.Get(1, Loader(1)));
  EXPECT_TRUE(cache.Contains(1));
  ASSERT_TRUE(cache.Get(2, Loader(2)));
  EXPECT_FALSE(cache.Contains(1));
  EXPECT_TRUE(cache.Contains(2));
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(PredictionCacheTest, FailedLoadsAreNotCached) {
  PredictionCache cache(1 << 20);
  int calls = 0;
  auto failing = [&]() -> Result<std::shared_ptr<const PredictionIndex>> {
    ++calls;
    return Err(NotFound("no evaluation 9"));
  };
  auto r = cache.Get(9, failing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_FALSE(cache.Get(9, failing));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.size(), 0u);
}

// Sending items back to labeling.
class SendToReviewTest : public test::WorkspaceTest {
 protected:
  // A text project with 4 items: 0 and 1 labeled by import (final), 2 and 3 open.
  Project MakeTextProject() {
    Project p = MakeProject("reviews", TaskType::kTextClassification, {"pos", "neg"});
    fs::path file = dir_ / "items.jsonl";
    std::ofstream out(file);
    out << "{\"text\": \"good\", \"label\": \"pos\"}\n{\"text\": \"bad\", \"label\": \"neg\"}\n"
        << "{\"text\": \"meh\"}\n{\"text\": \"okay\"}\n";
    out.close();
    ImportOptions opt;
    opt.format = ImportFormat::kJsonl;
    auto s = ImportItems(*ws_, p, file, opt);
    EXPECT_TRUE(s) << s.error().ToString();
    return p;
  }
  std::string Id(const std::string& text) { return ToHex(Sha256(text)); }
  std::string State(const Project& p, const std::string& item) {
    auto s = meta().QueryText("SELECT state FROM label_tasks WHERE project_id = ? AND item_id = ?", {p.id, item});
    EXPECT_TRUE(s) << s.error().ToString();
    return s && *s ? **s : "";
  }
};

TEST_F(SendToReviewTest, FinalAndOpenItemsGoToTheReviewQueueWithTheReason) {
  Project p = MakeTextProject();
  LabelingService svc(*ws_);
  FSML_ASSERT_OK(svc.SyncTasks(p, true));
  ASSERT_EQ(State(p, Id("good")), "final");
  FSML_ASSERT_OK(svc.SendToReview(p, {{Id("good"), "evaluation #3: predicted neg (93%), labeled pos"}, {Id("meh"), "why not"}}, "rita"));
  EXPECT_EQ(State(p, Id("good")), "review");
  EXPECT_EQ(State(p, Id("meh")), "review");
  EXPECT_EQ(State(p, Id("bad")), "final");
  auto queue = svc.ReviewQueue(p, 50);
  ASSERT_TRUE(queue) << queue.error().ToString();
  EXPECT_EQ(queue->second, 2u);
  bool found = false;
  for (const auto& r : queue->first) {
    if (r.item.item_id != Id("good")) continue;
    found = true;
    EXPECT_THAT(r.reasons, ElementsAre("flag"));
    ASSERT_EQ(r.item.flags.size(), 1u);
    EXPECT_EQ(r.item.flags[0].user, "rita");
    EXPECT_EQ(r.item.flags[0].comment, "evaluation #3: predicted neg (93%), labeled pos");
    EXPECT_EQ(r.item.label, "pos");  // the label stands until a reviewer decides
  }
  EXPECT_TRUE(found);
  // The reviewer's decision finalizes it and resolves the reason.
  FSML_ASSERT_OK(svc.Resolve(p, "rita", Id("good"), "neg"));
  EXPECT_EQ(State(p, Id("good")), "final");
  auto item = svc.GetItem(p, Id("good"), "rita", true);
  ASSERT_TRUE(item) << item.error().ToString();
  EXPECT_EQ(item->label, "neg");
  ASSERT_EQ(item->flags.size(), 1u);
  EXPECT_TRUE(item->flags[0].resolved);
}

TEST_F(SendToReviewTest, ReviewedItemsReopen) {
  Project p = MakeTextProject();
  LabelingService svc(*ws_);
  FSML_ASSERT_OK(svc.Resolve(p, "rita", Id("okay"), "pos"));
  ASSERT_EQ(State(p, Id("okay")), "final");
  FSML_ASSERT_OK(svc.SendToReview(p, {{Id("okay"), "second look"}}, "rita"));
  EXPECT_EQ(State(p, Id("okay")), "review");
  FSML_ASSERT_OK(svc.Resolve(p, "rita", Id("okay"), "neg"));
  EXPECT_EQ(State(p, Id("okay")), "final");
}

TEST_F(SendToReviewTest, UnknownItemsAreRefusedAndNothingMoves) {
  Project p = MakeTextProject();
  LabelingService svc(*ws_);
  FSML_ASSERT_OK(svc.SyncTasks(p, true));
  Status s = svc.SendToReview(p, {{Id("good"), "x"}, {std::string(64, 'f'), "y"}}, "rita");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("has no item ffff"));
  EXPECT_EQ(State(p, Id("good")), "final");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM item_flags"), 0);
}

TEST_F(SendToReviewTest, RefusesEmptyAndOversizedRequests) {
  Project p = MakeTextProject();
  LabelingService svc(*ws_);
  EXPECT_EQ(svc.SendToReview(p, {}, "rita").code(), Code::kInvalidArgument);
  std::vector<LabelingService::ReviewRequest> many(1001, {Id("good"), "x"});
  EXPECT_EQ(svc.SendToReview(p, many, "rita").code(), Code::kInvalidArgument);
  Status s = svc.SendToReview(p, {{Id("good"), std::string(2001, 'x')}}, "rita");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("2,000 bytes"));
}

}  // namespace
}  // namespace fsml
