// The flywheel: production inputs that a model is unsure of go back to its
// project as unlabeled items.
//
// A project opts in with a threshold (`collect_below`, Project): a
// prediction whose top probability is below it sends its input to the
// project of the run that made the model version, as a new unlabeled item
// with metadata {"source": "production", "model", "confidence", "predicted"}.
// Items are their content, so an input seen twice is one item.
//
// Collection never slows or fails a prediction: callers Offer() after they
// answered, Offer() never blocks, and one background thread does the
// writes. A full queue drops the input; a failed write is logged. Both are
// counted in /metrics.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "data/workspace.h"
#include "serve/metrics.h"

namespace fsml {

struct CollectOptions {
  size_t max_queued = 256;  // inputs waiting to be written; more are dropped
  // How long a project's threshold read by the background thread is trusted
  // by Wants(); 0 = never (every input is queued and checked there).
  std::chrono::milliseconds settings_ttl{1000};
};

struct CollectCandidate {
  std::string project;   // the model version's project
  std::string model;     // "name/N" that answered
  std::string predicted; // its top label
  double confidence = 0; // and that label's probability
  std::string bytes;     // the input
};

// Thread-safe.
class Collector {
 public:
  Collector(Workspace& ws, CollectOptions options, Metrics* metrics);
  ~Collector();  // Stop()

  // Cheap and lock-light: false when the project's threshold, as last read,
  // says the input stays out (collection off, or confident enough), so the
  // caller need not keep the bytes. True when unknown or stale.
  bool Wants(const std::string& project, double confidence);
  // Queues the input for the background thread, or drops it when the queue
  // is full or the collector stopped. Never blocks on the database.
  void Offer(CollectCandidate c);
  // Waits until every input queued so far is written or skipped.
  void Flush();
  // Writes what is queued, then stops the thread. Idempotent.
  void Stop();

 private:
  struct Setting {
    std::optional<double> below;  // nullopt: off (or a text project)
    std::chrono::steady_clock::time_point read_at;
  };
  void Loop();
  void Collect(const CollectCandidate& c);

  Workspace& ws_;
  CollectOptions options_;
  Metrics* metrics_;
  std::mutex mu_;
  std::condition_variable cv_;       // the thread waits for work
  std::condition_variable idle_cv_;  // Flush() waits for an empty queue
  std::deque<CollectCandidate> queue_;        // GUARDED_BY(mu_)
  std::map<std::string, Setting> settings_;   // GUARDED_BY(mu_)
  bool busy_ = false;                         // GUARDED_BY(mu_): a candidate is being written
  bool stop_ = false;                         // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace fsml
