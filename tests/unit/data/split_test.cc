#include "data/split.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/sha256.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;

std::string ItemId(int i) { return Sha256Hex("item-" + std::to_string(i)); }

// The bucket the documented rule gives, computed here to find boundary ids.
int Bucket(const std::string& id, const std::string& salt) {
  Digest d = Sha256(salt + ":" + id);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | d[i];
  return static_cast<int>(v % 1000);
}

TEST(SplitNameTest, NamesEverySplit) {
  EXPECT_EQ(SplitName(Split::kTrain), "train");
  EXPECT_EQ(SplitName(Split::kVal), "val");
  EXPECT_EQ(SplitName(Split::kTest), "test");
}

TEST(ParseSplitTest, AcceptsNamesAndAliases) {
  struct Case {
    const char* text;
    Split want;
  };
  for (const Case& c : {Case{"train", Split::kTrain}, Case{"val", Split::kVal}, Case{"validation", Split::kVal},
                        Case{"valid", Split::kVal}, Case{"test", Split::kTest}}) {
    auto s = ParseSplit(c.text);
    ASSERT_TRUE(s.has_value()) << c.text;
    EXPECT_EQ(*s, c.want) << c.text;
  }
}

TEST(ParseSplitTest, RoundTripsSplitName) {
  for (Split s : {Split::kTrain, Split::kVal, Split::kTest}) {
    auto back = ParseSplit(SplitName(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
}

TEST(ParseSplitTest, RejectsUnknownNamesWithMessage) {
  for (const char* bad : {"", "Train", "dev", "training", "tests", " test"}) {
    auto s = ParseSplit(bad);
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(s.error().message(), "unknown split '" + std::string(bad) + "' (expected train, val or test)");
  }
}

TEST(ParseSplitRatiosTest, AcceptsPercentagesAddingUpTo100) {
  struct Case {
    const char* text;
    int train, val, test;
  };
  for (const Case& c : {Case{"80,10,10", 800, 100, 100}, Case{"70,20,10", 700, 200, 100}, Case{"100,0,0", 1000, 0, 0},
                        Case{"0,0,100", 0, 0, 1000}, Case{"34,33,33", 340, 330, 330}}) {
    auto r = ParseSplitRatios(c.text);
    ASSERT_TRUE(r.has_value()) << c.text << ": " << r.error().message();
    EXPECT_EQ(r->train_permille, c.train) << c.text;
    EXPECT_EQ(r->val_permille, c.val) << c.text;
    EXPECT_EQ(r->test_permille, c.test) << c.text;
  }
}

TEST(ParseSplitRatiosTest, RejectsMalformedRatiosWithMessage) {
  for (const char* bad : {"80,10", "50,50,50", "a,b,c", "80,10,10,0", "", "80,,20", "80,10,10,", "80.0,10,10",
                          " 80,10,10", "80,10,+10", "120,-10,-10", "90,5,4"}) {
    auto r = ParseSplitRatios(bad);
    ASSERT_FALSE(r.has_value()) << "'" << bad << "' was accepted";
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "split ratios '" + std::string(bad) +
                                       "': expected three whole percentages for train,val,test that add up to "
                                       "100, e.g. 80,10,10");
  }
}

TEST(ParseSplitRatiosTest, QuotesAtMost40CharactersOfTheInput) {
  std::string long_text(100, '1');
  auto r = ParseSplitRatios(long_text);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("'" + std::string(40, '1') + "'"));
}

TEST(AssignSplitTest, MatchesGoldenValuesOfTheHashRule) {
  // Computed independently (Python hashlib) for salt "golden-salt", ratios
  // 80/10/10; id = sha256("item-N"); bucket in the comment.
  struct Case {
    int item;
    Split hash_rule;
    Split train_pool;
  };
  const SplitRatios r{800, 100, 100};
  for (const Case& c : {
           Case{0, Split::kTrain, Split::kTrain},  // bucket 165
           Case{2, Split::kVal, Split::kTrain},    // 893
           Case{6, Split::kTrain, Split::kVal},    // 21
           Case{10, Split::kVal, Split::kTrain},   // 855
           Case{14, Split::kTrain, Split::kVal},   // 107
           Case{23, Split::kTest, Split::kTrain},  // 980
           Case{39, Split::kTest, Split::kTrain},  // 924
       }) {
    EXPECT_EQ(AssignSplit(ItemId(c.item), "golden-salt", r), c.hash_rule) << "item-" << c.item;
    EXPECT_EQ(AssignSplit(ItemId(c.item), "golden-salt", r, SourceSplit::kTrainPool), c.train_pool)
        << "item-" << c.item;
  }
}

TEST(AssignSplitTest, BucketBoundariesFollowTheRatios) {
  // Finds ids whose bucket sits on each boundary of 80/10/10 and checks the
  // side they land on: [0,800) train, [800,900) val, [900,1000) test.
  const SplitRatios r{800, 100, 100};
  const std::vector<std::pair<int, Split>> want = {{0, Split::kTrain}, {799, Split::kTrain}, {800, Split::kVal},
                                                   {899, Split::kVal}, {900, Split::kTest},  {999, Split::kTest}};
  std::vector<bool> found(want.size(), false);
  for (int i = 0; i < 200000 && std::find(found.begin(), found.end(), false) != found.end(); ++i) {
    std::string id = ItemId(i);
    int b = Bucket(id, "edge");
    for (size_t k = 0; k < want.size(); ++k) {
      if (b != want[k].first) continue;
      found[k] = true;
      EXPECT_EQ(AssignSplit(id, "edge", r), want[k].second) << "bucket " << b;
    }
  }
  for (size_t k = 0; k < want.size(); ++k) EXPECT_TRUE(found[k]) << "no id with bucket " << want[k].first;
}

TEST(AssignSplitTest, IsDeterministicForTheSameIdAndSalt) {
  const SplitRatios r{700, 150, 150};
  for (int i = 0; i < 500; ++i) {
    std::string id = ItemId(i);
    Split first = AssignSplit(id, "salt-1", r);
    EXPECT_EQ(AssignSplit(id, "salt-1", r), first);
    EXPECT_EQ(AssignSplit(std::string(id), std::string("salt-1"), SplitRatios{700, 150, 150}), first);
  }
}

TEST(AssignSplitTest, DifferentSaltsGiveDifferentAssignments) {
  // Two independent 80/10/10 draws differ with probability 0.34.
  const SplitRatios r{800, 100, 100};
  int differ = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) differ += AssignSplit(ItemId(i), "salt-a", r) != AssignSplit(ItemId(i), "salt-b", r);
  EXPECT_GT(differ, n / 5);
  EXPECT_LT(differ, n / 2);
}

