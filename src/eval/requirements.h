// A project's acceptance criteria, made measurable: "accuracy >= 0.90",
// "recall[Sandal] >= 0.95", "ece <= 0.05". Every evaluation reports pass/fail
// per criterion, and `fsml models alias ... production` refuses a version
// that fails them.
//
// Grammar: METRIC OP NUMBER, spaces optional around OP.
//   METRIC: accuracy | macro_f1 | weighted_f1 | macro_precision |
//           macro_recall | log_loss | ece | top3_accuracy | top5_accuracy |
//           precision[LABEL] | recall[LABEL] | f1[LABEL]
//   LABEL:  a project label, verbatim (may hold spaces and '/', not ']')
//   OP:     >= | <= | > | <
//   NUMBER: a finite decimal, e.g. 0.9, .95, 1e-2
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "eval/metrics.h"

namespace fsml::eval {

struct Requirement {
  std::string text;    // normalized: "recall[Sandal] >= 0.95"
  std::string metric;  // "recall"
  std::string label;   // "Sandal", or "" for whole-set metrics
  std::string op;      // ">=", "<=", ">", "<"
  double value = 0;
};

// InvalidArgument with the text and what is wrong: an unknown metric (listing
// the known ones), a label not in `labels` (listing them), a bad operator or
// number, a text over 200 bytes.
Result<Requirement> ParseRequirement(std::string_view text, const std::vector<std::string>& labels);

struct RequirementResult {
  Requirement requirement;
  std::optional<double> actual;  // nullopt: the metric is missing (e.g. top5 with 3 classes)
  bool passed = false;           // false when actual is missing
};

std::vector<RequirementResult> CheckRequirements(const std::vector<Requirement>& reqs, const Metrics& m);
bool AllPassed(const std::vector<RequirementResult>& results);

// [{"text", "metric", "label", "op", "value", "actual" (or null), "passed"}]
nlohmann::json RequirementResultsToJson(const std::vector<RequirementResult>& results);

}  // namespace fsml::eval
