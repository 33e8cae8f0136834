// Synchronous prediction with dynamic batching, and models that follow
// their aliases.
//
// Each request names a model reference ("fashion@production"). The first
// request for a reference resolves and loads it; a background thread
// re-resolves every known reference each `refresh` and, when an alias has
// moved, loads the new version fully before switching to it, so requests
// never wait on or fail because of a swap (in-flight ones finish on the
// old version).
//
// Requests for one loaded model queue up; a bounded pool of inference
// threads takes up to max_batch of them at once. When every inference
// thread is free, a thread waits at most max_delay_ms after the oldest
// request arrived for the batch to fill (Triton's dynamic batcher); when
// others are busy the server is loaded, batches form by themselves, and a
// free thread takes its share of the queue at once (the queue split evenly
// over the free threads, so one thread never takes all while another idles). Decoding runs on the inference threads, so a large
// image never stalls the network threads. Per-model limits come from
// `fsml models serving NAME` (model_serving table) or the server defaults.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "data/workspace.h"
#include "ml/inference.h"
#include "serve/metrics.h"

namespace fsml {

struct ServingOptions {
  int max_batch = 32;
  int max_delay_ms = 2;
  int inference_threads = 2;  // pool size; each runs LibTorch single-threaded
  size_t max_queued = 4096;   // waiting requests (all models) before 503
  std::chrono::milliseconds refresh{1000};
};

struct Prediction {
  std::string model;    // "name/N" that answered
  std::string project;  // that model version's project
  std::vector<std::pair<std::string, double>> top;
  std::string input;    // the request's bytes, handed back (for collection)
};

// Per-model serving settings (defaults when a model has none).
struct ModelServingConfig {
  int max_batch = 0, max_delay_ms = -1;  // 0 / -1: server default
};
Result<ModelServingConfig> GetModelServingConfig(MetaStore& meta, const std::string& model_name);
Status SetModelServingConfig(MetaStore& meta, const std::string& model_name, const ModelServingConfig& config);

class ModelServer {
 public:
  ModelServer(Workspace& ws, ServingOptions options, Metrics* metrics);
  ~ModelServer();
  void Stop();

  using Done = std::function<void(Result<Prediction>)>;
  // Answers through `done` (called once, from an inference thread or this
  // one). May block to load a model the first time its reference is seen.
  void Predict(const std::string& ref_text, std::string image_bytes, size_t top_k, Done done);

  // Loads `ref_text` now (the server preloads production aliases at start).
  Status Preload(const std::string& ref_text);
  // The versions currently served, by reference.
  std::map<std::string, std::string> Served();

 private:
  struct Request {
    std::string bytes;
    size_t top_k;
    Done done;
    std::chrono::steady_clock::time_point arrived;
  };
  // One loaded model version with its request queue.
  struct Lane {
    std::shared_ptr<LoadedModel> model;
    int max_batch, max_delay_ms;
    std::deque<Request> queue;  // GUARDED_BY(ModelServer::mu_)
    bool retired = false;       // no reference points here any more
  };
  Result<std::shared_ptr<Lane>> LaneFor(const std::string& ref_text);
  Result<std::shared_ptr<Lane>> Load(const std::string& ref_text);
  void InferenceLoop();
  void RunBatch(Lane& lane, std::vector<Request>& batch);
  void RefreshLoop();

  Workspace& ws_;
  ServingOptions options_;
  Metrics* metrics_;
  ModelCache cache_;
  std::mutex load_mu_;  // one load at a time

  std::mutex mu_;
  std::condition_variable cv_;          // inference threads wait here
  std::condition_variable refresh_cv_;  // the refresh thread waits here
  std::map<std::string, std::shared_ptr<Lane>> by_ref_;  // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<Lane>> lanes_;             // GUARDED_BY(mu_)
  size_t queued_ = 0;                                    // GUARDED_BY(mu_)
  int busy_ = 0;                                         // GUARDED_BY(mu_): threads running a batch
  bool stop_ = false;                                    // GUARDED_BY(mu_)
  size_t threads_count_ = 1;  // inference threads
  std::vector<std::thread> threads_;
};

}  // namespace fsml
