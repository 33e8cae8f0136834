// Suspected label errors by confident learning (Northcutt et al., 2021; the
// method Cleanlab's find_label_issues uses with filter_by=prune_by_noise_rate).
// Input: out-of-sample predicted probabilities (from k-fold cross-validation)
// and the given labels. Pure function, no I/O.
//
// 1. Per-class threshold t_j: mean p_j(x) over the items whose given label is j.
// 2. Confident joint C[i][j]: item x with given label i counts toward true
//    label j where j is the arg max of p_j(x) over the classes with
//    p_j(x) >= t_j; items with no such class are not counted.
// 3. Calibrate C so each row sums to the count of given label i, then to a
//    joint distribution Q summing to 1.
// 4. Prune by noise rate: for every off-diagonal (i, j), flag the
//    round(Q[i][j] * n) items with given label i that have the largest margin
//    p_j(x) - p_i(x).
// 5. Drop flagged items whose arg max equals the given label.
// Issues are ranked by score = 1 - p_given(x) (self-confidence), highest
// first; `suggested` is the arg max of p(x).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace fsml::eval {

struct LabelIssue {
  size_t index = 0;       // row in the input
  int64_t given = 0;
  int64_t suggested = 0;
  double score = 0;       // 1 - p_given, in [0, 1]
};

struct LabelIssueStats {
  std::vector<double> thresholds;                // t_j
  std::vector<std::vector<uint64_t>> confident_joint;  // C[given][true] of step 2, before calibration
};

// InvalidArgument when classes < 2, probs.size() != given.size() * classes,
// a given label is outside [0, classes), or a probability is NaN, infinite or
// negative. A class no item carries gets threshold 1: only items with p_j = 1
// are counted toward it.
Result<std::vector<LabelIssue>> FindLabelIssues(std::span<const float> probs, std::span<const int64_t> given,
                                                size_t classes, LabelIssueStats* stats = nullptr);

}  // namespace fsml::eval
