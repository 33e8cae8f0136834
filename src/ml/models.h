// The model zoo (LibTorch). Each model has a stable name and a spec (JSON:
// architecture, its hyperparameters, input geometry, class count) that
// rebuilds it exactly. Internal to the training module.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/status.h"

namespace fsml::ml {

// A classifier: images (N, C, H, W) -> logits (N, classes).
class Net : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

// Fills the defaults of `model`'s parameters and rejects unknown keys or
// bad values: the result is what the run records.
//   mlp:       {"hidden": [256, 128, 100], "dropout": 0.1}
//   cnn-small: {"channels": [32, 64], "hidden": 24, "dropout": 0.1}
//   resnet:    {"width": 16, "blocks": [2, 2, 2, 2]}   (ResNet-18 layout at width 64)
Result<nlohmann::json> ResolveModelParams(const std::string& model, const nlohmann::json& params);

// spec: {"model", "params", "input": {"channels", "height", "width"}, "classes"}
Result<std::shared_ptr<Net>> BuildModel(const nlohmann::json& spec);

uint64_t CountParameters(Net& net);

// Whether a LibTorch error message reports a failed allocation.
bool IsOutOfMemory(const std::string& what);

}  // namespace fsml::ml
