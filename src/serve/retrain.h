// Retraining a project's model from the server, in-process, through the
// library calls `fsml data commit`, `fsml train`, `fsml models register` and
// `fsml models alias` make:
//
//   committing   a dataset version of the current labels (CommitVersion);
//                when nothing changed since the latest version, the latest
//   training     the architecture and model parameters of the project's
//                suggestion model (SuggestionModel: staging, else
//                production), "cnn-small" when it has none, with the
//                model's recipe (as `fsml train` without flags), quiet
//   registering  the run's best epoch (by val accuracy; else its last) as
//                the next version of that model (a new model named as the
//                project when it has none), aliased "staging"; then
//                `on_done` (the caller rescores suggestions)
//   done | failed
//
// One thread per running retrain, at most one per project. Trainings run
// one at a time process-wide (serve/training_lock.h, shared with trainings
// started from the web API). A retrain waiting for another training stays in
// state "training".
//
// The trainer stops early only on SIGINT/SIGTERM (core/stop_signals.h),
// which `fsml serve` takes for itself, so a training in progress cannot be
// interrupted: Stop() waits for it to end, then ends the retrain before it
// registers (the run stays in the run list and can be registered by hand).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/project.h"
#include "data/workspace.h"

namespace fsml {

struct RetrainRequest {
  std::string project;
  std::string requested_by;  // recorded on the version, the model version and the alias
  int epochs = 0;            // 0: the recipe's
};

struct RetrainStatus {
  std::string state;  // idle, committing, training, registering, done, failed
  int64_t version = 0;  // the dataset version trained on, once committed
  int64_t run_id = 0;   // once training ended
  std::string model;    // "name/N" registered, once done
  std::string error;    // when failed
  std::string started_at, finished_at;  // RFC 3339; "" when idle / not finished
};

// {"state", "version", "run_id", "model", "error", "started_at",
// "finished_at"}; zero and empty fields are null.
nlohmann::json RetrainStatusToJson(const RetrainStatus& s);

class Retrainer {
 public:
  // `on_done` runs on the retrain's thread after the new version is
  // registered and aliased, before the state becomes "done"; it must not
  // call back into this Retrainer.
  explicit Retrainer(Workspace& ws, std::function<void(const Project&)> on_done);
  ~Retrainer();  // Stop()s
  Retrainer(const Retrainer&) = delete;
  Retrainer& operator=(const Retrainer&) = delete;

  // Starts a background retrain of `req.project` and returns its status at
  // start (state "committing"). NotFound for an unknown project;
  // InvalidArgument for negative epochs; FailedPrecondition when a retrain
  // of the project is already running, the project has no labeled items or
  // is a text project (no text models yet), or Stop() was called.
  Result<RetrainStatus> Start(const RetrainRequest& req);
  // The project's latest retrain since this Retrainer was made; state
  // "idle" when none.
  RetrainStatus Get(const std::string& project);
  // Refuses new retrains, lets running ones end (a training in progress
  // runs to its end, see above) and joins their threads. Idempotent.
  void Stop();

 private:
  struct Job {
    RetrainStatus status;
    std::thread thread;
  };
  // The retrain's thread: Steps(), then the final state.
  void Work(const Project& project, const RetrainRequest& req);
  // Runs the steps; returns the error that ends the retrain.
  Status Steps(const Project& project, const RetrainRequest& req);
  void Update(const std::string& project, const std::function<void(RetrainStatus&)>& change);
  bool stopping();

  Workspace& ws_;
  std::function<void(const Project&)> on_done_;

  std::mutex mu_;
  std::map<std::string, Job> jobs_;  // GUARDED_BY(mu_): by project name
  bool stop_ = false;                // GUARDED_BY(mu_)
};

}  // namespace fsml
