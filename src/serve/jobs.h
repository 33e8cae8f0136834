// Jobs: prediction work submitted through the API and run by workers that
// consume a JobQueue (formats in docs/jobs.md).
//
// Life of a job:
//   1. POST /api/v1/jobs → JobService::Submit commits the job row (state
//      queued, published 0) in a group commit with its neighbours, and the
//      client gets 202: from here the job survives kill -9.
//   2. The publisher thread sends committed jobs to fsml.jobs and, once the
//      queue confirmed them, marks them published (in one transaction per
//      200 ms under load, not one per batch). A crash before the mark
//      republishes them at the next start (a duplicate is harmless).
//   3. A Worker receives the message, runs the model, publishes an event to
//      fsml.results, then acks the job message.
//   4. The event thread applies events in order; only the first terminal
//      event of a job counts, so a redelivered job never has two results.
//   5. Messages dead-lettered after max_attempts deliveries mark the job dead.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/workspace.h"
#include "ml/inference.h"
#include "serve/collect.h"
#include "serve/job_queue.h"
#include "serve/metrics.h"

namespace fsml {

// A validated POST /api/v1/jobs body.
struct JobRequest {
  std::string model;  // a model reference, validated
  nlohmann::json inputs = nlohmann::json::array();  // [{"image_base64"}|{"text"}|{"item"}], validated
  int top_k = 5;
  std::optional<std::string> idempotency_key;
};
// InvalidArgument naming the field that is wrong. At most `max_inputs` inputs.
Result<JobRequest> ParseJobRequest(const nlohmann::json& body, size_t max_inputs = 10000);

struct JobRecord {
  std::string id, model_ref, state;
  int64_t attempts = 0, inputs = 0;
  std::string model, worker, created_at, updated_at;
  nlohmann::json results;  // null until succeeded
  nlohmann::json error;    // null unless failed or dead
};
nlohmann::json JobToJson(const JobRecord& job, bool with_results = true);

inline constexpr const char* kJobStates[] = {"queued", "running", "succeeded", "failed", "dead"};

class JobService {
 public:
  // `queue_url`: "embedded" or amqp://... Opens its queue connections at Start().
  JobService(Workspace& ws, std::string queue_url, QueueOptions options, Metrics* metrics);
  ~JobService();

  // Opens the queues (failing fast on a bad URL or refused login) and starts
  // the publisher, event and dead-letter threads. With RabbitMQ down at
  // start, Unavailable; later outages are retried with backoff.
  Status Start();
  void Stop();

  using SubmitDone = std::function<void(Result<std::pair<JobRecord, bool>>)>;  // (job, created)
  // Commits the job (or finds the one with the same idempotency key) and
  // calls `done` from the submitter thread.
  void Submit(JobRequest request, std::string principal, SubmitDone done);

  Result<JobRecord> Get(const std::string& id);
  // Newest first; `state` empty = any. Also the number of matching jobs.
  Result<std::pair<std::vector<JobRecord>, int64_t>> List(const std::string& state, int64_t limit);
  Result<std::map<std::string, int64_t>> CountByState();
  // Messages waiting in fsml.jobs, and jobs committed but not yet published.
  Result<int64_t> QueueDepth();
  int64_t unpublished() const { return unpublished_.load(); }
  // OK while the publisher reaches the queue.
  Status Health() const;

 private:
  struct PendingSubmit {
    JobRequest request;
    std::string principal;
    SubmitDone done;
  };
  void SubmitLoop();
  void PublishLoop();
  void EventLoop();
  void DeadLetterLoop();
  Status ApplyEvents(const std::vector<Delivery>& deliveries);
  void SleepUnlessStopping(std::chrono::milliseconds d);

  Workspace& ws_;
  std::string queue_url_;
  QueueOptions options_;
  Metrics* metrics_;
  std::unique_ptr<JobQueue> publish_q_, event_q_, dead_q_, depth_q_;
  std::mutex depth_mu_;  // guards depth_q_

  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PendingSubmit> pending_;  // GUARDED_BY(mu_)
  // Committed jobs waiting for the publisher, oldest first (loaded from the
  // database at start, then fed by the submitter).
  std::deque<OutMessage> to_publish_;  // GUARDED_BY(mu_)
  std::atomic<int64_t> unpublished_{0};
  mutable std::mutex health_mu_;
  Status health_;  // GUARDED_BY(health_mu_)
  std::vector<std::thread> threads_;
};

struct WorkerOptions {
  int prefetch = 64;   // messages taken from the queue at once
  int max_batch = 64;  // images per forward pass
  std::string name;    // "host/pid" by default
  int hold_ms_for_test = 0;  // pause between inference and publishing (fault tests)
  // Where image_base64 inputs the model is unsure of go (collect.h); not owned, may be null.
  Collector* collector = nullptr;
};

// Consumes fsml.jobs until `stop` is set. One Worker per thread; several may
// share `cache`.
class Worker {
 public:
  Worker(Workspace& ws, std::unique_ptr<JobQueue> queue, ModelCache& cache, WorkerOptions options, Metrics* metrics);
  void Run(const std::atomic<bool>& stop);
  // Handles one batch of deliveries (public for tests).
  Status Process(std::vector<Delivery>& deliveries);

 private:
  Workspace& ws_;
  std::unique_ptr<JobQueue> queue_;
  ModelCache& cache_;
  WorkerOptions options_;
  Metrics* metrics_;
};

std::string DefaultWorkerName();

}  // namespace fsml
