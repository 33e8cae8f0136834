// Loading registered models and running them: the one inference path that
// `fsml predict`, `fsml eval` and serving share. No LibTorch here: the
// network runs in the ML module behind ModelRunner.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/project.h"
#include "data/versions.h"
#include "data/workspace.h"
#include "eval/metrics.h"
#include "ml/train.h"
#include "registry/evaluations.h"
#include "registry/models.h"

namespace fsml {

struct LoadedModel {
  ModelVersion version;
  nlohmann::json spec;
  std::vector<std::string> labels;
  std::unique_ptr<ModelRunner> runner;
  std::string ref() const { return version.name + "/" + std::to_string(version.number); }
};

// Resolves references and keeps loaded models by their weights' checksum, so
// an alias that moves loads the new version and one that does not is free.
// Thread-safe.
class ModelCache {
 public:
  explicit ModelCache(int threads = 0) : threads_(threads) {}
  Result<std::shared_ptr<LoadedModel>> Get(Workspace& ws, const ModelRef& ref);

 private:
  int threads_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<LoadedModel>> by_weights_;  // GUARDED_BY(mu_)
};

// Probabilities for images given as (name, bytes): each preprocessed as the
// model's spec says (PreprocessImage), run in one batch. Errors name the
// image that is bad.
Result<std::vector<float>> PredictImages(LoadedModel& model,
                                         const std::vector<std::pair<std::string, std::string>>& images);

// The (label, probability) pairs of one row, best first, at most k.
std::vector<std::pair<std::string, double>> TopK(const LoadedModel& model, const float* probs, size_t k);

// Maps a dataset's label indexes onto the model's: FailedPrecondition listing
// both label sets when they differ (order may differ).
Result<std::vector<int64_t>> LabelMapping(const std::vector<std::string>& model_labels,
                                          const std::vector<std::string>& data_labels, const std::string& model_ref,
                                          const std::string& data_ref);

// Two evaluations' predictions paired by item, as `fsml eval compare` and
// the web's comparison count them: b's labels are mapped onto a's by name
// (LabelMapping), and an item is right when its arg-max prediction is its
// truth. `fixed` (a wrong, b right) and `broken` (a right, b wrong) hold
// (row in a, row in b) in a's row order. FailedPrecondition naming
// `a_name` and `b_name` when the label sets differ or no item is in both.
struct PairedPredictions {
  std::vector<int64_t> b_to_a;  // b's label indexes as a's
  uint64_t paired = 0, both_right = 0, both_wrong = 0;
  std::vector<std::pair<size_t, size_t>> fixed, broken;
};
Result<PairedPredictions> PairPredictions(const Predictions& a, const Predictions& b, const std::string& a_name,
                                          const std::string& b_name);

// Registers a run's checkpoint as the next version of model `name` (the
// run's project when empty): epoch `epoch`'s checkpoint, or with epoch 0 the
// best validation epoch's (else the latest). FailedPrecondition while the
// run is running or when it has no checkpoint; NotFound for an epoch
// without one. What `fsml models register` and retraining share.
struct RegisterRunRequest {
  int64_t run_id = 0;
  int64_t epoch = 0;
  std::string name, description, user;
};
Result<ModelVersion> RegisterRunCheckpoint(Workspace& ws, const RegisterRunRequest& r);

struct SplitEvaluation {
  Predictions predictions;
  eval::Metrics metrics;
  double seconds = 0;
};
// Runs the model over every item of `split` (in split order) and computes
// the metrics, with progress on stderr.
Result<SplitEvaluation> EvaluateSplit(Workspace& ws, LoadedModel& model, const Project& project,
                                      const DatasetVersion& version, Split split, int threads);

// Suspected label errors of `split` (what `fsml eval --find-label-issues`
// and the web's evaluations store): out-of-sample probabilities by k-fold
// cross-validation of `model`'s architecture with its run's recipe, then
// eval::FindLabelIssues. `list` is [{"item", "given", "suggested", "score"}],
// most likely first.
struct LabelIssueSearch {
  nlohmann::json list = nlohmann::json::array();
  int folds = 0, epochs = 0;
  double seconds = 0;
};
Result<LabelIssueSearch> FindSplitLabelIssues(Workspace& ws, const LoadedModel& model, const Project& project,
                                              const DatasetVersion& version, Split split, const CrossValOptions& options);

// Stores `result` (EvaluateSplit's, of `model` on `split` of `version`) as an
// evaluation by `user` with `label_issues` (null when not computed), and
// returns its id. What `fsml eval`, the web API and the quickstart share.
Result<int64_t> StoreEvaluation(Workspace& ws, const LoadedModel& model, const Project& project, const DatasetVersion& version,
                                Split split, const SplitEvaluation& result, const std::string& user,
                                nlohmann::json label_issues = nullptr);

}  // namespace fsml
