#include "eval/metrics.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsml::eval {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// Float inputs are compared with the decimal the test reasons about; the
// float nearest 0.85 differs from it by about 1e-8.
constexpr double kFloatTol = 1e-6;

Metrics MustCompute(const std::vector<std::string>& labels, const std::vector<float>& probs,
                    const std::vector<int64_t>& truth, int bins = 15) {
  auto r = ComputeMetrics(labels, probs, truth, bins);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return r ? *r : Metrics{};
}

std::string ComputeError(const std::vector<std::string>& labels, const std::vector<float>& probs,
                         const std::vector<int64_t>& truth, int bins = 15) {
  auto r = ComputeMetrics(labels, probs, truth, bins);
  if (r) return "(no error)";
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  return r.error().message();
}

// Golden case, worked out by hand.
//
//   item  truth  probs (cat, dog, bird)  predicted  conf  bin (15 bins)
//   0     cat    0.70 0.20 0.10          cat  ok    0.70  10 (10/15, 11/15]
//   1     cat    0.40 0.50 0.10          dog        0.50   7 ( 7/15,  8/15]
//   2     cat    0.90 0.05 0.05          cat  ok    0.90  13 (13/15, 14/15]
//   3     dog    0.10 0.85 0.05          dog  ok    0.85  12 (12/15, 13/15]
//   4     dog    0.25 0.30 0.45          bird       0.45   6 ( 6/15,  7/15]
//   5     bird   0.10 0.55 0.35          dog        0.55   8 ( 8/15,  9/15]
//
// accuracy = 3/6 = 0.5
// confusion [true][pred]: cat [2 1 0], dog [0 1 1], bird [0 1 0]
// cat:  support 3, predicted 2, tp 2: P = 1,   R = 2/3, F1 = 2*2/(3+2) = 0.8
// dog:  support 2, predicted 3, tp 1: P = 1/3, R = 1/2, F1 = 2*1/(2+3) = 0.4
// bird: support 1, predicted 1, tp 0: P = 0,   R = 0,   F1 = 0
// macro P = (1 + 1/3 + 0)/3 = 4/9; macro R = (2/3 + 1/2 + 0)/3 = 7/18;
// macro F1 = (0.8 + 0.4 + 0)/3 = 0.4; weighted F1 = (3*0.8 + 2*0.4 + 1*0)/6 = 8/15
// log loss = -(ln 0.7 + ln 0.4 + ln 0.9 + ln 0.85 + ln 0.3 + ln 0.35)/6 = 0.63244000829885...
// top-1 = 0.5; top-3 = 1 (3 classes: every true class is in the top 3); no top-5
// ECE: one item per bin, so (1/6) * sum |acc - conf|
//    = (0.3 + 0.5 + 0.1 + 0.15 + 0.45 + 0.55)/6 = 2.05/6 = 0.341666...
const std::vector<std::string> kAnimals = {"cat", "dog", "bird"};
const std::vector<float> kSixProbs = {0.70f, 0.20f, 0.10f, 0.40f, 0.50f, 0.10f, 0.90f, 0.05f, 0.05f,
                                      0.10f, 0.85f, 0.05f, 0.25f, 0.30f, 0.45f, 0.10f, 0.55f, 0.35f};
const std::vector<int64_t> kSixTruth = {0, 0, 0, 1, 1, 2};

