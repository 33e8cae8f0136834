#include "label/labeling.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "../data/test_util.h"
#include "data/import.h"
#include "data/versions.h"

namespace fsml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class LabelingTest : public test::WorkspaceTest {
 protected:
  // A text project with `n` unlabeled items and the given overlap.
  Project MakeTextProject(int n, int overlap) {
    ProjectSpec spec;
    spec.name = "reviews";
    spec.type = TaskType::kTextClassification;
    spec.labels = {"pos", "neg", "neutral"};
    spec.overlap = overlap;
    auto p = CreateProject(meta(), spec, "tester");
    EXPECT_TRUE(p) << p.error().ToString();
    fs::path file = dir_ / "items.jsonl";
    std::ofstream out(file);
    for (int i = 0; i < n; ++i) out << "{\"text\": \"review number " << i << "\"}\n";
    out.close();
    ImportOptions opt;
    opt.format = ImportFormat::kJsonl;
    auto s = ImportItems(*ws_, *p, file, opt);
    EXPECT_TRUE(s) << s.error().ToString();
    return *p;
  }

  std::vector<std::string> NextIds(LabelingService& svc, const Project& p, const std::string& user, size_t n,
                                   const std::set<std::string>& exclude = {}) {
    auto next = svc.Next(p, user, n, exclude);
    EXPECT_TRUE(next) << next.error().ToString();
    std::vector<std::string> ids;
    if (next)
      for (const auto& it : next->items) ids.push_back(it.item_id);
    return ids;
  }

  AnnotationResult Label(LabelingService& svc, const Project& p, const std::string& user, const std::string& item,
                         const std::string& label, const std::string& request_id) {
    auto r = svc.Annotate(p, user, {{item, label, request_id}});
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? r->at(0) : AnnotationResult{};
  }

  std::string FinalLabel(const Project& p, const std::string& item) {
    auto l = meta().QueryText("SELECT l.name FROM project_items pi JOIN labels l ON l.id = pi.label_id "
                              "WHERE pi.project_id = ? AND pi.item_id = ?",
                              {p.id, item});
    return l && *l ? **l : "";
  }
};

TEST_F(LabelingTest, EachItemGoesToOnePersonWithOverlapOne) {
  Project p = MakeTextProject(10, 1);
  LabelingService svc(*ws_);
  auto a = NextIds(svc, p, "ann", 6);
  auto b = NextIds(svc, p, "bob", 6);
  EXPECT_EQ(a.size(), 6u);
  EXPECT_EQ(b.size(), 4u);  // the other 6 are locked for ann
  std::set<std::string> all(a.begin(), a.end());
  for (const auto& id : b) EXPECT_FALSE(all.count(id)) << id;
  auto next = svc.Next(p, "ann", 1, {});
  EXPECT_EQ(next->remaining, 10u);
}

TEST_F(LabelingTest, HeldItemsComeBackAfterAReloadButNotWhenExcluded) {
  Project p = MakeTextProject(5, 1);
  LabelingService svc(*ws_);
  auto first = NextIds(svc, p, "ann", 2);
  auto again = NextIds(svc, p, "ann", 2);
  EXPECT_EQ(first, again);  // a reload gets the same items back
  auto more = NextIds(svc, p, "ann", 2, {first.begin(), first.end()});
  ASSERT_EQ(more.size(), 2u);
  EXPECT_NE(more[0], first[0]);
  EXPECT_NE(more[0], first[1]);
}

TEST_F(LabelingTest, ExpiredLocksFreeTheItem) {
  Project p = MakeTextProject(1, 1);
  LabelingOptions opt;
  opt.lock_ttl = std::chrono::milliseconds(1);
  LabelingService svc(*ws_, opt);
  auto a = NextIds(svc, p, "ann", 1);
  ASSERT_EQ(a.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(NextIds(svc, p, "bob", 1), a);
}

TEST_F(LabelingTest, OverlapTwoAgreeingLabelsMakeTheFinalLabel) {
  Project p = MakeTextProject(3, 2);
  LabelingService svc(*ws_);
  auto a = NextIds(svc, p, "ann", 3);
  auto b = NextIds(svc, p, "bob", 3);
  EXPECT_EQ(a, b);  // with overlap 2 both get every item
  EXPECT_TRUE(NextIds(svc, p, "cat", 3).empty());  // but not a third person
  Label(svc, p, "ann", a[0], "pos", "req-ann-0001");
  EXPECT_EQ(FinalLabel(p, a[0]), "");  // one of two
  Label(svc, p, "bob", a[0], "pos", "req-bob-0001");
  EXPECT_EQ(FinalLabel(p, a[0]), "pos");
  // Disagreement goes to review.
  Label(svc, p, "ann", a[1], "pos", "req-ann-0002");
  Label(svc, p, "bob", a[1], "neg", "req-bob-0002");
  EXPECT_EQ(FinalLabel(p, a[1]), "");
  auto review = svc.ReviewQueue(p, 10);
  ASSERT_TRUE(review);
  ASSERT_EQ(review->second, 1u);
  EXPECT_EQ(review->first[0].item.item_id, a[1]);
  EXPECT_THAT(review->first[0].reasons, ElementsAre("disagreement"));
  EXPECT_EQ(review->first[0].item.votes.size(), 2u);
  FSML_ASSERT_OK(svc.Resolve(p, "rita", a[1], "neg"));
  EXPECT_EQ(FinalLabel(p, a[1]), "neg");
  EXPECT_EQ(svc.ReviewQueue(p, 10)->second, 0u);
  // A decided item's labels no longer change.
  auto late = svc.Annotate(p, "ann", {{a[1], "neutral", "req-ann-0003"}});
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), Code::kFailedPrecondition);
}

