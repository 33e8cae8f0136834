#include "serve/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace fsml {

void Metrics::DefineCounter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  families_[name] = Family{Kind::kCounter, help, {}, {}};
}

void Metrics::DefineHistogram(const std::string& name, const std::string& help, std::vector<double> upper_bounds) {
  std::sort(upper_bounds.begin(), upper_bounds.end());
  std::lock_guard lock(mu_);
  families_[name] = Family{Kind::kHistogram, help, std::move(upper_bounds), {}};
}

void Metrics::DefineGauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  families_[name] = Family{Kind::kGauge, help, {}, {}};
}

Metrics::Family* Metrics::Find(const std::string& name, Kind kind) {
  auto it = families_.find(name);
  return it == families_.end() || it->second.kind != kind ? nullptr : &it->second;
}

std::string Metrics::RenderLabels(const MetricLabels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    out += out.empty() ? "" : ",";
    out += k + "=\"";
    for (char c : v) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += "\"";
  }
  return out;
}

void Metrics::Add(const std::string& name, const MetricLabels& labels, double value) {
  std::string key = RenderLabels(labels);
  std::lock_guard lock(mu_);
  if (Family* f = Find(name, Kind::kCounter)) f->series[key].value += value;
}

void Metrics::Set(const std::string& name, const MetricLabels& labels, double value) {
  std::string key = RenderLabels(labels);
  std::lock_guard lock(mu_);
  if (Family* f = Find(name, Kind::kGauge)) f->series[key].value = value;
}

void Metrics::Observe(const std::string& name, const MetricLabels& labels, double value) {
  std::string key = RenderLabels(labels);
  std::lock_guard lock(mu_);
  Family* f = Find(name, Kind::kHistogram);
  if (!f) return;
  Series& s = f->series[key];
  if (s.buckets.empty()) s.buckets.assign(f->bounds.size(), 0);
  auto it = std::lower_bound(f->bounds.begin(), f->bounds.end(), value);
  if (it != f->bounds.end()) s.buckets[it - f->bounds.begin()]++;
  s.sum += value;
  s.count++;
}

void Metrics::AddCollector(std::function<void(Metrics&)> collect) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

static std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string Metrics::Render() {
  std::vector<std::function<void(Metrics&)>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c(*this);
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.kind == Kind::kCounter ? "counter" : f.kind == Kind::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.kind != Kind::kHistogram) {
        out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + Number(s.value) + "\n";
        continue;
      }
      std::string sep = labels.empty() ? "" : ",";
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.bounds.size(); ++i) {
        cumulative += s.buckets[i];
        out += name + "_bucket{" + labels + sep + "le=\"" + Number(f.bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(s.count) + "\n";
      out += name + "_sum" + (labels.empty() ? "" : "{" + labels + "}") + " " + Number(s.sum) + "\n";
      out += name + "_count" + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace fsml
