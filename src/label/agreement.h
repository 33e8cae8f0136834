// Inter-annotator agreement: percent agreement, Cohen's kappa per pair of
// annotators and Fleiss' kappa, from the labels people gave the same items.
// Pure functions, no database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fsml {

// One item's labels: (annotator, category index in [0, num_categories)).
// REQUIRES: an annotator appears at most once per item.
struct RatedItem {
  std::vector<std::pair<std::string, int>> ratings;
};

struct PairAgreement {
  std::string a, b;  // a < b
  uint64_t items = 0;  // items both labeled
  double percent_agreement = 0;
  // nullopt when undefined: on the shared items both used one and the same
  // category every time (expected agreement 1, so kappa is 0/0).
  std::optional<double> cohen_kappa;
};

struct AgreementReport {
  uint64_t items = 0;  // items with 2+ ratings
  // Mean over those items of the share of agreeing rater pairs; nullopt without items.
  std::optional<double> percent_agreement;
  // Fleiss' kappa over items with 2+ ratings, the number of raters may vary
  // per item (P_i per item, P_e from all ratings' category shares); nullopt
  // unless some item has 3+ ratings (use the pairs' Cohen's kappa then), or
  // when undefined: all ratings in one category (P_e = 1).
  std::optional<double> fleiss_kappa;
  std::vector<PairAgreement> pairs;  // every pair with a shared item, sorted by (a, b)
};

// Ratings with a category outside [0, num_categories) are ignored.
AgreementReport ComputeAgreement(const std::vector<RatedItem>& items, int num_categories);

}  // namespace fsml
