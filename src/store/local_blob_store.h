// The local BlobStore (local_blob_store.cc). Internal to src/store: callers
// use OpenBlobStore with a file:// URL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/blob_store.h"

namespace fsml {

// REQUIRES: `url` starts with file://.
Result<std::unique_ptr<BlobStore>> OpenLocalBlobStore(std::string_view url, const std::string& base_dir,
                                                      uint64_t small_object_bytes);

}  // namespace fsml
