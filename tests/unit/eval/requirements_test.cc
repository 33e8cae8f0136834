#include "eval/requirements.h"

#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsml::eval {
namespace {

using ::testing::StartsWith;

const std::vector<std::string> kLabels = {"Sandal", "Ankle boot", "T-shirt/top"};

Requirement MustParse(const std::string& text, const std::vector<std::string>& labels = kLabels) {
  auto r = ParseRequirement(text, labels);
  EXPECT_TRUE(r.has_value()) << text << ": " << r.error().message();
  return r ? *r : Requirement{};
}

std::string ParseError(const std::string& text, const std::vector<std::string>& labels = kLabels) {
  auto r = ParseRequirement(text, labels);
  if (r) return "(parsed as '" + r->text + "')";
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << text;
  return r.error().message();
}

TEST(ParseRequirementTest, ParsesEveryMetric) {
  struct Case {
    const char* text;
    const char* normalized;
    const char* metric;
    const char* label;
    const char* op;
    double value;
  };
  for (const Case& c : {
           Case{"accuracy >= 0.9", "accuracy >= 0.9", "accuracy", "", ">=", 0.9},
           Case{"macro_f1 > 0.8", "macro_f1 > 0.8", "macro_f1", "", ">", 0.8},
           Case{"weighted_f1 >= 0.85", "weighted_f1 >= 0.85", "weighted_f1", "", ">=", 0.85},
           Case{"macro_precision >= 0.7", "macro_precision >= 0.7", "macro_precision", "", ">=", 0.7},
           Case{"macro_recall >= 0.75", "macro_recall >= 0.75", "macro_recall", "", ">=", 0.75},
           Case{"log_loss < 0.5", "log_loss < 0.5", "log_loss", "", "<", 0.5},
           Case{"ece <= 0.05", "ece <= 0.05", "ece", "", "<=", 0.05},
           Case{"top3_accuracy >= 0.99", "top3_accuracy >= 0.99", "top3_accuracy", "", ">=", 0.99},
           Case{"top5_accuracy > 0.995", "top5_accuracy > 0.995", "top5_accuracy", "", ">", 0.995},
           Case{"precision[Sandal] >= 0.9", "precision[Sandal] >= 0.9", "precision", "Sandal", ">=", 0.9},
           Case{"recall[Ankle boot] >= 0.95", "recall[Ankle boot] >= 0.95", "recall", "Ankle boot", ">=", 0.95},
           Case{"f1[T-shirt/top] > .5", "f1[T-shirt/top] > 0.5", "f1", "T-shirt/top", ">", 0.5},
       }) {
    Requirement r = MustParse(c.text);
    EXPECT_EQ(r.text, c.normalized) << c.text;
    EXPECT_EQ(r.metric, c.metric) << c.text;
    EXPECT_EQ(r.label, c.label) << c.text;
    EXPECT_EQ(r.op, c.op) << c.text;
    EXPECT_EQ(r.value, c.value) << c.text;
  }
}

TEST(ParseRequirementTest, AcceptsWhitespaceVariants) {
  for (const char* text : {"accuracy>=0.9", "accuracy >=0.9", "accuracy>= 0.9", "  accuracy   >=   0.9  ",
                           "\taccuracy\t>=\t0.9\t", "accuracy >= 0.9 "}) {
    EXPECT_EQ(MustParse(text).text, "accuracy >= 0.9") << "'" << text << "'";
  }
  EXPECT_EQ(MustParse("recall[Ankle boot]<=0.2").text, "recall[Ankle boot] <= 0.2");
}

TEST(ParseRequirementTest, NormalizesNumbersToShortestRoundTrip) {
  struct Case {
    const char* text;
    const char* normalized;
  };
  for (const Case& c : {Case{"ece < .05", "ece < 0.05"}, Case{"ece < 1e-2", "ece < 0.01"},
                        Case{"ece < 5E-3", "ece < 0.005"}, Case{"accuracy >= 0.9000", "accuracy >= 0.9"},
                        Case{"accuracy >= 95e-2", "accuracy >= 0.95"}, Case{"accuracy >= 1", "accuracy >= 1"},
                        Case{"log_loss < 1e-7", "log_loss < 1e-07"}, Case{"log_loss > -0.5", "log_loss > -0.5"},
                        Case{"log_loss < 12.", "log_loss < 12"}}) {
    EXPECT_EQ(MustParse(c.text).text, c.normalized) << c.text;
  }
}

TEST(ParseRequirementTest, NormalizedTextParsesToTheSameRequirement) {
  for (const char* text : {"accuracy>=.9", "recall[Ankle boot]>=0.123456789012345678", "ece<1e-300",
                           "f1[T-shirt/top] > 3.14159", "log_loss <= 1e300"}) {
    Requirement a = MustParse(text);
    Requirement b = MustParse(a.text);
    EXPECT_EQ(b.text, a.text);
    EXPECT_EQ(b.metric, a.metric);
    EXPECT_EQ(b.label, a.label);
    EXPECT_EQ(b.op, a.op);
    EXPECT_EQ(b.value, a.value) << text;
  }
}

TEST(ParseRequirementTest, LabelsAreVerbatim) {
  const std::vector<std::string> labels = {"a b", "x/y", " padded", "[open"};
  EXPECT_EQ(MustParse("recall[a b] > 0", labels).label, "a b");
  EXPECT_EQ(MustParse("recall[x/y] > 0", labels).label, "x/y");
  EXPECT_EQ(MustParse("recall[ padded] > 0", labels).label, " padded");
  EXPECT_EQ(MustParse("recall[[open] > 0", labels).label, "[open");
  EXPECT_EQ(ParseError("recall[A B] > 0", labels),
            "requirement 'recall[A B] > 0': unknown label 'A B' (project labels: a b, x/y,  padded, [open)");
}

TEST(ParseRequirementTest, RejectsUnknownMetric) {
  EXPECT_EQ(ParseError("acc >= 0.9"),
            "requirement 'acc >= 0.9': unknown metric 'acc' (known metrics: accuracy, macro_f1, weighted_f1, "
            "macro_precision, macro_recall, log_loss, ece, top3_accuracy, top5_accuracy, precision[LABEL], "
            "recall[LABEL], f1[LABEL])");
  EXPECT_THAT(ParseError("Accuracy >= 0.9"),
              StartsWith("requirement 'Accuracy >= 0.9': unknown metric 'Accuracy' (known metrics: "));
  EXPECT_THAT(ParseError("top1_accuracy >= 0.9"),
              StartsWith("requirement 'top1_accuracy >= 0.9': unknown metric 'top1_accuracy' (known metrics: "));
  EXPECT_EQ(ParseError(">= 0.9"),
            "requirement '>= 0.9': expected a metric name first (known metrics: accuracy, macro_f1, weighted_f1, "
            "macro_precision, macro_recall, log_loss, ece, top3_accuracy, top5_accuracy, precision[LABEL], "
            "recall[LABEL], f1[LABEL])");
}

TEST(ParseRequirementTest, RejectsUnknownLabelListingTheLabels) {
  EXPECT_EQ(ParseError("recall[Boot] >= 0.9"),
            "requirement 'recall[Boot] >= 0.9': unknown label 'Boot' (project labels: Sandal, Ankle boot, "
            "T-shirt/top)");
  EXPECT_EQ(ParseError("recall[sandal] >= 0.9"),
            "requirement 'recall[sandal] >= 0.9': unknown label 'sandal' (project labels: Sandal, Ankle boot, "
            "T-shirt/top)");
  EXPECT_EQ(ParseError("f1[] > 0.5"),
            "requirement 'f1[] > 0.5': the label in f1[] is empty (project labels: Sandal, Ankle boot, T-shirt/top)");
  EXPECT_EQ(ParseError("f1[x] > 0.5", {}), "requirement 'f1[x] > 0.5': unknown label 'x' (the project has no labels)");
  std::vector<std::string> many;
  for (int i = 0; i < 25; ++i) many.push_back("c" + std::to_string(i));
  EXPECT_EQ(ParseError("f1[x] > 0.5", many),
            "requirement 'f1[x] > 0.5': unknown label 'x' (project labels: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, "
            "c10, c11, c12, c13, c14, c15, c16, c17, c18, c19 and 5 more)");
}

TEST(ParseRequirementTest, RejectsMisplacedOrMissingLabels) {
  EXPECT_EQ(ParseError("accuracy[Sandal] >= 0.9"),
            "requirement 'accuracy[Sandal] >= 0.9': accuracy takes no label; the per-class metrics are "
            "precision[LABEL], recall[LABEL] and f1[LABEL]");
  EXPECT_EQ(ParseError("recall >= 0.9"),
            "requirement 'recall >= 0.9': recall needs a label right after it, e.g. recall[Sandal]");
  EXPECT_EQ(ParseError("recall [Sandal] >= 0.9"),
            "requirement 'recall [Sandal] >= 0.9': recall needs a label right after it, e.g. recall[Sandal]");
  EXPECT_EQ(ParseError("recall >= 0.9", {}),
            "requirement 'recall >= 0.9': recall needs a label right after it, e.g. recall[LABEL]");
  EXPECT_EQ(ParseError("recall[Sandal >= 0.9"), "requirement 'recall[Sandal >= 0.9': missing ']' after the label");
}

TEST(ParseRequirementTest, RejectsBadOperators) {
  EXPECT_EQ(ParseError("accuracy = 0.9"), "requirement 'accuracy = 0.9': bad operator '=' (expected >=, <=, > or <)");
  EXPECT_EQ(ParseError("accuracy == 0.9"),
            "requirement 'accuracy == 0.9': bad operator '==' (expected >=, <=, > or <)");
  EXPECT_EQ(ParseError("accuracy => 0.9"),
            "requirement 'accuracy => 0.9': bad operator '=>' (expected >=, <=, > or <)");
  EXPECT_EQ(ParseError("accuracy >== 0.9"),
            "requirement 'accuracy >== 0.9': bad operator '>==' (expected >=, <=, > or <)");
  EXPECT_EQ(ParseError("accuracy != 0.9"),
            "requirement 'accuracy != 0.9': bad operator '!=' (expected >=, <=, > or <)");
  EXPECT_EQ(ParseError("accuracy <> 0.9"),
            "requirement 'accuracy <> 0.9': bad operator '<>' (expected >=, <=, > or <)");
  EXPECT_EQ(ParseError("accuracy > = 0.9"),
            "requirement 'accuracy > = 0.9': '= 0.9' is not a number (expected a finite decimal such as 0.9, .95 "
            "or 1e-2)");
  EXPECT_EQ(ParseError("accuracy 0.9"),
            "requirement 'accuracy 0.9': expected an operator (>=, <=, > or <) after accuracy, found '0.9'");
  EXPECT_EQ(ParseError("recall[Sandal] at least 0.9"),
            "requirement 'recall[Sandal] at least 0.9': expected an operator (>=, <=, > or <) after recall[Sandal], "
            "found 'at'");
  EXPECT_EQ(ParseError("accuracy"),
            "requirement 'accuracy': missing operator and number after accuracy (expected >=, <=, > or <)");
  EXPECT_EQ(ParseError("accuracy >="), "requirement 'accuracy >=': missing number after '>='");
  EXPECT_EQ(ParseError("accuracy >=   "), "requirement 'accuracy >=   ': missing number after '>='");
}

TEST(ParseRequirementTest, RejectsBadNumbers) {
  EXPECT_EQ(ParseError("accuracy >= high"),
            "requirement 'accuracy >= high': 'high' is not a number (expected a finite decimal such as 0.9, .95 or "
            "1e-2)");
  EXPECT_EQ(ParseError("accuracy >= +0.9"),
            "requirement 'accuracy >= +0.9': '+0.9' is not a number (expected a finite decimal such as 0.9, .95 or "
            "1e-2)");
  EXPECT_EQ(ParseError("accuracy >= ."),
            "requirement 'accuracy >= .': '.' is not a number (expected a finite decimal such as 0.9, .95 or 1e-2)");
  EXPECT_EQ(ParseError("accuracy >= nan"), "requirement 'accuracy >= nan': the number must be finite, not 'nan'");
  EXPECT_EQ(ParseError("accuracy >= NaN"), "requirement 'accuracy >= NaN': the number must be finite, not 'NaN'");
  EXPECT_EQ(ParseError("accuracy >= inf"), "requirement 'accuracy >= inf': the number must be finite, not 'inf'");
  EXPECT_EQ(ParseError("accuracy >= -infinity"),
            "requirement 'accuracy >= -infinity': the number must be finite, not '-infinity'");
  EXPECT_EQ(ParseError("accuracy >= 1e999"), "requirement 'accuracy >= 1e999': number '1e999' is out of range");
  EXPECT_EQ(ParseError("accuracy >= 0.9 extra"),
            "requirement 'accuracy >= 0.9 extra': unexpected ' extra' after the number 0.9");
  EXPECT_EQ(ParseError("accuracy >= 0.9x"), "requirement 'accuracy >= 0.9x': unexpected 'x' after the number 0.9");
  EXPECT_EQ(ParseError("accuracy >= 0.9 0.8"),
            "requirement 'accuracy >= 0.9 0.8': unexpected ' 0.8' after the number 0.9");
  EXPECT_EQ(ParseError("accuracy >= 0x10"), "requirement 'accuracy >= 0x10': unexpected 'x10' after the number 0");
  EXPECT_EQ(ParseError("accuracy >= 0.9\n"), "requirement 'accuracy >= 0.9\n': unexpected '\n' after the number 0.9");
}

TEST(ParseRequirementTest, RejectsEmptyAndOverlongText) {
  EXPECT_EQ(ParseError(""), "requirement is empty (expected METRIC OP NUMBER, e.g. accuracy >= 0.9)");
  EXPECT_EQ(ParseError(" \t "), "requirement is empty (expected METRIC OP NUMBER, e.g. accuracy >= 0.9)");

  std::string at_limit = "accuracy >= 0." + std::string(186, '9');  // 200 bytes
  ASSERT_EQ(at_limit.size(), 200u);
  EXPECT_EQ(MustParse(at_limit).text, "accuracy >= 1");
  EXPECT_EQ(ParseError(at_limit + "9"),
            "requirement 'accuracy >= 0.99999999999999999999999999...' is 201 bytes long; the limit is 200");
  EXPECT_EQ(ParseError(std::string(100000, ' ')),
            "requirement '                                        ...' is 100000 bytes long; the limit is 200");
}

TEST(ParseRequirementTest, RejectsTextWhoseNormalizedFormIsOverlong) {
  const std::vector<std::string> labels = {std::string(191, 'x')};
  const std::string fits = "f1[" + labels[0] + "]>.5";  // 198 bytes, 201 written out
  ASSERT_EQ(fits.size(), 198u);
  EXPECT_EQ(ParseError(fits, labels), "requirement '" + fits + "': written out as 'f1[" + labels[0] +
                                          "] > 0.5' it is 201 bytes long; the limit is 200");
  EXPECT_EQ(MustParse("f1[" + labels[0] + "]>1", labels).text.size(), 199u);
}

TEST(ParseRequirementTest, SurvivesHostileBytes) {
  const std::string nul("accuracy\0>= 0.9", 15);
  EXPECT_EQ(ParseError(nul), "requirement '" + nul +
                                 "': expected an operator (>=, <=, > or <) after accuracy, found '" +
                                 std::string("\0>=", 3) + "'");
  EXPECT_FALSE(ParseRequirement("recall[\xff\xfe] > 0", kLabels).has_value());
  EXPECT_FALSE(ParseRequirement("recall[", kLabels).has_value());
  EXPECT_FALSE(ParseRequirement("[", kLabels).has_value());
  EXPECT_FALSE(ParseRequirement("]", kLabels).has_value());
  EXPECT_FALSE(ParseRequirement("accuracy >= -", kLabels).has_value());
  EXPECT_FALSE(ParseRequirement("accuracy >= 1e", kLabels).has_value());
}

Metrics ThreeClassMetrics() {
  Metrics m;
  m.items = 100;
  m.labels = kLabels;
  m.accuracy = 0.9;
  m.macro_f1 = 0.85;
  m.weighted_f1 = 0.88;
  m.macro_precision = 0.8;
  m.macro_recall = 0.75;
  m.log_loss = 0.3;
  m.ece = 0.05;
  m.top_k = {{1, 0.9}, {3, 1.0}};  // 3 classes: no top-5
  m.per_class = {{"Sandal", 0.95, 0.9, 0.925, 40, 38},
                 {"Ankle boot", 0.5, 0.6, 0.55, 30, 36},
                 {"T-shirt/top", 1.0, 0.2, 1.0 / 3, 30, 6}};
  return m;
}

std::vector<Requirement> ParseAll(const std::vector<std::string>& texts) {
  std::vector<Requirement> out;
  for (const std::string& t : texts) out.push_back(MustParse(t));
  return out;
}

TEST(CheckRequirementsTest, StrictAndNonStrictOperatorsAtEquality) {
  auto results = CheckRequirements(
      ParseAll({"accuracy >= 0.9", "accuracy > 0.9", "accuracy <= 0.9", "accuracy < 0.9", "ece <= 0.05",
                "ece < 0.05"}),
      ThreeClassMetrics());
  ASSERT_EQ(results.size(), 6u);
  const bool want[] = {true, false, true, false, true, false};
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].passed, want[i]) << results[i].requirement.text;
    ASSERT_TRUE(results[i].actual.has_value());
  }
  EXPECT_EQ(*results[0].actual, 0.9);
  EXPECT_EQ(*results[4].actual, 0.05);
  EXPECT_FALSE(AllPassed(results));
}

