// Training, as the rest of fsml sees it. No LibTorch here: the trainer lives
// in a module (libfsml_ml.so) that LoadMlModule() opens on first use, so
// commands that train nothing never pay LibTorch's ~0.8 s start-up.
#pragma once

#include <cstdint>
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

class MlModule {
 public:
  virtual ~MlModule() = default;
  // Trains `version` of `project` (or resumes options.resume_run).
  virtual Result<TrainResult> Train(Workspace& ws, const Project& project, const DatasetVersion& version,
                                    const TrainOptions& options) = 0;
  // {"blas": "...", "threads": N, "torch": "1.13.1"}
  virtual nlohmann::json Runtime() = 0;
};

// Opens libfsml_ml.so: $FSML_ML_MODULE, else next to the executable, else
// ../lib/fsml/ from it. The module stays loaded for the process's life.
Result<MlModule*> LoadMlModule();

// The models the zoo knows, for messages and help: "mlp, cnn-small, resnet".
const std::vector<std::string>& ModelNames();

}  // namespace fsml
