#include "label/agreement.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fsml {
namespace {

// Two annotators' labels as rated items.
std::vector<RatedItem> TwoRaters(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<RatedItem> out;
  for (size_t i = 0; i < a.size(); ++i) out.push_back({{{"ann", a[i]}, {"bob", b[i]}}});
  return out;
}

TEST(AgreementTest, CohensKappaMatchesScikitLearn) {
  // sklearn.metrics.cohen_kappa_score(a, b) == 0.5 for these labels.
  std::vector<int> a = {0, 1, 2, 0, 1, 2, 0, 0, 1, 2, 2, 1};
  std::vector<int> b = {0, 1, 1, 0, 2, 2, 0, 1, 1, 2, 0, 1};
  AgreementReport r = ComputeAgreement(TwoRaters(a, b), 3);
  EXPECT_EQ(r.items, 12u);
  ASSERT_EQ(r.pairs.size(), 1u);
  EXPECT_EQ(r.pairs[0].a, "ann");
  EXPECT_EQ(r.pairs[0].b, "bob");
  EXPECT_EQ(r.pairs[0].items, 12u);
  EXPECT_DOUBLE_EQ(r.pairs[0].percent_agreement, 8.0 / 12);
  ASSERT_TRUE(r.pairs[0].cohen_kappa);
  EXPECT_NEAR(*r.pairs[0].cohen_kappa, 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(*r.percent_agreement, 8.0 / 12);
  EXPECT_FALSE(r.fleiss_kappa);  // two raters per item
}

TEST(AgreementTest, CohensKappaMatchesTheTextbookExample) {
  // Wikipedia's "Cohen's kappa" example: 50 proposals, yes/no. Both yes 20,
  // A yes B no 5, A no B yes 10, both no 15. p_o = 35/50 = 0.7; A says yes
  // 25/50, B 30/50, so p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4.
  std::vector<int> a, b;
  auto add = [&](int n, int x, int y) {
    for (int i = 0; i < n; ++i) a.push_back(x), b.push_back(y);
  };
  add(20, 1, 1);
  add(5, 1, 0);
  add(10, 0, 1);
  add(15, 0, 0);
  AgreementReport r = ComputeAgreement(TwoRaters(a, b), 2);
  ASSERT_EQ(r.pairs.size(), 1u);
  EXPECT_EQ(r.pairs[0].items, 50u);
  EXPECT_DOUBLE_EQ(r.pairs[0].percent_agreement, 0.7);
  ASSERT_TRUE(r.pairs[0].cohen_kappa);
  EXPECT_NEAR(*r.pairs[0].cohen_kappa, 0.4, 1e-12);
}

TEST(AgreementTest, FleissKappaMatchesThePublishedExample) {
  // Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, 5 categories;
  // kappa = 0.20993070442195522 (statsmodels' fleiss_kappa on the same table;
  // Wikipedia rounds it to 0.210).
  const int table[10][5] = {{0, 0, 0, 0, 14}, {0, 2, 6, 4, 2}, {0, 0, 3, 5, 6}, {0, 3, 9, 2, 0}, {2, 2, 8, 1, 1},
                            {7, 7, 0, 0, 0},  {3, 2, 6, 3, 0}, {2, 5, 3, 2, 2}, {6, 5, 2, 1, 0}, {0, 2, 2, 3, 7}};
  std::vector<RatedItem> items;
  for (const auto& row : table) {
    RatedItem it;
    int rater = 0;
    for (int c = 0; c < 5; ++c)
      for (int k = 0; k < row[c]; ++k) it.ratings.emplace_back("r" + std::to_string(rater++), c);
    items.push_back(std::move(it));
  }
  AgreementReport r = ComputeAgreement(items, 5);
  ASSERT_TRUE(r.fleiss_kappa);
  EXPECT_NEAR(*r.fleiss_kappa, 0.20993070442195522, 1e-12);
  EXPECT_EQ(r.items, 10u);
  // P_bar = 0.378 in the worked example (numpy: 0.378021978021978).
  EXPECT_NEAR(*r.percent_agreement, 0.378021978021978, 1e-12);
}

TEST(AgreementTest, EdgeCasesAreUndefinedNotNaN) {
  EXPECT_FALSE(ComputeAgreement({}, 3).percent_agreement);
  // One rater per item: nothing to compare.
  AgreementReport single = ComputeAgreement({{{{"ann", 0}}}, {{{"bob", 1}}}}, 3);
  EXPECT_EQ(single.items, 0u);
  EXPECT_TRUE(single.pairs.empty());
  // Both always say the same one category: agreement 1, kappa undefined.
  AgreementReport same = ComputeAgreement(TwoRaters({1, 1, 1}, {1, 1, 1}), 3);
  EXPECT_DOUBLE_EQ(*same.percent_agreement, 1.0);
  EXPECT_FALSE(same.pairs[0].cohen_kappa);
  // Perfect agreement over several categories: kappa 1.
  AgreementReport perfect = ComputeAgreement(TwoRaters({0, 1, 2}, {0, 1, 2}), 3);
  EXPECT_DOUBLE_EQ(*perfect.pairs[0].cohen_kappa, 1.0);
  // One category for everybody with three raters: Fleiss' P_e = 1, undefined.
  AgreementReport unanimous = ComputeAgreement({{{{"ann", 2}, {"bob", 2}, {"cy", 2}}}}, 3);
  EXPECT_DOUBLE_EQ(*unanimous.percent_agreement, 1.0);
  EXPECT_FALSE(unanimous.fleiss_kappa);
  // Each always uses one category, but not the same one: kappa is 0, not undefined.
  AgreementReport apart = ComputeAgreement(TwoRaters({0, 0}, {1, 1}), 3);
  ASSERT_TRUE(apart.pairs[0].cohen_kappa);
  EXPECT_DOUBLE_EQ(*apart.pairs[0].cohen_kappa, 0.0);
  EXPECT_DOUBLE_EQ(*apart.percent_agreement, 0.0);
  // No categories at all.
  EXPECT_EQ(ComputeAgreement(TwoRaters({0}, {0}), 0).items, 0u);
  // Out-of-range categories are ignored.
  AgreementReport bad = ComputeAgreement({{{{"ann", 7}, {"bob", -1}}}}, 3);
  EXPECT_EQ(bad.items, 0u);
}

TEST(AgreementTest, PairsAreOrderedAndCountSharedItemsOnly) {
  std::vector<RatedItem> items = {{{{"zed", 0}, {"amy", 0}, {"kim", 1}}}, {{{"amy", 1}, {"kim", 1}}}};
  AgreementReport r = ComputeAgreement(items, 2);
  ASSERT_EQ(r.pairs.size(), 3u);
  EXPECT_EQ(r.pairs[0].a, "amy");
  EXPECT_EQ(r.pairs[0].b, "kim");
  EXPECT_EQ(r.pairs[0].items, 2u);
  EXPECT_EQ(r.pairs[1].a, "amy");
  EXPECT_EQ(r.pairs[1].b, "zed");
  EXPECT_EQ(r.pairs[1].items, 1u);
  EXPECT_DOUBLE_EQ(r.pairs[1].percent_agreement, 1.0);
  // Item 1: 1 of 3 pairs agree; item 2: 1 of 1.
  EXPECT_DOUBLE_EQ(*r.percent_agreement, (1.0 / 3 + 1.0) / 2);
  EXPECT_TRUE(r.fleiss_kappa);
}

// tests/data/label/agreement_golden.json: random rating sets (fixed seeds)
// with reference values from tests/data/label/make_agreement_golden.py:
// scikit-learn's cohen_kappa_score per pair, statsmodels' fleiss_kappa where
// every item has the same number of ratings (else the per-item formula in
// numpy), percent agreement counted pair by pair.
std::optional<double> OptionalDouble(const nlohmann::json& v) {
  return v.is_null() ? std::nullopt : std::optional<double>(v.get<double>());
}

void ExpectNear(std::optional<double> got, std::optional<double> want, const std::string& what) {
  ASSERT_EQ(got.has_value(), want.has_value()) << what;
  if (want) {
    EXPECT_NEAR(*got, *want, 1e-12) << what;
  }
}

TEST(AgreementTest, MatchesScikitLearnAndStatsmodelsOnRandomRatings) {
  std::ifstream in(std::string(FSML_SOURCE_TEST_DATA) + "/label/agreement_golden.json");
  ASSERT_TRUE(in) << "cannot read agreement_golden.json";
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json golden = nlohmann::json::parse(text.str());
  ASSERT_GE(golden["cases"].size(), 4u);
  for (const auto& c : golden["cases"]) {
    std::string name = c["name"];
    std::vector<RatedItem> items;
    for (const auto& row : c["items"]) {
      RatedItem it;
      for (const auto& r : row) it.ratings.emplace_back(r[0].get<std::string>(), r[1].get<int>());
      items.push_back(std::move(it));
    }
    const auto& want = c["expected"];
    AgreementReport r = ComputeAgreement(items, c["num_categories"].get<int>());
    EXPECT_EQ(r.items, want["items"].get<uint64_t>()) << name;
    ExpectNear(r.percent_agreement, OptionalDouble(want["percent_agreement"]), name + ": percent agreement");
    ExpectNear(r.fleiss_kappa, OptionalDouble(want["fleiss_kappa"]), name + ": Fleiss' kappa");
    ASSERT_EQ(r.pairs.size(), want["pairs"].size()) << name;
    for (size_t i = 0; i < r.pairs.size(); ++i) {
      const auto& p = want["pairs"][i];
      std::string what = name + ": " + p["a"].get<std::string>() + "/" + p["b"].get<std::string>();
      EXPECT_EQ(r.pairs[i].a, p["a"].get<std::string>()) << what;
      EXPECT_EQ(r.pairs[i].b, p["b"].get<std::string>()) << what;
      EXPECT_EQ(r.pairs[i].items, p["items"].get<uint64_t>()) << what;
      EXPECT_NEAR(r.pairs[i].percent_agreement, p["percent_agreement"].get<double>(), 1e-12) << what;
      ExpectNear(r.pairs[i].cohen_kappa, OptionalDouble(p["cohen_kappa"]), what + ": Cohen's kappa");
    }
  }
}

}  // namespace
}  // namespace fsml