TEST(ComputeMetricsTest, SixItemGoldenCase) {
  Metrics m = MustCompute(kAnimals, kSixProbs, kSixTruth);
  EXPECT_EQ(m.items, 6u);
  EXPECT_EQ(m.labels, kAnimals);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<uint64_t>>{{2, 1, 0}, {0, 1, 1}, {0, 1, 0}}));

  ASSERT_EQ(m.per_class.size(), 3u);
  EXPECT_EQ(m.per_class[0].label, "cat");
  EXPECT_DOUBLE_EQ(m.per_class[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(m.per_class[0].recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.per_class[0].f1, 0.8);
  EXPECT_EQ(m.per_class[0].support, 3u);
  EXPECT_EQ(m.per_class[0].predicted, 2u);
  EXPECT_EQ(m.per_class[1].label, "dog");
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.per_class[1].recall, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[1].f1, 0.4);
  EXPECT_EQ(m.per_class[1].support, 2u);
  EXPECT_EQ(m.per_class[1].predicted, 3u);
  EXPECT_EQ(m.per_class[2].label, "bird");
  EXPECT_DOUBLE_EQ(m.per_class[2].precision, 0.0);
  EXPECT_DOUBLE_EQ(m.per_class[2].recall, 0.0);
  EXPECT_DOUBLE_EQ(m.per_class[2].f1, 0.0);
  EXPECT_EQ(m.per_class[2].support, 1u);
  EXPECT_EQ(m.per_class[2].predicted, 1u);

  EXPECT_DOUBLE_EQ(m.macro_precision, 4.0 / 9);
  EXPECT_DOUBLE_EQ(m.macro_recall, 7.0 / 18);
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.4);
  EXPECT_DOUBLE_EQ(m.weighted_f1, 8.0 / 15);
  EXPECT_NEAR(m.log_loss, 0.6324400082988505, kFloatTol);
  EXPECT_THAT(m.top_k, ElementsAre(Pair(1, 0.5), Pair(3, 1.0)));
  EXPECT_NEAR(m.ece, 2.05 / 6, kFloatTol);

  ASSERT_EQ(m.calibration.size(), 15u);
  for (size_t b = 0; b < 15; ++b) {
    SCOPED_TRACE("bin " + std::to_string(b));
    EXPECT_DOUBLE_EQ(m.calibration[b].lower, b / 15.0);
    EXPECT_DOUBLE_EQ(m.calibration[b].upper, (b + 1) / 15.0);
    const bool used = b == 6 || b == 7 || b == 8 || b == 10 || b == 12 || b == 13;
    EXPECT_EQ(m.calibration[b].count, used ? 1u : 0u);
  }
  // bin 10 holds item 0 (right, 0.7); bin 7 item 1 (wrong, 0.5); empty bins are 0, 0.
  EXPECT_NEAR(m.calibration[10].confidence, 0.7, kFloatTol);
  EXPECT_DOUBLE_EQ(m.calibration[10].accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.calibration[7].confidence, 0.5);
  EXPECT_DOUBLE_EQ(m.calibration[7].accuracy, 0.0);
  EXPECT_NEAR(m.calibration[12].confidence, 0.85, kFloatTol);
  EXPECT_DOUBLE_EQ(m.calibration[12].accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.calibration[0].confidence, 0.0);
  EXPECT_DOUBLE_EQ(m.calibration[0].accuracy, 0.0);
}

// a: support 2, predicted 2 (items 0, 3), tp 1: P 1/2, R 1/2, F1 2/4
// b: support 2, predicted 1 (item 2),    tp 1: P 1,   R 1/2, F1 2/3
// c: no support, predicted once (item 1):     P 0,   R 0,   F1 0   (counts in macro)
// d: no support, never predicted:             all 0             (left out of macro)
// macro P = (1/2 + 1 + 0)/3 = 1/2; macro R = (1/2 + 1/2 + 0)/3 = 1/3;
// macro F1 = (1/2 + 2/3 + 0)/3 = 7/18; weighted F1 = (2*1/2 + 2*2/3)/4 = 7/12
TEST(ComputeMetricsTest, MacroAveragesSkipClassesAbsentFromTruthAndPredictions) {
  Metrics m = MustCompute({"a", "b", "c", "d"},
                          {0.6f, 0.3f, 0.1f, 0, 0.2f, 0.2f, 0.6f, 0, 0.1f, 0.8f, 0.1f, 0, 0.5f, 0.4f, 0.1f, 0},
                          {0, 0, 1, 1});
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  ASSERT_EQ(m.per_class.size(), 4u);
  EXPECT_DOUBLE_EQ(m.per_class[0].f1, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 1.0);
  EXPECT_DOUBLE_EQ(m.per_class[1].f1, 2.0 / 3);
  EXPECT_EQ(m.per_class[2].support, 0u);
  EXPECT_EQ(m.per_class[2].predicted, 1u);
  EXPECT_DOUBLE_EQ(m.per_class[2].precision, 0.0);
  EXPECT_DOUBLE_EQ(m.per_class[2].recall, 0.0);
  EXPECT_DOUBLE_EQ(m.per_class[2].f1, 0.0);
  EXPECT_EQ(m.per_class[3].support, 0u);
  EXPECT_EQ(m.per_class[3].predicted, 0u);
  EXPECT_DOUBLE_EQ(m.per_class[3].precision, 0.0);
  EXPECT_DOUBLE_EQ(m.macro_precision, 0.5);
  EXPECT_DOUBLE_EQ(m.macro_recall, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.macro_f1, 7.0 / 18);
  EXPECT_DOUBLE_EQ(m.weighted_f1, 7.0 / 12);
}

