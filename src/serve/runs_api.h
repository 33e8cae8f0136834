// The web app's runs and model registry API (docs/web-api.md, "Runs and
// models"): the run list (filtered, sorted and paged in SQL), a run with its
// epochs, log tail and artifacts, run comparison, checkpoint downloads,
// trainings started from the browser, and the registry's versions, lineage
// and aliases (moved through the production gate).
//
// Trainings started here run on a thread each, one at a time process-wide
// (serve/training_lock.h, shared with retraining): a training waiting for
// another one is "queued". The trainer stops early only on SIGINT/SIGTERM,
// which `fsml serve` takes for itself, so Stop() waits for a running
// training to end (as Retrainer::Stop does) and fails the queued ones.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/workspace.h"
#include "ml/train.h"
#include "registry/runs.h"
#include "serve/http.h"

namespace fsml {

// GET /api/v1/runs query parameters (project, model, status, sort, limit,
// offset) as a RunQuery; InvalidArgument naming the parameter.
Result<RunQuery> ParseRunQuery(const std::map<std::string, std::string>& query);

// "1,2,3": 2 to 5 distinct positive run ids; InvalidArgument otherwise.
Result<std::vector<int64_t>> ParseCompareIds(std::string_view text);

// A POST /api/v1/runs body, checked field by field (InvalidArgument naming
// the field): "data" ("project@vN", required), "model" (mlp, cnn-small,
// resnet), "model_params" (object), "epochs" (1-1000), "batch_size"
// (1-65536), "lr" (0 < lr < 100), "optimizer" (sgd, adamw), "weight_decay"
// (0-1), "momentum" (0-1), "schedule" (cosine, step, constant),
// "warmup_epochs" (0-1000), "label_smoothing" (0 <= s < 1), "patience"
// (0-1000), "seed" (0 to 2^53), "augment" (crop[=N], flip, erase, comma-
// separated; "none" or "" for none), "evaluate_test" (bool). Omitted fields
// take the model's recipe. Unknown fields are refused.
struct TrainLaunchRequest {
  std::string project;
  std::string version_ref;  // "vN", or "" for the latest
  TrainOptions options;
};
Result<TrainLaunchRequest> ParseTrainRequest(const nlohmann::json& body);

// A training started from the API, while this server runs.
struct TrainLaunch {
  int64_t id = 0;
  // starting (loading data), queued (another training holds the lock),
  // running (the run exists), finished, failed
  std::string state;
  std::string project, data, model;
  std::string requested_by, requested_at, finished_at;
  int64_t run_id = 0;  // once the run row exists
  std::string error;
  Code error_code = Code::kOk;
};
nlohmann::json TrainLaunchToJson(const TrainLaunch& t);

class RunsApi {
 public:
  explicit RunsApi(Workspace& ws);
  ~RunsApi();  // Stop()s
  RunsApi(const RunsApi&) = delete;
  RunsApi& operator=(const RunsApi&) = delete;

  void AddRoutes(http::Router& router);
  // Refuses new trainings, fails queued ones, waits for the running one.
  // Idempotent.
  void Stop();

 private:
  struct Launch {
    TrainLaunch status;
    std::thread thread;
  };
  void AddRunRoutes(http::Router& router);
  void AddRegistryRoutes(http::Router& router);
  // Starts a training thread; waits until its run exists, it is queued, or
  // it failed before making a run (that error is returned).
  Result<TrainLaunch> StartTraining(const Project& project, const DatasetVersion& version, TrainOptions options,
                                    const std::string& user);
  void Train(int64_t id, Project project, DatasetVersion version, TrainOptions options);
  void Update(int64_t id, const std::function<void(TrainLaunch&)>& change);

  Workspace& ws_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<int64_t, Launch> launches_;  // GUARDED_BY(mu_)
  int64_t next_id_ = 1;                 // GUARDED_BY(mu_)
  bool stop_ = false;                   // GUARDED_BY(mu_)
};

}  // namespace fsml
