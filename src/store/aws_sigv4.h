// AWS Signature Version 4 for S3 requests signed in the Authorization header.
//
// Pure functions of their arguments (no clock, no environment, no I/O), so
// each step can be checked against AWS's published examples:
//   canonical request -> string to sign -> signing key -> signature
//   -> Authorization header value.
// Reference: "Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk (AWS Signature Version 4)".
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fsml::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
// The SHA-256 hex of zero bytes: the payload hash of a request with no body.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using Key = std::array<uint8_t, 32>;

struct Header {
  std::string name;   // any case; signed lower-cased
  std::string value;  // signed trimmed, runs of spaces folded to one
};

// One request as it is signed. `path` and `query` are NOT encoded: the
// signer encodes them by AWS's rules, and the caller sends the same encoded
// forms (CanonicalUri, CanonicalQueryString) on the wire.
struct Request {
  std::string method;                                      // "GET", "PUT", ...
  std::string path;                                        // "/bucket/key", '/' separated
  std::vector<std::pair<std::string, std::string>> query;  // any order; "" for a bare name
  std::vector<Header> headers;                             // every header here is signed
  std::string payload_sha256;                              // hex, or "UNSIGNED-PAYLOAD"
};

// AWS's URI encoding: A-Z a-z 0-9 - . _ ~ kept, every other byte %XX with
// upper-case hex; '/' kept when `keep_slash` (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);
// The path with each segment encoded and the slashes kept; "" becomes "/".
std::string CanonicalUri(std::string_view path);
// Names and values encoded, sorted by name then value, joined "a=1&b=".
std::string CanonicalQueryString(std::span<const std::pair<std::string, std::string>> query);

struct CanonicalHeaderList {
  std::string canonical;  // "host:example.com\nx-amz-date:...\n"
  std::string signed_names;  // "host;x-amz-date"
};
// Lower-cased names, sorted; values of repeated names joined with ','.
CanonicalHeaderList CanonicalHeaders(std::span<const Header> headers);

// METHOD \n URI \n QUERY \n HEADERS \n SIGNED-NAMES \n PAYLOAD-HASH
std::string CanonicalRequest(const Request& request);

// "20130524/us-east-1/s3/aws4_request"; `date` is YYYYMMDD.
std::string CredentialScope(std::string_view date, std::string_view region, std::string_view service);
// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical request>"
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

Key HmacSha256(std::string_view key, std::string_view data);
// HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
Key SigningKey(std::string_view secret_access_key, std::string_view date, std::string_view region,
               std::string_view service);
// Hex HMAC-SHA256 of the string to sign under the signing key.
std::string Signature(const Key& signing_key, std::string_view string_to_sign);

// "AWS4-HMAC-SHA256 Credential=<id>/<scope>,SignedHeaders=<names>,Signature=<hex>"
std::string AuthorizationHeader(std::string_view access_key_id, std::string_view scope,
                                std::string_view signed_names, std::string_view signature);

// Every step above for one request. `amz_date` is "YYYYMMDDTHHMMSSZ" and must
// be the request's x-amz-date header value.
std::string Authorization(const Request& request, std::string_view access_key_id,
                          std::string_view secret_access_key, std::string_view amz_date,
                          std::string_view region, std::string_view service);

// "20130524T000000Z" for the UTC time `t`.
std::string AmzDate(std::chrono::system_clock::time_point t);

}  // namespace fsml::sigv4
