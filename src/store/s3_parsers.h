// The parsers of what the S3 BlobStore reads from outside the program: S3's
// XML answers, the store URL and its endpoint, the AWS credentials file.
// Internal to src/store (s3_blob_store.cc defines them); declared here so
// that fuzz/fuzz_s3.cc and the unit tests can reach them.
//
// All are pure: no I/O, no state, any input bytes accepted. Thread-safe once
// libxml2 is initialized (S3Client::Create does it; libxml2 also does it on
// first use in a single-threaded program).
//
// "Not XML" below means: empty, over 1 GiB, not well-formed, or with a
// DOCTYPE (S3 sends none; its entities could make a small body read as a
// huge one). Any encoding libxml2 reads is accepted; text comes back UTF-8.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/s3_blob_store.h"

namespace fsml::s3_internal {

// ------------------------------------------------------------- S3 answers

struct S3ErrorBody {
  std::string code;     // <Code>; empty when absent
  std::string message;  // <Message>; empty when absent
};

// S3's <Error><Code>..</Code><Message>..</Message></Error>. nullopt when
// `body` is not XML or its root element is not <Error>.
std::optional<S3ErrorBody> ParseErrorBody(std::string_view body);

// A ListObjectsV2 answer: the <Contents> children of <ListBucketResult> in
// document order, and <NextContinuationToken> when <IsTruncated> is "true".
// Each entry has a non-empty key; any other key (not under the listed
// prefix, not an object's) is kept for the caller to judge.
// Errors, all Corruption with a message that starts with `what` and ": ":
// the body is not XML whose root is <ListBucketResult>; an entry has no
// <Key> text or no <Size> that is a decimal uint64; a truncated page has no
// NextContinuationToken.
Result<S3ListPage> ParseListPage(std::string_view body, std::string_view what);

// The <UploadId> of a CreateMultipartUpload answer; empty when `body` is not
// XML whose root is <InitiateMultipartUploadResult>, or it has no UploadId.
std::string ParseUploadId(std::string_view body);

// The <ETag> child of a CompleteMultipartUpload answer's root, whatever the
// root is called (CompleteMultipartUploadResult on S3, ...Response on moto),
// with surrounding whitespace and one pair of double quotes taken off; empty
// when `body` is not XML or its root has no ETag.
std::string ParseCompleteEtag(std::string_view body);

// --------------------------------------------------------- URL, endpoint

struct S3Url {
  std::string bucket;                          // valid: BucketNameProblem(bucket) is empty
  std::string prefix;                          // no leading or trailing '/', no empty, "." or ".." segment
  std::map<std::string, std::string> options;  // known names only, values percent-decoded
};

// Empty when `bucket` follows S3's bucket naming rules, else the rule it
// breaks, as a phrase ("it must be 3 to 63 characters long").
std::string BucketNameProblem(std::string_view bucket);

// s3://BUCKET[/PREFIX][?name=value&...], names from s3_blob_store.h.
// Errors, all InvalidArgument naming the URL ("store.blobs 'URL': ...") and
// what is wrong: another scheme, no bucket or a bucket name S3 refuses, a
// prefix with an empty, "." or ".." segment, a control character or a
// backslash, an unknown or repeated option. Option values are not checked.
Result<S3Url> ParseS3Url(std::string_view url);

struct Endpoint {
  std::string scheme;     // "http" or "https"
  std::string host_port;  // lower-case host, ":PORT" when given: "127.0.0.1:4566", "s3.us-east-1.amazonaws.com"
  std::string Url() const { return scheme + "://" + host_port; }
};

// An endpoint= value: http or https, a host, an optional port, nothing else
// (a path of "/" is allowed). Errors: InvalidArgument naming `text` and what
// is wrong (not a URL, another scheme, credentials, a path, a query or
// fragment, no host).
Result<Endpoint> ParseEndpoint(const std::string& text);

// ----------------------------------------------------- credentials file

// The keys of section `section` ("[NAME]" or "[profile NAME]") in the text
// of an AWS credentials file: key names lower-cased, keys and values
// trimmed; a later line wins over an earlier one, and a section given twice
// is merged. Blank lines, "#" and ";" comments, and lines without "=" are
// skipped. nullopt when no header names `section`.
std::optional<std::map<std::string, std::string>> ParseIniSection(std::string_view text, std::string_view section);

}  // namespace fsml::s3_internal
