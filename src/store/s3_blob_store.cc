// S3Client (libcurl + SigV4, XML via libxml2) and the S3 BlobStore on it.
//
// Every request goes through S3Client::Impl::Perform, which signs it afresh
// for each attempt, sends the body from its start, and retries transient
// failures with exponential backoff and jitter. Callers map the final
// response to a Status with ErrorFor().
#include "store/s3_blob_store.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "core/fs.h"
#include "core/log.h"
#include "core/parallel.h"
#include "core/sha256.h"
#include "core/text.h"
#include "store/aws_sigv4.h"
#include "store/s3_parsers.h"

namespace fsml {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kDefaultMultipartBytes = 64 * kMiB;
constexpr uint64_t kMinPartBytes = 8 * kMiB;
constexpr uint64_t kMaxParts = 10000;
constexpr int kPutManyTransfers = 16;  // objects in flight at once in PutMany
constexpr int kPartTransfers = 4;      // parts in flight at once for one in-memory object
constexpr size_t kMaxIdleHandles = 64;

std::string HexOf(const uint8_t* p, size_t n) { return HexEncode(p, n); }

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }  // REQUIRES: lower-case hex

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

template <typename Int>
bool ParseInt(std::string_view s, Int* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// ---------------------------------------------------------------- MD5, Base64

using Md5Digest = std::array<uint8_t, 16>;

class Md5Hasher {
 public:
  Md5Hasher() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~Md5Hasher() { EVP_MD_CTX_free(ctx_); }
  Md5Hasher(const Md5Hasher&) = delete;
  Md5Hasher& operator=(const Md5Hasher&) = delete;
  void Update(std::string_view b) { EVP_DigestUpdate(ctx_, b.data(), b.size()); }
  Md5Digest Finish() {
    Md5Digest d{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, d.data(), &len);
    return d;
  }

 private:
  EVP_MD_CTX* ctx_;
};

Md5Digest Md5(std::string_view b) {
  Md5Hasher h;
  h.Update(b);
  return h.Finish();
}

std::string Md5Hex(const Md5Digest& d) { return HexOf(d.data(), d.size()); }

std::string Base64(const uint8_t* p, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

// ------------------------------------------------------------------------ XML

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocFree>;

// Null for a body that is not XML, and for one with a DOCTYPE: S3 never
// sends one, and xmlNodeGetContent would expand its entities without limit
// (63 KB defining one entity and naming it 11,000 times reads as 330 MB).
XmlDoc ParseXml(std::string_view body) {
  if (body.empty() || body.size() > (size_t{1} << 30)) return nullptr;
  XmlDoc doc(xmlReadMemory(body.data(), static_cast<int>(body.size()), "s3-response.xml", nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (doc && (doc->intSubset || doc->extSubset)) return nullptr;
  return doc;
}

bool NameIs(const xmlNode* n, const char* name) {
  return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

std::string TextOf(const xmlNode* n) {
  if (!n) return {};
  xmlChar* c = xmlNodeGetContent(n);
  if (!c) return {};
  std::string out(reinterpret_cast<const char*>(c));
  xmlFree(c);
  return out;
}

const xmlNode* ChildNamed(const xmlNode* n, const char* name) {
  for (const xmlNode* c = n ? n->children : nullptr; c; c = c->next)
    if (NameIs(c, name)) return c;
  return nullptr;
}

std::string ChildText(const xmlNode* n, const char* name) { return TextOf(ChildNamed(n, name)); }

std::string Unquote(std::string_view etag) {
  etag = TrimSpace(etag);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

}  // namespace

// ------------------------------------------- parsers (store/s3_parsers.h)

namespace s3_internal {

std::optional<S3ErrorBody> ParseErrorBody(std::string_view body) {
  XmlDoc doc = ParseXml(body);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!NameIs(root, "Error")) return std::nullopt;
  return S3ErrorBody{ChildText(root, "Code"), ChildText(root, "Message")};
}

Result<S3ListPage> ParseListPage(std::string_view body, std::string_view what_view) {
  std::string what(what_view);
  XmlDoc doc = ParseXml(body);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!NameIs(root, "ListBucketResult"))
    return Err(Corruption(what + ": the answer is not a ListBucketResult document"));
  S3ListPage page;
  for (const xmlNode* c = root->children; c; c = c->next) {
    if (!NameIs(c, "Contents")) continue;
    S3ListEntry entry;
    entry.key = ChildText(c, "Key");
    if (entry.key.empty()) return Err(Corruption(what + ": an entry has no <Key>"));
    if (!ParseInt(ChildText(c, "Size"), &entry.size))
      return Err(Corruption(what + ": entry '" + entry.key + "' has no valid <Size>"));
    page.entries.push_back(std::move(entry));
  }
  if (ChildText(root, "IsTruncated") == "true") {
    page.next_continuation_token = ChildText(root, "NextContinuationToken");
    if (page.next_continuation_token.empty())
      return Err(Corruption(what + ": a truncated listing has no NextContinuationToken"));
  }
  return page;
}

std::string ParseUploadId(std::string_view body) {
  XmlDoc doc = ParseXml(body);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  return NameIs(root, "InitiateMultipartUploadResult") ? ChildText(root, "UploadId") : "";
}

std::string ParseCompleteEtag(std::string_view body) {
  XmlDoc doc = ParseXml(body);
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  return Unquote(ChildText(root, "ETag"));
}

Result<Endpoint> ParseEndpoint(const std::string& text) {
  auto bad = [&](std::string_view why) {
    return Err(InvalidArgument("endpoint '" + text + "': " + std::string(why) +
                               " (expected http://HOST[:PORT] or https://HOST[:PORT])"));
  };
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) return bad("not a URL");
  auto part = [&](CURLUPart what) -> std::optional<std::string> {
    char* p = nullptr;
    if (curl_url_get(u.get(), what, &p, 0) != CURLUE_OK || !p) return std::nullopt;
    std::string s(p);
    curl_free(p);
    return s;
  };
  Endpoint e;
  e.scheme = AsciiLower(part(CURLUPART_SCHEME).value_or(""));
  if (e.scheme != "http" && e.scheme != "https") return bad("the scheme is not http or https");
  if (part(CURLUPART_USER) || part(CURLUPART_PASSWORD)) return bad("credentials do not belong in the endpoint");
  std::string path = part(CURLUPART_PATH).value_or("/");
  if (path != "/" && !path.empty()) return bad("it has a path");
  if (part(CURLUPART_QUERY) || part(CURLUPART_FRAGMENT)) return bad("it has a query or fragment");
  std::optional<std::string> host = part(CURLUPART_HOST);
  if (!host || host->empty()) return bad("no host");
  e.host_port = AsciiLower(*host);
  if (auto port = part(CURLUPART_PORT)) e.host_port += ":" + *port;
  return e;
}

}  // namespace s3_internal

namespace {

using s3_internal::Endpoint;
using s3_internal::ParseCompleteEtag;
using s3_internal::ParseEndpoint;
using s3_internal::ParseErrorBody;
using s3_internal::ParseListPage;
using s3_internal::ParseUploadId;
using s3_internal::S3ErrorBody;

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------- HTTP layer

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();  // once, before threads use libxml2
  });
}

