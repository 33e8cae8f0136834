// Fetcher on libcurl's multi interface: many transfers on one thread, with
// connection reuse (keep-alive), HTTP/2 multiplexing over TLS and any content
// encoding libcurl was built with. The SSRF guard sits in the socket-open
// callback, so it sees the exact address of every connection attempt.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "crawl/address_guard.h"
#include "crawl/fetcher.h"

namespace fsml::crawl {

const char* FetchErrorName(FetchError e) {
  switch (e) {
    case FetchError::kNone: return "none";
    case FetchError::kDns: return "dns";
    case FetchError::kConnect: return "connect";
    case FetchError::kBlocked: return "blocked";
    case FetchError::kTimeout: return "timeout";
    case FetchError::kReset: return "reset";
    case FetchError::kTooLarge: return "too_large";
    case FetchError::kTls: return "tls";
    case FetchError::kProtocol: return "protocol";
    case FetchError::kOther: return "other";
  }
  return "other";
}

namespace {

using Clock = std::chrono::steady_clock;

struct Transfer {
  CURL* easy = nullptr;
  FetchRequest request;
  std::string body;
  uint64_t max_bytes = 0;
  bool too_large = false;
  bool allow_private = false;
  std::string blocked;  // the last address the guard refused, with why
  char error_buffer[CURL_ERROR_SIZE] = {};
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN && !t->allow_private) {
    std::string reason = NonPublicReason(&address->addr);
    if (!reason.empty()) {
      t->blocked = AddressText(&address->addr) + " (" + reason + ")";
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

FetchError Classify(CURLcode code, const Transfer& t) {
  switch (code) {
    case CURLE_OK: return FetchError::kNone;
    case CURLE_COULDNT_RESOLVE_HOST: return FetchError::kDns;
    case CURLE_COULDNT_CONNECT: return t.blocked.empty() ? FetchError::kConnect : FetchError::kBlocked;
    case CURLE_OPERATION_TIMEDOUT: return FetchError::kTimeout;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE: return FetchError::kReset;
    case CURLE_WRITE_ERROR: return t.too_large ? FetchError::kTooLarge : FetchError::kOther;
    case CURLE_FILESIZE_EXCEEDED: return FetchError::kTooLarge;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE: return FetchError::kTls;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_UNSUPPORTED_PROTOCOL: return FetchError::kProtocol;
    default: return FetchError::kOther;
  }
}

class CurlFetcher final : public Fetcher {
 public:
  explicit CurlFetcher(const FetcherOptions& options) : options_(options) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, long{CURLPIPE_MULTIPLEX});
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, long{std::max(1, options.max_connections_per_host)});
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, long{std::max(1, options.max_connections)});
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, long{std::max(1, options.max_connections)});
  }

  ~CurlFetcher() override {
    for (auto& [easy, t] : active_) {
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
    }
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  void Start(FetchRequest request) override {
    CURL* easy;
    if (!idle_.empty()) {
      easy = idle_.back();
      idle_.pop_back();
      curl_easy_reset(easy);
    } else {
      easy = curl_easy_init();
    }
    auto t = std::make_unique<Transfer>();
    t->easy = easy;
    t->request = std::move(request);
    t->max_bytes = options_.max_bytes;
    t->allow_private = options_.allow_private;
    curl_easy_setopt(easy, CURLOPT_URL, t->request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl decodes
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, long{CURL_HTTP_VERSION_2TLS});
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(options_.timeout.count(), 10000)));
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_bytes));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");  // never a proxy from the environment
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error_buffer);
    curl_multi_add_handle(multi_, easy);
    active_.emplace(easy, std::move(t));
  }

  std::vector<FetchResult> Wait(std::chrono::milliseconds max_wait) override {
    std::vector<FetchResult> done;
    int running = 0;
    curl_multi_perform(multi_, &running);
    Collect(done);
    if (done.empty() && !active_.empty()) {
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::max<int64_t>(0, max_wait.count())), nullptr);
      curl_multi_perform(multi_, &running);
      Collect(done);
    } else if (done.empty() && max_wait.count() > 0) {
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(max_wait.count()), nullptr);
    }
    return done;
  }

  size_t InFlight() const override { return active_.size(); }

 private:
  void Collect(std::vector<FetchResult>& done) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode code = msg->data.result;
      auto it = active_.find(easy);
      if (it == active_.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      active_.erase(it);
      curl_multi_remove_handle(multi_, easy);
      done.push_back(Finish(*t, code));
      idle_.push_back(easy);
    }
  }

  FetchResult Finish(Transfer& t, CURLcode code) {
    FetchResult r;
    r.id = t.request.id;
    r.url = std::move(t.request.url);
    r.error = Classify(code, t);
    CURL* easy = t.easy;
    if (char* ip = nullptr; curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip) r.remote_address = ip;
    double total = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &total);
    r.seconds = total;
    curl_off_t wire = 0;
    curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &wire);
    r.wire_bytes = static_cast<uint64_t>(wire);
    if (r.error != FetchError::kNone) {
      std::string detail = t.error_buffer[0] ? t.error_buffer : curl_easy_strerror(code);
      if (r.error == FetchError::kBlocked)
        detail = "refused to connect to " + t.blocked +
                 ": non-public addresses are off (allow_private = true in [crawl] enables them)";
      else if (r.error == FetchError::kTooLarge)
        detail = "response larger than max_bytes (" + std::to_string(options_.max_bytes) + " bytes)";
      r.error_message = detail;
      return r;
    }
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    r.status = static_cast<int>(status);
    if (char* type = nullptr; curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
      r.content_type = type;
    if (status >= 300 && status < 400) {
      if (char* location = nullptr; curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
        r.location = location;
    }
    if (curl_header* h = nullptr; curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h)
      r.retry_after = h->value;
    r.body = std::move(t.body);
    return r;
  }

  FetcherOptions options_;
  CURLM* multi_ = nullptr;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<CURL*> idle_;
};

}  // namespace

std::unique_ptr<Fetcher> NewCurlFetcher(const FetcherOptions& options) {
  return std::make_unique<CurlFetcher>(options);
}

}  // namespace fsml::crawl