TEST(CheckRequirementsTest, ReadsEveryMetric) {
  auto results = CheckRequirements(
      ParseAll({"macro_f1 >= 0.85", "weighted_f1 > 0.9", "macro_precision >= 0.8", "macro_recall >= 0.8",
                "log_loss < 0.3", "top3_accuracy >= 1", "precision[Sandal] >= 0.95", "recall[Ankle boot] > 0.5",
                "f1[T-shirt/top] < 0.34"}),
      ThreeClassMetrics());
  ASSERT_EQ(results.size(), 9u);
  const double actual[] = {0.85, 0.88, 0.8, 0.75, 0.3, 1.0, 0.95, 0.6, 1.0 / 3};
  const bool passed[] = {true, false, true, false, false, true, true, true, true};
  for (size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(results[i].requirement.text);
    ASSERT_TRUE(results[i].actual.has_value());
    EXPECT_EQ(*results[i].actual, actual[i]);
    EXPECT_EQ(results[i].passed, passed[i]);
  }
}

TEST(CheckRequirementsTest, MissingMetricFails) {
  Metrics m = ThreeClassMetrics();
  auto results = CheckRequirements(ParseAll({"top5_accuracy >= 0", "top5_accuracy < 2", "recall[Sandal] >= 0"}), m);
  m.per_class.pop_back();  // a label the metrics do not know
  auto more = CheckRequirements(ParseAll({"f1[T-shirt/top] >= 0"}), m);
  results.insert(results.end(), more.begin(), more.end());
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].actual, std::nullopt);
  EXPECT_FALSE(results[0].passed);
  EXPECT_EQ(results[1].actual, std::nullopt);
  EXPECT_FALSE(results[1].passed);
  EXPECT_TRUE(results[2].passed);
  EXPECT_EQ(results[3].actual, std::nullopt);
  EXPECT_FALSE(results[3].passed);
}

