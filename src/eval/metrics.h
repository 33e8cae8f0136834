// Classification metrics from predicted probabilities: what `fsml eval`
// stores and what requirements are checked against. Pure functions, no I/O.
//
// Conventions (golden-tested in tests/unit/eval/metrics_test.cc):
// - probs is row-major n x k; rows need not sum exactly to 1.
// - The predicted class is the arg max; ties go to the lowest index (as
//   numpy and torch argmax do). Top-k orders classes by probability,
//   descending, ties by index ascending.
// - Precision of a class never predicted, and recall of a class with no
//   support, are 0. Macro averages run over the classes that occur in the
//   truth or the predictions (scikit-learn's default); weighted averages
//   weight by support.
// - Log loss clips probabilities to [1e-15, 1]. ECE uses `bins` equal-width
//   bins of confidence (the top probability); bin i is (i/B, (i+1)/B], the
//   first also holds 0.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace fsml::eval {

struct ClassMetrics {
  std::string label;
  double precision = 0, recall = 0, f1 = 0;
  uint64_t support = 0;    // items whose true label is this class
  uint64_t predicted = 0;  // items predicted as this class
};

struct CalibrationBin {
  double lower = 0, upper = 0;
  uint64_t count = 0;
  double confidence = 0;  // mean top probability in the bin (0 when empty)
  double accuracy = 0;    // fraction correct in the bin (0 when empty)
};

struct Metrics {
  uint64_t items = 0;
  std::vector<std::string> labels;
  double accuracy = 0;
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0, weighted_f1 = 0;
  double log_loss = 0;
  double ece = 0;
  std::vector<std::pair<int, double>> top_k;  // (k, accuracy) for k = 1, 3, 5 while k <= classes
  std::vector<ClassMetrics> per_class;        // one per label, in label order
  std::vector<std::vector<uint64_t>> confusion;  // [true][predicted]
  std::vector<CalibrationBin> calibration;
};

// InvalidArgument when labels is empty, probs.size() != truth.size() * k, a
// truth index is outside [0, k), a probability is NaN, infinite or negative,
// or bins < 1. n = 0 is allowed: every metric is 0.
Result<Metrics> ComputeMetrics(const std::vector<std::string>& labels, std::span<const float> probs,
                               std::span<const int64_t> truth, int bins = 15);

// Arg max per row (ties: lowest index).
std::vector<int64_t> Predictions(std::span<const float> probs, size_t classes);

// {"items", "labels", "accuracy", "macro_precision", "macro_recall", "macro_f1",
//  "weighted_f1", "log_loss", "ece", "top_k": {"1": a, "3": b, ...},
//  "per_class": [{"label", "precision", "recall", "f1", "support", "predicted"}],
//  "confusion": [[...]], "calibration": [{"lower", "upper", "count",
//  "confidence", "accuracy"}]}
nlohmann::json MetricsToJson(const Metrics& m);
// The inverse; InvalidArgument names the first missing or mistyped field.
Result<Metrics> MetricsFromJson(const nlohmann::json& j);

// McNemar's test on paired predictions: b = items A got right and B wrong,
// c = the reverse. Exact two-sided binomial test when b + c < 25, else the
// chi-squared statistic with continuity correction (1 degree of freedom).
struct McNemarResult {
  uint64_t b = 0, c = 0;
  double statistic = 0;  // chi-squared (0 for the exact test)
  double p_value = 1;
  bool exact = false;
};
McNemarResult McNemar(uint64_t b, uint64_t c);

}  // namespace fsml::eval
