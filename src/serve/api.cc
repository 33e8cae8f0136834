#include "serve/api.h"

#include <cstdio>

#include "core/fs.h"
#include "core/log.h"
#include "registry/models.h"
#include "serve/openapi_json.h"

namespace fsml {

using json = nlohmann::json;
using http::Reply;
using http::Request;
using http::Response;

const char* OpenApiDocument() { return kOpenApiJson; }

ServeApp::ServeApp(Workspace& ws, ServeOptions options)
    : ws_(ws), options_(std::move(options)), access_(ws.meta(), options_.access), web_(ws, access_, options_.web), runs_(ws),
      evals_(ws, web_.labeling(), EvalApiOptions{}) {
  metrics_.DefineCounter("fsml_http_requests_total", "HTTP requests by route and status code.");
  metrics_.DefineHistogram("fsml_http_request_seconds", "HTTP request latency by route, first byte in to last byte out.",
                           {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10});
  metrics_.DefineGauge("fsml_queue_depth", "Messages waiting in the job queue.");
  metrics_.DefineGauge("fsml_jobs_unpublished", "Jobs accepted but not yet confirmed by the queue.");
  metrics_.DefineGauge("fsml_jobs", "Jobs by state.");
  AddRoutes();
}

ServeApp::~ServeApp() { Stop(); }

Status ServeApp::Start() {
  if (options_.access_log == "-") {
    access_log_ = stderr;
  } else if (options_.access_log != "off" && !options_.access_log.empty()) {
    access_log_ = std::fopen(options_.access_log.c_str(), "a");
    if (!access_log_) return ErrnoError("open access log " + options_.access_log, errno);
    own_access_log_ = true;
  }
  jobs_ = std::make_unique<JobService>(ws_, options_.queue_url, options_.queue, &metrics_);
  FSML_RETURN_IF_ERROR(jobs_->Start());
  metrics_.AddCollector([this](Metrics& m) {
    if (auto d = jobs_->QueueDepth()) m.Set("fsml_queue_depth", {{"queue", kJobsQueue}}, static_cast<double>(*d));
    m.Set("fsml_jobs_unpublished", {}, static_cast<double>(jobs_->unpublished()));
    if (auto c = jobs_->CountByState())
      for (auto& [state, n] : *c) m.Set("fsml_jobs", {{"state", state}}, static_cast<double>(n));
  });
  collector_ = std::make_unique<Collector>(ws_, options_.collect, &metrics_);
  models_ = std::make_unique<ModelServer>(ws_, options_.serving, &metrics_);
  worker_cache_ = std::make_unique<ModelCache>(1);
  WorkerOptions worker_options = options_.worker;
  worker_options.collector = collector_.get();
  for (int i = 0; i < options_.workers; ++i) {
    FSML_ASSIGN_OR_RETURN(auto q, OpenJobQueue(options_.queue_url, ws_.meta(), options_.queue));
    auto worker = std::make_shared<Worker>(ws_, std::move(q), *worker_cache_, worker_options, &metrics_);
    worker_threads_.emplace_back([this, worker] { worker->Run(workers_stop_); });
  }
  web_.Start();
  FSML_ASSIGN_OR_RETURN(
      server_, http::StartServer(options_.http, router_, [this](const Request& r) { return access_.Authenticate(r); },
                                 [this](const http::RequestRecord& r) { LogRequest(r); }));
  // Production models load in the background; /readyz answers 503 until then.
  preload_ = std::thread([this] {
    auto models = ListModels(ws_.meta());
    if (models) {
      for (const auto& m : *models)
        for (const auto& [alias, number] : m.aliases)
          if (alias == "production") {
            auto st = models_->Preload(m.name + "@production");
            if (!st.ok()) log::Error("serve: cannot load {}@production: {}", m.name, st.message());
          }
    }
    ready_ = true;
  });
  return Status::Ok();
}

void ServeApp::Stop() {
  if (server_) server_->Stop();
  if (preload_.joinable()) preload_.join();
  web_.Stop();
  runs_.Stop();
  evals_.Stop();
  if (models_) models_->Stop();
  workers_stop_ = true;
  for (auto& t : worker_threads_)
    if (t.joinable()) t.join();
  worker_threads_.clear();
  if (collector_) collector_->Stop();  // after everything that offers to it
  if (jobs_) jobs_->Stop();
  if (own_access_log_ && access_log_) std::fclose(access_log_);
  access_log_ = nullptr;
  own_access_log_ = false;
}

void ServeApp::LogRequest(const http::RequestRecord& r) {
  metrics_.Add("fsml_http_requests_total", {{"route", r.route}, {"code", std::to_string(r.status)}});
  metrics_.Observe("fsml_http_request_seconds", {{"route", r.route}}, r.seconds);
  if (!access_log_) return;
  json line = {{"ts", NowRfc3339()}, {"remote", r.remote}, {"method", r.method}, {"path", r.path},
               {"route", r.route},   {"status", r.status}, {"bytes_in", r.request_bytes}, {"bytes_out", r.response_bytes},
               {"ms", std::round(r.seconds * 1e5) / 100}};
  if (!r.principal.empty()) line["user"] = r.principal;
  std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::lock_guard lock(log_mu_);
  std::fwrite(text.data(), 1, text.size(), access_log_);
  std::fflush(access_log_);
}

// The image bytes of a predict request, or the error response to send.
static tl::expected<std::string, Response> ImageFromRequest(const Request& req) {
  auto bad = [](const Status& s) { return tl::unexpected<Response>(Response::FromStatus(s)); };
  std::string type = http::MediaType(req.Header("content-type"));
  if (type == "image/png" || type == "image/jpeg" || type == "application/octet-stream") {
    if (req.body.empty()) return bad(InvalidArgument("request body is empty; send the image bytes"));
    return req.body;
  }
  if (type == "application/json") {
    auto body = http::ParseJsonObject(req.body);
    if (!body) return bad(body.error());
    if (body->contains("text")) return bad(InvalidArgument("text input: this model takes images (send image_base64 or image bytes)"));
    if (!body->contains("image_base64") || !(*body)["image_base64"].is_string())
      return bad(InvalidArgument("JSON body must have \"image_base64\" (a string) or \"text\""));
    auto bytes = http::Base64Decode((*body)["image_base64"].get<std::string>());
    if (!bytes) return bad(bytes.error());
    if (bytes->empty()) return bad(InvalidArgument("image_base64 is empty"));
    return std::move(*bytes);
  }
  if (type == "multipart/form-data") {
    auto parts = http::ParseMultipart(req.Header("content-type"), req.body);
    if (!parts) return bad(parts.error());
    for (auto& p : *parts)
      if (!p.filename.empty() || p.name == "image" || p.name == "file") {
        if (p.body.empty()) return bad(InvalidArgument("multipart part '" + p.name + "' is empty"));
        return std::move(p.body);
      }
    return bad(InvalidArgument("multipart body has no file part (name it \"image\" or give it a filename)"));
  }
  return tl::unexpected<Response>(Response::Error(
      415, "unsupported_media_type",
      "unsupported content type '" + type + "': send image/png, image/jpeg, application/json or multipart/form-data"));
}

static Result<size_t> TopKParam(const Request& req) {
  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
  auto it = q.find("top_k");
  if (it == q.end()) return size_t{5};
  try {
    size_t used = 0;
    long k = std::stol(it->second, &used);
    if (used == it->second.size() && k >= 1 && k <= 1000) return static_cast<size_t>(k);
  } catch (...) {
  }
  return Err(InvalidArgument("top_k must be an integer from 1 to 1000"));
}

void ServeApp::Predict(Request& req, const std::string& ref, Reply reply) {
  auto parsed = ParseModelRef(ref);
  if (!parsed) return reply(Response::FromStatus(parsed.error()));
  auto k = TopKParam(req);
  if (!k) return reply(Response::FromStatus(k.error()));
  auto image = ImageFromRequest(req);
  if (!image) return reply(std::move(image.error()));
  Collector* collector = collector_.get();
  models_->Predict(ref, std::move(*image), *k, [reply, collector](Result<Prediction> p) {
    if (!p) return reply(Response::FromStatus(p.error()));
    json preds = json::array();
    for (auto& [label, prob] : p->top) preds.push_back({{"label", label}, {"probability", prob}});
    reply(Response::Json(200, {{"model", p->model}, {"predictions", std::move(preds)}}));
    // Answered first: collecting an unsure input never delays or fails the prediction.
    if (collector && !p->top.empty() && collector->Wants(p->project, p->top[0].second))
      collector->Offer({p->project, p->model, p->top[0].first, p->top[0].second, std::move(p->input)});
  });
}

void ServeApp::AddRoutes() {
  using http::Dispatch;
  web_.AddRoutes(router_);
  runs_.AddRoutes(router_);
  evals_.AddRoutes(router_);
  router_.Add({"GET", "/healthz", Dispatch::kInline, http::Role::kPublic,
               [](Request&, Reply reply) { reply(Response::Json(200, {{"status", "ok"}})); }});
  router_.Add({"GET", "/readyz", Dispatch::kBlocking, http::Role::kPublic, [this](Request&, Reply reply) {
                 json checks = json::object();
                 bool ok = true;
                 auto db = ws_.meta().QueryInt("SELECT 1");
                 checks["metastore"] = db ? "ok" : db.error().message();
                 ok &= db.has_value();
                 Status q = jobs_ ? jobs_->Health() : Unavailable("not started");
                 checks["queue"] = q.ok() ? "ok" : q.message();
                 ok &= q.ok();
                 checks["models"] = ready_ ? "ok" : "loading";
                 ok &= ready_.load();
                 reply(Response::Json(ok ? 200 : 503, {{"status", ok ? "ready" : "not ready"}, {"checks", checks}}));
               }});
  router_.Add({"GET", "/metrics", Dispatch::kBlocking, http::Role::kPublic, [this](Request&, Reply reply) {
                 reply(Response::Text(200, metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8"));
               }});
  router_.Add({"GET", "/api/v1/openapi.json", Dispatch::kInline, http::Role::kViewer,
               [](Request&, Reply reply) { reply(Response::Text(200, OpenApiDocument(), "application/json")); }});
  router_.Add({"GET", "/api/v1/models", Dispatch::kBlocking, http::Role::kViewer, [this](Request&, Reply reply) {
                 auto models = ListModels(ws_.meta());
                 if (!models) return reply(Response::FromStatus(models.error()));
                 json out = json::array();
                 for (const auto& m : *models) {
                   json aliases = json::object();
                   for (const auto& [a, n] : m.aliases) aliases[a] = n;
                   // The latest version's metrics, for the registry list.
                   auto latest = ResolveModel(ws_.meta(), ModelRef{m.name, m.latest, "", ""});
                   out.push_back({{"name", m.name}, {"project", m.project}, {"versions", m.versions}, {"latest", m.latest},
                                  {"aliases", aliases}, {"updated_at", m.updated_at},
                                  {"latest_metrics", latest ? latest->metrics : json()}});
                 }
                 reply(Response::Json(200, {{"models", out}, {"served", models_->Served()}}));
               }});
  router_.Add({"POST", "/api/v1/models/{ref}/predict", Dispatch::kBlocking, http::Role::kViewer,
               [this](Request& req, Reply reply) { Predict(req, req.params["ref"], std::move(reply)); }});
  router_.Add({"POST", "/api/v1/models/{name}/{version}/predict", Dispatch::kBlocking, http::Role::kViewer, [this](Request& req, Reply reply) {
                 Predict(req, req.params["name"] + "/" + req.params["version"], std::move(reply));
               }});
  router_.Add({"POST", "/api/v1/jobs", Dispatch::kBlocking, http::Role::kViewer, [this](Request& req, Reply reply) {
                 if (http::MediaType(req.Header("content-type")) != "application/json")
                   return reply(Response::Error(415, "unsupported_media_type", "send the job as application/json"));
                 auto body = http::ParseJsonObject(req.body);
                 if (!body) return reply(Response::FromStatus(body.error()));
                 auto job = ParseJobRequest(*body, options_.max_job_inputs);
                 if (!job) return reply(Response::FromStatus(job.error()));
                 jobs_->Submit(std::move(*job), req.principal, [reply](Result<std::pair<JobRecord, bool>> r) {
                   if (!r) return reply(Response::FromStatus(r.error()));
                   json out = JobToJson(r->first, false);
                   auto res = Response::Json(r->second ? 202 : 200, out);
                   res.headers.emplace_back("Location", "/api/v1/jobs/" + r->first.id);
                   reply(std::move(res));
                 });
               }});
  router_.Add({"GET", "/api/v1/jobs", Dispatch::kBlocking, http::Role::kViewer, [this](Request& req, Reply reply) {
                 auto q = http::ParseQuery(req.query);
                 if (!q) return reply(Response::FromStatus(q.error()));
                 int64_t limit = 100;
                 if (q->count("limit")) {
                   try {
                     limit = std::stoll((*q)["limit"]);
                   } catch (...) {
                     limit = -1;
                   }
                   if (limit < 0 || limit > 1000) return reply(Response::Error(400, "invalid_argument", "limit must be 0 to 1000"));
                 }
                 auto list = jobs_->List(q->count("state") ? (*q)["state"] : "", limit);
                 if (!list) return reply(Response::FromStatus(list.error()));
                 json jobs = json::array();
                 for (const auto& j : list->first) jobs.push_back(JobToJson(j, false));
                 reply(Response::Json(200, {{"jobs", jobs}, {"total", list->second}}));
               }});
  router_.Add({"GET", "/api/v1/jobs/{id}", Dispatch::kBlocking, http::Role::kViewer, [this](Request& req, Reply reply) {
                 auto job = jobs_->Get(req.params["id"]);
                 if (!job) return reply(Response::FromStatus(job.error()));
                 reply(Response::Json(200, JobToJson(*job, true)));
               }});
}

}  // namespace fsml
