#include "eval/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <utility>

namespace fsml::eval {
namespace {

constexpr double kLogLossEpsilon = 1e-15;
constexpr int kTopK[] = {1, 3, 5};

// Shortest round-trip text of a number, for messages.
std::string Num(float v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

double Ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

// Bin of confidence c for `bins` equal-width bins: bin i holds (i/B, (i+1)/B],
// bin 0 also holds 0, and values above 1 fall in the last bin. The first guess
// from ceil(c * B) is moved so that the choice agrees with the edges stored in
// CalibrationBin (i / B computed in double), whatever c * B rounded to.
size_t BinOf(double c, size_t bins) {
  if (!(c > 0)) return 0;
  if (c >= 1) return bins - 1;
  double b = static_cast<double>(bins);
  size_t i = static_cast<size_t>(std::max(0.0, std::ceil(c * b) - 1.0));
  i = std::min(i, bins - 1);
  while (i > 0 && c <= static_cast<double>(i) / b) --i;
  while (i + 1 < bins && c > static_cast<double>(i + 1) / b) ++i;
  return i;
}

// Rank of class t in row p (0 = first) when classes are ordered by
// probability, descending, ties by index ascending.
size_t RankOf(const float* p, size_t k, size_t t) {
  size_t rank = 0;
  for (size_t j = 0; j < k; ++j) {
    if (p[j] > p[t] || (p[j] == p[t] && j < t)) ++rank;
  }
  return rank;
}

size_t ArgMax(const float* p, size_t k) {
  size_t best = 0;
  for (size_t j = 1; j < k; ++j) {
    if (p[j] > p[best]) best = j;
  }
  return best;
}

// Field access for MetricsFromJson; every error names the field's path.
class JsonReader {
 public:
  static Status Missing(const std::string& path) {
    return InvalidArgument("metrics JSON: '" + path + "' is missing");
  }
  static Status Mistyped(const std::string& path, std::string_view want, const nlohmann::json& found) {
    return InvalidArgument("metrics JSON: '" + path + "' must be " + std::string(want) + " (found " +
                           std::string(found.type_name()) + ")");
  }

  static Result<const nlohmann::json*> Field(const nlohmann::json& obj, const std::string& prefix,
                                             const char* key) {
    std::string path = prefix + key;
    auto it = obj.find(key);
    if (it == obj.end()) return Err(Missing(path));
    return &*it;
  }

  static Result<double> Double(const nlohmann::json& obj, const std::string& prefix, const char* key) {
    FSML_ASSIGN_OR_RETURN(const nlohmann::json* v, Field(obj, prefix, key));
    return Double(*v, prefix + key);
  }
  static Result<double> Double(const nlohmann::json& v, const std::string& path) {
    if (!v.is_number()) return Err(Mistyped(path, "a number", v));
    return v.get<double>();
  }

  static Result<uint64_t> Count(const nlohmann::json& obj, const std::string& prefix, const char* key) {
    FSML_ASSIGN_OR_RETURN(const nlohmann::json* v, Field(obj, prefix, key));
    return Count(*v, prefix + key);
  }
  static Result<uint64_t> Count(const nlohmann::json& v, const std::string& path) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    return Err(Mistyped(path, "a non-negative whole number", v));
  }

  static Result<std::string> String(const nlohmann::json& v, const std::string& path) {
    if (!v.is_string()) return Err(Mistyped(path, "a string", v));
    return v.get<std::string>();
  }

  static Result<const nlohmann::json*> Array(const nlohmann::json& obj, const std::string& prefix,
                                             const char* key) {
    FSML_ASSIGN_OR_RETURN(const nlohmann::json* v, Field(obj, prefix, key));
    if (!v->is_array()) return Err(Mistyped(prefix + key, "an array", *v));
    return v;
  }
};

}  // namespace

std::vector<int64_t> Predictions(std::span<const float> probs, size_t classes) {
  std::vector<int64_t> out;
  if (classes == 0) return out;
  size_t n = probs.size() / classes;
  out.reserve(n);
  for (size_t r = 0; r < n; ++r) out.push_back(static_cast<int64_t>(ArgMax(probs.data() + r * classes, classes)));
  return out;
}

Result<Metrics> ComputeMetrics(const std::vector<std::string>& labels, std::span<const float> probs,
                               std::span<const int64_t> truth, int bins) {
  const size_t k = labels.size();
  if (k == 0) return Err(InvalidArgument("metrics: no labels given (pass the project's labels)"));
  if (bins < 1) return Err(InvalidArgument("metrics: bins is " + std::to_string(bins) + "; it must be at least 1"));
  const size_t n = truth.size();
  if (probs.size() % k != 0 || probs.size() / k != n) {
    return Err(InvalidArgument("metrics: " + std::to_string(probs.size()) + " probabilities for " +
                               std::to_string(n) + " items and " + std::to_string(k) + " labels (expected " +
                               std::to_string(n) + " x " + std::to_string(k) + ", one row per item)"));
  }
  for (size_t r = 0; r < n; ++r) {
    if (truth[r] < 0 || static_cast<uint64_t>(truth[r]) >= k) {
      return Err(InvalidArgument("metrics: item " + std::to_string(r) + " has true label index " +
                                 std::to_string(truth[r]) + ", outside [0, " + std::to_string(k) + ") for " +
                                 std::to_string(k) + " labels"));
    }
  }
  for (size_t idx = 0; idx < probs.size(); ++idx) {
    float p = probs[idx];
    if (std::isfinite(p) && p >= 0) continue;
    std::string what = std::isnan(p) ? "is NaN" : (p < 0 ? Num(p) + " is negative" : Num(p) + " is infinite");
    return Err(InvalidArgument("metrics: item " + std::to_string(idx / k) + ", label '" + labels[idx % k] +
                               "': probability " + what + " (probabilities must be finite and non-negative)"));
  }

  Metrics m;
  m.items = n;
  m.labels = labels;
  m.confusion.assign(k, std::vector<uint64_t>(k, 0));
  const size_t nbins = static_cast<size_t>(bins);
  std::vector<uint64_t> bin_count(nbins, 0), bin_correct(nbins, 0);
  std::vector<double> bin_conf(nbins, 0.0);
  std::vector<int> ks;
  for (int kk : kTopK) {
    if (static_cast<size_t>(kk) <= k) ks.push_back(kk);
  }
  std::vector<uint64_t> topk_hits(ks.size(), 0);
  uint64_t correct = 0;
  double log_loss_sum = 0;

  for (size_t r = 0; r < n; ++r) {
    const float* p = probs.data() + r * k;
    const size_t t = static_cast<size_t>(truth[r]);
    const size_t pred = ArgMax(p, k);
    ++m.confusion[t][pred];
    const bool ok = pred == t;
    correct += ok;
    log_loss_sum += -std::log(std::clamp(static_cast<double>(p[t]), kLogLossEpsilon, 1.0));
    const size_t rank = RankOf(p, k, t);
    for (size_t i = 0; i < ks.size(); ++i) topk_hits[i] += rank < static_cast<size_t>(ks[i]);
    const double conf = p[pred];
    const size_t b = BinOf(conf, nbins);
    ++bin_count[b];
    bin_correct[b] += ok;
    bin_conf[b] += conf;
  }

  const double dn = static_cast<double>(n);
  m.accuracy = Ratio(static_cast<double>(correct), dn);
  m.log_loss = Ratio(log_loss_sum, dn);
  for (size_t i = 0; i < ks.size(); ++i) m.top_k.emplace_back(ks[i], Ratio(static_cast<double>(topk_hits[i]), dn));

  size_t present = 0;
  double sum_p = 0, sum_r = 0, sum_f = 0, weighted_f = 0;
  m.per_class.resize(k);
  for (size_t c = 0; c < k; ++c) {
    ClassMetrics& cm = m.per_class[c];
    cm.label = labels[c];
    for (size_t j = 0; j < k; ++j) {
      cm.support += m.confusion[c][j];
      cm.predicted += m.confusion[j][c];
    }
    const double tp = static_cast<double>(m.confusion[c][c]);
    cm.precision = Ratio(tp, static_cast<double>(cm.predicted));
    cm.recall = Ratio(tp, static_cast<double>(cm.support));
    // scikit-learn's form: 2 tp / (support + predicted), 0 when both are 0.
    cm.f1 = Ratio(2 * tp, static_cast<double>(cm.support + cm.predicted));
    if (cm.support > 0 || cm.predicted > 0) {
      ++present;
      sum_p += cm.precision;
      sum_r += cm.recall;
      sum_f += cm.f1;
    }
    weighted_f += cm.f1 * static_cast<double>(cm.support);
  }
  m.macro_precision = Ratio(sum_p, static_cast<double>(present));
  m.macro_recall = Ratio(sum_r, static_cast<double>(present));
  m.macro_f1 = Ratio(sum_f, static_cast<double>(present));
  m.weighted_f1 = Ratio(weighted_f, dn);

  m.calibration.resize(nbins);
  double ece = 0;
  for (size_t b = 0; b < nbins; ++b) {
    CalibrationBin& cb = m.calibration[b];
    cb.lower = static_cast<double>(b) / static_cast<double>(nbins);
    cb.upper = static_cast<double>(b + 1) / static_cast<double>(nbins);
    cb.count = bin_count[b];
    cb.confidence = Ratio(bin_conf[b], static_cast<double>(cb.count));
    cb.accuracy = Ratio(static_cast<double>(bin_correct[b]), static_cast<double>(cb.count));
    ece += Ratio(static_cast<double>(cb.count), dn) * std::abs(cb.accuracy - cb.confidence);
  }
  m.ece = ece;
  return m;
}

nlohmann::json MetricsToJson(const Metrics& m) {
  nlohmann::json top_k = nlohmann::json::object();
  for (const auto& [kk, acc] : m.top_k) top_k[std::to_string(kk)] = acc;
  nlohmann::json per_class = nlohmann::json::array();
  for (const ClassMetrics& c : m.per_class) {
    per_class.push_back({{"label", c.label},
                         {"precision", c.precision},
                         {"recall", c.recall},
                         {"f1", c.f1},
                         {"support", c.support},
                         {"predicted", c.predicted}});
  }
  nlohmann::json calibration = nlohmann::json::array();
  for (const CalibrationBin& b : m.calibration) {
    calibration.push_back({{"lower", b.lower},
                           {"upper", b.upper},
                           {"count", b.count},
                           {"confidence", b.confidence},
                           {"accuracy", b.accuracy}});
  }
  return {{"items", m.items},
          {"labels", m.labels},
          {"accuracy", m.accuracy},
          {"macro_precision", m.macro_precision},
          {"macro_recall", m.macro_recall},
          {"macro_f1", m.macro_f1},
          {"weighted_f1", m.weighted_f1},
          {"log_loss", m.log_loss},
          {"ece", m.ece},
          {"top_k", std::move(top_k)},
          {"per_class", std::move(per_class)},
          {"confusion", m.confusion},
          {"calibration", std::move(calibration)}};
}

Result<Metrics> MetricsFromJson(const nlohmann::json& j) {
  using R = JsonReader;
  if (!j.is_object()) {
    return Err(InvalidArgument("metrics JSON: expected an object (found " + std::string(j.type_name()) + ")"));
  }
  Metrics m;
  FSML_ASSIGN_OR_RETURN(m.items, R::Count(j, "", "items"));
  FSML_ASSIGN_OR_RETURN(const nlohmann::json* labels, R::Array(j, "", "labels"));
  for (size_t i = 0; i < labels->size(); ++i) {
    FSML_ASSIGN_OR_RETURN(std::string label, R::String((*labels)[i], "labels[" + std::to_string(i) + "]"));
    m.labels.push_back(std::move(label));
  }
  FSML_ASSIGN_OR_RETURN(m.accuracy, R::Double(j, "", "accuracy"));
  FSML_ASSIGN_OR_RETURN(m.macro_precision, R::Double(j, "", "macro_precision"));
  FSML_ASSIGN_OR_RETURN(m.macro_recall, R::Double(j, "", "macro_recall"));
  FSML_ASSIGN_OR_RETURN(m.macro_f1, R::Double(j, "", "macro_f1"));
  FSML_ASSIGN_OR_RETURN(m.weighted_f1, R::Double(j, "", "weighted_f1"));
  FSML_ASSIGN_OR_RETURN(m.log_loss, R::Double(j, "", "log_loss"));
  FSML_ASSIGN_OR_RETURN(m.ece, R::Double(j, "", "ece"));

  FSML_ASSIGN_OR_RETURN(const nlohmann::json* top_k, R::Field(j, "", "top_k"));
  if (!top_k->is_object()) return Err(R::Mistyped("top_k", "an object", *top_k));
  for (const auto& [key, value] : top_k->items()) {
    int kk = 0;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), kk);
    if (ec != std::errc() || end != key.data() + key.size() || kk < 1) {
      return Err(InvalidArgument("metrics JSON: 'top_k' key '" + key.substr(0, 40) +
                                 "' must be a whole number of at least 1"));
    }
    FSML_ASSIGN_OR_RETURN(double acc, R::Double(value, "top_k." + key));
    m.top_k.emplace_back(kk, acc);
  }
  std::sort(m.top_k.begin(), m.top_k.end());

  FSML_ASSIGN_OR_RETURN(const nlohmann::json* per_class, R::Array(j, "", "per_class"));
  if (per_class->size() != m.labels.size()) {
    return Err(InvalidArgument("metrics JSON: 'per_class' has " + std::to_string(per_class->size()) +
                               " entries for " + std::to_string(m.labels.size()) + " labels (expected one per label)"));
  }
  for (size_t i = 0; i < per_class->size(); ++i) {
    const nlohmann::json& e = (*per_class)[i];
    std::string prefix = "per_class[" + std::to_string(i) + "].";
    if (!e.is_object()) return Err(R::Mistyped(prefix.substr(0, prefix.size() - 1), "an object", e));
    ClassMetrics c;
    FSML_ASSIGN_OR_RETURN(const nlohmann::json* label, R::Field(e, prefix, "label"));
    FSML_ASSIGN_OR_RETURN(c.label, R::String(*label, prefix + "label"));
    FSML_ASSIGN_OR_RETURN(c.precision, R::Double(e, prefix, "precision"));
    FSML_ASSIGN_OR_RETURN(c.recall, R::Double(e, prefix, "recall"));
    FSML_ASSIGN_OR_RETURN(c.f1, R::Double(e, prefix, "f1"));
    FSML_ASSIGN_OR_RETURN(c.support, R::Count(e, prefix, "support"));
    FSML_ASSIGN_OR_RETURN(c.predicted, R::Count(e, prefix, "predicted"));
    m.per_class.push_back(std::move(c));
  }

  FSML_ASSIGN_OR_RETURN(const nlohmann::json* confusion, R::Array(j, "", "confusion"));
  const size_t k = m.labels.size();
  if (confusion->size() != k) {
    return Err(InvalidArgument("metrics JSON: 'confusion' has " + std::to_string(confusion->size()) + " rows for " +
                               std::to_string(k) + " labels (expected " + std::to_string(k) + " x " +
                               std::to_string(k) + ")"));
  }
  for (size_t r = 0; r < k; ++r) {
    const nlohmann::json& row = (*confusion)[r];
    std::string path = "confusion[" + std::to_string(r) + "]";
    if (!row.is_array()) return Err(R::Mistyped(path, "an array", row));
    if (row.size() != k) {
      return Err(InvalidArgument("metrics JSON: '" + path + "' has " + std::to_string(row.size()) +
                                 " counts for " + std::to_string(k) + " labels"));
    }
    std::vector<uint64_t> counts;
    for (size_t c = 0; c < k; ++c) {
      FSML_ASSIGN_OR_RETURN(uint64_t v, R::Count(row[c], path + "[" + std::to_string(c) + "]"));
      counts.push_back(v);
    }
    m.confusion.push_back(std::move(counts));
  }

  FSML_ASSIGN_OR_RETURN(const nlohmann::json* calibration, R::Array(j, "", "calibration"));
  for (size_t i = 0; i < calibration->size(); ++i) {
    const nlohmann::json& e = (*calibration)[i];
    std::string prefix = "calibration[" + std::to_string(i) + "].";
    if (!e.is_object()) return Err(R::Mistyped(prefix.substr(0, prefix.size() - 1), "an object", e));
    CalibrationBin b;
    FSML_ASSIGN_OR_RETURN(b.lower, R::Double(e, prefix, "lower"));
    FSML_ASSIGN_OR_RETURN(b.upper, R::Double(e, prefix, "upper"));
    FSML_ASSIGN_OR_RETURN(b.count, R::Count(e, prefix, "count"));
    FSML_ASSIGN_OR_RETURN(b.confidence, R::Double(e, prefix, "confidence"));
    FSML_ASSIGN_OR_RETURN(b.accuracy, R::Double(e, prefix, "accuracy"));
    m.calibration.push_back(b);
  }
  return m;
}

McNemarResult McNemar(uint64_t b, uint64_t c) {
  McNemarResult r;
  r.b = b;
  r.c = c;
  // b + c may wrap for absurd counts; compare without adding first.
  if (b < 25 && c < 25 - b) {
    r.exact = true;
    const uint64_t n = b + c;
    if (n == 0) return r;  // no discordant pairs: p = 1
    // Two-sided exact binomial test with p = 1/2: 2 * P(X <= min(b, c)), X ~ Bin(n, 1/2).
    // n < 25, so every C(n, i) and 2^n is exact in 64 bits.
    uint64_t tail = 0, choose = 1;
    for (uint64_t i = 0; i <= std::min(b, c); ++i) {
      tail += choose;
      choose = choose * (n - i) / (i + 1);
    }
    r.p_value = std::min(1.0, 2.0 * static_cast<double>(tail) / static_cast<double>(uint64_t{1} << n));
    return r;
  }
  const double diff = static_cast<double>(b > c ? b - c : c - b) - 1.0;
  r.statistic = diff * diff / (static_cast<double>(b) + static_cast<double>(c));
  r.p_value = std::erfc(std::sqrt(r.statistic / 2.0));
  return r;
}

}  // namespace fsml::eval