TEST(PredictionsTest, TiesGoToTheLowestIndex) {
  EXPECT_THAT(Predictions(std::vector<float>{0.4f, 0.4f, 0.2f, 0.1f, 0.3f, 0.3f, 0.5f, 0.5f, 0.5f}, 3),
              ElementsAre(0, 1, 0));
  EXPECT_THAT(Predictions(std::vector<float>{0, 0, 0, 1}, 2), ElementsAre(0, 1));
  EXPECT_TRUE(Predictions(std::vector<float>{}, 3).empty());
  EXPECT_TRUE(Predictions(std::vector<float>{0.5f}, 0).empty());
}

TEST(ComputeMetricsTest, ArgMaxTieCountsAsTheLowestIndex) {
  // Item 0 ties a/b and is counted as a (right); item 1 ties a/b with truth b (wrong).
  Metrics m = MustCompute({"a", "b"}, {0.5f, 0.5f, 0.5f, 0.5f}, {0, 1});
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<uint64_t>>{{1, 0}, {1, 0}}));
}

// Six classes; classes rank by probability, descending, ties by index.
//   row 0: all 0.1, truth 2 -> rank 2: top-1 no, top-3 yes, top-5 yes
//   row 1: all 0.1, truth 3 -> rank 3: top-3 no, top-5 yes
//   row 2: all 0.1, truth 5 -> rank 5: top-5 no
//   row 3: 0.5 then 0.1s, truth 0 -> rank 0: all yes
TEST(ComputeMetricsTest, TopKBreaksTiesByIndex) {
  std::vector<float> probs(24, 0.1f);
  probs[18] = 0.5f;
  Metrics m = MustCompute({"a", "b", "c", "d", "e", "f"}, probs, {2, 3, 5, 0});
  EXPECT_THAT(m.top_k, ElementsAre(Pair(1, 0.25), Pair(3, 0.5), Pair(5, 0.75)));
  EXPECT_DOUBLE_EQ(m.accuracy, 0.25);
}

TEST(ComputeMetricsTest, TopKListsOnlyKsUpToTheClassCount) {
  EXPECT_THAT(MustCompute({"a", "b"}, {0.9f, 0.1f}, {0}).top_k, ElementsAre(Pair(1, 1.0)));
  EXPECT_THAT(MustCompute({"a", "b", "c", "d"}, {0.1f, 0.2f, 0.3f, 0.4f}, {0}).top_k,
              ElementsAre(Pair(1, 0.0), Pair(3, 0.0)));
  EXPECT_THAT(MustCompute({"a", "b", "c", "d", "e"}, {0.1f, 0.2f, 0.3f, 0.4f, 0.0f}, {0}).top_k,
              ElementsAre(Pair(1, 0.0), Pair(3, 0.0), Pair(5, 1.0)));
}