// What one call sends: it is signed and sent again, from the start of its
// body, on every attempt.
struct HttpRequest {
  const char* method = "GET";
  std::string_view bucket;
  std::string_view key;  // empty for bucket requests
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<sigv4::Header> headers;  // besides host, x-amz-date, x-amz-content-sha256
  S3Body body;
  std::string payload_sha256 = std::string(sigv4::kEmptyPayloadSha256);
  // CompleteMultipartUpload may answer 200 with an <Error> body.
  bool error_body_on_success = false;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  bool reserve_body = false;  // a GET: size `body` from Content-Length up front
  bool error_in_body = false;  // a 200 whose body was an <Error>; `status` is then 400

  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return {};
  }
  bool ok() const { return status >= 200 && status < 300; }
};

// Whether the ETag of a response is the MD5 of the object's bytes: not for
// multipart objects ("...-N") and not under SSE-KMS or SSE-C.
bool EtagIsMd5(const HttpResponse& r, std::string_view etag) {
  std::string sse = AsciiLower(r.Header("x-amz-server-side-encryption"));
  if (sse.rfind("aws:kms", 0) == 0) return false;
  if (!r.Header("x-amz-server-side-encryption-customer-algorithm").empty()) return false;
  return etag.size() == 32 && IsLowerHex(AsciiLower(etag));
}

struct BodyReader {
  const S3Body* body = nullptr;
  uint64_t pos = 0;
  int error = 0;  // errno of a failed pread; -1 when the file came up short

  uint64_t size() const { return body->fd >= 0 ? body->size : body->bytes.size(); }
};

size_t ReadBody(char* buf, size_t size, size_t n, void* p) {
  auto* r = static_cast<BodyReader*>(p);
  uint64_t left = r->size() - r->pos;
  size_t want = static_cast<size_t>(std::min<uint64_t>(left, uint64_t{size} * n));
  if (want == 0) return 0;
  if (r->body->fd < 0) {
    std::memcpy(buf, r->body->bytes.data() + r->pos, want);
    r->pos += want;
    return want;
  }
  ssize_t got;
  do {
    got = ::pread(r->body->fd, buf, want, static_cast<off_t>(r->body->offset + r->pos));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    r->error = got < 0 ? errno : -1;
    return CURL_READFUNC_ABORT;
  }
  r->pos += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

int SeekBody(void* p, curl_off_t offset, int origin) {
  auto* r = static_cast<BodyReader*>(p);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > r->size()) return CURL_SEEKFUNC_CANTSEEK;
  r->pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* data, size_t size, size_t n, void* p) {
  static_cast<HttpResponse*>(p)->body.append(data, size * n);
  return size * n;
}

size_t ReadHeader(char* data, size_t size, size_t n, void* p) {
  auto* r = static_cast<HttpResponse*>(p);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    r->headers.clear();  // a new response (after 100 Continue)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string name = AsciiLower(TrimSpace(line.substr(0, colon)));
    std::string value(TrimSpace(line.substr(colon + 1)));
    if (name == "content-length" && r->reserve_body) {
      uint64_t len = 0;
      if (ParseInt(value, &len) && len <= (uint64_t{5} << 30)) r->body.reserve(static_cast<size_t>(len));
    }
    r->headers.emplace_back(std::move(name), std::move(value));
  }
  return size * n;
}

