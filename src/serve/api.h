// `fsml serve`: the HTTP API (docs/openapi.json), the model server, the
// job service and in-process workers, wired together.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "data/workspace.h"
#include "serve/auth.h"
#include "serve/collect.h"
#include "serve/eval_api.h"
#include "serve/http.h"
#include "serve/http_server.h"
#include "serve/jobs.h"
#include "serve/metrics.h"
#include "serve/runs_api.h"
#include "serve/web_api.h"
#include "serve/model_server.h"

namespace fsml {

struct ServeOptions {
  http::ServerOptions http;
  ServingOptions serving;
  std::string queue_url = "embedded";
  QueueOptions queue;
  int workers = 1;  // in-process workers consuming fsml.jobs
  WorkerOptions worker;
  std::string access_log = "-";  // file path, "-" for stderr, "off"
  size_t max_job_inputs = 10000;
  AccessOptions access;
  WebApiOptions web;
  CollectOptions collect;
};

// The OpenAPI 3 document served at /api/v1/openapi.json.
const char* OpenApiDocument();

class ServeApp {
 public:
  ServeApp(Workspace& ws, ServeOptions options);
  ~ServeApp();
  // Opens the queue, preloads every model aliased "production", starts
  // workers and the HTTP server.
  Status Start();
  // Graceful: stops accepting, drains requests, stops workers. Idempotent.
  void Stop();
  std::string address() const { return server_ ? server_->address() : ""; }
  const http::Router& router() const { return router_; }

 private:
  void AddRoutes();
  void LogRequest(const http::RequestRecord& r);
  void Predict(http::Request& req, const std::string& ref, http::Reply reply);

  Workspace& ws_;
  ServeOptions options_;
  Metrics metrics_;
  AccessControl access_;
  WebApi web_;
  RunsApi runs_;
  EvalApi evals_;  // the evaluation explorer
  std::unique_ptr<Collector> collector_;  // before models_ and workers, which feed it
  std::unique_ptr<ModelServer> models_;
  std::unique_ptr<JobService> jobs_;
  std::unique_ptr<ModelCache> worker_cache_;
  std::atomic<bool> workers_stop_{false};
  std::vector<std::thread> worker_threads_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::thread preload_;  // loads the production models; /readyz waits for it
  std::atomic<bool> ready_{false};
  std::mutex log_mu_;
  FILE* access_log_ = nullptr;
  bool own_access_log_ = false;
};

}  // namespace fsml
