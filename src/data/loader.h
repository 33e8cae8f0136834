// Loader: streams one split of a dataset version as batches of decoded,
// transformed images (float32, NCHW) with their label indexes.
//
// - Deterministic for a seed: the epoch's order is a seeded shuffle and every
//   random transform is seeded by (seed, epoch, row), so batches are the same
//   whatever the thread count or timing.
// - Parallel: `threads` workers each build whole batches (read object,
//   decode, resize, augment, normalize); up to `prefetch` batches wait ready.
// - Optional cache of decoded pixels (uint8, after resize): later epochs skip
//   the object store and the decoder.
//
// Thread safety: one consumer thread calls StartEpoch()/Next(); the loader's
// own workers are internal. Image projects only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/manifest.h"
#include "data/project.h"
#include "data/versions.h"
#include "data/workspace.h"

namespace fsml {

struct Augmentation {
  int crop_padding = 0;         // random crop of the original size after zero padding by this many pixels
  bool horizontal_flip = false; // flip with probability 0.5
  float erase_probability = 0;  // random erasing (Zhong et al.): a rectangle of 2-33% of the area set to 0
  bool any() const { return crop_padding > 0 || horizontal_flip || erase_probability > 0; }
};
// "crop,flip,erase" (any subset; "crop" pads by 4, "crop=2" sets it; "erase" uses 0.5).
Result<Augmentation> ParseAugmentation(std::string_view text);

struct LoaderOptions {
  size_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  int threads = 0;          // 0: all cores
  size_t prefetch = 8;      // batches built ahead of the consumer
  bool cache = true;        // keep decoded pixels after the first epoch
  // Output geometry; 0 takes the first item's. Images are converted to this
  // many channels (1 or 3) and resized (bilinear) to height x width.
  int channels = 0;
  int height = 0;
  int width = 0;
  // Per-channel normalization after scaling to [0, 1]: (x - mean) / std.
  // Empty: no normalization.
  std::vector<float> mean;
  std::vector<float> std;
  Augmentation augment;
  // Only these rows of the split (indexes into it, e.g. one cross-validation
  // fold); empty = all. Loader rows are then positions in this list.
  std::vector<uint32_t> subset;
};

struct Batch {
  size_t size = 0;
  int channels = 0, height = 0, width = 0;
  std::vector<float> pixels;    // size * channels * height * width, NCHW
  std::vector<int64_t> labels;  // label indexes into Loader::labels()
  std::vector<uint32_t> rows;   // which rows of the split (for item ids)
};

class Loader {
 public:
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Reads the version's manifest and keeps the rows of `split`.
  // InvalidArgument for a text project, NotFound-like FailedPrecondition for
  // an empty split, errors from the first image that does not decode.
  static Result<std::unique_ptr<Loader>> Open(Workspace& ws, const Project& project, const DatasetVersion& version,
                                              Split split, const LoaderOptions& options);

  size_t size() const;         // items in the split
  size_t num_batches() const;  // per epoch
  const std::vector<std::string>& labels() const;
  std::string ItemId(uint32_t row) const;
  int64_t LabelIndex(uint32_t row) const;  // into labels()
  int channels() const;
  int height() const;
  int width() const;

  // Begins epoch `epoch` (0, 1, ...): a fresh order and fresh augmentations.
  void StartEpoch(int epoch);
  // The next batch of the epoch, or nullopt after the last one. An error from
  // a worker (an object that is missing or does not decode) is returned here.
  Result<std::optional<Batch>> Next();
  // Ends the current epoch early: stops and joins the workers; Next() then
  // returns nullopt until the next StartEpoch(). The decoded cache is kept.
  void Stop();

 private:
  struct Impl;
  explicit Loader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes one image and turns it into model input exactly as the loader does
// (no augmentation): converted to `channels`, resized (bilinear) to
// height x width, scaled to [0, 1], normalized; CHW float. The image's own
// channels must fit the model: 1 (or gray + alpha) for a grayscale model,
// 3 (or RGBA) for a color one. InvalidArgument naming `name` for an image
// that does not decode or has the wrong channel count.
Result<std::vector<float>> PreprocessImage(std::string_view bytes, std::string_view name, int channels, int height,
                                           int width, const std::vector<float>& mean, const std::vector<float>& std);

// Per-channel mean and standard deviation of `split` of a version (pixels
// scaled to [0, 1], no augmentation), for normalization.
struct ChannelStats {
  std::vector<float> mean;
  std::vector<float> std;
};
Result<ChannelStats> ComputeChannelStats(Workspace& ws, const Project& project, const DatasetVersion& version,
                                         Split split, LoaderOptions options);

}  // namespace fsml