TEST(ComputeMetricsTest, NoItemsGivesZeroMetrics) {
  Metrics m = MustCompute(kAnimals, {}, {});
  EXPECT_EQ(m.items, 0u);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(m.macro_precision, 0.0);
  EXPECT_DOUBLE_EQ(m.macro_recall, 0.0);
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.0);
  EXPECT_DOUBLE_EQ(m.weighted_f1, 0.0);
  EXPECT_DOUBLE_EQ(m.log_loss, 0.0);
  EXPECT_DOUBLE_EQ(m.ece, 0.0);
  EXPECT_THAT(m.top_k, ElementsAre(Pair(1, 0.0), Pair(3, 0.0)));
  ASSERT_EQ(m.per_class.size(), 3u);
  for (const ClassMetrics& c : m.per_class) {
    EXPECT_EQ(c.support, 0u);
    EXPECT_EQ(c.predicted, 0u);
    EXPECT_DOUBLE_EQ(c.f1, 0.0);
  }
  EXPECT_EQ(m.confusion, (std::vector<std::vector<uint64_t>>(3, std::vector<uint64_t>(3, 0))));
  ASSERT_EQ(m.calibration.size(), 15u);
  for (const CalibrationBin& b : m.calibration) EXPECT_EQ(b.count, 0u);
  EXPECT_DOUBLE_EQ(m.calibration[14].upper, 1.0);
}

// p_true = 0 clips to 1e-15: -ln(1e-15) = 34.538776394910684; p_true = 1 and
// p_true = 2 (clipped to 1) add 0. Mean over 3 items = 11.512925464970228.
TEST(ComputeMetricsTest, LogLossClipsProbabilities) {
  Metrics m = MustCompute({"a", "b"}, {1.0f, 0.0f, 0.0f, 1.0f, 2.0f, 0.0f}, {1, 1, 0});
  EXPECT_DOUBLE_EQ(m.log_loss, 34.538776394910684 / 3);
  EXPECT_TRUE(std::isfinite(m.log_loss));
}

// Four bins: (0, .25] (also holding 0), (.25, .5], (.5, .75], (.75, 1].
//   item  probs          truth  pred   conf   bin
//   0     0    0         a      a  ok  0      0  (0 goes to the first bin)
//   1     .25  .25       b      a      .25    0  (upper edge is inside)
//   2     .5   .5        a      a  ok  .5     1
//   3     .25  .75       a      b      .75    2
//   4     1    0         a      a  ok  1      3
//   5     0    .625      b      b  ok  .625   2
// bin 0: 2 items, conf .125,  acc .5 -> |gap| .375
// bin 1: 1 item,  conf .5,    acc 1  -> .5
// bin 2: 2 items, conf .6875, acc .5 -> .1875
// bin 3: 1 item,  conf 1,     acc 1  -> 0
// ECE = (2*.375 + .5 + 2*.1875 + 0)/6 = 1.625/6
TEST(ComputeMetricsTest, CalibrationBinsPutEdgesInTheLowerBin) {
  Metrics m = MustCompute({"a", "b"}, {0, 0, 0.25f, 0.25f, 0.5f, 0.5f, 0.25f, 0.75f, 1, 0, 0, 0.625f},
                          {0, 1, 0, 0, 0, 1}, 4);
  ASSERT_EQ(m.calibration.size(), 4u);
  const double lower[] = {0, 0.25, 0.5, 0.75}, upper[] = {0.25, 0.5, 0.75, 1};
  const uint64_t count[] = {2, 1, 2, 1};
  const double conf[] = {0.125, 0.5, 0.6875, 1}, acc[] = {0.5, 1, 0.5, 1};
  for (size_t b = 0; b < 4; ++b) {
    SCOPED_TRACE("bin " + std::to_string(b));
    EXPECT_DOUBLE_EQ(m.calibration[b].lower, lower[b]);
    EXPECT_DOUBLE_EQ(m.calibration[b].upper, upper[b]);
    EXPECT_EQ(m.calibration[b].count, count[b]);
    EXPECT_DOUBLE_EQ(m.calibration[b].confidence, conf[b]);
    EXPECT_DOUBLE_EQ(m.calibration[b].accuracy, acc[b]);
  }
  EXPECT_DOUBLE_EQ(m.ece, 1.625 / 6);
}

