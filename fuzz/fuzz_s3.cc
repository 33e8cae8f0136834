// Fuzzes the S3 BlobStore's parsers (store/s3_parsers.h): S3's XML answers,
// which come from a server, and the store URL, its endpoint and the AWS
// credentials file, which come from a user.
//
// The first byte picks the parser (its low three bits, so the seeds can start
// with an ASCII digit); the rest is the input:
//   0 error body   1 ListObjectsV2 page   2 CreateMultipartUpload answer
//   3 CompleteMultipartUpload answer   4 store URL   5 endpoint
//   6 credentials file: the first line names the section, the rest is the file
//   7 one body through all four XML parsers
//
// Invariants:
// - Failures are the documented code (Corruption for a list page,
//   InvalidArgument for a URL or an endpoint) and name the input.
// - A listed entry has a non-empty key.
// - A URL's bucket passes BucketNameProblem, its prefix has no empty, "." or
//   ".." segment, its options are known ones, and "s3://BUCKET/PREFIX" parses
//   back to the same bucket and prefix.
// - An endpoint is http or https with a lower-case host.
// - Credentials: key names are lower-case, keys and values are trimmed, and a
//   trailing newline changes nothing.
// - XML roots are exclusive: an <Error> is not a list page or an upload.
// - The text read from an XML body is at most 3 times its size (UTF-8 from
//   UTF-16 or a one-byte encoding): no entity expansion.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "store/s3_parsers.h"

namespace {

namespace s3 = fsml::s3_internal;
using fsml::fuzz::StartsWith;

constexpr std::string_view kWhat = "list s3://fuzz-bucket/p at http://127.0.0.1:9";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Whether `text_bytes` of text could come from `in` without entity expansion.
bool Unamplified(size_t text_bytes, std::string_view in) { return text_bytes <= 3 * in.size(); }

bool Trimmed(std::string_view s) { return s.empty() || (!IsSpace(s.front()) && !IsSpace(s.back())); }

void CheckListPage(std::string_view in) {
  auto page = s3::ParseListPage(in, kWhat);
  if (!page) {
    FSML_FUZZ_CHECK(page.error().code() == fsml::Code::kCorruption);
    FSML_FUZZ_CHECK(StartsWith(page.error().message(), std::string(kWhat) + ": "));
    return;
  }
  size_t text = page->next_continuation_token.size();
  for (const auto& e : page->entries) {
    FSML_FUZZ_CHECK(!e.key.empty());
    text += e.key.size();
  }
  FSML_FUZZ_CHECK(Unamplified(text, in));
}

void CheckEndpoint(const std::string& text) {
  auto e = s3::ParseEndpoint(text);
  if (!e) {
    FSML_FUZZ_CHECK(e.error().code() == fsml::Code::kInvalidArgument);
    FSML_FUZZ_CHECK(StartsWith(e.error().message(), "endpoint '" + text + "': "));
    return;
  }
  FSML_FUZZ_CHECK(e->scheme == "http" || e->scheme == "https");
  FSML_FUZZ_CHECK(!e->host_port.empty());
  FSML_FUZZ_CHECK(std::none_of(e->host_port.begin(), e->host_port.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
}

void CheckUrl(std::string_view in) {
  auto u = s3::ParseS3Url(in);
  if (!u) {
    FSML_FUZZ_CHECK(u.error().code() == fsml::Code::kInvalidArgument);
    FSML_FUZZ_CHECK(StartsWith(u.error().message(), "store.blobs '" + std::string(in) + "': "));
    return;
  }
  FSML_FUZZ_CHECK(s3::BucketNameProblem(u->bucket).empty());
  std::string_view prefix = u->prefix;
  if (!prefix.empty()) {
    FSML_FUZZ_CHECK(prefix.front() != '/' && prefix.back() != '/');
    FSML_FUZZ_CHECK(prefix.find("//") == std::string_view::npos);
    std::string slashed = "/" + u->prefix + "/";
    FSML_FUZZ_CHECK(slashed.find("/./") == std::string::npos && slashed.find("/../") == std::string::npos);
  }
  for (const auto& [name, value] : u->options) {
    FSML_FUZZ_CHECK(name == "endpoint" || name == "region" || name == "style" || name == "profile" ||
                    name == "multipart_mb" || name == "timeout_s");
    if (name == "endpoint") CheckEndpoint(value);
  }
  auto again = s3::ParseS3Url("s3://" + u->bucket + (prefix.empty() ? "" : "/" + u->prefix));
  FSML_FUZZ_CHECK(again && again->bucket == u->bucket && again->prefix == u->prefix && again->options.empty());
}

void CheckCredentials(std::string_view in) {
  size_t nl = in.find('\n');
  std::string_view section = in.substr(0, nl);
  std::string_view text = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto keys = s3::ParseIniSection(text, section);
  if (keys) {
    for (const auto& [k, v] : *keys) {
      FSML_FUZZ_CHECK(Trimmed(k) && Trimmed(v));
      FSML_FUZZ_CHECK(std::none_of(k.begin(), k.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
      FSML_FUZZ_CHECK(k.find('=') == std::string::npos && k.find('\n') == std::string::npos);
      FSML_FUZZ_CHECK(v.find('\n') == std::string::npos);
    }
  }
  auto again = s3::ParseIniSection(std::string(text) + "\n", section);
  FSML_FUZZ_CHECK(again == keys);
}

void CheckAllXml(std::string_view in) {
  auto error = s3::ParseErrorBody(in);
  auto page = s3::ParseListPage(in, kWhat);
  std::string upload = s3::ParseUploadId(in);
  s3::ParseCompleteEtag(in);
  if (error) FSML_FUZZ_CHECK(!page && upload.empty());
  if (page) FSML_FUZZ_CHECK(upload.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fsml::fuzz::AsView(data + 1, size - 1);
  switch (data[0] & 7) {
    case 0:
      if (auto e = s3::ParseErrorBody(in)) FSML_FUZZ_CHECK(Unamplified(e->code.size() + e->message.size(), in));
      break;
    case 1:
      CheckListPage(in);
      break;
    case 2:
      FSML_FUZZ_CHECK(Unamplified(s3::ParseUploadId(in).size(), in));
      break;
    case 3:
      FSML_FUZZ_CHECK(Unamplified(s3::ParseCompleteEtag(in).size(), in));
      break;
    case 4:
      CheckUrl(in);
      break;
    case 5:
      CheckEndpoint(std::string(in));
      break;
    case 6:
      CheckCredentials(in);
      break;
    default:
      CheckAllXml(in);
      break;
  }
  return 0;
}