bool RetriableCurlError(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

bool RetriableStatus(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool RetriableCode(std::string_view code) {
  return code == "SlowDown" || code == "InternalError" || code == "RequestTimeout" || code == "ServiceUnavailable";
}

}  // namespace

S3BodyDigests DigestsOf(std::string_view bytes) { return S3BodyDigests{Sha256Hex(bytes), Md5(bytes)}; }

// --------------------------------------------------------------------- Client

struct S3Client::Impl {
  S3ClientOptions options;
  Endpoint endpoint;
  std::string endpoint_url;

  std::mutex pool_mu;
  std::vector<CURL*> idle;  // GUARDED_BY(pool_mu): easy handles with live connections

  ~Impl() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }

  // A handle from the pool (keeping its keep-alive connections), or a new one.
  CURL* TakeHandle() {
    {
      std::lock_guard lock(pool_mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void GiveBack(CURL* h) {
    {
      std::lock_guard lock(pool_mu);
      if (idle.size() < kMaxIdleHandles) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }

  std::string ObjectUrl(std::string_view bucket, std::string_view key) const {
    std::string out = "s3://" + std::string(bucket);
    if (!key.empty()) out += "/" + std::string(key);
    return out;
  }
  std::string What(const HttpRequest& r) const {
    return std::string(r.method) + " " + ObjectUrl(r.bucket, r.key) + " at " + endpoint_url;
  }

  // Takes the secret and the token out of text that came from elsewhere.
  std::string Redact(std::string text) const {
    for (const std::string* secret : {&options.credentials.secret_access_key, &options.credentials.session_token}) {
      if (secret->size() < 4) continue;
      for (size_t at; (at = text.find(*secret)) != std::string::npos;) text.replace(at, secret->size(), "[redacted]");
    }
    return text;
  }

  std::chrono::milliseconds Backoff(int attempt) const {
    // "Equal jitter": uniform in [ceiling/2, ceiling], ceiling = min(cap, base * 2^(attempt-1)).
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    int64_t ceiling = options.backoff_base.count();
    for (int i = 1; i < attempt && ceiling < options.backoff_cap.count(); ++i) ceiling *= 2;
    ceiling = std::min<int64_t>(ceiling, options.backoff_cap.count());
    std::uniform_int_distribution<int64_t> dist(ceiling / 2, std::max<int64_t>(ceiling / 2, ceiling));
    return std::chrono::milliseconds(dist(rng));
  }

  struct Attempt {
    CURLcode curl = CURLE_OK;
    std::string curl_error;
    int read_error = 0;
    HttpResponse response;
  };

  Attempt SendOnce(CURL* h, const HttpRequest& req) const {
    bool virtual_hosted = options.virtual_hosted;
    std::string host = virtual_hosted ? std::string(req.bucket) + "." + endpoint.host_port : endpoint.host_port;
    std::string path = "/" + std::string(req.key);
    if (!virtual_hosted) path = "/" + std::string(req.bucket) + (req.key.empty() ? "" : path);
    std::string amz_date = sigv4::AmzDate(std::chrono::system_clock::now());

    sigv4::Request sreq;
    sreq.method = req.method;
    sreq.path = path;
    sreq.query = req.query;
    sreq.payload_sha256 = req.payload_sha256;
    sreq.headers = {{"host", host}, {"x-amz-content-sha256", req.payload_sha256}, {"x-amz-date", amz_date}};
    if (!options.credentials.session_token.empty())
      sreq.headers.push_back({"x-amz-security-token", options.credentials.session_token});
    for (const auto& hd : req.headers) sreq.headers.push_back(hd);
    std::string authorization = sigv4::Authorization(sreq, options.credentials.access_key_id,
                                                     options.credentials.secret_access_key, amz_date,
                                                     options.region, "s3");

    std::string url = endpoint.scheme + "://" + host + sigv4::CanonicalUri(path);
    std::string query = sigv4::CanonicalQueryString(req.query);
    if (!query.empty()) url += "?" + query;

    struct curl_slist* list = nullptr;
    for (const auto& hd : sreq.headers) list = curl_slist_append(list, (hd.name + ": " + hd.value).c_str());
    list = curl_slist_append(list, ("Authorization: " + authorization).c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
    list = curl_slist_append(list, "Accept:");
    list = curl_slist_append(list, "Content-Type:");

    Attempt a;
    a.response.reserve_body = req.method == std::string_view("GET");
    BodyReader reader{&req.body, 0, 0};
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_reset(h);  // keeps the connection cache
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count() * 1000));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.low_speed_timeout.count()));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a.response);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &ReadHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a.response);
    std::string_view method = req.method;
    if (method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(reader.size()));
      curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadBody);
      curl_easy_setopt(h, CURLOPT_READDATA, &reader);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &SeekBody);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &reader);
      if (method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method);
    }
    a.curl = curl_easy_perform(h);
    if (a.curl == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.response.status);
    } else {
      a.curl_error = errbuf[0] ? std::string(TrimSpace(errbuf)) : curl_easy_strerror(a.curl);
      a.read_error = reader.error;
    }
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(list);
    return a;
  }

  // Sends `req` until it gets an answer worth returning: any response but a
  // retriable one, or Unavailable once the attempts are spent.
  Result<HttpResponse> Perform(const HttpRequest& req) {
    std::string last;
    for (int attempt = 1; attempt <= options.max_attempts; ++attempt) {
      CURL* h = TakeHandle();
      if (!h) return Err(Internal("curl_easy_init failed"));
      Attempt a = SendOnce(h, req);
      GiveBack(h);
      if (a.curl == CURLE_ABORTED_BY_CALLBACK && req.body.fd >= 0) {
        if (a.read_error > 0) return Err(ErrnoError(What(req) + ": read the file being uploaded", a.read_error));
        return Err(Aborted(What(req) + ": the file being uploaded got shorter while it was sent"));
      }
      if (a.curl != CURLE_OK) {
        if (!RetriableCurlError(a.curl)) return Err(Unavailable(What(req) + ": " + a.curl_error));
        last = a.curl_error;
      } else {
        const HttpResponse& r = a.response;
        std::optional<S3ErrorBody> err;
        if (!r.ok() || req.error_body_on_success) err = ParseErrorBody(r.body);
        bool retriable = RetriableStatus(r.status) || (err && RetriableCode(err->code));
        if (!retriable) {
          if (r.ok() && err) {
            HttpResponse failed = std::move(a.response);
            failed.status = 400;  // the call failed although the status said otherwise
            failed.error_in_body = true;
            return failed;
          }
          return std::move(a.response);
        }
        last = "HTTP " + std::to_string(r.status);
        if (err && !err->code.empty()) last += " " + err->code;
        if (err && !err->message.empty()) last += ": " + err->message;
      }
      if (attempt < options.max_attempts) {
        auto wait = Backoff(attempt);
        log::Debug("S3 {}: attempt {}/{} failed ({}); retrying in {} ms", What(req), attempt,
                   options.max_attempts, Redact(last), wait.count());
        std::this_thread::sleep_for(wait);
      }
    }
    return Err(Unavailable(Redact(What(req) + ": " + last + " (gave up after " +
                                  std::to_string(options.max_attempts) + " attempts)")));
  }

  // The Status for a response that is not a success.
  Status ErrorFor(const HttpResponse& r, const HttpRequest& req) const {
    std::optional<S3ErrorBody> e = ParseErrorBody(r.body);
    std::string code = e ? e->code : "";
    std::string detail = "HTTP " + std::to_string(r.error_in_body ? 200 : r.status);
    if (!code.empty()) detail += " " + code;
    if (e && !e->message.empty()) detail += ": " + e->message;
    std::string what = What(req);
    std::string bucket(req.bucket);
    std::string region = r.Header("x-amz-bucket-region");
    Status s;
    if (!region.empty() && region != options.region && (r.status == 301 || r.status == 307 || r.status == 400)) {
      s = FailedPrecondition(what + ": bucket '" + bucket + "' is in region " + region + ", not " + options.region +
                             " (" + detail + "); set region=" + region);
    } else if (r.status == 403) {
      s = Unauthenticated(what + ": access to bucket '" + bucket + "' was refused (" + detail +
                          "); check credentials (access key id '" + options.credentials.access_key_id +
                          "') and the bucket's policy");
    } else if (r.status == 404 && (code == "NoSuchBucket" || (code.empty() && req.key.empty()))) {
      s = NotFound(what + ": bucket '" + bucket + "' does not exist");
    } else if (r.status == 404) {
      s = NotFound(what + ": " + detail);
    } else if (code == "BadDigest" || code == "InvalidDigest" || code == "XAmzContentSHA256Mismatch") {
      s = Corruption(what + ": the bytes S3 received do not match their checksum (" + detail + ")");
    } else if (r.status == 409 && (code == "BucketAlreadyExists" || code == "BucketAlreadyOwnedByYou")) {
      s = AlreadyExists(what + ": " + detail);
    } else if (r.status == 400 || r.status == 411 || r.status == 413 || r.status == 416) {
      s = InvalidArgument(what + ": " + detail);
    } else if (r.status >= 500 || RetriableStatus(r.status)) {
      s = Unavailable(what + ": " + detail);
    } else {
      s = FailedPrecondition(what + ": " + detail);
    }
    return Status(s.code(), Redact(s.message()));
  }

  // Corruption unless the response's ETag is the MD5 of the bytes sent.
  Status CheckEtag(const HttpResponse& r, const HttpRequest& req, const Md5Digest& md5) const {
    std::string etag = Unquote(r.Header("etag"));
    std::string sse = AsciiLower(r.Header("x-amz-server-side-encryption"));
    if (sse.rfind("aws:kms", 0) == 0 || !r.Header("x-amz-server-side-encryption-customer-algorithm").empty())
      return Status::Ok();  // the ETag is not an MD5; Content-MD5 was checked by S3
    if (AsciiLower(etag) != Md5Hex(md5)) {
      return Corruption(What(req) + ": S3 answered with ETag '" + etag + "', not the MD5 " + Md5Hex(md5) +
                        " of the bytes sent (damaged on the way?)");
    }
    return Status::Ok();
  }
};