TEST_F(LabelingTest, TheRandomReviewSampleSendsAgreedItemsToReview) {
  Project p = MakeTextProject(230, 1);
  FSML_ASSERT_OK(SetReviewSample(meta(), p, 250));
  auto again = GetProject(meta(), "reviews");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->review_sample_permille, 250);
  EXPECT_FALSE(SetReviewSample(meta(), p, 1001).ok());
  EXPECT_FALSE(SetReviewSample(meta(), p, -1).ok());
  LabelingService svc(*ws_);
  std::vector<std::string> ids;
  while (ids.size() < 200) {
    auto batch = NextIds(svc, p, "ann", 50);
    ASSERT_EQ(batch.size(), 50u);
    for (const auto& id : batch) {
      Label(svc, p, "ann", id, "pos", "req-sample-" + std::to_string(ids.size()));
      ids.push_back(id);
    }
  }
  auto review = svc.ReviewQueue(p, 200);
  ASSERT_TRUE(review);
  // About a quarter: the draw is per item, from the project's salt.
  EXPECT_GT(review->second, 20u);
  EXPECT_LT(review->second, 90u);
  size_t finals = 0;
  for (const auto& id : ids) finals += FinalLabel(p, id) == "pos";
  EXPECT_EQ(finals + review->second, 200u);
  for (const auto& r : review->first) EXPECT_THAT(r.reasons, ElementsAre("sample"));
  // The reviewer's decision makes the item final; the draw does not send it back.
  std::string sampled = review->first[0].item.item_id;
  FSML_ASSERT_OK(svc.Resolve(p, "rita", sampled, "neg"));
  EXPECT_EQ(FinalLabel(p, sampled), "neg");
  EXPECT_EQ(svc.ReviewQueue(p, 200)->second, review->second - 1);
  // Off: the other 30 items become final without review.
  FSML_ASSERT_OK(SetReviewSample(meta(), p, 0));
  auto rest = NextIds(svc, p, "ann", 50);
  ASSERT_EQ(rest.size(), 30u);
  for (size_t i = 0; i < rest.size(); ++i) Label(svc, p, "ann", rest[i], "neg", "req-rest-" + std::to_string(i));
  EXPECT_EQ(svc.ReviewQueue(p, 200)->second, review->second - 1);
  for (const auto& id : rest) EXPECT_EQ(FinalLabel(p, id), "neg");
}

TEST_F(LabelingTest, InTheBackgroundModeNewItemsComeWithTheNextRefresh) {
  Project p = MakeTextProject(3, 1);
  LabelingOptions o;
  o.refresh_in_background = true;
  o.sync_interval = std::chrono::milliseconds(0);  // would sync on every call in the other mode
  LabelingService svc(*ws_, o);
  auto first = svc.Next(p, "ann", 10, {});
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->items.size(), 3u);  // the first call syncs and counts itself
  EXPECT_EQ(first->remaining, 3u);
  // Items imported later wait for Refresh(); the next-item path counts nothing.
  fs::path file = dir_ / "more.jsonl";
  std::ofstream(file) << "{\"text\": \"a later review\"}\n{\"text\": \"another later review\"}\n";
  ImportOptions opt;
  opt.format = ImportFormat::kJsonl;
  ASSERT_TRUE(ImportItems(*ws_, p, file, opt));
  auto before = svc.Next(p, "bob", 10, {});
  ASSERT_TRUE(before);
  EXPECT_EQ(before->items.size(), 0u);  // ann holds the first three
  EXPECT_EQ(before->remaining, 3u);
  FSML_ASSERT_OK(svc.Refresh());
  auto after = svc.Next(p, "bob", 10, {});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->items.size(), 2u);
  EXPECT_EQ(after->remaining, 5u);
}

