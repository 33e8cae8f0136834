#include "eval/requirements.h"

// Parsing details the header leaves open: "spaces" are spaces and tabs, and
// they may also lead and trail the text; NUMBER is what std::from_chars reads
// as a double (no leading '+', no hex); a requirement whose normalized text
// would pass 200 bytes is rejected, so a stored text always parses again.
// Checking compares the stored double with the metric exactly, no tolerance.

#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

namespace fsml::eval {
namespace {

constexpr size_t kMaxTextBytes = 200;
constexpr size_t kMaxListedLabels = 20;

constexpr std::string_view kWholeSetMetrics[] = {"accuracy", "macro_f1", "weighted_f1", "macro_precision",
                                                 "macro_recall", "log_loss", "ece", "top3_accuracy",
                                                 "top5_accuracy"};
constexpr std::string_view kPerClassMetrics[] = {"precision", "recall", "f1"};
constexpr std::string_view kKnownMetrics =
    "accuracy, macro_f1, weighted_f1, macro_precision, macro_recall, log_loss, ece, top3_accuracy, "
    "top5_accuracy, precision[LABEL], recall[LABEL], f1[LABEL]";

bool IsSpace(char c) { return c == ' ' || c == '\t'; }
bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

template <size_t N>
bool OneOf(std::string_view s, const std::string_view (&list)[N]) {
  for (std::string_view e : list) {
    if (s == e) return true;
  }
  return false;
}

void SkipSpaces(std::string_view text, size_t& pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
}

std::string Shortest(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

std::string ListLabels(const std::vector<std::string>& labels) {
  if (labels.empty()) return "the project has no labels";
  std::string out = "project labels: ";
  for (size_t i = 0; i < labels.size() && i < kMaxListedLabels; ++i) {
    if (i > 0) out += ", ";
    out += labels[i];
  }
  if (labels.size() > kMaxListedLabels) out += " and " + std::to_string(labels.size() - kMaxListedLabels) + " more";
  return out;
}

std::optional<double> Actual(const Requirement& r, const Metrics& m) {
  const std::string& name = r.metric;
  if (name == "accuracy") return m.accuracy;
  if (name == "macro_f1") return m.macro_f1;
  if (name == "weighted_f1") return m.weighted_f1;
  if (name == "macro_precision") return m.macro_precision;
  if (name == "macro_recall") return m.macro_recall;
  if (name == "log_loss") return m.log_loss;
  if (name == "ece") return m.ece;
  if (name == "top3_accuracy" || name == "top5_accuracy") {
    const int k = name == "top3_accuracy" ? 3 : 5;
    for (const auto& [kk, acc] : m.top_k) {
      if (kk == k) return acc;
    }
    return std::nullopt;
  }
  for (const ClassMetrics& c : m.per_class) {
    if (c.label != r.label) continue;
    if (name == "precision") return c.precision;
    if (name == "recall") return c.recall;
    if (name == "f1") return c.f1;
  }
  return std::nullopt;
}

bool Compare(double actual, const std::string& op, double value) {
  if (op == ">=") return actual >= value;
  if (op == "<=") return actual <= value;
  if (op == ">") return actual > value;
  if (op == "<") return actual < value;
  return false;
}

}  // namespace

Result<Requirement> ParseRequirement(std::string_view text, const std::vector<std::string>& labels) {
  if (text.size() > kMaxTextBytes) {
    return Err(InvalidArgument("requirement '" + std::string(text.substr(0, 40)) + "...' is " +
                               std::to_string(text.size()) + " bytes long; the limit is " +
                               std::to_string(kMaxTextBytes)));
  }
  const std::string quoted = "requirement '" + std::string(text) + "': ";
  auto fail = [&](const std::string& what) { return Err(InvalidArgument(quoted + what)); };

  size_t pos = 0;
  SkipSpaces(text, pos);
  size_t end = text.size();
  while (end > pos && IsSpace(text[end - 1])) --end;
  text = text.substr(0, end);
  if (pos == text.size()) {
    return Err(InvalidArgument("requirement is empty (expected METRIC OP NUMBER, e.g. accuracy >= 0.9)"));
  }

  Requirement r;
  const size_t name_start = pos;
  while (pos < text.size() && IsNameChar(text[pos])) ++pos;
  r.metric = std::string(text.substr(name_start, pos - name_start));
  const bool has_bracket = pos < text.size() && text[pos] == '[';
  if (r.metric.empty()) {
    return fail("expected a metric name first (known metrics: " + std::string(kKnownMetrics) + ")");
  }
  if (OneOf(r.metric, kWholeSetMetrics)) {
    if (has_bracket) {
      return fail(r.metric + " takes no label; the per-class metrics are precision[LABEL], recall[LABEL] and "
                  "f1[LABEL]");
    }
  } else if (OneOf(r.metric, kPerClassMetrics)) {
    if (!has_bracket) {
      return fail(r.metric + " needs a label right after it, e.g. " + r.metric + "[" +
                  (labels.empty() ? "LABEL" : labels[0]) + "]");
    }
    const size_t close = text.find(']', pos + 1);
    if (close == std::string_view::npos) return fail("missing ']' after the label");
    r.label = std::string(text.substr(pos + 1, close - pos - 1));
    if (r.label.empty()) return fail("the label in " + r.metric + "[] is empty (" + ListLabels(labels) + ")");
    bool known = false;
    for (const std::string& l : labels) known = known || l == r.label;
    if (!known) return fail("unknown label '" + r.label + "' (" + ListLabels(labels) + ")");
    pos = close + 1;
  } else {
    return fail("unknown metric '" + r.metric + "' (known metrics: " + std::string(kKnownMetrics) + ")");
  }

  const std::string subject = r.metric + (r.label.empty() ? "" : "[" + r.label + "]");
  SkipSpaces(text, pos);
  if (pos == text.size()) return fail("missing operator and number after " + subject + " (expected >=, <=, > or <)");
  size_t op_end = pos;
  while (op_end < text.size() && std::string_view("<>=!").find(text[op_end]) != std::string_view::npos) ++op_end;
  r.op = std::string(text.substr(pos, op_end - pos));
  if (r.op.empty()) {
    size_t found_end = pos;
    while (found_end < text.size() && !IsSpace(text[found_end])) ++found_end;
    return fail("expected an operator (>=, <=, > or <) after " + subject + ", found '" +
                std::string(text.substr(pos, found_end - pos)) + "'");
  }
  if (r.op != ">=" && r.op != "<=" && r.op != ">" && r.op != "<") {
    return fail("bad operator '" + r.op + "' (expected >=, <=, > or <)");
  }
  pos = op_end;

  SkipSpaces(text, pos);
  const std::string_view number = text.substr(pos);
  if (number.empty()) return fail("missing number after '" + r.op + "'");
  const char* first = number.data();
  const char* last = number.data() + number.size();
  auto [num_end, ec] = std::from_chars(first, last, r.value);
  if (ec == std::errc::result_out_of_range) return fail("number '" + std::string(number) + "' is out of range");
  if (ec != std::errc()) {
    return fail("'" + std::string(number) + "' is not a number (expected a finite decimal such as 0.9, .95 or 1e-2)");
  }
  if (!std::isfinite(r.value)) return fail("the number must be finite, not '" + std::string(first, num_end) + "'");
  if (num_end != last) {
    return fail("unexpected '" + std::string(num_end, last) + "' after the number " +
                std::string(first, num_end));
  }

  r.text = subject + " " + r.op + " " + Shortest(r.value);
  // Spaces and a reformatted number can make the normalized text longer than
  // the input; it is what gets stored and parsed again, so it must fit too.
  if (r.text.size() > kMaxTextBytes) {
    return fail("written out as '" + r.text + "' it is " + std::to_string(r.text.size()) +
                " bytes long; the limit is " + std::to_string(kMaxTextBytes));
  }
  return r;
}

std::vector<RequirementResult> CheckRequirements(const std::vector<Requirement>& reqs, const Metrics& m) {
  std::vector<RequirementResult> out;
  out.reserve(reqs.size());
  for (const Requirement& r : reqs) {
    RequirementResult res;
    res.requirement = r;
    res.actual = Actual(r, m);
    res.passed = res.actual.has_value() && Compare(*res.actual, r.op, r.value);
    out.push_back(std::move(res));
  }
  return out;
}

bool AllPassed(const std::vector<RequirementResult>& results) {
  for (const RequirementResult& r : results) {
    if (!r.passed) return false;
  }
  return true;
}

nlohmann::json RequirementResultsToJson(const std::vector<RequirementResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const RequirementResult& r : results) {
    out.push_back({{"text", r.requirement.text},
                   {"metric", r.requirement.metric},
                   {"label", r.requirement.label},
                   {"op", r.requirement.op},
                   {"value", r.requirement.value},
                   {"actual", r.actual ? nlohmann::json(*r.actual) : nlohmann::json(nullptr)},
                   {"passed", r.passed}});
  }
  return out;
}

}  // namespace fsml::eval