S3Client::S3Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3Client::~S3Client() = default;

Result<std::unique_ptr<S3Client>> S3Client::Create(S3ClientOptions options) {
  GlobalInit();
  FSML_ASSIGN_OR_RETURN(Endpoint e, ParseEndpoint(options.endpoint));
  if (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty())
    return Err(FailedPrecondition("S3 client for " + e.Url() + ": no access key id or secret access key"));
  if (options.max_attempts < 1) options.max_attempts = 1;
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->endpoint = std::move(e);
  impl->endpoint_url = impl->endpoint.Url();
  return std::unique_ptr<S3Client>(new S3Client(std::move(impl)));
}

const std::string& S3Client::endpoint() const { return impl_->endpoint_url; }

Status S3Client::CreateBucket(std::string_view bucket) {
  HttpRequest req;
  req.method = "PUT";
  req.bucket = bucket;
  std::string body;
  if (impl_->options.region != "us-east-1") {
    body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
           XmlEscape(impl_->options.region) + "</LocationConstraint></CreateBucketConfiguration>";
    req.body = S3Body::Memory(body);
    req.payload_sha256 = Sha256Hex(body);
  }
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (r.ok()) return Status::Ok();
  std::optional<S3ErrorBody> e = ParseErrorBody(r.body);
  if (r.status == 409 && e && e->code == "BucketAlreadyOwnedByYou") return Status::Ok();
  return impl_->ErrorFor(r, req);
}

Result<std::string> S3Client::PutObject(std::string_view bucket, std::string_view key, std::string_view bytes) {
  return PutObject(bucket, key, S3Body::Memory(bytes), DigestsOf(bytes));
}

Result<std::string> S3Client::PutObject(std::string_view bucket, std::string_view key, const S3Body& body,
                                        const S3BodyDigests& digests) {
  HttpRequest req;
  req.method = "PUT";
  req.bucket = bucket;
  req.key = key;
  req.body = body;
  req.payload_sha256 = digests.sha256_hex;
  req.headers = {{"content-md5", Base64(digests.md5.data(), digests.md5.size())}};
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (!r.ok()) return Err(impl_->ErrorFor(r, req));
  FSML_RETURN_IF_ERROR(impl_->CheckEtag(r, req, digests.md5));
  return Unquote(r.Header("etag"));
}

Result<std::optional<S3Object>> S3Client::GetObject(std::string_view bucket, std::string_view key) {
  HttpRequest req;
  req.method = "GET";
  req.bucket = bucket;
  req.key = key;
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (!r.ok()) {
    std::optional<S3ErrorBody> e = ParseErrorBody(r.body);
    if (r.status == 404 && (!e || e->code == "NoSuchKey" || e->code.empty())) return std::optional<S3Object>();
    return Err(impl_->ErrorFor(r, req));
  }
  S3Object obj;
  obj.etag = Unquote(r.Header("etag"));
  obj.etag_is_md5 = EtagIsMd5(r, obj.etag);
  obj.bytes = std::move(r.body);
  return std::optional<S3Object>(std::move(obj));
}

Result<std::optional<S3ObjectInfo>> S3Client::HeadObject(std::string_view bucket, std::string_view key) {
  HttpRequest req;
  req.method = "HEAD";
  req.bucket = bucket;
  req.key = key;
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  // A HEAD answer has no body: a 404 cannot tell a missing key from a missing bucket.
  if (r.status == 404) return std::optional<S3ObjectInfo>();
  if (!r.ok()) return Err(impl_->ErrorFor(r, req));
  S3ObjectInfo info;
  info.etag = Unquote(r.Header("etag"));
  if (!ParseInt(r.Header("content-length"), &info.size))
    return Err(Internal(impl_->What(req) + ": no Content-Length in the answer"));
  return std::optional<S3ObjectInfo>(info);
}

Status S3Client::DeleteObject(std::string_view bucket, std::string_view key) {
  HttpRequest req;
  req.method = "DELETE";
  req.bucket = bucket;
  req.key = key;
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (r.ok()) return Status::Ok();
  std::optional<S3ErrorBody> e = ParseErrorBody(r.body);
  if (r.status == 404 && e && e->code == "NoSuchKey") return Status::Ok();
  return impl_->ErrorFor(r, req);
}

