// The HTTP/1.1 server under fsml's API (Boost.Beast on asio).
//
// A few network threads multiplex every connection (no thread per
// connection): idle keep-alive clients cost a socket and a buffer, never a
// thread. Blocking handlers run on a bounded pool. Each request has a size
// limit and a deadline for arriving in full; idle keep-alive connections are
// closed after `idle_timeout`. Stop() stops accepting, lets in-flight
// requests finish (up to `drain_timeout`), then closes everything.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "serve/http.h"

namespace fsml::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
  int network_threads = 2;
  int blocking_threads = 4;
  size_t max_body_bytes = 32u << 20;
  size_t max_header_bytes = 16u << 10;
  std::chrono::milliseconds request_timeout{10000};  // first byte to last byte of a request
  std::chrono::milliseconds idle_timeout{60000};     // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds drain_timeout{10000};
};

// What the server reports about each request, after its response is sent
// (access log and metrics hook).
struct RequestRecord {
  std::string method, path, route, remote, principal;
  int status = 0;
  size_t request_bytes = 0, response_bytes = 0;
  double seconds = 0;
};
using RequestObserver = std::function<void(const RequestRecord&)>;

class Server {
 public:
  virtual ~Server() = default;
  // The address actually bound ("127.0.0.1:PORT").
  virtual std::string address() const = 0;
  // Graceful stop; idempotent; blocks until the threads are joined.
  virtual void Stop() = 0;
  // Blocks until Stop() is called from another thread (or a signal handler's thread).
  virtual void Wait() = 0;
};

// Binds and starts serving `router` (which must outlive the server).
// `authenticate` runs (on a network thread: it must not block for long)
// before every route whose role is not kPublic, and returns who the request
// is from or the response to send (401, or 403 for a failed CSRF check). The
// server then answers 403 permission_denied when the principal's role is
// below the route's.
using Authenticator = std::function<tl::expected<Principal, Response>(const Request&)>;
Result<std::unique_ptr<Server>> StartServer(const ServerOptions& options, const Router& router,
                                            Authenticator authenticate, RequestObserver observer);

}  // namespace fsml::http
