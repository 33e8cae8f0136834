// Training runs: what produced a model, recorded so it can be repeated and
// audited months later (dataset version, model spec, hyperparameters, seed,
// code version, host), with per-epoch metrics, checkpoints and the log.
//
// A run's status is running, finished, failed or interrupted. A process that
// dies leaves its run "running"; ReapDeadRuns() marks such runs interrupted
// (the process is gone from this host, or no heartbeat for 10 minutes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/project.h"
#include "store/meta_store.h"

namespace fsml {

struct EpochMetrics {
  int epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0;
  std::optional<double> val_loss, val_accuracy;
  double learning_rate = 0;
  double seconds = 0;
  double samples_per_second = 0;
  std::string checkpoint_key;
  std::optional<int64_t> checkpoint_bytes;  // unknown for runs recorded before schema 8
};

struct Run {
  int64_t id = 0;
  std::string project;
  int64_t version_number = 0;
  std::string model;
  nlohmann::json spec;    // architecture, input geometry, normalization, labels
  nlohmann::json params;  // training hyperparameters
  uint64_t seed = 0;
  std::string code_version, host;
  int64_t pid = 0;
  std::string status;
  std::string started_at, ended_at, heartbeat_at;
  std::string error;
  std::optional<int64_t> resumed_from;
  std::string checkpoint_key;
  std::optional<int64_t> checkpoint_epoch;
  std::optional<int64_t> best_epoch;
  std::string best_checkpoint_key;
  nlohmann::json test_metrics;  // null until evaluated
  std::string log;                   // empty from ListRuns
  std::optional<double> best_val_accuracy;  // the best epoch's
  double train_seconds = 0;          // the sum of the epochs' seconds
  std::vector<EpochMetrics> epochs;  // filled by GetRun
  // "NAME/N" of the model versions registered from this run (GetRun, ListRuns).
  std::vector<std::string> model_versions;
};

struct NewRun {
  int64_t project_id = 0;
  int64_t version_number = 0;
  std::string model;
  nlohmann::json spec, params;
  uint64_t seed = 0;
  std::string code_version;
};

Result<int64_t> CreateRun(MetaStore& meta, const NewRun& run);
// Records an epoch and, in the same transaction, the run's latest checkpoint
// (and best, when `is_best`), so the two never disagree after a crash.
Status RecordEpoch(MetaStore& meta, int64_t run_id, const EpochMetrics& m, bool is_best);
Status Heartbeat(MetaStore& meta, int64_t run_id);
Status AppendRunLog(MetaStore& meta, int64_t run_id, const std::string& line);
Status FinishRun(MetaStore& meta, int64_t run_id, const nlohmann::json& test_metrics);
// status: "failed" or "interrupted".
Status EndRun(MetaStore& meta, int64_t run_id, const std::string& status, const std::string& error);
// Takes over an interrupted or failed run for --resume: status back to
// running, this process's host and pid.
Status ReopenRun(MetaStore& meta, int64_t run_id);

Status ReapDeadRuns(MetaStore& meta);
Result<Run> GetRun(MetaStore& meta, int64_t run_id);
// Newest first; `project` empty = all projects.
Result<std::vector<Run>> ListRuns(MetaStore& meta, const std::string& project, size_t limit);

// A page of the run list, filtered, sorted and cut in SQL (indexes of schema
// 8), so a list of many thousands of runs answers in milliseconds.
struct RunQuery {
  std::string project;  // "" = all
  std::string model;    // architecture; "" = all
  std::string status;   // running, finished, failed, interrupted; "" = all
  // started_at, -started_at (default), accuracy, -accuracy (best val
  // accuracy; runs without one last), duration, -duration ("-": descending).
  std::string sort = "-started_at";
  int64_t limit = 50;   // 1 to 1000
  int64_t offset = 0;
};
struct RunPage {
  std::vector<Run> runs;  // without log and epochs
  int64_t total = 0;      // the runs matching the filters
};
// InvalidArgument naming the field for an unknown status or sort, or a limit
// or offset out of range.
Status ValidateRunQuery(const RunQuery& q);
Result<RunPage> ListRuns(MetaStore& meta, const RunQuery& q);

// Every field of the run, and its list columns: "version", "epochs_done",
// "epochs_planned", "best_val_accuracy", "test_accuracy", "seconds",
// "model_versions". `with_epochs` adds "epochs" and "log".
nlohmann::json RunToJson(const Run& r, bool with_epochs);

}  // namespace fsml
