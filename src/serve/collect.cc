#include "serve/collect.h"

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "data/import.h"
#include "data/project.h"

namespace fsml {

using Clock = std::chrono::steady_clock;

Collector::Collector(Workspace& ws, CollectOptions options, Metrics* metrics)
    : ws_(ws), options_(options), metrics_(metrics) {
  if (metrics_) {
    metrics_->DefineCounter("fsml_collect_inputs_total",
                            "Unsure production inputs sent back for labeling, by outcome (added, present).");
    metrics_->DefineCounter("fsml_collect_errors_total", "Unsure production inputs that could not be added to their project.");
    metrics_->DefineCounter("fsml_collect_dropped_total", "Unsure production inputs dropped because the collection queue was full.");
  }
  thread_ = std::thread([this] { Loop(); });
}

Collector::~Collector() { Stop(); }

void Collector::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Collector::Wants(const std::string& project, double confidence) {
  std::lock_guard lock(mu_);
  auto it = settings_.find(project);
  if (it == settings_.end() || Clock::now() - it->second.read_at >= options_.settings_ttl) return true;
  return it->second.below && confidence < *it->second.below;
}

void Collector::Offer(CollectCandidate c) {
  {
    std::lock_guard lock(mu_);
    if (!stop_ && queue_.size() < options_.max_queued) {
      queue_.push_back(std::move(c));
      cv_.notify_one();
      return;
    }
  }
  if (metrics_) metrics_->Add("fsml_collect_dropped_total", {});
}

void Collector::Flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void Collector::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, everything written
    CollectCandidate c = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    Collect(c);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

void Collector::Collect(const CollectCandidate& c) {
  auto fail = [&](const Status& s) {
    log::Warn("collect: cannot add an unsure input of {} to project '{}': {}", c.model, c.project, s.message());
    if (metrics_) metrics_->Add("fsml_collect_errors_total", {});
  };
  auto project = GetProject(ws_.meta(), c.project);
  if (!project) return fail(project.error());
  // Text projects have no models to collect from; their threshold is refused when set.
  std::optional<double> below =
      project->type == TaskType::kImageClassification ? project->collect_below : std::nullopt;
  {
    std::lock_guard lock(mu_);
    settings_[c.project] = {below, Clock::now()};
  }
  if (!below || !(c.confidence < *below)) return;
  nlohmann::json meta = {{"source", "production"}, {"model", c.model}, {"confidence", c.confidence}, {"predicted", c.predicted}};
  auto added = AddItemBytes(ws_, *project, c.bytes, "production:" + c.model, "production", meta);
  if (!added) return fail(added.error());
  if (metrics_) metrics_->Add("fsml_collect_inputs_total", {{"outcome", added->added ? "added" : "present"}});
  if (added->added) log::Debug("collect: {} added to '{}' ({} at {:.3f})", added->item_id.substr(0, 12), c.project, c.predicted, c.confidence);
}

}  // namespace fsml