Result<S3ListPage> S3Client::ListObjectsV2(std::string_view bucket, std::string_view prefix,
                                           std::string_view continuation_token, int max_keys) {
  HttpRequest req;
  req.method = "GET";
  req.bucket = bucket;
  req.query = {{"list-type", "2"}, {"max-keys", std::to_string(max_keys)}, {"prefix", std::string(prefix)}};
  if (!continuation_token.empty()) req.query.emplace_back("continuation-token", std::string(continuation_token));
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (!r.ok()) return Err(impl_->ErrorFor(r, req));
  return ParseListPage(r.body, "list " + impl_->ObjectUrl(bucket, prefix) + " at " + impl_->endpoint_url);
}

Result<std::string> S3Client::CreateMultipartUpload(std::string_view bucket, std::string_view key) {
  HttpRequest req;
  req.method = "POST";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploads", ""}};
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (!r.ok()) return Err(impl_->ErrorFor(r, req));
  std::string id = ParseUploadId(r.body);
  if (id.empty()) return Err(Corruption(impl_->What(req) + ": the answer has no UploadId"));
  return id;
}

Result<std::string> S3Client::UploadPart(std::string_view bucket, std::string_view key, std::string_view upload_id,
                                         int part_number, const S3Body& body, const S3BodyDigests& digests) {
  HttpRequest req;
  req.method = "PUT";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", std::string(upload_id)}};
  req.body = body;
  req.payload_sha256 = digests.sha256_hex;
  req.headers = {{"content-md5", Base64(digests.md5.data(), digests.md5.size())}};
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (!r.ok()) return Err(impl_->ErrorFor(r, req));
  Status etag_ok = impl_->CheckEtag(r, req, digests.md5);
  if (!etag_ok.ok()) return Err(etag_ok.WithContext("part " + std::to_string(part_number)));
  return Unquote(r.Header("etag"));
}

Result<std::string> S3Client::CompleteMultipartUpload(std::string_view bucket, std::string_view key,
                                                      std::string_view upload_id, std::span<const S3Part> parts) {
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  // S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, "-", the part count.
  Md5Hasher of_parts;
  bool parts_are_md5 = true;
  for (const S3Part& p : parts) {
    body += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>\"" + XmlEscape(p.etag) +
            "\"</ETag></Part>";
    std::string md5 = AsciiLower(p.etag);
    if (md5.size() != 32 || !IsLowerHex(md5)) {
      parts_are_md5 = false;
      continue;
    }
    char binary[16];
    for (size_t i = 0; i < 16; ++i) binary[i] = static_cast<char>(HexValue(md5[2 * i]) * 16 + HexValue(md5[2 * i + 1]));
    of_parts.Update(std::string_view(binary, sizeof binary));
  }
  body += "</CompleteMultipartUpload>";
  HttpRequest req;
  req.method = "POST";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploadId", std::string(upload_id)}};
  req.body = S3Body::Memory(body);
  req.payload_sha256 = Sha256Hex(body);
  req.error_body_on_success = true;
  std::string expected = parts_are_md5 ? Md5Hex(of_parts.Finish()) + "-" + std::to_string(parts.size()) : "";
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (!r.ok()) {
    // A retry after a completion whose answer was lost finds no upload: the
    // object with the parts' ETag shows that the first attempt went through.
    std::optional<S3ErrorBody> e = ParseErrorBody(r.body);
    if (r.status == 404 && e && e->code == "NoSuchUpload" && !expected.empty()) {
      auto head = HeadObject(bucket, key);
      if (head && *head && AsciiLower((*head)->etag) == expected) return (*head)->etag;
    }
    return Err(impl_->ErrorFor(r, req));
  }
  std::string etag = ParseCompleteEtag(r.body);
  if (etag.empty()) etag = Unquote(r.Header("etag"));
  std::string sse = AsciiLower(r.Header("x-amz-server-side-encryption"));
  if (!expected.empty() && sse.rfind("aws:kms", 0) != 0) {
    if (AsciiLower(etag) != expected) {
      return Err(Corruption(impl_->What(req) + ": S3 answered with ETag '" + etag + "', not " + expected +
                            " of the parts sent"));
    }
  }
  return etag;
}

Status S3Client::AbortMultipartUpload(std::string_view bucket, std::string_view key, std::string_view upload_id) {
  HttpRequest req;
  req.method = "DELETE";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploadId", std::string(upload_id)}};
  FSML_ASSIGN_OR_RETURN(HttpResponse r, impl_->Perform(req));
  if (r.ok()) return Status::Ok();
  std::optional<S3ErrorBody> e = ParseErrorBody(r.body);
  if (r.status == 404 && e && e->code == "NoSuchUpload") return Status::Ok();
  return impl_->ErrorFor(r, req);
}

// ---------------------------------------------------------------- URL, creds

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

namespace s3_internal {

std::string BucketNameProblem(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return "it must be 3 to 63 characters long";
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
      return "only lower-case letters, digits, '.' and '-' are allowed";
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) return "it must begin and end with a letter or digit";
  if (b.find("..") != std::string_view::npos) return "it must not have two adjacent periods";
  if (b.find(".-") != std::string_view::npos || b.find("-.") != std::string_view::npos)
    return "a period must not be next to a hyphen";
  int dots = 0;
  bool digits_and_dots = true;
  for (char c : b) {
    dots += c == '.';
    if (!(c == '.' || (c >= '0' && c <= '9'))) digits_and_dots = false;
  }
  if (digits_and_dots && dots == 3) return "it must not look like an IP address";
  if (b.rfind("xn--", 0) == 0 || b.rfind("sthree-", 0) == 0) return "it must not start with 'xn--' or 'sthree-'";
  if (b.ends_with("-s3alias") || b.ends_with("--ol-s3")) return "it must not end with '-s3alias' or '--ol-s3'";
  return {};
}

