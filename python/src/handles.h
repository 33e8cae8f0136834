// What the Python package's Workspace, Dataset and Loader stand on, without
// Python: a workspace that can be closed while datasets and loaders made from
// it live on, read-only views of a dataset version (or one split of it), and
// a stream of loader batches that one thread at a time may iterate.
//
// module.cc binds these to Python; tests/unit/python checks them in C++
// (with the sanitizers).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "data/loader.h"
#include "data/manifest.h"
#include "data/project.h"
#include "data/versions.h"
#include "data/workspace.h"

namespace fsml::python {

class BatchStream;

// An open workspace that its user may close at any time.
//
// Datasets and loaders hold the handle, and take the Workspace from Get() for
// the length of one call; after Close() Get() returns null, so every later
// call fails, while a call already running keeps the stores alive until it
// returns. Thread safety: every method may be called from any thread.
class WorkspaceHandle {
 public:
  // Opens the workspace at `root` (must hold fsml.toml), or the one
  // Workspace::Locate finds ($FSML_WORKSPACE, then the current folder
  // upward) when `root` is empty.
  static Result<std::shared_ptr<WorkspaceHandle>> Open(const std::optional<fs::path>& root);

  // The workspace, or null once closed.
  std::shared_ptr<Workspace> Get() const;
  // Shuts every stream made from this workspace down (waiting for a Next()
  // in flight on another thread), then lets the stores go. Idempotent.
  void Close();
  bool closed() const;
  const fs::path& root() const { return root_; }
  // FailedPrecondition naming the workspace and the fix.
  Status ClosedError() const;

  // Streams to shut down at Close().
  void Track(const std::shared_ptr<BatchStream>& stream);

 private:
  fs::path root_;
  mutable std::mutex mu_;
  std::shared_ptr<Workspace> ws_;                    // GUARDED_BY(mu_); null once closed
  std::vector<std::weak_ptr<BatchStream>> streams_;  // GUARDED_BY(mu_)
};

// One row of a dataset, with or without its bytes.
struct ItemRecord {
  std::string id;  // SHA-256 hex of the bytes
  std::string label;
  Split split = Split::kTrain;
  std::string content;  // image bytes or UTF-8 text; empty unless read
};

// A dataset version, or one split of it: an immutable list of rows in item-id
// order. Copies are cheap (the manifest and row list are shared). Thread
// safety: const methods may be called from any thread.
class DatasetView {
 public:
  // `ref` is "NAME@vN", "NAME@TAG" or "NAME" (the latest version).
  static Result<DatasetView> Open(std::shared_ptr<WorkspaceHandle> handle, std::string_view ref);

  size_t size() const { return rows_->size(); }
  // "fashion@v2", or "fashion@v2 (train)" for a split.
  std::string ref() const;
  const Project& project() const { return project_; }
  const DatasetVersion& version() const { return version_; }
  std::optional<fsml::Split> split() const { return split_; }
  const std::vector<std::string>& labels() const { return manifest_->labels; }
  const std::shared_ptr<WorkspaceHandle>& handle() const { return handle_; }

  // The rows of one split (of the whole version, whatever this view holds).
  DatasetView OnlySplit(fsml::Split s) const;
  // Row i's id, label and split, without its bytes. REQUIRES: i < size().
  ItemRecord Meta(size_t i) const;
  // Rows [begin, end) with their bytes, read on up to `threads` threads
  // (each checked against its hash). REQUIRES: begin <= end <= size().
  Result<std::vector<ItemRecord>> Read(size_t begin, size_t end, int threads) const;
  // What changed from this view to `other`: a merge of the two sorted row
  // lists (labels compare by name).
  ManifestDiff DiffTo(const DatasetView& other) const;
  // Per-channel mean and std of this view's split (pixels in [0, 1]).
  // FailedPrecondition when the view is a whole version (pick a split).
  Result<ChannelStats> Stats(LoaderOptions options) const;
  // A loader over this view's split. FailedPrecondition when the view is a
  // whole version; the Loader's own errors otherwise.
  Result<std::shared_ptr<BatchStream>> MakeStream(const LoaderOptions& options) const;

 private:
  DatasetView() = default;
  // The rows of this view as a manifest of their own (for DiffManifests).
  Manifest AsManifest() const;
  Status NeedsSplit(std::string_view what) const;

  std::shared_ptr<WorkspaceHandle> handle_;
  Project project_;
  DatasetVersion version_;
  std::optional<fsml::Split> split_;
  std::shared_ptr<const Manifest> manifest_;
  std::shared_ptr<const std::vector<uint32_t>> rows_;  // indexes into manifest_->rows, increasing
};

// A Loader with an owner: the thread that starts an epoch iterates it alone
// until the epoch ends or is stopped.
//
// Thread safety: StartEpoch() and Next() fail with FailedPrecondition when
// another thread owns the current epoch; Stop() and Shutdown() may be called
// from any thread (they wait for a Next() in flight).
class BatchStream {
 public:
  BatchStream(std::shared_ptr<Workspace> ws, std::unique_ptr<Loader> loader, std::string ref);
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  // Starts epoch `epoch` for the calling thread, ending one it owned before.
  // Returns the epoch's generation, which Next() takes.
  Result<uint64_t> StartEpoch(int epoch);
  // The next batch of generation `generation`, or nullopt after its last
  // batch (the epoch then has no owner). A Loader error stops the epoch and
  // is returned. FailedPrecondition for another thread's epoch, a generation
  // a later StartEpoch() replaced, or after Shutdown().
  Result<std::optional<Batch>> Next(uint64_t generation);
  // Ends generation `generation` early (joins the workers) if it is still the
  // current one; ends whatever runs when `generation` is nullopt.
  void Stop(std::optional<uint64_t> generation = std::nullopt);
  // Stops and releases the Loader and the workspace for good.
  void Shutdown();
  bool shut_down() const;

  size_t size() const { return size_; }
  size_t num_batches() const { return num_batches_; }
  const std::vector<std::string>& labels() const { return labels_; }
  int channels() const { return channels_; }
  int height() const { return height_; }
  int width() const { return width_; }
  const std::string& ref() const { return ref_; }
  // The item id of a loader row (Batch::rows). REQUIRES: row < size().
  std::string ItemId(uint32_t row) const { return item_ids_[row]; }

 private:
  Status OwnedBy(std::thread::id me, const char* what) const;  // REQUIRES: state_mu_ held

  const std::string ref_;
  size_t size_ = 0, num_batches_ = 0;
  std::vector<std::string> labels_;
  std::vector<std::string> item_ids_;
  int channels_ = 0, height_ = 0, width_ = 0;

  mutable std::mutex state_mu_;
  std::optional<std::thread::id> owner_;  // GUARDED_BY(state_mu_)
  uint64_t generation_ = 0;               // GUARDED_BY(state_mu_)
  bool shut_down_ = false;                // GUARDED_BY(state_mu_)

  // Held for every call into loader_, so Stop() and Shutdown() wait for a
  // Next() in flight. Lock order: loader_mu_, then state_mu_.
  std::mutex loader_mu_;
  std::shared_ptr<Workspace> ws_;   // GUARDED_BY(loader_mu_); outlives loader_
  std::unique_ptr<Loader> loader_;  // GUARDED_BY(loader_mu_)
};

}  // namespace fsml::python
