// Dataset versions: immutable, numbered snapshots of a project's labeled
// items (`fashion@v3`), with tags (`fashion@gold`), diffs and exports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "core/status.h"
#include "data/manifest.h"
#include "data/project.h"
#include "data/workspace.h"

namespace fsml {

struct DatasetVersion {
  int64_t number = 0;
  std::optional<int64_t> parent;
  std::string manifest_key;
  std::string message;
  std::string author;
  std::string created_at;
  uint64_t item_count = 0;
  nlohmann::json stats;  // {"splits": {...}, "labels": {label: {split: n}}}
  std::vector<std::string> tags;
};

// "NAME@vN", "NAME@TAG" or "NAME" (the latest version).
struct VersionRef {
  std::string project;
  std::string ref;  // "" = latest
};
Result<VersionRef> ParseVersionRef(std::string_view text);

struct CommitOptions {
  std::string message;
  std::string author;
  bool allow_empty = false;  // commit even when nothing changed since the parent
};

// Snapshots every labeled item of the project as the next version. Fails
// with FailedPrecondition when there is nothing labeled, or nothing changed
// since the latest version (unless allow_empty). Atomic: a crash leaves no
// version or the whole version.
Result<DatasetVersion> CommitVersion(Workspace& ws, const Project& project, const CommitOptions& opt);
// Newest first.
Result<std::vector<DatasetVersion>> ListVersions(MetaStore& meta, const Project& project);
// NotFound names the ref and what exists.
Result<DatasetVersion> ResolveVersion(MetaStore& meta, const Project& project, std::string_view ref);
Result<Manifest> LoadManifest(BlobStore& blobs, const DatasetVersion& v);
// Tags are immutable names for versions: AlreadyExists if `tag` names another
// version (unless `force`). Tag names follow label-name rules and may not look
// like "vN" or be "latest".
Status TagVersion(MetaStore& meta, const Project& project, int64_t number, const std::string& tag,
                  const std::string& author, bool force);

nlohmann::json VersionToJson(const Project& p, const DatasetVersion& v);
// {"added", "removed", "relabeled", "unchanged" (counts), "samples": {"added":
// [{"id", "label", "split"}], "removed": [...], "relabeled": [{"id", "from",
// "to"}]}} with up to `limit` samples of each.
nlohmann::json DiffToJson(const Manifest& a, const Manifest& b, const ManifestDiff& d, size_t limit);

enum class ExportFormat { kImageFolder, kJsonl };
Result<ExportFormat> ParseExportFormat(std::string_view name);

struct ExportSummary {
  uint64_t items = 0;
  uint64_t bytes = 0;
};

// Writes a version to `dir`, which must not exist or be empty. Written to a
// temporary sibling folder and renamed at the end: `dir` appears complete or
// not at all.
//   imagefolder: dir/<split>/<label>/<item id>.<png|jpg>   (images only)
//   jsonl:       dir/data.jsonl, one {"id", "label", "split", "text"|"image"}
//                per item, images under dir/items/<item id>.<ext>
// Both also write dir/version.json (project, version, task, labels, counts).
// Re-importing an export gives the same items, labels and splits.
Result<ExportSummary> ExportVersion(Workspace& ws, const Project& project, const DatasetVersion& v,
                                    const fs::path& dir, ExportFormat format);

}  // namespace fsml