Result<S3Url> ParseS3Url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return Err(InvalidArgument("store.blobs '" + std::string(url) + "': " + why));
  };
  constexpr std::string_view kScheme = "s3://";
  if (url.substr(0, kScheme.size()) != kScheme) return bad("not an s3:// URL");
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3Url out;
  size_t slash = rest.find('/');
  out.bucket = std::string(rest.substr(0, slash));
  if (out.bucket.empty()) return bad("no bucket (expected s3://BUCKET[/PREFIX])");
  if (std::string why = BucketNameProblem(out.bucket); !why.empty())
    return bad("bucket name '" + out.bucket + "' is not valid: " + why);
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    if (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    out.prefix = std::string(prefix);
    if (!prefix.empty()) {
      for (size_t start = 0;;) {
        size_t end = prefix.find('/', start);
        std::string_view seg = prefix.substr(start, end == std::string_view::npos ? end : end - start);
        if (seg.empty()) return bad("prefix '" + out.prefix + "' has an empty segment");
        if (seg == "." || seg == "..")
          return bad("prefix '" + out.prefix + "' has a '" + std::string(seg) + "' segment");
        for (char c : seg) {
          if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\')
            return bad("prefix '" + out.prefix + "' has a control character or backslash");
        }
        if (end == std::string_view::npos) break;
        start = end + 1;
      }
    }
  }
  static const char* const kKnown[] = {"endpoint", "region", "style", "profile", "multipart_mb", "timeout_s"};
  for (size_t start = 0; start < query.size();) {
    size_t end = query.find('&', start);
    std::string_view item = query.substr(start, end == std::string_view::npos ? end : end - start);
    start = end == std::string_view::npos ? query.size() : end + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string name = PercentDecode(item.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : PercentDecode(item.substr(eq + 1));
    if (std::find(std::begin(kKnown), std::end(kKnown), name) == std::end(kKnown)) {
      return bad("unknown option '" + name +
                 "' (known: endpoint, region, style, profile, multipart_mb, timeout_s)");
    }
    if (!out.options.emplace(name, value).second) return bad("option '" + name + "' is given twice");
  }
  return out;
}

std::optional<std::map<std::string, std::string>> ParseIniSection(std::string_view text, std::string_view section) {
  std::map<std::string, std::string> keys;
  bool inside = false;
  bool found = false;
  while (!text.empty()) {  // lines as std::getline splits them
    size_t nl = text.find('\n');
    std::string_view l = TrimSpace(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[' && l.back() == ']') {
      std::string_view name = TrimSpace(l.substr(1, l.size() - 2));
      if (name.rfind("profile ", 0) == 0) name = TrimSpace(name.substr(8));
      inside = name == section;
      found = found || inside;
      continue;
    }
    if (!inside) continue;
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    keys[AsciiLower(TrimSpace(l.substr(0, eq)))] = std::string(TrimSpace(l.substr(eq + 1)));
  }
  if (!found) return std::nullopt;
  return keys;
}

}  // namespace s3_internal

