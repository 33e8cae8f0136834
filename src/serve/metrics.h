// Prometheus metrics in the text exposition format (version 0.0.4).
//
// Counters and histograms are registered once with their help text and then
// updated from any thread; label values are escaped on output. Gauges that
// are cheaper to read when scraped (queue depth, jobs by state) come from
// collectors called by Render().
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace fsml {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  void DefineCounter(const std::string& name, const std::string& help);
  void DefineHistogram(const std::string& name, const std::string& help, std::vector<double> upper_bounds);
  void DefineGauge(const std::string& name, const std::string& help);

  // REQUIRES: `name` was defined with the matching kind.
  void Add(const std::string& name, const MetricLabels& labels, double value = 1);
  void Observe(const std::string& name, const MetricLabels& labels, double value);
  void Set(const std::string& name, const MetricLabels& labels, double value);

  // Called on every Render(), before output, typically to Set() gauges.
  void AddCollector(std::function<void(Metrics&)> collect);

  std::string Render();

 private:
  enum class Kind { kCounter, kHistogram, kGauge };
  struct Series {
    double value = 0;                 // counter, gauge
    std::vector<uint64_t> buckets;    // histogram: counts per upper bound (not cumulative)
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    Kind kind;
    std::string help;
    std::vector<double> bounds;
    std::map<std::string, Series> series;  // by rendered label set
  };
  static std::string RenderLabels(const MetricLabels& labels);
  Family* Find(const std::string& name, Kind kind);

  std::mutex mu_;
  std::map<std::string, Family> families_;  // GUARDED_BY(mu_)
  std::vector<std::function<void(Metrics&)>> collectors_;
};

}  // namespace fsml