TEST(ComputeMetricsTest, FloatJustAboveAnEdgeGoesToTheUpperBin) {
  // 0.6f is 0.60000002384..., above the edge 3/5 = 0.59999999999999998:
  // bin 3 (0.6, 0.8]. 0.5f equals the edge 5/10 exactly: bin 4 of 10 (0.4, 0.5].
  Metrics five = MustCompute({"a", "b"}, {0.6f, 0.4f}, {0}, 5);
  EXPECT_EQ(five.calibration[3].count, 1u);
  EXPECT_EQ(five.calibration[2].count, 0u);
  Metrics ten = MustCompute({"a", "b"}, {0.5f, 0.5f}, {0}, 10);
  EXPECT_EQ(ten.calibration[4].count, 1u);
  EXPECT_EQ(ten.calibration[5].count, 0u);
}

TEST(ComputeMetricsTest, ProbabilityAboveOneGoesToTheLastBin) {
  Metrics m = MustCompute({"a", "b"}, {1.5f, 0.0f}, {0}, 4);
  EXPECT_EQ(m.calibration[3].count, 1u);
  EXPECT_DOUBLE_EQ(m.calibration[3].confidence, 1.5);
}

TEST(ComputeMetricsTest, RejectsBadInputWithMessages) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(ComputeError({}, {}, {}), "metrics: no labels given (pass the project's labels)");
  EXPECT_EQ(ComputeError({"a", "b"}, {0.5f, 0.5f, 0.5f}, {0, 1}),
            "metrics: 3 probabilities for 2 items and 2 labels (expected 2 x 2, one row per item)");
  EXPECT_EQ(ComputeError({"a", "b"}, {0.5f, 0.5f}, {0, 1}),
            "metrics: 2 probabilities for 2 items and 2 labels (expected 2 x 2, one row per item)");
  EXPECT_EQ(ComputeError({"a", "b"}, {0.5f, 0.5f, 0.5f, 0.5f}, {0, 2}),
            "metrics: item 1 has true label index 2, outside [0, 2) for 2 labels");
  EXPECT_EQ(ComputeError({"a", "b"}, {0.5f, 0.5f}, {-1}),
            "metrics: item 0 has true label index -1, outside [0, 2) for 2 labels");
  EXPECT_EQ(ComputeError({"a", "b"}, {0.5f, 0.5f, nan, 0.5f}, {0, 1}),
            "metrics: item 1, label 'a': probability is NaN (probabilities must be finite and non-negative)");
  EXPECT_EQ(ComputeError({"a", "b"}, {0.5f, -0.1f}, {0}),
            "metrics: item 0, label 'b': probability -0.1 is negative (probabilities must be finite and "
            "non-negative)");
  EXPECT_EQ(ComputeError({"a", "b"}, {inf, 0.5f}, {0}),
            "metrics: item 0, label 'a': probability inf is infinite (probabilities must be finite and "
            "non-negative)");
  EXPECT_EQ(ComputeError({"a", "b"}, {0.5f, 0.5f}, {0}, 0), "metrics: bins is 0; it must be at least 1");
}

TEST(MetricsJsonTest, RoundTripsEveryField) {
  Metrics m = MustCompute(kAnimals, kSixProbs, kSixTruth);
  nlohmann::json j = MetricsToJson(m);
  EXPECT_EQ(j["items"], 6);
  EXPECT_EQ(j["top_k"], (nlohmann::json{{"1", 0.5}, {"3", 1.0}}));
  EXPECT_EQ(j["per_class"][1]["label"], "dog");
  EXPECT_EQ(j["confusion"][0], (nlohmann::json{2, 1, 0}));
  EXPECT_EQ(j["calibration"].size(), 15u);

  // Through text too, as the registry stores it.
  auto back = MetricsFromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->items, m.items);
  EXPECT_EQ(back->labels, m.labels);
  EXPECT_EQ(back->accuracy, m.accuracy);
  EXPECT_EQ(back->macro_precision, m.macro_precision);
  EXPECT_EQ(back->macro_recall, m.macro_recall);
  EXPECT_EQ(back->macro_f1, m.macro_f1);
  EXPECT_EQ(back->weighted_f1, m.weighted_f1);
  EXPECT_EQ(back->log_loss, m.log_loss);
  EXPECT_EQ(back->ece, m.ece);
  EXPECT_EQ(back->top_k, m.top_k);
  ASSERT_EQ(back->per_class.size(), m.per_class.size());
  for (size_t i = 0; i < m.per_class.size(); ++i) {
    EXPECT_EQ(back->per_class[i].label, m.per_class[i].label);
    EXPECT_EQ(back->per_class[i].precision, m.per_class[i].precision);
    EXPECT_EQ(back->per_class[i].recall, m.per_class[i].recall);
    EXPECT_EQ(back->per_class[i].f1, m.per_class[i].f1);
    EXPECT_EQ(back->per_class[i].support, m.per_class[i].support);
    EXPECT_EQ(back->per_class[i].predicted, m.per_class[i].predicted);
  }
  EXPECT_EQ(back->confusion, m.confusion);
  ASSERT_EQ(back->calibration.size(), m.calibration.size());
  for (size_t i = 0; i < m.calibration.size(); ++i) {
    EXPECT_EQ(back->calibration[i].lower, m.calibration[i].lower);
    EXPECT_EQ(back->calibration[i].upper, m.calibration[i].upper);
    EXPECT_EQ(back->calibration[i].count, m.calibration[i].count);
    EXPECT_EQ(back->calibration[i].confidence, m.calibration[i].confidence);
    EXPECT_EQ(back->calibration[i].accuracy, m.calibration[i].accuracy);
  }
  EXPECT_EQ(MetricsToJson(*back), j);
}

