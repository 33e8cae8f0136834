// Training, as the rest of fsml sees it. No LibTorch here: the trainer lives
// in a module (libfsml_ml.so) that LoadMlModule() opens on first use, so
// commands that train nothing never pay LibTorch's ~0.8 s start-up.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/project.h"
#include "data/versions.h"
#include "data/workspace.h"
#include "registry/runs.h"

namespace fsml {

// Hyperparameters. Unset ones (0, -1, "") take the model's documented
// recipe (docs/training.md); the run records the values actually used.
struct TrainOptions {
  std::string model = "cnn-small";          // mlp, cnn-small, resnet
  nlohmann::json model_params = nlohmann::json::object();  // e.g. {"width": 16, "blocks": 2}
  int epochs = 0;
  size_t batch_size = 0;
  double lr = 0;
  std::string optimizer;                    // sgd or adamw
  double weight_decay = -1;
  double momentum = -1;                     // sgd
  std::string schedule;                     // cosine, step, constant
  int warmup_epochs = -1;
  double label_smoothing = -1;
  int patience = -1;                        // early stopping on val accuracy; 0 = off
  std::optional<uint64_t> seed;             // default 0
  int threads = 0;                          // 0 = all cores
  std::string augment = "-";                // "-" = recipe; "" = none; "crop,flip,erase"
  bool evaluate_test = false;               // evaluate the best epoch on the test split
  std::optional<int64_t> resume_run;        // continue this run from its last checkpoint
  bool quiet = false;
  // Called on the training's thread once the run row exists (created, or
  // reopened by a resume), before the first epoch; the web API answers with
  // the run id then. Must not throw.
  std::function<void(int64_t run_id)> on_run_created;
};

struct TrainResult {
  int64_t run_id = 0;
  std::string model;
  uint64_t parameters = 0;
  std::vector<EpochMetrics> epochs;  // of this process (after a resume: the new ones)
  std::optional<int64_t> best_epoch;
  nlohmann::json test_metrics;       // {"accuracy", "loss", "items"} or null
  double seconds = 0;
  bool stopped_early = false;
};

// Inference with one model: the code path `fsml predict`, `fsml eval` and
// serving share. Thread-safe: Predict may run on several threads at once
// (the network is in eval mode and never changes).
class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  // pixels: n images, NCHW float, preprocessed as the spec says
  // (PreprocessImage or the Loader). Returns n * classes probabilities.
  virtual Result<std::vector<float>> Predict(const float* pixels, size_t n) = 0;
};

// Out-of-sample predicted probabilities for every item of a split, by k-fold
// cross-validation: k fresh models of the same architecture and recipe, each
// trained on the other folds (stratified by label) and predicting its own.
struct CrossValOptions {
  int folds = 5;
  int epochs = 0;       // 0: the recipe's epochs, at most 5 (enough to rank label errors, short of memorizing them)
  int threads = 0;
  bool quiet = false;
};
struct CrossValResult {
  std::vector<std::string> labels;
  std::vector<std::string> items;  // hex ids, split order
  std::vector<int64_t> given;      // label indexes
  std::vector<float> probs;        // items * labels
  int folds = 0, epochs = 0;
  double seconds = 0;
};

class MlModule {
 public:
  virtual ~MlModule() = default;
  // Trains `version` of `project` (or resumes options.resume_run).
  virtual Result<TrainResult> Train(Workspace& ws, const Project& project, const DatasetVersion& version,
                                    const TrainOptions& options) = 0;
  // The weights of a checkpoint (a run's epoch) as safetensors, named as the
  // network's parameters and buffers ("conv1.weight", "bn1.running_mean").
  virtual Result<std::string> WeightsFromCheckpoint(const nlohmann::json& spec, std::string_view checkpoint,
                                                    std::string_view name) = 0;
  // Builds the network `spec` describes and loads `weights` into it; every
  // tensor must be present with its shape (Corruption otherwise). LibTorch
  // runs on `threads` threads (0: all cores).
  virtual Result<std::unique_ptr<ModelRunner>> LoadRunner(const nlohmann::json& spec, std::string_view weights,
                                                          int threads) = 0;
  // spec: the model's spec (architecture, input, normalization, labels);
  // params: the training hyperparameters of the run that made it.
  virtual Result<CrossValResult> CrossValidate(Workspace& ws, const Project& project, const DatasetVersion& version,
                                               Split split, const nlohmann::json& spec, const nlohmann::json& params,
                                               const CrossValOptions& options) = 0;
  // {"blas": "...", "threads": N, "torch": "1.13.1"}
  virtual nlohmann::json Runtime() = 0;
};

// Opens libfsml_ml.so: $FSML_ML_MODULE, else next to the executable, else
// ../lib/fsml/ from it. The module stays loaded for the process's life.
Result<MlModule*> LoadMlModule();

// The models the zoo knows, for messages and help: "mlp, cnn-small, resnet".
const std::vector<std::string>& ModelNames();

}  // namespace fsml
