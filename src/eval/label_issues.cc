#include "eval/label_issues.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

// Where the header leaves a detail open, this follows Cleanlab's
// find_label_issues(filter_by="prune_by_noise_rate") with its defaults
// (cleanlab/count.py compute_confident_joint, calibrate_confident_joint;
// cleanlab/filter.py _keep_at_least_n_per_class, _prune_by_count):
// - A probability counts as confident when p_j >= t_j - 1e-6 (Cleanlab's
//   tolerance for float round-off in the mean). A class no item carries keeps
//   the header's threshold 1 with no tolerance.
// - Before calibration every diagonal cell C[i][i] is raised to at least 1
//   ("at least one correctly labeled example in every class").
// - Calibration: C'[i][j] = C[i][j] / rowsum_i(C) * count_given(i), then
//   Q = C' / sum(C'), and the prune count of cell (i, j) is Q[i][j] * n,
//   rounded so that each row still adds up to its rounded total: every cell is
//   rounded half to even (numpy's round), then the row's shortfall or excess
//   goes one unit at a time to the cells the rounding moved furthest the other
//   way, the higher column first on ties (as Cleanlab's reversed argsort
//   orders them). Cleanlab's round_preserving_row_totals does the same for a
//   shortfall; for an excess it takes the unit from the cell rounded down
//   most, which moves that cell further from its value, so here it comes from
//   the cell rounded up most instead.
// - At least one item per given label stays unflagged by pruning (Cleanlab's
//   min_examples_per_class = 1): a class with at most one item is never
//   pruned, and when a row's prune counts would take every item, one unit is
//   taken from its largest off-diagonal cell (lowest index on ties). Cleanlab's
//   _keep_at_least_n_per_class spreads that unit over the row's non-zero
//   cells and re-rounds by true label; the two differ only in this corner.
// - Margin of an item with given label i toward class j: p_j - p_i. Exactly the
//   prune count is flagged per cell; equal margins go to the lower row index
//   (Cleanlab flags every item tied at the cut).
// - Confident class when several pass their thresholds: the arg max among
//   those classes, as the header (and the paper) state; Cleanlab's vectorized
//   code takes the arg max over all classes in that case.
// - Ranking: score = 1 - p_given, highest first, equal scores by row index.
// - LabelIssueStats::confident_joint is the count of step 2 as it stands,
//   before the diagonal floor and calibration.

