#include "serve/http_server.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.h"

namespace fsml::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxQueuedBlocking = 4096;  // requests waiting for the pool before 503

class ServerImpl;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerImpl* server) : stream_(std::move(socket)), server_(server) {}
  void Start();
  // Closes the connection if it waits for a request; otherwise it closes
  // after its response. Runs on the session's strand.
  void CloseIfIdle();

 private:
  void WaitForRequest();
  void ReadRequest();
  void OnRead(beast::error_code ec);
  void Send(Response response);
  void OnWrite(beast::error_code ec, size_t bytes);
  void Close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  ServerImpl* server_;
  bool idle_ = false;
  bool keep_alive_ = true;
  bool closed_ = false;
  RequestRecord record_;
  Clock::time_point started_;
};

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& o, const Router& r, Authenticator a, RequestObserver obs)
      : options_(o), router_(r), authenticate_(std::move(a)), observer_(std::move(obs)), ioc_(o.network_threads),
        acceptor_(asio::make_strand(ioc_)), pool_(static_cast<size_t>(std::max(1, o.blocking_threads))) {}
  ~ServerImpl() override { Stop(); }

  Status Bind() {
    auto colon = options_.listen.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("listen address '" + options_.listen + "' is not host:port");
    std::string host = options_.listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    int port = 0;
    try {
      port = std::stoi(options_.listen.substr(colon + 1));
    } catch (...) {
      return InvalidArgument("listen address '" + options_.listen + "' has no port number");
    }
    if (port < 0 || port > 65535) return InvalidArgument("listen port out of range in '" + options_.listen + "'");
    beast::error_code ec;
    auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) return InvalidArgument("listen address '" + options_.listen + "': " + ec.message());
    tcp::endpoint ep(addr, static_cast<uint16_t>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return IoError("cannot listen on " + options_.listen + ": " + ec.message());
    auto local = acceptor_.local_endpoint();
    address_ = local.address().to_string() + ":" + std::to_string(local.port());
    return Status::Ok();
  }

  void Run() {
    Accept();
    for (int i = 0; i < std::max(1, options_.network_threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  std::string address() const override { return address_; }

  void Stop() override {
    {
      std::lock_guard lock(stop_mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    stopping_ = true;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    CloseIdleSessions();
    // Drain: in-flight requests finish and their connections close.
    auto deadline = Clock::now() + options_.drain_timeout;
    while (in_flight_.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (in_flight_.load() > 0) log::Warn("server: stopping with {} requests still in flight", in_flight_.load());
    CloseIdleSessions();
    pool_.join();
    ioc_.stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    {
      std::lock_guard lock(stop_mu_);
      joined_ = true;
    }
    stop_cv_.notify_all();
  }

  void Wait() override {
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait(lock, [&] { return joined_; });
  }

  // Routes, authenticates and runs a request; `reply` answers on the session.
  void Handle(Request& req, RequestRecord& record, std::function<void(Response)> reply) {
    auto match = router_.Find(req.method, req.path);
    if (!match.route && !match.method_not_allowed && (req.method == "GET" || req.method == "HEAD") && router_.fallback())
      match.route = &*router_.fallback();
    if (!match.route) {
      record.route = "unmatched";
      if (match.method_not_allowed) return reply(Response::Error(405, "method_not_allowed", req.method + " is not allowed on " + req.path));
      return reply(Response::Error(404, "not_found", "no route for " + req.method + " " + req.path));
    }
    const Route& route = *match.route;
    record.route = route.method + " " + route.pattern;
    req.params = std::move(match.params);
    if (route.role != Role::kPublic) {
      auto who = authenticate_(req);
      if (!who) {
        if (who.error().status == 401) who.error().headers.emplace_back("WWW-Authenticate", "Bearer");
        return reply(std::move(who.error()));
      }
      record.principal = who->name;
      if (who->role < route.role)
        return reply(Response::Error(403, "permission_denied",
                                     std::string(RoleName(route.role)) + " role needed for " + req.method + " " + route.pattern +
                                         "; '" + who->name + "' is " + std::string(RoleName(who->role))));
      req.principal = std::move(who->name);
      req.role = who->role;
      req.session = who->session;
    }
    auto run = [handler = route.handler, reply](Request& r) {
      try {
        handler(r, reply);
      } catch (const std::exception& e) {
        log::Error("server: handler for {} {} threw: {}", r.method, r.path, e.what());
        reply(Response::Error(500, "internal", "internal error while handling the request"));
      }
    };
    if (route.dispatch == Dispatch::kInline) return run(req);
    if (queued_blocking_.fetch_add(1) >= kMaxQueuedBlocking) {
      queued_blocking_.fetch_sub(1);
      return reply(Response::Error(503, "unavailable", "server busy: too many queued requests, retry later"));
    }
    asio::post(pool_, [this, run, req = std::move(req)]() mutable {
      queued_blocking_.fetch_sub(1);
      run(req);
    });
  }

  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  std::atomic<int>& in_flight() { return in_flight_; }
  void Observe(const RequestRecord& r) {
    if (observer_) observer_(r);
  }
  void Forget(Session* s) {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(s);
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (!stopping_ && ec != asio::error::operation_aborted) {
          log::Warn("server: accept failed: {}", ec.message());
          Accept();
        }
        return;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto s = std::make_shared<Session>(std::move(socket), this);
      {
        std::lock_guard lock(sessions_mu_);
        sessions_[s.get()] = s;
      }
      s->Start();
      if (!stopping_) Accept();
    });
  }

  void CloseIdleSessions() {
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(sessions_mu_);
      for (auto& [p, w] : sessions_)
        if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->CloseIfIdle();
  }

  ServerOptions options_;
  const Router& router_;
  Authenticator authenticate_;
  RequestObserver observer_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::thread_pool pool_;
  std::vector<std::thread> threads_;
  std::string address_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<size_t> queued_blocking_{0};
  std::mutex sessions_mu_;
  std::map<Session*, std::weak_ptr<Session>> sessions_;  // GUARDED_BY(sessions_mu_)
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopped_ = false;  // GUARDED_BY(stop_mu_)
  bool joined_ = false;   // GUARDED_BY(stop_mu_)
};

void Session::Start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
}

void Session::CloseIfIdle() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->idle_) self->Close();
  });
}