TEST(MetricsJsonTest, TopKKeysSortNumerically) {
  nlohmann::json j = MetricsToJson(MustCompute({"a", "b"}, {0.9f, 0.1f}, {0}));
  j["top_k"] = {{"10", 0.9}, {"3", 0.5}, {"1", 0.25}};
  auto m = MetricsFromJson(j);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_THAT(m->top_k, ElementsAre(Pair(1, 0.25), Pair(3, 0.5), Pair(10, 0.9)));
}

std::string FromJsonError(const nlohmann::json& j) {
  auto r = MetricsFromJson(j);
  if (r) return "(no error)";
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  return r.error().message();
}

TEST(MetricsJsonTest, MalformedJsonIsAnErrorNotAThrow) {
  const nlohmann::json good = MetricsToJson(MustCompute(kAnimals, kSixProbs, kSixTruth));
  auto with = [&](const nlohmann::json::json_pointer& ptr, const nlohmann::json& v) {
    nlohmann::json j = good;
    j[ptr] = v;
    return j;
  };
  using P = nlohmann::json::json_pointer;

  EXPECT_EQ(FromJsonError(nlohmann::json::parse("{oops", nullptr, false)),
            "metrics JSON: expected an object (found discarded)");
  EXPECT_EQ(FromJsonError(nlohmann::json::array()), "metrics JSON: expected an object (found array)");
  nlohmann::json missing = good;
  missing.erase("accuracy");
  EXPECT_EQ(FromJsonError(missing), "metrics JSON: 'accuracy' is missing");
  EXPECT_EQ(FromJsonError(with(P("/accuracy"), "high")), "metrics JSON: 'accuracy' must be a number (found string)");
  EXPECT_EQ(FromJsonError(with(P("/items"), -1)),
            "metrics JSON: 'items' must be a non-negative whole number (found number)");
  EXPECT_EQ(FromJsonError(with(P("/items"), 6.5)),
            "metrics JSON: 'items' must be a non-negative whole number (found number)");
  EXPECT_EQ(FromJsonError(with(P("/labels"), "cat")), "metrics JSON: 'labels' must be an array (found string)");
  EXPECT_EQ(FromJsonError(with(P("/labels/1"), 7)), "metrics JSON: 'labels[1]' must be a string (found number)");
  EXPECT_EQ(FromJsonError(with(P("/top_k"), nlohmann::json::array())),
            "metrics JSON: 'top_k' must be an object (found array)");
  EXPECT_EQ(FromJsonError(with(P("/top_k/x"), 0.5)),
            "metrics JSON: 'top_k' key 'x' must be a whole number of at least 1");
  EXPECT_EQ(FromJsonError(with(P("/top_k/3"), nullptr)), "metrics JSON: 'top_k.3' must be a number (found null)");
  EXPECT_EQ(FromJsonError(with(P("/per_class/2/support"), "1")),
            "metrics JSON: 'per_class[2].support' must be a non-negative whole number (found string)");
  nlohmann::json no_recall = good;
  no_recall["per_class"][0].erase("recall");
  EXPECT_EQ(FromJsonError(no_recall), "metrics JSON: 'per_class[0].recall' is missing");
  EXPECT_EQ(FromJsonError(with(P("/per_class/1"), 3)), "metrics JSON: 'per_class[1]' must be an object (found number)");
  nlohmann::json short_per_class = good;
  short_per_class["per_class"].erase(2);
  EXPECT_EQ(FromJsonError(short_per_class),
            "metrics JSON: 'per_class' has 2 entries for 3 labels (expected one per label)");
  EXPECT_EQ(FromJsonError(with(P("/confusion/1"), nlohmann::json{1, 2})),
            "metrics JSON: 'confusion[1]' has 2 counts for 3 labels");
  EXPECT_EQ(FromJsonError(with(P("/confusion/0/2"), true)),
            "metrics JSON: 'confusion[0][2]' must be a non-negative whole number (found boolean)");
  nlohmann::json short_confusion = good;
  short_confusion["confusion"].erase(0);
  EXPECT_EQ(FromJsonError(short_confusion), "metrics JSON: 'confusion' has 2 rows for 3 labels (expected 3 x 3)");
  EXPECT_EQ(FromJsonError(with(P("/calibration/4/confidence"), "x")),
            "metrics JSON: 'calibration[4].confidence' must be a number (found string)");
}

