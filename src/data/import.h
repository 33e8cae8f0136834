// Importing items (and their labels) into a project.
//
// An import is all or nothing: every record is read and validated first
// (format, image decode, UTF-8, label in the project's set, duplicates), then
// objects are written to the BlobStore, then one MetaStore transaction adds
// items, splits and annotations. An error or a kill at any point leaves the
// project exactly as before (objects already stored are immutable and
// unreferenced); running the same import again finishes it. Re-importing
// items that are present with the same label changes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "core/status.h"
#include "data/project.h"
#include "data/workspace.h"

namespace fsml {

enum class ImportFormat { kFashionMnist, kIdx, kImageFolder, kJsonl, kCsv };
Result<ImportFormat> ParseImportFormat(std::string_view name);
std::string_view ImportFormatName(ImportFormat f);

// Where Debian's dataset-fashion-mnist package installs the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// The ten Fashion-MNIST class names, in label-index order.
const std::vector<std::string>& FashionMnistLabels();

struct ImportOptions {
  ImportFormat format = ImportFormat::kJsonl;
  std::vector<std::string> label_names;  // idx: names for label values 0..n-1
  bool skip_duplicates = false;          // drop repeated items instead of failing
  int threads = 0;                       // 0 = all cores
};

struct ImportSummary {
  uint64_t records = 0;     // records read from the source
  uint64_t added = 0;       // items new to the project
  uint64_t present = 0;     // already in the project with the same label
  uint64_t relabeled = 0;   // already in the project, given a new label
  uint64_t duplicates = 0;  // repeated within the source and skipped
  uint64_t labels_added = 0;  // annotations written
  std::map<std::string, uint64_t> added_per_split;
  int64_t import_id = 0;    // 0 when nothing changed
  double seconds = 0;
};

// Imports `source` (a file or folder, per format) into `project`.
Result<ImportSummary> ImportItems(Workspace& ws, const Project& project, const fs::path& source,
                                  const ImportOptions& options);

// One unlabeled item from memory (a production input sent back for
// labeling): checked and hashed like an imported record (an image that
// decodes, or UTF-8 text, per the project's task type), stored in the
// BlobStore, then added in one transaction with an import row whose source
// is `source` and format `format`, and `meta` as the item's metadata.
// Items are their content: bytes the project already has change nothing
// (`added` false). InvalidArgument for bytes the project cannot take.
struct AddedItem {
  std::string item_id;
  bool added = false;
};
Result<AddedItem> AddItemBytes(Workspace& ws, const Project& project, std::string_view bytes, const std::string& source,
                               const std::string& format, const nlohmann::json& meta);

}  // namespace fsml