void Session::WaitForRequest() {
  if (server_->stopping()) return Close();
  parser_.emplace();
  parser_->body_limit(server_->options().max_body_bytes);
  parser_->header_limit(static_cast<uint32_t>(server_->options().max_header_bytes));
  if (buffer_.size() > 0) return ReadRequest();  // a pipelined request is already here
  idle_ = true;
  stream_.expires_after(server_->options().idle_timeout);
  stream_.async_read_some(buffer_.prepare(8192), [self = shared_from_this()](beast::error_code ec, size_t n) {
    self->idle_ = false;
    if (ec) return self->Close();  // idle timeout, client closed, or server stopping
    self->buffer_.commit(n);
    self->ReadRequest();
  });
}

void Session::ReadRequest() {
  started_ = Clock::now();
  stream_.expires_after(server_->options().request_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void Session::OnRead(beast::error_code ec) {
  record_ = RequestRecord();
  record_.remote = [&] {
    beast::error_code e;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(e);
    return e ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  }();
  if (ec) {
    keep_alive_ = false;
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      if (ec == beast::error::timeout) log::Info("server: closed {}: request not received within the timeout", record_.remote);
      return Close();
    }
    server_->in_flight()++;
    record_.route = "unparsed";
    if (ec == bhttp::error::body_limit)
      return Send(Response::Error(413, "payload_too_large",
                                  "request body over the limit of " + std::to_string(server_->options().max_body_bytes) + " bytes"));
    if (ec == bhttp::error::header_limit) return Send(Response::Error(431, "headers_too_large", "request headers too large"));
    return Send(Response::Error(400, "bad_request", "malformed HTTP request: " + ec.message()));
  }
  auto& msg = parser_->get();
  Request req;
  req.method = std::string(msg.method_string());
  std::string_view target(msg.target().data(), msg.target().size());
  size_t q = target.find('?');
  req.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  keep_alive_ = msg.keep_alive();
  server_->in_flight()++;
  record_.method = req.method;
  auto path = PercentDecode(target.substr(0, q), false);
  if (!path || path->empty() || path->front() != '/') {
    record_.path = std::string(target.substr(0, 200));
    return Send(Response::Error(400, "bad_request", "malformed request path"));
  }
  req.path = std::move(*path);
  record_.path = req.path;
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto& slot = req.headers[name];
    slot = slot.empty() ? std::string(f.value()) : slot + ", " + std::string(f.value());
  }
  req.body = std::move(msg.body());
  record_.request_bytes = req.body.size();
  req.remote = record_.remote;
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto self = shared_from_this();
  server_->Handle(req, record_, [self, once](Response r) {
    if (once->exchange(true)) return;  // a handler answered twice: the first answer stands
    asio::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->Send(std::move(r)); });
  });
}

void Session::Send(Response r) {
  record_.status = r.status;
  response_.emplace(static_cast<bhttp::status>(r.status), 11);
  auto& res = *response_;
  res.set(bhttp::field::server, "fsml");
  res.set(bhttp::field::content_type, r.content_type);
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  for (auto& [k, v] : r.headers) res.set(k, v);
  if (server_->stopping()) keep_alive_ = false;
  res.keep_alive(keep_alive_);
  res.body() = std::move(r.body);
  res.prepare_payload();
  record_.response_bytes = res.body().size();
  stream_.expires_after(server_->options().write_timeout);
  bhttp::async_write(stream_, res, [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnWrite(ec, n); });
}

void Session::OnWrite(beast::error_code ec, size_t) {
  record_.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  server_->Observe(record_);
  server_->in_flight()--;
  response_.reset();
  if (ec || !keep_alive_) return Close();
  WaitForRequest();
}

void Session::Close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  auto& sock = beast::get_lowest_layer(stream_).socket();
  sock.shutdown(tcp::socket::shutdown_send, ec);
  sock.close(ec);
  server_->Forget(this);
}

}  // namespace

Result<std::unique_ptr<Server>> StartServer(const ServerOptions& options, const Router& router, Authenticator authenticate,
                                            RequestObserver observer) {
  auto server = std::make_unique<ServerImpl>(options, router, std::move(authenticate), std::move(observer));
  FSML_RETURN_IF_ERROR(server->Bind());
  server->Run();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace fsml::http
