// BlobStore: immutable content-addressed objects, keyed by the SHA-256 hex of
// their bytes. Keys are always hashes, never user-supplied paths.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/fs.h"
#include "core/status.h"

namespace fsml {

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores `bytes`; returns their key. Durable when it returns.
  virtual Result<std::string> Put(std::string_view bytes) = 0;
  // Stores many objects with one durability barrier; returns their keys in
  // order. On error some may have been stored (objects are immutable and
  // unreferenced ones are harmless).
  virtual Result<std::vector<std::string>> PutMany(std::span<const std::string_view> blobs) = 0;
  // Streams a file in; returns its key.
  virtual Result<std::string> PutFile(const fs::path& path) = 0;

  // Returns the bytes. NotFound names the key; Corruption when `verify` and
  // the bytes do not hash to the key.
  virtual Result<std::string> Get(std::string_view key, bool verify = true) = 0;
  virtual Result<bool> Exists(std::string_view key) = 0;
  // Calls `fn(key, size)` for every object, in no particular order.
  virtual Status ForEach(const std::function<Status(std::string_view key, uint64_t size)>& fn) = 0;
  // A short description for messages: "file:///path/.fsml/objects".
  virtual std::string Describe() const = 0;
  // How much memory the store may keep as a client-side cache: the local
  // store's SQLite pack of small objects caches 64 MiB by default, which a
  // long-running writer of small objects (a crawl) does not need. S3: no
  // effect.
  virtual Status SetCacheBytes(int64_t bytes) = 0;
};

// What a store may need besides its URL: the local store's packing
// threshold, and S3 credentials from the workspace config (when empty, an S3
// store reads AWS_ACCESS_KEY_ID... and then ~/.aws/credentials).
struct BlobStoreOptions {
  uint64_t small_object_bytes = 128 * 1024;
  std::string s3_access_key_id;
  std::string s3_secret_access_key;  // never printed
  std::string s3_session_token;
};

// Opens the store a URL names:
//   file://PATH   a local store (PATH relative to `base_dir` unless absolute);
//                 objects up to `small_object_bytes` are packed in an SQLite
//                 database, larger ones are files sharded by key prefix;
//   s3://BUCKET[/PREFIX][?endpoint=URL&region=R&style=path|virtual...]
//                 an S3-compatible object store (s3_blob_store.h).
Result<std::unique_ptr<BlobStore>> OpenBlobStore(std::string_view url, const std::string& base_dir,
                                                 const BlobStoreOptions& options);
// The same with only the packing threshold (S3 credentials from the
// environment or the credentials file).
Result<std::unique_ptr<BlobStore>> OpenBlobStore(std::string_view url, const std::string& base_dir,
                                                 uint64_t small_object_bytes);

}  // namespace fsml