TEST_F(LabelingTest, ARepeatedRequestIdWritesNothing) {
  Project p = MakeTextProject(2, 1);
  LabelingService svc(*ws_);
  auto ids = NextIds(svc, p, "ann", 1);
  auto first = Label(svc, p, "ann", ids[0], "pos", "same-request");
  auto second = Label(svc, p, "ann", ids[0], "pos", "same-request");
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(second.duplicate);
  EXPECT_EQ(first.id, second.id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM annotations WHERE origin = 'human'"), 1);
  // Another person may use the same request id.
  auto other = Label(svc, p, "bob", ids[0], "pos", "same-request");
  EXPECT_FALSE(other.duplicate);
}

TEST_F(LabelingTest, UndoWithdrawsTheLabelAndReturnsTheItem) {
  Project p = MakeTextProject(2, 1);
  LabelingService svc(*ws_);
  auto ids = NextIds(svc, p, "ann", 1);
  auto a = Label(svc, p, "ann", ids[0], "pos", "req-00000001");
  EXPECT_EQ(FinalLabel(p, ids[0]), "pos");
  EXPECT_EQ(svc.Undo(p, "bob", a.id).error().code(), Code::kNotFound);  // not bob's
  auto item = svc.Undo(p, "ann", a.id);
  ASSERT_TRUE(item) << item.error().ToString();
  EXPECT_EQ(*item, ids[0]);
  EXPECT_EQ(FinalLabel(p, ids[0]), "");
  EXPECT_EQ(svc.Undo(p, "ann", a.id).error().code(), Code::kFailedPrecondition);
  // It is the first item of ann's queue again, and still hers.
  EXPECT_EQ(NextIds(svc, p, "ann", 1), ids);
  auto history = svc.History(p, "ann", 10, 0);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_TRUE((*history)[0].withdrawn);
}

TEST_F(LabelingTest, AnEditReplacesTheVote) {
  Project p = MakeTextProject(1, 1);
  LabelingService svc(*ws_);
  auto ids = NextIds(svc, p, "ann", 1);
  Label(svc, p, "ann", ids[0], "pos", "req-00000001");
  Label(svc, p, "ann", ids[0], "neg", "req-00000002");
  EXPECT_EQ(FinalLabel(p, ids[0]), "neg");
  auto item = svc.GetItem(p, ids[0], "ann", false);
  ASSERT_EQ(item->votes.size(), 1u);
  EXPECT_EQ(item->votes[0].label, "neg");
}

TEST_F(LabelingTest, SkippedAndFlaggedItemsLeaveMyQueue) {
  Project p = MakeTextProject(3, 1);
  LabelingService svc(*ws_);
  auto ids = NextIds(svc, p, "ann", 2);
  FSML_ASSERT_OK(svc.Skip(p, "ann", ids[0]));
  auto flag = svc.AddFlag(p, "ann", ids[1], "blurry, can't tell");
  ASSERT_TRUE(flag);
  auto next = NextIds(svc, p, "ann", 3);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0], ids[0]);
  EXPECT_NE(next[0], ids[1]);
  // The skipped item goes to someone else; the flagged one is in review.
  auto bob = NextIds(svc, p, "bob", 3);
  EXPECT_THAT(bob, ::testing::Contains(ids[0]));
  EXPECT_THAT(bob, ::testing::Not(::testing::Contains(ids[1])));
  auto review = svc.ReviewQueue(p, 10);
  ASSERT_EQ(review->second, 1u);
  EXPECT_THAT(review->first[0].reasons, ElementsAre("flag"));
  EXPECT_EQ(review->first[0].item.flags[0].comment, "blurry, can't tell");
  EXPECT_EQ(svc.AddFlag(p, "ann", ids[1], std::string(2001, 'x')).error().code(), Code::kInvalidArgument);
}