struct Fractions {
  double train = 0, val = 0, test = 0;
};

Fractions Measure(const SplitRatios& r, SourceSplit source, int n) {
  std::mt19937_64 rng(12345);  // fixed seed: the ids are random but the same every run
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < n; ++i) {
    Digest d{};
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    counts[static_cast<int>(AssignSplit(ToHex(d), "fraction-salt", r, source))]++;
  }
  return {counts[0] / double(n), counts[1] / double(n), counts[2] / double(n)};
}

TEST(AssignSplitTest, FractionsOverManyIdsAreCloseToTheRatios) {
  for (const SplitRatios& r : {SplitRatios{800, 100, 100}, SplitRatios{600, 300, 100}, SplitRatios{0, 500, 500}}) {
    Fractions f = Measure(r, SourceSplit::kNone, 20000);
    // Standard error is at most 0.0036 here; 0.02 is over 5 of them.
    EXPECT_NEAR(f.train, r.train_permille / 1000.0, 0.02);
    EXPECT_NEAR(f.val, r.val_permille / 1000.0, 0.02);
    EXPECT_NEAR(f.test, r.test_permille / 1000.0, 0.02);
  }
}

TEST(AssignSplitTest, ZeroRatioSplitsGetNothing) {
  Fractions f = Measure({1000, 0, 0}, SourceSplit::kNone, 2000);
  EXPECT_EQ(f.train, 1.0);
  f = Measure({0, 0, 1000}, SourceSplit::kNone, 2000);
  EXPECT_EQ(f.test, 1.0);
}

TEST(AssignSplitTest, FixedSourceSplitsIgnoreTheHash) {
  for (const SplitRatios& r : {SplitRatios{800, 100, 100}, SplitRatios{1000, 0, 0}, SplitRatios{0, 0, 1000}}) {
    for (int i = 0; i < 200; ++i) {
      std::string id = ItemId(i);
      EXPECT_EQ(AssignSplit(id, "s", r, SourceSplit::kTest), Split::kTest);
      EXPECT_EQ(AssignSplit(id, "s", r, SourceSplit::kVal), Split::kVal);
      EXPECT_EQ(AssignSplit(id, "s", r, SourceSplit::kTrain), Split::kTrain);
    }
  }
}

TEST(AssignSplitTest, TrainPoolNeverGivesTestAndCarvesValByTheRatio) {
  const SplitRatios r{800, 100, 100};
  Fractions f = Measure(r, SourceSplit::kTrainPool, 20000);
  EXPECT_EQ(f.test, 0.0);
  EXPECT_NEAR(f.val, 100.0 / 900.0, 0.015);
  EXPECT_NEAR(f.train, 800.0 / 900.0, 0.015);

  f = Measure({500, 400, 100}, SourceSplit::kTrainPool, 20000);
  EXPECT_EQ(f.test, 0.0);
  EXPECT_NEAR(f.val, 400.0 / 900.0, 0.02);
}

TEST(AssignSplitTest, TrainPoolWithoutValOrTrainShareIsAllTrain) {
  EXPECT_EQ(Measure({800, 0, 200}, SourceSplit::kTrainPool, 1000).train, 1.0);
  EXPECT_EQ(Measure({0, 0, 1000}, SourceSplit::kTrainPool, 1000).train, 1.0);
  EXPECT_EQ(Measure({0, 500, 500}, SourceSplit::kTrainPool, 1000).val, 1.0);
}

}  // namespace
}  // namespace fsml
