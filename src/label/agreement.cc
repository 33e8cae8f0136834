#include "label/agreement.h"

#include <map>

namespace fsml {

AgreementReport ComputeAgreement(const std::vector<RatedItem>& items, int num_categories) {
  AgreementReport out;
  if (num_categories <= 0) return out;
  const size_t cats = static_cast<size_t>(num_categories);
  // For each pair of annotators (a < b), the confusion matrix of their labels
  // on the items both rated: [a's category][b's category].
  std::map<std::pair<std::string, std::string>, std::vector<std::vector<uint64_t>>> confusion;
  std::vector<double> per_category(cats, 0);  // ratings on items with 2+ ratings
  double sum_p = 0, ratings = 0;              // sum_p: the sum of per-item agreement P_i
  bool three = false;                         // some item has 3+ ratings
  for (const auto& item : items) {
    std::vector<std::pair<std::string, int>> r;
    for (const auto& x : item.ratings)
      if (x.second >= 0 && x.second < num_categories) r.push_back(x);
    if (r.size() < 2) continue;
    ++out.items;
    three |= r.size() >= 3;
    std::vector<double> n_j(cats, 0);
    for (const auto& x : r) n_j[static_cast<size_t>(x.second)] += 1;
    double n = static_cast<double>(r.size());
    double agreeing = 0;  // ordered pairs of raters with the same category
    for (size_t j = 0; j < cats; ++j) {
      agreeing += n_j[j] * (n_j[j] - 1);
      per_category[j] += n_j[j];
    }
    sum_p += agreeing / (n * (n - 1));
    ratings += n;
    for (size_t i = 0; i < r.size(); ++i)
      for (size_t k = i + 1; k < r.size(); ++k) {
        const auto& [ua, la] = r[i];
        const auto& [ub, lb] = r[k];
        bool swap = ub < ua;
        auto& m = confusion[swap ? std::make_pair(ub, ua) : std::make_pair(ua, ub)];
        if (m.empty()) m.assign(cats, std::vector<uint64_t>(cats, 0));
        ++m[static_cast<size_t>(swap ? lb : la)][static_cast<size_t>(swap ? la : lb)];
      }
  }
  if (out.items == 0) return out;
  // Percent agreement is Fleiss' P_bar: the mean of P_i.
  double p_bar = sum_p / static_cast<double>(out.items);
  out.percent_agreement = p_bar;
  if (three) {
    double p_e = 0;
    for (double t : per_category) p_e += (t / ratings) * (t / ratings);
    if (p_e < 1) out.fleiss_kappa = (p_bar - p_e) / (1 - p_e);
  }
  for (const auto& [key, m] : confusion) {
    PairAgreement p;
    p.a = key.first;
    p.b = key.second;
    std::vector<double> row(cats, 0), col(cats, 0);
    double agree = 0, n = 0;
    for (size_t i = 0; i < cats; ++i)
      for (size_t j = 0; j < cats; ++j) {
        double c = static_cast<double>(m[i][j]);
        n += c;
        row[i] += c;
        col[j] += c;
        if (i == j) agree += c;
      }
    p.items = static_cast<uint64_t>(n);
    p.percent_agreement = agree / n;
    double p_e = 0;
    for (size_t i = 0; i < cats; ++i) p_e += (row[i] / n) * (col[i] / n);
    if (p_e < 1) p.cohen_kappa = (p.percent_agreement - p_e) / (1 - p_e);
    out.pairs.push_back(std::move(p));
  }
  return out;
}

}  // namespace fsml