// Exact test, n = b + c < 25: p = min(1, 2 * sum_{i <= min(b, c)} C(n, i) / 2^n).
TEST(McNemarTest, ExactBinomialBelowTwentyFiveDiscordantPairs) {
  // n = 12: 2 * (1 + 12 + 66) / 4096 = 158/4096.
  McNemarResult r = McNemar(10, 2);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.b, 10u);
  EXPECT_EQ(r.c, 2u);
  EXPECT_DOUBLE_EQ(r.statistic, 0.0);
  EXPECT_DOUBLE_EQ(r.p_value, 0.03857421875);
  EXPECT_DOUBLE_EQ(McNemar(2, 10).p_value, 0.03857421875);  // symmetric
  // n = 5, min = 0: 2 / 32.
  EXPECT_DOUBLE_EQ(McNemar(0, 5).p_value, 0.0625);
  // n = 24 (the largest exact n): 2 * (1 + 24 + 276 + 2024 + 10626) / 2^24 = 25902 / 16777216.
  r = McNemar(4, 20);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.p_value, 25902.0 / 16777216.0);
  // b = c: the doubled tail exceeds 1 and is capped.
  EXPECT_DOUBLE_EQ(McNemar(3, 3).p_value, 1.0);
  EXPECT_DOUBLE_EQ(McNemar(12, 12).p_value, 1.0);
}

TEST(McNemarTest, NoDiscordantPairsIsPOne) {
  McNemarResult r = McNemar(0, 0);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.statistic, 0.0);
  EXPECT_DOUBLE_EQ(r.p_value, 1.0);
}

// Chi-squared with continuity correction from n = 25 on:
// statistic = (|b - c| - 1)^2 / (b + c), p = erfc(sqrt(statistic / 2)).
TEST(McNemarTest, ChiSquaredFromTwentyFiveDiscordantPairs) {
  McNemarResult r = McNemar(30, 10);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.statistic, 9.025);  // 19^2 / 40
  EXPECT_NEAR(r.p_value, 0.002663119259138554, 1e-12);
  r = McNemar(20, 5);  // n = 25: 14^2 / 25
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.statistic, 7.84);
  EXPECT_NEAR(r.p_value, 0.005110260660855864, 1e-12);
  EXPECT_DOUBLE_EQ(McNemar(5, 20).statistic, 7.84);
  // Huge counts neither overflow nor leave [0, 1].
  r = McNemar(UINT64_MAX, UINT64_MAX - 1);
  EXPECT_FALSE(r.exact);
  EXPECT_GE(r.p_value, 0.0);
  EXPECT_LE(r.p_value, 1.0);
}

}  // namespace
}  // namespace fsml::eval
