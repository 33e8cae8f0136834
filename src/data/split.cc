#include "data/split.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "core/sha256.h"

namespace fsml {

std::string_view SplitName(Split s) {
  switch (s) {
    case Split::kTrain: return "train";
    case Split::kVal: return "val";
    case Split::kTest: return "test";
  }
  return "?";
}

Result<Split> ParseSplit(std::string_view name) {
  if (name == "train") return Split::kTrain;
  if (name == "val" || name == "validation" || name == "valid") return Split::kVal;
  if (name == "test") return Split::kTest;
  return Err(InvalidArgument("unknown split '" + std::string(name.substr(0, 40)) +
                             "' (expected train, val or test)"));
}

Result<SplitRatios> ParseSplitRatios(std::string_view text) {
  std::vector<int> parts;
  bool ok = true;
  for (size_t pos = 0; ok && pos <= text.size();) {
    size_t comma = std::min(text.find(',', pos), text.size());
    std::string_view part = text.substr(pos, comma - pos);
    int v = -1;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    ok = ec == std::errc() && end == part.data() + part.size() && v >= 0 && v <= 100;
    parts.push_back(v);
    pos = comma + 1;
  }
  if (!ok || parts.size() != 3 || parts[0] + parts[1] + parts[2] != 100) {
    return Err(InvalidArgument("split ratios '" + std::string(text.substr(0, 40)) +
                               "': expected three whole percentages for train,val,test that add up "
                               "to 100, e.g. 80,10,10"));
  }
  return SplitRatios{parts[0] * 10, parts[1] * 10, parts[2] * 10};
}

Split AssignSplit(std::string_view item_id_hex, std::string_view salt, const SplitRatios& r,
                  SourceSplit source) {
  if (source == SourceSplit::kTest) return Split::kTest;
  if (source == SourceSplit::kVal) return Split::kVal;
  if (source == SourceSplit::kTrain) return Split::kTrain;
  std::string input;
  input.reserve(salt.size() + 1 + item_id_hex.size());
  input.append(salt).append(":").append(item_id_hex);
  Digest d = Sha256(input);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | d[i];
  int bucket = static_cast<int>(v % 1000);
  if (source == SourceSplit::kTrainPool) {
    int pool = r.train_permille + r.val_permille;
    if (pool == 0) return Split::kTrain;
    // val with probability val / (train + val): bucket * pool < val * 1000.
    return bucket * pool < r.val_permille * 1000 ? Split::kVal : Split::kTrain;
  }
  if (bucket < r.train_permille) return Split::kTrain;
  if (bucket < r.train_permille + r.val_permille) return Split::kVal;
  return Split::kTest;
}

}  // namespace fsml
