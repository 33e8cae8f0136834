// Fuzzes ParseRequirement (`fsml project require` texts) against a fixed
// label list, and CheckRequirements on what it accepts.
//
// Invariants:
// - Errors are InvalidArgument and start with "requirement".
// - On success the metric is known, a per-class metric names one of the
//   labels (and a whole-set metric none), the operator is one of the four,
//   the value is finite and the text is at most 200 bytes.
// - Round trip: the normalized text parses to the same requirement and text.
// - Checking it against metrics gives an actual value exactly when the
//   metric is present, and never passes without one.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eval/requirements.h"
#include "fuzz_util.h"

namespace {

const std::vector<std::string>& Labels() {
  static const std::vector<std::string> labels = {"Sandal", "Ankle boot", "T-shirt/top", "a[b", ""};
  return labels;
}

const fsml::eval::Metrics& SomeMetrics() {
  static const fsml::eval::Metrics m = [] {
    fsml::eval::Metrics m;
    m.labels = {"Sandal", "Ankle boot", "T-shirt/top"};
    m.accuracy = 0.9;
    m.top_k = {{1, 0.9}, {3, 0.99}};
    for (const std::string& l : m.labels) m.per_class.push_back({l, 0.9, 0.8, 0.85, 10, 9});
    return m;
  }();
  return m;
}

bool IsPerClass(const std::string& metric) { return metric == "precision" || metric == "recall" || metric == "f1"; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  auto r = fsml::eval::ParseRequirement(in, Labels());
  if (!r) {
    FSML_FUZZ_CHECK(r.error().code() == fsml::Code::kInvalidArgument);
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(r.error().message(), "requirement"));
    return 0;
  }
  FSML_FUZZ_CHECK(size <= 200);
  FSML_FUZZ_CHECK(std::isfinite(r->value));
  FSML_FUZZ_CHECK(r->op == ">=" || r->op == "<=" || r->op == ">" || r->op == "<");
  if (IsPerClass(r->metric)) {
    bool known = false;
    for (const std::string& l : Labels()) known = known || l == r->label;
    FSML_FUZZ_CHECK(known && !r->label.empty());
  } else {
    FSML_FUZZ_CHECK(r->label.empty());
  }

  auto again = fsml::eval::ParseRequirement(r->text, Labels());
  FSML_FUZZ_CHECK(again.has_value());
  FSML_FUZZ_CHECK(again->text == r->text);
  FSML_FUZZ_CHECK(again->metric == r->metric);
  FSML_FUZZ_CHECK(again->label == r->label);
  FSML_FUZZ_CHECK(again->op == r->op);
  FSML_FUZZ_CHECK(again->value == r->value);

  auto results = fsml::eval::CheckRequirements({*r}, SomeMetrics());
  FSML_FUZZ_CHECK(results.size() == 1);
  const bool missing = r->metric == "top5_accuracy" || r->label == "a[b";
  FSML_FUZZ_CHECK(results[0].actual.has_value() == !missing);
  FSML_FUZZ_CHECK(results[0].actual.has_value() || !results[0].passed);
  FSML_FUZZ_CHECK(fsml::eval::AllPassed(results) == results[0].passed);
  return 0;
}
