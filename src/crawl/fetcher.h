// The crawler's HTTP seam: starts transfers and reports them as they finish.
//
// The real implementation is libcurl's multi interface (NewCurlFetcher);
// tests drive the crawler with a scripted one. Redirects are never followed
// here: a 3xx comes back with its resolved Location, so that the crawler can
// apply its URL rules, robots.txt and the SSRF guard to every hop.
//
// Thread safety: one thread uses a Fetcher.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fsml::crawl {

// How a transfer failed before an HTTP status was read (or, for kTooLarge,
// while reading the body).
enum class FetchError {
  kNone,
  kDns,        // the host name did not resolve
  kConnect,    // connection refused or unreachable
  kBlocked,    // the SSRF guard refused every address of the host
  kTimeout,    // no complete answer within the timeout
  kReset,      // connection closed or reset without a complete answer
  kTooLarge,   // the body passed max_bytes (after decompression)
  kTls,        // TLS handshake or certificate failure
  kProtocol,   // a malformed HTTP answer
  kOther,
};
// "dns", "connect", "blocked", ... (the crawl summary's error kinds).
const char* FetchErrorName(FetchError e);

struct FetchRequest {
  uint64_t id = 0;  // the caller's; echoed in the result
  std::string url;  // absolute, normalized
};

struct FetchResult {
  uint64_t id = 0;
  std::string url;
  FetchError error = FetchError::kNone;
  std::string error_message;  // for error != kNone; names the URL's host
  int status = 0;             // HTTP status when error == kNone
  std::string content_type;   // as sent, "" when absent
  std::string location;       // 3xx: the Location header resolved against url
  std::string retry_after;    // the Retry-After header as sent
  std::string body;           // decoded (no transfer or content encoding)
  std::string remote_address;
  double seconds = 0;
  uint64_t wire_bytes = 0;    // body bytes as received (compressed)
};

struct FetcherOptions {
  std::string user_agent;
  std::chrono::milliseconds timeout{30000};
  uint64_t max_bytes = 10 << 20;
  bool allow_private = false;     // off: the SSRF guard refuses non-public addresses
  int max_connections_per_host = 8;
  int max_connections = 256;
};

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // Starts a transfer; its result comes from a later Wait().
  virtual void Start(FetchRequest request) = 0;
  // Waits up to `max_wait` for transfers to finish and returns those that did
  // (possibly none). Returns at once when some are already finished.
  virtual std::vector<FetchResult> Wait(std::chrono::milliseconds max_wait) = 0;
  // Transfers started and not yet returned by Wait().
  virtual size_t InFlight() const = 0;
};

std::unique_ptr<Fetcher> NewCurlFetcher(const FetcherOptions& options);

}  // namespace fsml::crawl
