#include "store/blob_store.h"

#include "store/s3_blob_store.h"

namespace fsml {

Result<std::unique_ptr<BlobStore>> OpenBlobStore(std::string_view url, const std::string& base_dir,
                                                 const BlobStoreOptions& options) {
  if (url.starts_with("s3://")) {
    S3Credentials configured{options.s3_access_key_id, options.s3_secret_access_key, options.s3_session_token};
    bool given = !configured.access_key_id.empty() || !configured.secret_access_key.empty();
    return OpenS3BlobStore(url, given ? &configured : nullptr);
  }
  return OpenBlobStore(url, base_dir, options.small_object_bytes);
}

}  // namespace fsml
