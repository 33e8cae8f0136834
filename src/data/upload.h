// Files uploaded through the web app, staged for the importers.
//
// An upload is a set of (file name, bytes). Image projects take .png, .jpg
// and .jpeg files and .zip archives of them; text projects take .txt files
// (one item each), .jsonl files ({"text", "label"?, "split"?, ...} per line,
// as `fsml import --format jsonl`, without "image") and .zip archives of
// those. Staging validates everything first (every image decodes, every text
// is UTF-8, every label is the project's, every zip entry is safe), then
// writes the items under generated names (items/<n>.png) with a JSONL index
// that keeps each original name, sanitized, as the item's "file_name"
// metadata; the caller imports that index (ImportFormat::kJsonl) and deletes
// the folder. A name from the upload is never used as a path.
//
// Labels and splits from a zip's folders (the imagefolder layout, possibly
// inside one more wrapping folder): an entry's parent folder is its label
// when it names one of the project's labels (FolderNameToLabel: "%2F" is
// "/"), a train/val/validation/test folder (its parent, or the one above a
// label folder) its split. A zip with any entry in a label folder is a
// labeled zip, and then every entry in a folder must be in a label folder.
// Files at a zip's top level, in a zip without label folders, and uploaded
// bare are unlabeled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/fs.h"
#include "core/status.h"
#include "data/import.h"
#include "data/project.h"

namespace fsml {

struct UploadedFile {
  std::string filename;  // as the client sent it: for messages and metadata only
  std::string body;
};

struct UploadLimits {
  uint64_t max_files = 100000;             // uploaded files plus zip entries (folders and junk included)
  uint64_t max_total_bytes = 2ull << 30;   // uncompressed, all files together
  uint64_t max_entry_bytes = 64ull << 20;  // one file or zip entry, uncompressed
  // A zip's uncompressed bytes over its size; checked once a zip has
  // unpacked 1 MiB, so small archives of repetitive text pass.
  double max_ratio = 200;
};

struct StagedUpload {
  fs::path source;  // the JSONL index to import
  ImportFormat format = ImportFormat::kJsonl;
  uint64_t files = 0;  // items staged (records in the index)
};

// Stages `files` for `project` into `staging_dir` (an empty folder the
// caller owns and deletes, also on error). Reads every zip from memory and
// enforces `limits` on the bytes that actually come out of it, never on the
// sizes its headers claim.
//
// InvalidArgument, naming the file (and zip entry) for: no files or no items;
// an extension the project does not take (the message lists those it takes);
// an image that does not decode; text that is empty or not UTF-8; a .jsonl
// line that is not an object, lacks "text", names "image", or has an unknown
// label or split; a zip entry whose path is absolute or has a ".." component;
// a link, device or other non-file entry; an encrypted entry; a zip inside a
// zip; a corrupt, truncated or non-zip .zip; an unknown label folder in a
// labeled zip; anything over `limits`. Junk entries (__MACOSX/, .DS_Store,
// ._*) and folders are skipped. IoError when the staging folder cannot be
// written.
Result<StagedUpload> StageUpload(const std::vector<UploadedFile>& files, const Project& project,
                                 const fs::path& staging_dir, const UploadLimits& limits);

}  // namespace fsml
