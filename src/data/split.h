// Deterministic train/validation/test splits.
//
// An item's split is a pure function of its id, the project's salt and the
// project's ratios, unless the source fixes it (Fashion-MNIST's official test
// set). It is computed once, when the item enters the project, and stored, so
// an item keeps its split in every version as the data grows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fsml {

enum class Split : uint8_t { kTrain = 0, kVal = 1, kTest = 2 };

std::string_view SplitName(Split s);  // "train", "val", "test"
// Accepts train, val, validation, valid, test.
Result<Split> ParseSplit(std::string_view name);

struct SplitRatios {
  int train_permille = 800;
  int val_permille = 100;
  int test_permille = 100;
};
// "80,10,10" (percent) -> ratios; they must add up to 100.
Result<SplitRatios> ParseSplitRatios(std::string_view text);

// What a source says about an item's split.
enum class SourceSplit {
  kNone,       // decide by the hash rule over train/val/test
  kTrainPool,  // a benchmark's training set: train, or val carved out by the hash rule
  kTrain,      // exactly this split (an export being re-imported)
  kVal,
  kTest,
};

// The hash rule: bucket = first 8 bytes of SHA-256(salt ":" item_id) mod 1000.
Split AssignSplit(std::string_view item_id_hex, std::string_view salt, const SplitRatios& ratios,
                  SourceSplit source = SourceSplit::kNone);

}  // namespace fsml
