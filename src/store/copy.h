// Copying a workspace's stores to other backends (`fsml store copy`): every
// object, then every metadata row with its ids, then a verification that the
// two sides hold the same.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/blob_store.h"
#include "store/meta_store.h"

namespace fsml {

struct TableCopy {
  std::string table;
  int64_t rows = 0;
  std::string digest;  // SHA-256 over the sorted SHA-256s of the rows' values
};

struct StoreCopyReport {
  int64_t objects = 0;          // objects in the source
  int64_t objects_copied = 0;   // of those, not yet in the target
  uint64_t bytes_copied = 0;
  std::vector<TableCopy> tables;
  double seconds = 0;
};

// Copies `from_blobs` into `to_blobs` (objects already there are skipped) and
// then every row of every schema table from `from_meta` into `to_meta`, in
// one transaction, keeping ids. The target metadata must hold no rows (a
// fresh database: Conflict otherwise), so a failed copy can simply be run
// again after emptying it. Then verifies: each table's row count and digest
// match, and every source object is in the target with its size. Progress
// goes to stderr unless Progress is disabled.
Result<StoreCopyReport> CopyStores(MetaStore& from_meta, BlobStore& from_blobs, MetaStore& to_meta,
                                   BlobStore& to_blobs);

// The digest of one table (see TableCopy), the same on every backend for
// the same rows.
Result<TableCopy> DigestTable(MetaStore& meta, const std::string& table);

}  // namespace fsml
