#include "data/workspace.h"

#include <cstdlib>

#include "core/log.h"

namespace fsml {

Result<std::unique_ptr<Workspace>> Workspace::Init(const fs::path& dir, const std::map<std::string, std::string>& config) {
  std::error_code ec;
  if (fs::exists(dir / kConfigFileName, ec))
    return Err(AlreadyExists(fs::absolute(dir).string() + " is already an fsml workspace"));
  FSML_RETURN_IF_ERROR(MakeDirs(dir / ".fsml"));
  FSML_RETURN_IF_ERROR(WriteFileAtomic(dir / ".fsml" / ".gitignore", "*\n"));
  FSML_RETURN_IF_ERROR(WriteFileAtomic(dir / kConfigFileName, Config::DefaultToml(config)));
  auto ws = Open(dir);
  // Remote stores open without a request; one look-up now shows a missing
  // bucket, refused credentials or an unreachable server at init rather
  // than at the first import.
  if (ws) {
    const Status first_seen = Aborted("listing probe: stop at the first object");
    Status probe = (*ws)->blobs().ForEach([&](std::string_view, uint64_t) { return first_seen; });
    if (!probe.ok() && !(probe.code() == first_seen.code() && probe.message() == first_seen.message()))
      ws = Err(probe);
  }
  // A store that cannot be opened (a server down, a typo in a URL) leaves no
  // workspace behind, so the same init can simply be run again.
  if (!ws) fs::remove(dir / kConfigFileName, ec);
  return ws;
}

Result<std::unique_ptr<Workspace>> Workspace::Open(const fs::path& root) {
  auto ws = std::unique_ptr<Workspace>(new Workspace());
  std::error_code ec;
  ws->root_ = fs::canonical(root, ec);
  if (ec) return Err(NotFound("workspace " + root.string() + ": " + ec.message()));
  FSML_ASSIGN_OR_RETURN(ws->config_, Config::Load((ws->root_ / kConfigFileName).string()));
  if (!log::SetLevel(ws->config_.Get("log.level")))
    return Err(InvalidArgument("log.level '" + ws->config_.Get("log.level") + "' (from " +
                               ws->config_.Origin("log.level") + ") is not debug, info, warn or error"));
  log::Debug("workspace {}: store.meta={} store.blobs={}", ws->root_.string(), ws->config_.Get("store.meta"),
             ws->config_.Get("store.blobs"));
  FSML_ASSIGN_OR_RETURN(Stores stores, OpenStores(ws->config_, ws->root_));
  ws->meta_ = std::move(stores.meta);
  ws->blobs_ = std::move(stores.blobs);
  return ws;
}

Result<Workspace::Stores> Workspace::OpenStores(const Config& config, const fs::path& base_dir) {
  Stores out;
  FSML_ASSIGN_OR_RETURN(out.meta, OpenMetaStore(config.Get("store.meta"), base_dir.string()));
  FSML_ASSIGN_OR_RETURN(int64_t small_bytes, config.GetInt("store.small_object_bytes"));
  if (small_bytes < 0)
    return Err(InvalidArgument("store.small_object_bytes '" + config.Get("store.small_object_bytes") +
                               "' is not a whole number"));
  BlobStoreOptions options;
  options.small_object_bytes = static_cast<uint64_t>(small_bytes);
  options.s3_access_key_id = config.Get("store.s3_access_key_id");
  options.s3_secret_access_key = config.Get("store.s3_secret_access_key");
  options.s3_session_token = config.Get("store.s3_session_token");
  FSML_ASSIGN_OR_RETURN(out.blobs, OpenBlobStore(config.Get("store.blobs"), base_dir.string(), options));
  return out;
}

Result<fs::path> Workspace::Locate(const std::optional<fs::path>& explicit_root) {
  std::error_code ec;
  if (explicit_root) {
    if (!fs::exists(*explicit_root / kConfigFileName, ec))
      return Err(NotFound(explicit_root->string() + " is not an fsml workspace (no fsml.toml)"));
    return *explicit_root;
  }
  if (const char* env = std::getenv("FSML_WORKSPACE"); env && *env) {
    if (!fs::exists(fs::path(env) / kConfigFileName, ec))
      return Err(NotFound(std::string("FSML_WORKSPACE=") + env + " is not an fsml workspace (no fsml.toml)"));
    return fs::path(env);
  }
  fs::path dir = fs::current_path(ec);
  while (!dir.empty()) {
    if (fs::exists(dir / kConfigFileName, ec)) return dir;
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return Err(NotFound("not in an fsml workspace (no fsml.toml here or above); run 'fsml init' or pass --workspace"));
}

std::string Workspace::user() const {
  const std::string& configured = config_.Get("user.name");
  return configured.empty() ? CurrentUser() : configured;
}

}  // namespace fsml
