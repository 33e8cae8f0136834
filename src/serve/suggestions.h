// Model suggestions for the labeling queue (active learning by uncertainty
// sampling).
//
// For every image project with a model aliased "staging" or "production"
// (staging preferred: it is the newest candidate), the scorer runs that
// model over the project's open tasks and records on each task the top
// label, its probability and the model ("name/N"), and sets the task's
// priority to that probability, so LabelingService::Next serves the items
// the model is least sure of first. A task is scored once per model
// version: when the alias moves, every open task is scored again.
//
// A model label is mapped to the project's label of the same name; an item
// whose top label the project does not have (renamed or removed since the
// model was trained) gets no suggestion and keeps its priority. Text
// projects are skipped: no model scores text yet. Items that cannot be
// decoded get no suggestion either (logged).
//
// Thread-safe. Scoring passes run one at a time; inference uses a model
// cache of its own with one LibTorch thread, so scoring competes little
// with serving.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/project.h"
#include "data/workspace.h"
#include "label/labeling.h"
#include "ml/inference.h"
#include "registry/models.h"

namespace fsml {

// The version of a model of `project` that suggestions and retraining start
// from: the one aliased "staging", else "production" (of the project's most
// recently updated model that has either); nullopt when there is none.
Result<std::optional<ModelVersion>> SuggestionModel(MetaStore& meta, const Project& project);

struct ScorerOptions {
  std::chrono::milliseconds interval{2000};  // between background passes
  size_t batch = 256;                        // items per forward pass and per transaction
};

class SuggestionScorer {
 public:
  SuggestionScorer(Workspace& ws, ScorerOptions options = {});
  ~SuggestionScorer();  // Stop()s
  SuggestionScorer(const SuggestionScorer&) = delete;
  SuggestionScorer& operator=(const SuggestionScorer&) = delete;

  // Starts a background thread that runs ScoreAll() every `interval`.
  // Its errors are logged and kept as the project's last_error; they never
  // end the thread. No effect when already started.
  void Start();
  // Stops the background thread and waits for it; a pass in progress ends
  // after its current batch. Idempotent. Until the next Start(), passes
  // (also direct calls) score nothing.
  void Stop();
  // Asks the background thread for a pass now (after a retrain or import)
  // instead of at the end of its interval.
  void Wake();

  // Scores every open task of `project` whose suggestion is not from the
  // project's current suggestion model, in batches of `batch`, each batch's
  // updates in one MetaStore transaction. Returns the number of tasks given
  // a suggestion (0 for a text project or one without a staging or
  // production model). Errors: the model cannot be resolved or loaded, or
  // the MetaStore or BlobStore fails; tasks scored by earlier batches keep
  // their suggestions.
  Result<size_t> ScoreProject(const Project& project);
  // ScoreProject for every image project. An error in one project does not
  // stop the others; the first error is returned after all were tried.
  Result<size_t> ScoreAll();

  // For GET /api/v1/projects/{p}/suggestions:
  //   {"model": "name/N" or null, "scored": n, "open": n, "running": bool,
  //    "last_error": "..."}
  // model: the current suggestion model; scored: open tasks with a
  // suggestion from it; open: open tasks; running: a pass over this project
  // is in progress; last_error: the error of the last pass over the project,
  // "" after a pass that succeeded.
  nlohmann::json Status(const Project& project);

 private:
  struct ProjectState {
    bool running = false;
    std::string last_error;
  };
  void Loop();
  bool stopping() const;
  void SetRunning(int64_t project_id, bool running);
  void SetResult(const Project& project, const ::fsml::Status& status);
  // Scores one batch of tasks: inference, then one transaction. Returns how
  // many tasks got a suggestion.
  Result<size_t> ScoreBatch(const Project& project, LoadedModel& model, const std::vector<std::string>& items);

  Workspace& ws_;
  ScorerOptions options_;
  LabelingService labeling_;  // makes tasks for new items (SyncTasks)
  ModelCache cache_{1};
  std::mutex pass_mu_;  // one pass at a time

  mutable std::mutex mu_;
  std::condition_variable cv_;                  // the background thread waits here
  bool stop_ = false;                           // GUARDED_BY(mu_)
  bool wake_ = false;                           // GUARDED_BY(mu_)
  std::map<int64_t, ProjectState> projects_;    // GUARDED_BY(mu_)
  std::string list_error_;                      // GUARDED_BY(mu_): the last ListProjects error, logged once
  std::thread thread_;
};

}  // namespace fsml