namespace fsml::eval {
namespace {

constexpr double kThresholdTolerance = 1e-6;

size_t ArgMax(const float* p, size_t k) {
  size_t best = 0;
  for (size_t j = 1; j < k; ++j) {
    if (p[j] > p[best]) best = j;
  }
  return best;
}

// Rounds `row` to whole counts that add up to round(sum(row)); see the file comment.
std::vector<uint64_t> RoundPreservingTotal(const std::vector<double>& row) {
  const size_t k = row.size();
  std::vector<double> rounded(k);
  double total = 0, rounded_total = 0;
  for (size_t j = 0; j < k; ++j) {
    rounded[j] = std::nearbyint(row[j]);
    total += row[j];
    rounded_total += rounded[j];
  }
  const double want = std::nearbyint(total);
  // One unit at a time: add to the cell rounded down most (largest row - rounded),
  // or take from the non-zero cell rounded up most; highest index on ties.
  while (rounded_total != want) {
    const bool add = rounded_total < want;
    size_t pick = k;
    for (size_t j = 0; j < k; ++j) {
      if (!add && rounded[j] < 1) continue;
      const double res = row[j] - rounded[j];
      if (pick == k || (add ? res >= row[pick] - rounded[pick] : res <= row[pick] - rounded[pick])) pick = j;
    }
    if (pick == k) break;  // nothing left to take from; cannot happen while rounded_total > want >= 0
    rounded[pick] += add ? 1.0 : -1.0;
    rounded_total += add ? 1.0 : -1.0;
  }
  std::vector<uint64_t> out(k);
  for (size_t j = 0; j < k; ++j) out[j] = static_cast<uint64_t>(std::max(0.0, rounded[j]));
  return out;
}

}  // namespace

Result<std::vector<LabelIssue>> FindLabelIssues(std::span<const float> probs, std::span<const int64_t> given,
                                                size_t classes, LabelIssueStats* stats) {
  if (classes < 2) {
    return Err(InvalidArgument("label issues: need at least 2 classes (got " + std::to_string(classes) + ")"));
  }
  const size_t n = given.size();
  if (probs.size() % classes != 0 || probs.size() / classes != n) {
    return Err(InvalidArgument("label issues: " + std::to_string(probs.size()) + " probabilities for " +
                               std::to_string(n) + " items and " + std::to_string(classes) + " classes (expected " +
                               std::to_string(n) + " x " + std::to_string(classes) + ", one row per item)"));
  }
  for (size_t r = 0; r < n; ++r) {
    if (given[r] < 0 || static_cast<uint64_t>(given[r]) >= classes) {
      return Err(InvalidArgument("label issues: item " + std::to_string(r) + " has given label index " +
                                 std::to_string(given[r]) + ", outside [0, " + std::to_string(classes) + ")"));
    }
  }
  for (size_t idx = 0; idx < probs.size(); ++idx) {
    if (!std::isfinite(probs[idx]) || probs[idx] < 0) {
      return Err(InvalidArgument("label issues: item " + std::to_string(idx / classes) + ", class " +
                                 std::to_string(idx % classes) +
                                 ": probability is NaN, infinite or negative (probabilities must be finite and "
                                 "non-negative)"));
    }
  }
  const size_t k = classes;

  // Items by given label, and the per-class thresholds t_j.
  std::vector<std::vector<size_t>> members(k);
  std::vector<double> thresholds(k, 0.0);
  for (size_t r = 0; r < n; ++r) {
    const size_t g = static_cast<size_t>(given[r]);
    members[g].push_back(r);
    thresholds[g] += probs[r * k + g];
  }
  std::vector<double> cutoff(k);
  for (size_t j = 0; j < k; ++j) {
    if (members[j].empty()) {
      thresholds[j] = 1.0;
      cutoff[j] = 1.0;
    } else {
      thresholds[j] /= static_cast<double>(members[j].size());
      cutoff[j] = thresholds[j] - kThresholdTolerance;
    }
  }

  // Confident joint C[given][true].
  std::vector<std::vector<uint64_t>> joint(k, std::vector<uint64_t>(k, 0));
  for (size_t r = 0; r < n; ++r) {
    const float* p = probs.data() + r * k;
    size_t best = k;
    for (size_t j = 0; j < k; ++j) {
      if (p[j] >= cutoff[j] && (best == k || p[j] > p[best])) best = j;
    }
    if (best < k) ++joint[static_cast<size_t>(given[r])][best];
  }
  if (stats != nullptr) {
    stats->thresholds = thresholds;
    stats->confident_joint = joint;
  }

  // Calibrate to Q and scale to prune counts (see the file comment).
  std::vector<std::vector<double>> calibrated(k, std::vector<double>(k, 0.0));
  double total = 0;
  for (size_t i = 0; i < k; ++i) {
    double row_sum = 0;
    for (size_t j = 0; j < k; ++j) {
      calibrated[i][j] = static_cast<double>(i == j ? std::max<uint64_t>(joint[i][j], 1) : joint[i][j]);
      row_sum += calibrated[i][j];
    }
    for (size_t j = 0; j < k; ++j) {
      calibrated[i][j] = calibrated[i][j] / row_sum * static_cast<double>(members[i].size());
      total += calibrated[i][j];
    }
  }
  std::vector<bool> flagged(n, false);
  std::vector<std::pair<double, size_t>> margins;
  for (size_t i = 0; i < k; ++i) {
    const size_t count = members[i].size();
    if (count <= 1 || total <= 0) continue;
    std::vector<double> row(k);
    for (size_t j = 0; j < k; ++j) row[j] = calibrated[i][j] / total * static_cast<double>(n);
    std::vector<uint64_t> prune = RoundPreservingTotal(row);
    uint64_t off_diagonal = 0;
    size_t largest = k;
    for (size_t j = 0; j < k; ++j) {
      if (j == i) continue;
      off_diagonal += prune[j];
      if (largest == k || prune[j] > prune[largest]) largest = j;
    }
    if (off_diagonal >= count && prune[largest] > 0) --prune[largest];

    for (size_t j = 0; j < k; ++j) {
      if (j == i || prune[j] == 0) continue;
      const size_t take = static_cast<size_t>(std::min<uint64_t>(prune[j], count));
      margins.clear();
      for (size_t r : members[i]) {
        margins.emplace_back(static_cast<double>(probs[r * k + j]) - static_cast<double>(probs[r * k + i]), r);
      }
      auto larger = [](const std::pair<double, size_t>& a, const std::pair<double, size_t>& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      };
      std::nth_element(margins.begin(), margins.begin() + static_cast<std::ptrdiff_t>(take - 1), margins.end(),
                       larger);
      for (size_t t = 0; t < take; ++t) flagged[margins[t].second] = true;
    }
  }

  std::vector<LabelIssue> issues;
  for (size_t r = 0; r < n; ++r) {
    if (!flagged[r]) continue;
    const float* p = probs.data() + r * k;
    const size_t suggested = ArgMax(p, k);
    const size_t g = static_cast<size_t>(given[r]);
    if (suggested == g) continue;
    LabelIssue issue;
    issue.index = r;
    issue.given = given[r];
    issue.suggested = static_cast<int64_t>(suggested);
    issue.score = std::clamp(1.0 - static_cast<double>(p[g]), 0.0, 1.0);
    issues.push_back(issue);
  }
  std::sort(issues.begin(), issues.end(), [](const LabelIssue& a, const LabelIssue& b) {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  });
  return issues;
}

}  // namespace fsml::eval
