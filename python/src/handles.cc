#include "handles.h"

#include <utility>

#include "core/parallel.h"
#include "core/sha256.h"

namespace fsml::python {

// ---- WorkspaceHandle ------------------------------------------------------

Result<std::shared_ptr<WorkspaceHandle>> WorkspaceHandle::Open(const std::optional<fs::path>& root) {
  FSML_ASSIGN_OR_RETURN(fs::path found, Workspace::Locate(root));
  FSML_ASSIGN_OR_RETURN(std::unique_ptr<Workspace> ws, Workspace::Open(found));
  auto handle = std::make_shared<WorkspaceHandle>();
  handle->root_ = ws->root();
  handle->ws_ = std::move(ws);
  return handle;
}

std::shared_ptr<Workspace> WorkspaceHandle::Get() const {
  std::lock_guard lock(mu_);
  return ws_;
}

bool WorkspaceHandle::closed() const {
  std::lock_guard lock(mu_);
  return ws_ == nullptr;
}

Status WorkspaceHandle::ClosedError() const {
  return FailedPrecondition("workspace " + root_.string() +
                            " is closed; open it again with fsml.open_workspace() to read from it");
}

void WorkspaceHandle::Close() {
  std::shared_ptr<Workspace> ws;
  std::vector<std::shared_ptr<BatchStream>> streams;
  {
    std::lock_guard lock(mu_);
    ws = std::move(ws_);
    ws_ = nullptr;
    for (auto& weak : streams_)
      if (auto s = weak.lock()) streams.push_back(std::move(s));
    streams_.clear();
  }
  for (auto& s : streams) s->Shutdown();
  // The stores close here, or when the last call that took them returns.
}

void WorkspaceHandle::Track(const std::shared_ptr<BatchStream>& stream) {
  {
    std::lock_guard lock(mu_);
    if (ws_) {
      std::erase_if(streams_, [](const std::weak_ptr<BatchStream>& w) { return w.expired(); });
      streams_.push_back(stream);
      return;
    }
  }
  stream->Shutdown();  // closed while the stream was being made
}

// ---- DatasetView ----------------------------------------------------------

Result<DatasetView> DatasetView::Open(std::shared_ptr<WorkspaceHandle> handle, std::string_view ref) {
  FSML_ASSIGN_OR_RETURN(VersionRef r, ParseVersionRef(ref));
  std::shared_ptr<Workspace> ws = handle->Get();
  if (!ws) return Err(handle->ClosedError());
  DatasetView view;
  FSML_ASSIGN_OR_RETURN(view.project_, GetProject(ws->meta(), r.project));
  FSML_ASSIGN_OR_RETURN(view.version_, ResolveVersion(ws->meta(), view.project_, r.ref));
  FSML_ASSIGN_OR_RETURN(Manifest m, LoadManifest(ws->blobs(), view.version_));
  auto rows = std::make_shared<std::vector<uint32_t>>(m.rows.size());
  for (uint32_t i = 0; i < rows->size(); ++i) (*rows)[i] = i;
  view.rows_ = std::move(rows);
  view.manifest_ = std::make_shared<const Manifest>(std::move(m));
  view.handle_ = std::move(handle);
  return view;
}

std::string DatasetView::ref() const {
  std::string r = project_.name + "@v" + std::to_string(version_.number);
  if (split_) r += " (" + std::string(SplitName(*split_)) + ")";
  return r;
}

DatasetView DatasetView::OnlySplit(fsml::Split s) const {
  DatasetView view = *this;
  view.split_ = s;
  auto rows = std::make_shared<std::vector<uint32_t>>();
  for (uint32_t i = 0; i < manifest_->rows.size(); ++i)
    if (manifest_->rows[i].split == s) rows->push_back(i);
  view.rows_ = std::move(rows);
  return view;
}

ItemRecord DatasetView::Meta(size_t i) const {
  FSML_DCHECK(i < rows_->size());  // the bindings check the index first
  const ManifestRow& row = manifest_->rows[(*rows_)[i]];
  ItemRecord r;
  r.id = ToHex(row.item);
  r.label = manifest_->labels[row.label];
  r.split = row.split;
  return r;
}

Result<std::vector<ItemRecord>> DatasetView::Read(size_t begin, size_t end, int threads) const {
  FSML_DCHECK(begin <= end && end <= rows_->size());  // the bindings clamp the range
  std::shared_ptr<Workspace> ws = handle_->Get();
  if (!ws) return Err(handle_->ClosedError());
  std::vector<ItemRecord> out(end - begin);
  for (size_t i = begin; i < end; ++i) out[i - begin] = Meta(i);
  FSML_RETURN_IF_ERROR(ParallelFor(out.size(), 8, std::max(threads, 1), [&](size_t b, size_t e) -> Status {
    for (size_t i = b; i < e; ++i) {
      auto bytes = ws->blobs().Get(out[i].id, /*verify=*/true);
      if (!bytes) return bytes.error().WithContext("item " + out[i].id + " of " + ref());
      out[i].content = std::move(*bytes);
    }
    return Status::Ok();
  }));
  return out;
}

Manifest DatasetView::AsManifest() const {
  Manifest m;
  m.labels = manifest_->labels;
  m.rows.reserve(rows_->size());
  for (uint32_t i : *rows_) m.rows.push_back(manifest_->rows[i]);
  return m;
}

ManifestDiff DatasetView::DiffTo(const DatasetView& other) const {
  return DiffManifests(AsManifest(), other.AsManifest());
}

Status DatasetView::NeedsSplit(std::string_view what) const {
  if (split_) return Status::Ok();
  return FailedPrecondition(std::string(what) + " reads one split, and " + ref() +
                            " is a whole version: pick one first, e.g. .split(\"train\")");
}

Result<ChannelStats> DatasetView::Stats(LoaderOptions options) const {
  FSML_RETURN_IF_ERROR(NeedsSplit("channel_stats()"));
  std::shared_ptr<Workspace> ws = handle_->Get();
  if (!ws) return Err(handle_->ClosedError());
  return ComputeChannelStats(*ws, project_, version_, *split_, std::move(options));
}

Result<std::shared_ptr<BatchStream>> DatasetView::MakeStream(const LoaderOptions& options) const {
  FSML_RETURN_IF_ERROR(NeedsSplit("a loader"));
  std::shared_ptr<Workspace> ws = handle_->Get();
  if (!ws) return Err(handle_->ClosedError());
  FSML_ASSIGN_OR_RETURN(std::unique_ptr<Loader> loader, Loader::Open(*ws, project_, version_, *split_, options));
  auto stream = std::make_shared<BatchStream>(std::move(ws), std::move(loader), ref());
  handle_->Track(stream);
  return stream;
}

// ---- BatchStream ----------------------------------------------------------

BatchStream::BatchStream(std::shared_ptr<Workspace> ws, std::unique_ptr<Loader> loader, std::string ref)
    : ref_(std::move(ref)), ws_(std::move(ws)), loader_(std::move(loader)) {
  size_ = loader_->size();
  num_batches_ = loader_->num_batches();
  labels_ = loader_->labels();
  channels_ = loader_->channels();
  height_ = loader_->height();
  width_ = loader_->width();
  item_ids_.reserve(size_);
  for (size_t i = 0; i < size_; ++i) item_ids_.push_back(loader_->ItemId(static_cast<uint32_t>(i)));
}

BatchStream::~BatchStream() { Shutdown(); }

Status BatchStream::OwnedBy(std::thread::id me, const char* what) const {
  if (shut_down_) return FailedPrecondition("the loader over " + ref_ + " is closed (its workspace was closed)");
  if (owner_ && *owner_ != me)
    return FailedPrecondition(std::string(what) + ": the loader over " + ref_ +
                              " is being iterated by another thread; a loader serves one thread at a time "
                              "(make one loader per thread)");
  return Status::Ok();
}

Result<uint64_t> BatchStream::StartEpoch(int epoch) {
  const std::thread::id me = std::this_thread::get_id();
  {
    // Refuse at once, without waiting for the owner's Next() to return.
    std::lock_guard state(state_mu_);
    FSML_RETURN_IF_ERROR(OwnedBy(me, "iter()"));
  }
  std::lock_guard lock(loader_mu_);
  uint64_t generation;
  {
    std::lock_guard state(state_mu_);
    FSML_RETURN_IF_ERROR(OwnedBy(me, "iter()"));  // another thread may have started one meanwhile
    owner_ = me;
    generation = ++generation_;
  }
  loader_->StartEpoch(epoch);
  return generation;
}

Result<std::optional<Batch>> BatchStream::Next(uint64_t generation) {
  const std::thread::id me = std::this_thread::get_id();
  auto check = [&]() -> Status {
    FSML_RETURN_IF_ERROR(OwnedBy(me, "next()"));
    if (generation != generation_)
      return FailedPrecondition("this iteration of the loader over " + ref_ +
                                " was replaced by a newer one (iter() was called on the loader again)");
    return Status::Ok();
  };
  {
    std::lock_guard state(state_mu_);
    FSML_RETURN_IF_ERROR(check());
    if (!owner_) return std::optional<Batch>();  // ended or stopped
  }
  std::lock_guard lock(loader_mu_);
  {
    std::lock_guard state(state_mu_);
    FSML_RETURN_IF_ERROR(check());  // Stop() or Shutdown() may have run meanwhile
    if (!owner_) return std::optional<Batch>();
  }
  Result<std::optional<Batch>> batch = loader_->Next();
  if (!batch) loader_->Stop();  // the other workers stop too; the error is the caller's
  if (!batch || !*batch) {
    std::lock_guard state(state_mu_);
    owner_.reset();
  }
  return batch;
}

void BatchStream::Stop(std::optional<uint64_t> generation) {
  std::lock_guard lock(loader_mu_);
  {
    std::lock_guard state(state_mu_);
    if (generation && *generation != generation_) return;
    owner_.reset();
  }
  if (loader_) loader_->Stop();
}

void BatchStream::Shutdown() {
  std::lock_guard lock(loader_mu_);
  {
    std::lock_guard state(state_mu_);
    shut_down_ = true;
    owner_.reset();
  }
  loader_.reset();  // joins the workers
  ws_.reset();
}

bool BatchStream::shut_down() const {
  std::lock_guard state(state_mu_);
  return shut_down_;
}

}  // namespace fsml::python