namespace {

using s3_internal::ParseIniSection;
using s3_internal::ParseS3Url;
using s3_internal::S3Url;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string HomeDir() {
  std::string home = Env("HOME");
  if (!home.empty()) return home;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return {};
}

// The keys of `section` in an AWS credentials file; nullopt when the file or
// the section is missing (`looked` says which).
std::optional<std::map<std::string, std::string>> ReadIniSection(const std::string& path, const std::string& section,
                                                                 std::string* looked) {
  std::ifstream in(path);
  if (!in) {
    *looked = path + " (cannot be read)";
    return std::nullopt;
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto keys = ParseIniSection(text, section);
  if (!keys) *looked = path + " (no [" + section + "] section)";
  return keys;
}

Result<S3Credentials> FindCredentials(const S3Credentials* configured, const std::string& profile_option,
                                      const std::string& url) {
  std::vector<std::string> looked;
  if (configured && (!configured->access_key_id.empty() || !configured->secret_access_key.empty())) {
    std::string lacking = configured->secret_access_key.empty() ? "secret access key"
                          : configured->access_key_id.empty()   ? "access key id"
                                                                : "";
    if (!lacking.empty())
      return Err(FailedPrecondition("store.blobs '" + url + "': the configured S3 credentials have no " + lacking));
    return *configured;
  }
  looked.push_back("the configuration (none given)");
  std::string id = Env("AWS_ACCESS_KEY_ID");
  std::string secret = Env("AWS_SECRET_ACCESS_KEY");
  if (!id.empty() && !secret.empty()) return S3Credentials{id, secret, Env("AWS_SESSION_TOKEN")};
  if (!id.empty() || !secret.empty()) {
    return Err(FailedPrecondition("store.blobs '" + url + "': " +
                                  (id.empty() ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
                                              : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")));
  }
  looked.push_back("$AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY (not set)");
  std::string file = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    std::string home = HomeDir();
    if (!home.empty()) file = home + "/.aws/credentials";
  }
  std::string profile = !profile_option.empty() ? profile_option : Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  if (!file.empty()) {
    std::string where;
    if (auto keys = ReadIniSection(file, profile, &where)) {
      S3Credentials c{(*keys)["aws_access_key_id"], (*keys)["aws_secret_access_key"], (*keys)["aws_session_token"]};
      if (c.access_key_id.empty() || c.secret_access_key.empty()) {
        return Err(FailedPrecondition("store.blobs '" + url + "': profile '" + profile + "' in " + file +
                                      " lacks aws_access_key_id or aws_secret_access_key"));
      }
      return c;
    }
    looked.push_back("profile '" + profile + "' in " + where);
  } else {
    looked.push_back("~/.aws/credentials (no home folder)");
  }
  std::string list;
  for (const std::string& l : looked) list += (list.empty() ? "" : "; ") + l;
  return Err(FailedPrecondition("store.blobs '" + url + "': no S3 credentials found. Looked at: " + list +
                                ". Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add the profile to the "
                                "credentials file"));
}

// ---------------------------------------------------------------------- Store

// The store's invariants: objects live at objects_prefix_ + KEY[0:2] + "/" +
// KEY with lower-case KEY, and an object is visible only once complete (a
// single PUT, or CompleteMultipartUpload after every part's ETag matched).
class S3BlobStore final : public BlobStore {
 public:
  S3BlobStore(std::unique_ptr<S3Client> client, std::string bucket, std::string prefix, uint64_t multipart_bytes,
              int list_page_size)
      : client_(std::move(client)),
        bucket_(std::move(bucket)),
        prefix_(std::move(prefix)),
        objects_prefix_(prefix_.empty() ? "objects/" : prefix_ + "/objects/"),
        multipart_bytes_(multipart_bytes),
        list_page_size_(list_page_size) {}

  Result<std::string> Put(std::string_view bytes) override {
    std::string key = Sha256Hex(bytes);
    FSML_RETURN_IF_ERROR(PutBytes(key, bytes, kPartTransfers));
    return key;
  }

  Result<std::vector<std::string>> PutMany(std::span<const std::string_view> blobs) override {
    std::vector<std::string> keys(blobs.size());
    FSML_RETURN_IF_ERROR(ParallelFor(blobs.size(), 1, kPutManyTransfers, [&](size_t begin, size_t end) -> Status {
      for (size_t i = begin; i < end; ++i) keys[i] = Sha256Hex(blobs[i]);
      return Status::Ok();
    }));
    // One upload per distinct key.
    std::vector<size_t> unique;
    {
      std::unordered_map<std::string_view, size_t> seen;
      for (size_t i = 0; i < keys.size(); ++i)
        if (seen.emplace(keys[i], i).second) unique.push_back(i);
    }
    FSML_RETURN_IF_ERROR(ParallelFor(unique.size(), 1, kPutManyTransfers, [&](size_t begin, size_t end) -> Status {
      for (size_t u = begin; u < end; ++u) FSML_RETURN_IF_ERROR(PutBytes(keys[unique[u]], blobs[unique[u]], 1));
      return Status::Ok();
    }));
    return keys;
  }

  Result<std::string> PutFile(const fs::path& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Err(NotFound(path.string() + ": no such file"));
      return Err(ErrnoError(path.string(), errno));
    }
    Result<std::string> r = PutOpenFile(fd, path);
    ::close(fd);
    return r;
  }

  Result<std::string> Get(std::string_view key, bool verify) override {
    FSML_ASSIGN_OR_RETURN(Digest d, DigestFromHex(key));
    std::string hex = ToHex(d);
    FSML_ASSIGN_OR_RETURN(std::optional<S3Object> obj, client_->GetObject(bucket_, ObjectKey(hex)));
    if (!obj) return Err(NotFound("object " + std::string(key) + " is not in " + Describe()));
    if (verify) {
      bool hash_ok = Sha256(obj->bytes) == d;
      bool etag_ok = !obj->etag_is_md5 || AsciiLower(obj->etag) == Md5Hex(Md5(obj->bytes));
      if (!hash_ok) {
        return Err(Corruption("object " + std::string(key) + " in " + Describe() + " does not match its hash (" +
                              (etag_ok ? "S3 holds other bytes under its key"
                                       : "damaged in transit: the bytes received do not match S3's ETag either") +
                              ")"));
      }
      if (!etag_ok) {
        return Err(Corruption("object " + std::string(key) + " in " + Describe() + ": S3's ETag '" + obj->etag +
                              "' is not the MD5 of the bytes received"));
      }
    }
    return std::move(obj->bytes);
  }

  Result<bool> Exists(std::string_view key) override {
    FSML_ASSIGN_OR_RETURN(Digest d, DigestFromHex(key));
    FSML_ASSIGN_OR_RETURN(std::optional<S3ObjectInfo> info, client_->HeadObject(bucket_, ObjectKey(ToHex(d))));
    return info.has_value();
  }

  Status ForEach(const std::function<Status(std::string_view key, uint64_t size)>& fn) override {
    std::string token;
    do {
      FSML_ASSIGN_OR_RETURN(S3ListPage page, client_->ListObjectsV2(bucket_, objects_prefix_, token, list_page_size_));
      for (const S3ListEntry& e : page.entries) {
        // "ab/abcdef...": anything else under objects/ is not an object.
        std::string_view name = std::string_view(e.key).substr(std::min(e.key.size(), objects_prefix_.size()));
        if (e.key.rfind(objects_prefix_, 0) != 0 || name.size() != 67 || name[2] != '/') continue;
        std::string_view hex = name.substr(3);
        if (!IsLowerHex(hex) || hex.substr(0, 2) != name.substr(0, 2)) continue;
        FSML_RETURN_IF_ERROR(fn(hex, e.size));
      }
      token = std::move(page.next_continuation_token);
    } while (!token.empty());
    return Status::Ok();
  }

  Status SetCacheBytes(int64_t) override { return Status::Ok(); }  // nothing cached client-side
  std::string Describe() const override {
    return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_) + " at " + client_->endpoint();
  }

 private:
  std::string ObjectKey(std::string_view hex) const {
    return objects_prefix_ + std::string(hex.substr(0, 2)) + "/" + std::string(hex);
  }

  // 8 MiB, or more when 10,000 parts of 8 MiB would not hold the object.
  static uint64_t PartSize(uint64_t size) {
    uint64_t part = (size + kMaxParts - 1) / kMaxParts;
    part = (part + kMiB - 1) / kMiB * kMiB;
    return std::max(part, kMinPartBytes);
  }

  Status PutBytes(const std::string& key, std::string_view bytes, int part_threads) {
    std::string object = ObjectKey(key);
    if (bytes.size() <= multipart_bytes_) {
      S3BodyDigests digests{key, Md5(bytes)};  // the key is the SHA-256 of the bytes
      return StatusOf(client_->PutObject(bucket_, object, S3Body::Memory(bytes), digests));
    }
    uint64_t part = PartSize(bytes.size());
    size_t count = static_cast<size_t>((bytes.size() + part - 1) / part);
    FSML_ASSIGN_OR_RETURN(std::string upload, client_->CreateMultipartUpload(bucket_, object));
    std::vector<S3Part> parts(count);
    Status s = ParallelFor(count, 1, part_threads, [&](size_t begin, size_t end) -> Status {
      for (size_t i = begin; i < end; ++i) {
        std::string_view piece = bytes.substr(i * part, part);
        int number = static_cast<int>(i + 1);
        FSML_ASSIGN_OR_RETURN(std::string etag, client_->UploadPart(bucket_, object, upload, number,
                                                                    S3Body::Memory(piece), DigestsOf(piece)));
        parts[i] = S3Part{number, std::move(etag)};
      }
      return Status::Ok();
    });
    return FinishMultipart(key, object, upload, parts, s);
  }

  Result<std::string> PutOpenFile(int fd, const fs::path& path) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return Err(ErrnoError(path.string(), errno));
    bool multipart = static_cast<uint64_t>(st.st_size) > multipart_bytes_;
    // Pass 1: the key (and, for a single PUT, the MD5 S3 checks).
    Sha256Hasher sha;
    Md5Hasher md5;
    std::string buf(kMiB, '\0');
    uint64_t size = 0;
    for (;;) {
      ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(size));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Err(ErrnoError(path.string(), errno));
      if (n == 0) break;
      std::string_view chunk(buf.data(), static_cast<size_t>(n));
      sha.Update(chunk);
      if (!multipart) md5.Update(chunk);
      size += static_cast<uint64_t>(n);
    }
    std::string key = ToHex(sha.Finish());
    std::string object = ObjectKey(key);
    if (!multipart || size <= multipart_bytes_) {
      if (multipart) {  // it shrank below the threshold while being read
        return Err(Aborted(path.string() + ": the file changed while it was being stored; try again"));
      }
      // Pass 2 streams from the file; S3 rejects the PUT if it changed since pass 1.
      S3BodyDigests digests{key, md5.Finish()};
      Result<std::string> put = client_->PutObject(bucket_, object, S3Body::FileRange(fd, 0, size), digests);
      if (!put) return Err(put.error().WithContext("store " + path.string()));
      return key;
    }
    // Pass 2, in parts read one at a time; the bytes sent are hashed again so
    // a file that changed since pass 1 is not stored under the wrong key.
    uint64_t part = PartSize(size);
    FSML_ASSIGN_OR_RETURN(std::string upload, client_->CreateMultipartUpload(bucket_, object));
    std::vector<S3Part> parts;
    Sha256Hasher resent;
    Status s;
    std::string piece;
    for (uint64_t offset = 0; s.ok() && offset < size; offset += part) {
      piece.resize(static_cast<size_t>(std::min(part, size - offset)));
      size_t got = 0;
      while (s.ok() && got < piece.size()) {
        ssize_t n = ::pread(fd, piece.data() + got, piece.size() - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) s = ErrnoError(path.string(), errno);
        else if (n == 0) s = Aborted(path.string() + ": the file got shorter while it was being stored; try again");
        else got += static_cast<size_t>(n);
      }
      if (!s.ok()) break;
      resent.Update(piece);
      int number = static_cast<int>(parts.size() + 1);
      Result<std::string> etag =
          client_->UploadPart(bucket_, object, upload, number, S3Body::Memory(piece), DigestsOf(piece));
      if (!etag) s = etag.error();
      else parts.push_back(S3Part{number, std::move(*etag)});
    }
    if (s.ok() && ToHex(resent.Finish()) != key)
      s = Aborted(path.string() + ": the file changed while it was being stored; try again");
    FSML_RETURN_IF_ERROR(FinishMultipart(key, object, upload, parts, s));
    return key;
  }

