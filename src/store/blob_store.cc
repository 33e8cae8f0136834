#include "store/blob_store.h"

#include "store/local_blob_store.h"
#include "store/s3_blob_store.h"

namespace fsml {

Result<std::unique_ptr<BlobStore>> OpenBlobStore(std::string_view url, const std::string& base_dir,
                                                 const BlobStoreOptions& options) {
  if (url.starts_with("file://")) return OpenLocalBlobStore(url, base_dir, options.small_object_bytes);
  if (url.starts_with("s3://")) {
    S3Credentials configured{options.s3_access_key_id, options.s3_secret_access_key, options.s3_session_token};
    bool given = !configured.access_key_id.empty() || !configured.secret_access_key.empty();
    return OpenS3BlobStore(url, given ? &configured : nullptr);
  }
  return Err(InvalidArgument("store.blobs '" + std::string(url) +
                             "': unsupported URL (expected file://PATH or s3://BUCKET[/PREFIX])"));
}

Result<std::unique_ptr<BlobStore>> OpenBlobStore(std::string_view url, const std::string& base_dir,
                                                 uint64_t small_object_bytes) {
  BlobStoreOptions options;
  options.small_object_bytes = small_object_bytes;
  return OpenBlobStore(url, base_dir, options);
}

}  // namespace fsml