TEST(CheckRequirementsTest, AllPassed) {
  Metrics m = ThreeClassMetrics();
  EXPECT_TRUE(AllPassed({}));
  EXPECT_TRUE(AllPassed(CheckRequirements(ParseAll({"accuracy >= 0.9", "ece <= 0.05"}), m)));
  EXPECT_FALSE(AllPassed(CheckRequirements(ParseAll({"accuracy >= 0.9", "ece < 0.05"}), m)));
  EXPECT_FALSE(AllPassed(CheckRequirements(ParseAll({"top5_accuracy >= 0"}), m)));
}

TEST(RequirementResultsToJsonTest, WritesEveryFieldAndNullForMissing) {
  auto results = CheckRequirements(ParseAll({"recall[Ankle boot] >= .5", "top5_accuracy > 0.9"}), ThreeClassMetrics());
  nlohmann::json j = RequirementResultsToJson(results);
  EXPECT_EQ(j, nlohmann::json::parse(R"([
    {"text": "recall[Ankle boot] >= 0.5", "metric": "recall", "label": "Ankle boot", "op": ">=",
     "value": 0.5, "actual": 0.6, "passed": true},
    {"text": "top5_accuracy > 0.9", "metric": "top5_accuracy", "label": "", "op": ">",
     "value": 0.9, "actual": null, "passed": false}
  ])"));
  EXPECT_EQ(RequirementResultsToJson({}), nlohmann::json::array());
}

}  // namespace
}  // namespace fsml::eval