  // Completes the upload when `s` is OK, else aborts it and returns `s`.
  Status FinishMultipart(const std::string& key, const std::string& object, const std::string& upload,
                         std::span<const S3Part> parts, Status s) {
    if (s.ok()) s = StatusOf(client_->CompleteMultipartUpload(bucket_, object, upload, parts));
    if (s.ok()) return s;
    Status aborted = client_->AbortMultipartUpload(bucket_, object, upload);
    if (!aborted.ok()) {
      log::Warn("S3: could not abort the multipart upload of object {} in {}: {}", key, Describe(),
                aborted.message());
    }
    return s;
  }

  std::unique_ptr<S3Client> client_;
  const std::string bucket_;
  const std::string prefix_;
  const std::string objects_prefix_;  // "PREFIX/objects/"
  const uint64_t multipart_bytes_;    // objects larger than this go up in parts
  const int list_page_size_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> OpenS3BlobStoreForTest(std::string_view url, const S3Credentials* configured,
                                                          const S3StoreOptionsForTest& test_options) {
  FSML_ASSIGN_OR_RETURN(S3Url parsed, ParseS3Url(url));
  std::string u(url);
  auto bad = [&](const std::string& why) { return Err(InvalidArgument("store.blobs '" + u + "': " + why)); };
  auto option = [&](const char* name) {
    auto it = parsed.options.find(name);
    return it == parsed.options.end() ? std::string() : it->second;
  };

  S3ClientOptions options;
  options.region = option("region");
  if (options.region.empty()) options.region = Env("AWS_REGION");
  if (options.region.empty()) options.region = Env("AWS_DEFAULT_REGION");
  if (options.region.empty()) options.region = "us-east-1";
  for (char c : options.region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return bad("region '" + options.region + "' is not a region name");
  }
  options.endpoint = option("endpoint");
  bool aws_endpoint = options.endpoint.empty();
  if (aws_endpoint) options.endpoint = "https://s3." + options.region + ".amazonaws.com";
  std::string style = option("style");
  if (style.empty()) style = aws_endpoint && parsed.bucket.find('.') == std::string::npos ? "virtual" : "path";
  if (style != "path" && style != "virtual") return bad("style '" + style + "' is not path or virtual");
  options.virtual_hosted = style == "virtual";

  uint64_t multipart_bytes = kDefaultMultipartBytes;
  if (std::string mb = option("multipart_mb"); !mb.empty()) {
    uint64_t n = 0;
    if (!ParseInt(mb, &n) || n < 5 || n > 5120)
      return bad("multipart_mb '" + mb + "' is not a number from 5 to 5120");
    multipart_bytes = n * kMiB;
  }
  if (std::string t = option("timeout_s"); !t.empty()) {
    int n = 0;
    if (!ParseInt(t, &n) || n < 1 || n > 3600) return bad("timeout_s '" + t + "' is not a number from 1 to 3600");
    options.low_speed_timeout = std::chrono::seconds(n);
  }
  if (test_options.list_page_size < 1 || test_options.list_page_size > 1000)
    return bad("list page size " + std::to_string(test_options.list_page_size) + " is not from 1 to 1000");

  FSML_ASSIGN_OR_RETURN(options.credentials, FindCredentials(configured, option("profile"), u));
  auto client = S3Client::Create(std::move(options));
  if (!client) return Err(client.error().WithContext("store.blobs '" + u + "'"));
  return std::unique_ptr<BlobStore>(std::make_unique<S3BlobStore>(std::move(*client), parsed.bucket, parsed.prefix,
                                                                  multipart_bytes, test_options.list_page_size));
}

Result<std::unique_ptr<BlobStore>> OpenS3BlobStore(std::string_view url, const S3Credentials* configured) {
  return OpenS3BlobStoreForTest(url, configured, S3StoreOptionsForTest{});
}

}  // namespace fsml
