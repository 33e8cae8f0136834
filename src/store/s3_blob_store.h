// The S3 BlobStore and the small S3 REST client under it.
//
// The store keeps object KEY (the SHA-256 hex of its bytes) at
//   PREFIX/objects/<KEY[0:2]>/<KEY>
// in one bucket of any S3-compatible server, signed with AWS Signature V4
// (store/aws_sigv4.h) and sent with libcurl.
//
// URL: s3://BUCKET[/PREFIX][?key=value&...] with the keys
//   endpoint=URL       scheme://host[:port]; default https://s3.REGION.amazonaws.com
//   region=NAME        default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1
//   style=path|virtual bucket in the path or in the host name; default virtual
//                      for the AWS endpoint (path for a bucket with dots), path
//                      when an endpoint is given
//   profile=NAME       the credentials file section (see OpenS3BlobStore)
//   multipart_mb=N     objects over N MiB go up in parts (default 64, at least 5)
//   timeout_s=N        a transfer that moves no byte for N seconds is retried (default 60)
//
// Secrets (the secret access key, the session token) never appear in a
// message, a log line or Describe().
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/blob_store.h"

namespace fsml {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

// Opens the store `url` names. Credentials come from the first of:
//   `configured` when non-null and not empty (a half-filled one is an error);
//   $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY (and $AWS_SESSION_TOKEN);
//   the file $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, section
//   profile= from the URL, else $AWS_PROFILE, else "default".
// Errors: InvalidArgument for a malformed URL (naming the part at fault),
// FailedPrecondition when no credentials are found (naming where it looked).
// Opening sends no request; a missing bucket or a refused key shows on first use.
Result<std::unique_ptr<BlobStore>> OpenS3BlobStore(std::string_view url, const S3Credentials* configured);

// What tests may change that a URL cannot.
struct S3StoreOptionsForTest {
  int list_page_size = 1000;  // max-keys of each ListObjectsV2 page
};
Result<std::unique_ptr<BlobStore>> OpenS3BlobStoreForTest(std::string_view url,
                                                          const S3Credentials* configured,
                                                          const S3StoreOptionsForTest& options);

struct S3ClientOptions {
  std::string endpoint;  // "http://127.0.0.1:4566": scheme, host, optional port, no path
  std::string region = "us-east-1";
  bool virtual_hosted = false;  // BUCKET.host/KEY instead of host/BUCKET/KEY
  S3Credentials credentials;
  std::chrono::seconds connect_timeout{10};
  // A transfer that moves less than one byte a second for this long is
  // aborted (and retried): a stalled server, not a large object.
  std::chrono::seconds low_speed_timeout{60};
  // Retries of connection errors, timeouts, 429, 500, 502, 503, 504 and
  // SlowDown/InternalError bodies: exponential backoff with jitter.
  int max_attempts = 6;
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{5000};
};

// Bytes to upload: a memory range, or a range of an open file read with
// pread (so a retry sends it again from its start). The memory or the file
// must outlive the call that sends it.
struct S3Body {
  std::string_view bytes;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t size = 0;  // of the file range

  static S3Body Memory(std::string_view bytes) { return S3Body{bytes, -1, 0, bytes.size()}; }
  static S3Body FileRange(int fd, uint64_t offset, uint64_t size) { return S3Body{{}, fd, offset, size}; }
};

// Hashes of a body, computed by the caller that already read it.
struct S3BodyDigests {
  std::string sha256_hex;            // signed as x-amz-content-sha256
  std::array<uint8_t, 16> md5{};     // sent as Content-MD5; the ETag is checked against it
};
S3BodyDigests DigestsOf(std::string_view bytes);

struct S3Object {
  std::string bytes;
  std::string etag;          // without quotes
  bool etag_is_md5 = false;  // a single-part object without SSE-KMS/SSE-C: ETag = hex MD5
};

struct S3ObjectInfo {
  uint64_t size = 0;
  std::string etag;
};

struct S3ListEntry {
  std::string key;
  uint64_t size = 0;
};

struct S3ListPage {
  std::vector<S3ListEntry> entries;
  std::string next_continuation_token;  // empty on the last page
};

struct S3Part {
  int number = 0;    // 1..10000
  std::string etag;  // as UploadPart returned it
};

// A client of the S3 REST API for one endpoint and one set of credentials.
// Keep-alive connections are reused across calls (a pool of curl handles).
// Every method retries what is worth retrying (see S3ClientOptions) and then
// fails with Unavailable. Other errors: NotFound for a missing bucket (naming
// it), Unauthenticated for 403 (naming endpoint and bucket), InvalidArgument
// for requests S3 rejects, Corruption when S3's ETag is not the MD5 of the
// bytes sent; S3's <Code> and <Message> are in the message.
//
// Thread safety: every method may be called from any thread.
class S3Client {
 public:
  static Result<std::unique_ptr<S3Client>> Create(S3ClientOptions options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const std::string& endpoint() const;

  // Creates the bucket; OK when this account already owns it.
  Status CreateBucket(std::string_view bucket);

  // Single PUT. Returns the ETag; Corruption when it is not the MD5 of the bytes.
  Result<std::string> PutObject(std::string_view bucket, std::string_view key, std::string_view bytes);
  Result<std::string> PutObject(std::string_view bucket, std::string_view key, const S3Body& body,
                                const S3BodyDigests& digests);
  // nullopt when there is no such key.
  Result<std::optional<S3Object>> GetObject(std::string_view bucket, std::string_view key);
  Result<std::optional<S3ObjectInfo>> HeadObject(std::string_view bucket, std::string_view key);
  Status DeleteObject(std::string_view bucket, std::string_view key);
  // One page of keys under `prefix`; pass the previous page's token to go on.
  Result<S3ListPage> ListObjectsV2(std::string_view bucket, std::string_view prefix,
                                   std::string_view continuation_token, int max_keys = 1000);

  // Multipart upload: Create, UploadPart for parts 1..N (each but the last at
  // least 5 MiB), then Complete, or Abort to drop the parts.
  Result<std::string> CreateMultipartUpload(std::string_view bucket, std::string_view key);  // upload id
  Result<std::string> UploadPart(std::string_view bucket, std::string_view key, std::string_view upload_id,
                                 int part_number, const S3Body& body, const S3BodyDigests& digests);
  // Returns the object's ETag; Corruption when it is not S3's multipart
  // ETag of the parts' MD5s.
  Result<std::string> CompleteMultipartUpload(std::string_view bucket, std::string_view key,
                                              std::string_view upload_id, std::span<const S3Part> parts);
  Status AbortMultipartUpload(std::string_view bucket, std::string_view key, std::string_view upload_id);

 private:
  struct Impl;
  explicit S3Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fsml
