// A workspace: a folder holding fsml.toml (like a git repository) and the
// stores its configuration names (by default under .fsml/).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/fs.h"
#include "store/blob_store.h"
#include "store/meta_store.h"

namespace fsml {

inline constexpr const char* kConfigFileName = "fsml.toml";

class Workspace {
 public:
  // Creates fsml.toml (defaults, with `config`'s dotted keys set) and .fsml/
  // in `dir` (made if missing) and opens it. AlreadyExists when `dir` already
  // holds a workspace; when the stores cannot be opened, fsml.toml is removed.
  static Result<std::unique_ptr<Workspace>> Init(const fs::path& dir,
                                                 const std::map<std::string, std::string>& config = {});
  // The metadata and object stores `config` names ([store] keys), relative
  // paths resolved against `base_dir`.
  struct Stores {
    std::unique_ptr<MetaStore> meta;
    std::unique_ptr<BlobStore> blobs;
  };
  static Result<Stores> OpenStores(const Config& config, const fs::path& base_dir);
  // Opens the workspace whose root is `root`.
  static Result<std::unique_ptr<Workspace>> Open(const fs::path& root);
  // The root to use: `explicit_root` if given, else $FSML_WORKSPACE, else the
  // nearest folder at or above the current one holding fsml.toml.
  static Result<fs::path> Locate(const std::optional<fs::path>& explicit_root);

  const fs::path& root() const { return root_; }
  const Config& config() const { return config_; }
  MetaStore& meta() { return *meta_; }
  BlobStore& blobs() { return *blobs_; }
  // The author recorded on annotations and versions.
  std::string user() const;

 private:
  Workspace() = default;
  fs::path root_;
  Config config_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<BlobStore> blobs_;
};

}  // namespace fsml