TEST_F(LabelingTest, BadInputIsRefusedWithANamedReason) {
  Project p = MakeTextProject(1, 1);
  LabelingService svc(*ws_);
  auto ids = NextIds(svc, p, "ann", 1);
  EXPECT_THAT(svc.Annotate(p, "ann", {{ids[0], "nope", "req-00000001"}}).error().message(), HasSubstr("has no label 'nope'"));
  EXPECT_THAT(svc.Annotate(p, "ann", {{ids[0], "pos", "short"}}).error().message(), HasSubstr("8 to 64"));
  EXPECT_THAT(svc.Annotate(p, "ann", {{ids[0], "pos", "bad:id:123"}}).error().message(), HasSubstr("only letters"));
  EXPECT_EQ(svc.Annotate(p, "ann", {{std::string(64, 'f'), "pos", "req-00000001"}}).error().code(), Code::kNotFound);
  EXPECT_EQ(svc.Annotate(p, "ann", {}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(svc.Next(p, "ann", 0, {}).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(svc.Next(p, "ann", 101, {}).error().code(), Code::kInvalidArgument);
  // A batch with one bad label writes none of it.
  auto batch = svc.Annotate(p, "ann", {{ids[0], "pos", "req-00000002"}, {std::string(64, 'e'), "pos", "req-00000003"}});
  EXPECT_FALSE(batch);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM annotations WHERE origin = 'human'"), 0);
}

TEST_F(LabelingTest, ProgressCountsLabelsPerLabelAndPerson) {
  Project p = MakeTextProject(4, 1);
  LabelingService svc(*ws_);
  auto ids = NextIds(svc, p, "ann", 3);
  Label(svc, p, "ann", ids[0], "pos", "req-00000001");
  Label(svc, p, "ann", ids[1], "neg", "req-00000002");
  auto bob = NextIds(svc, p, "bob", 1);
  Label(svc, p, "bob", bob[0], "pos", "req-00000003");
  auto progress = svc.Progress(p);
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->items, 4u);
  EXPECT_EQ(progress->labeled, 3u);
  EXPECT_EQ(progress->open, 1u);
  EXPECT_EQ(progress->today, 3u);
  EXPECT_EQ(progress->per_label.at("pos"), 2u);
  ASSERT_EQ(progress->per_annotator.size(), 2u);
  EXPECT_EQ(progress->per_annotator[0].user, "ann");
  EXPECT_EQ(progress->per_annotator[0].labels, 2u);
  // The labels are what a commit snapshots.
  CommitOptions opt;
  opt.message = "first labels";
  opt.author = "rita";
  auto v = CommitVersion(*ws_, p, opt);
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->item_count, 3u);
}

TEST_F(LabelingTest, AgreementComesFromEachPersonsStandingLabels) {
  Project p = MakeTextProject(4, 2);
  LabelingService svc(*ws_);
  auto ids = NextIds(svc, p, "ann", 4);
  NextIds(svc, p, "bob", 4);
  const char* ann[] = {"pos", "neg", "pos", "neutral"};
  const char* bob[] = {"pos", "neg", "neg", "neutral"};
  for (int i = 0; i < 4; ++i) {
    Label(svc, p, "ann", ids[i], ann[i], "ann-req-" + std::to_string(1000 + i));
    Label(svc, p, "bob", ids[i], bob[i], "bob-req-" + std::to_string(1000 + i));
  }
  auto a = svc.Agreement(p);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->report.items, 4u);
  ASSERT_TRUE(a->report.percent_agreement);
  EXPECT_DOUBLE_EQ(*a->report.percent_agreement, 0.75);
  ASSERT_EQ(a->report.pairs.size(), 1u);
  EXPECT_EQ(a->report.pairs[0].a, "ann");
  EXPECT_EQ(a->report.pairs[0].b, "bob");
  ASSERT_TRUE(a->report.pairs[0].cohen_kappa);
  // po = 0.75; pe = (2/4*1/4) + (1/4*2/4) + (1/4*1/4) = 0.3125; kappa = (0.75-0.3125)/(1-0.3125)
  EXPECT_NEAR(*a->report.pairs[0].cohen_kappa, (0.75 - 0.3125) / (1 - 0.3125), 1e-9);
  EXPECT_FALSE(a->report.fleiss_kappa);  // needs an item with three labels
}

TEST_F(LabelingTest, ImportedLabelsAreNotQueued) {
  ProjectSpec spec;
  spec.name = "pre";
  spec.type = TaskType::kTextClassification;
  spec.labels = {"a", "b"};
  auto p = CreateProject(meta(), spec, "t");
  ASSERT_TRUE(p);
  fs::path file = dir_ / "pre.jsonl";
  std::ofstream(file) << "{\"text\": \"one\", \"label\": \"a\"}\n{\"text\": \"two\"}\n";
  ImportOptions opt;
  opt.format = ImportFormat::kJsonl;
  ASSERT_TRUE(ImportItems(*ws_, *p, file, opt));
  LabelingService svc(*ws_);
  auto next = svc.Next(*p, "ann", 10, {});
  ASSERT_TRUE(next);
  ASSERT_EQ(next->items.size(), 1u);
  EXPECT_EQ(next->items[0].text, "two");
}

}  // namespace
}  // namespace fsml
