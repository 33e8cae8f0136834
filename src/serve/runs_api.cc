#include "serve/runs_api.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <set>

#include "core/fs.h"
#include "core/log.h"
#include "data/loader.h"
#include "data/project.h"
#include "data/versions.h"
#include "registry/evaluations.h"
#include "registry/models.h"
#include "serve/training_lock.h"
#include "serve/route_util.h"

namespace fsml {

using json = nlohmann::json;
using http::Dispatch;
using http::Reply;
using http::Request;
using http::Response;
using http::Role;
using route::Answer;
using route::IntParam;
using route::IntText;

namespace {

constexpr int64_t kMaxSeed = int64_t{1} << 53;  // exact in a JSON number

Result<int64_t> RunIdParam(const std::string& text) { return IntText(text, "the run id", 1, INT64_MAX); }

// The last `lines` lines of `log`.
std::string LogTail(const std::string& log, int64_t lines) {
  if (lines <= 0) return "";
  size_t pos = log.size();
  if (pos > 0 && log[pos - 1] == '\n') --pos;
  for (int64_t n = 0; pos > 0; ) {
    size_t nl = log.rfind('\n', pos - 1);
    if (nl == std::string::npos) return log;
    if (++n == lines) return log.substr(nl + 1);
    pos = nl;
  }
  return log;
}

json EpochJson(const EpochMetrics& m) {
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(); };
  return {{"epoch", m.epoch},
          {"train_loss", m.train_loss},
          {"train_accuracy", m.train_accuracy},
          {"val_loss", opt(m.val_loss)},
          {"val_accuracy", opt(m.val_accuracy)},
          {"learning_rate", m.learning_rate},
          {"seconds", m.seconds},
          {"samples_per_second", m.samples_per_second}};
}

// The flat parameters compared across runs: the hyperparameters, the model
// and its parameters ("model.width"), the dataset and the seed.
std::map<std::string, json> ComparableParams(const Run& r) {
  std::map<std::string, json> out;
  if (r.params.is_object())
    for (const auto& [k, v] : r.params.items())
      if (k != "threads") out[k] = v;
  out["model"] = r.model;
  out["dataset"] = r.project + "@v" + std::to_string(r.version_number);
  out["seed"] = r.seed;
  if (r.spec.is_object() && r.spec.contains("params") && r.spec["params"].is_object())
    for (const auto& [k, v] : r.spec["params"].items()) out["model." + k] = v;
  return out;
}

json GateJson(const GateResult& g) {
  json results = json::array();
  for (const auto& r : g.results)
    results.push_back({{"requirement", r.requirement.text}, {"passed", r.passed}, {"actual", r.actual ? json(*r.actual) : json()}});
  return {{"passed", g.passed},
          {"reason", g.reason.empty() ? json() : json(g.reason)},
          {"evaluation_id", g.evaluation_id ? json(*g.evaluation_id) : json()},
          {"results", results}};
}

}  // namespace

// ---- Request parsing ------------------------------------------------------------

Result<RunQuery> ParseRunQuery(const std::map<std::string, std::string>& query) {
  static const std::set<std::string> known = {"project", "model", "status", "sort", "limit", "offset"};
  for (const auto& [k, v] : query)
    if (!known.count(k)) return Err(InvalidArgument("unknown parameter '" + k + "' (known: project, model, status, sort, limit, offset)"));
  RunQuery q;
  auto text = [&](const char* name) { return query.count(name) ? query.at(name) : std::string(); };
  q.project = text("project");
  q.model = text("model");
  q.status = text("status");
  if (query.count("sort")) q.sort = query.at("sort");
  FSML_ASSIGN_OR_RETURN(q.limit, IntParam(query, "limit", 50, 1, 1000));
  FSML_ASSIGN_OR_RETURN(q.offset, IntParam(query, "offset", 0, 0, INT32_MAX));
  FSML_RETURN_IF_ERROR(ValidateRunQuery(q));
  return q;
}

Result<std::vector<int64_t>> ParseCompareIds(std::string_view text) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view part = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    auto id = IntText(part, "each of ids", 1, INT64_MAX);
    if (!id) return Err(InvalidArgument("ids must be 2 to 5 run ids separated by commas, e.g. ids=3,7 ('" +
                                        std::string(part.substr(0, 32)) + "' is not a run id)"));
    if (std::find(ids.begin(), ids.end(), *id) != ids.end())
      return Err(InvalidArgument("ids lists run " + std::to_string(*id) + " twice"));
    ids.push_back(*id);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (ids.size() < 2 || ids.size() > 5)
    return Err(InvalidArgument("ids must list 2 to 5 runs to compare, not " + std::to_string(ids.size())));
  return ids;
}

Result<TrainLaunchRequest> ParseTrainRequest(const json& body) {
  static const std::set<std::string> known = {"data",     "model",         "model_params",  "epochs",         "batch_size",
                                              "lr",       "optimizer",     "weight_decay",  "momentum",       "schedule",
                                              "warmup_epochs", "label_smoothing", "patience", "seed", "augment", "evaluate_test"};
  if (!body.is_object()) return Err(InvalidArgument("the body must be a JSON object"));
  for (const auto& [k, v] : body.items())
    if (!known.count(k)) return Err(InvalidArgument("unknown field \"" + k.substr(0, 64) + "\""));
  auto present = [&](const char* name) { return body.contains(name) && !body[name].is_null(); };
  auto integer = [&](const char* name, int64_t lo, int64_t hi) -> Result<std::optional<int64_t>> {
    if (!present(name)) return std::optional<int64_t>();
    const json& v = body[name];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi)))
      return Err(InvalidArgument("\"" + std::string(name) + "\" must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi)));
    return std::optional<int64_t>(v.get<int64_t>());
  };
  auto number = [&](const char* name, double lo, double hi, bool lo_open, bool hi_open) -> Result<std::optional<double>> {
    if (!present(name)) return std::optional<double>();
    const json& v = body[name];
    auto show = [](double x) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", x);
      return std::string(buf);
    };
    std::string range = std::string(lo_open ? "(" : "[") + show(lo) + ", " + show(hi) + (hi_open ? ")" : "]");
    if (!v.is_number()) return Err(InvalidArgument("\"" + std::string(name) + "\" must be a number in " + range));
    double d = v.get<double>();
    if (!(lo_open ? d > lo : d >= lo) || !(hi_open ? d < hi : d <= hi))
      return Err(InvalidArgument("\"" + std::string(name) + "\" must be a number in " + range));
    return std::optional<double>(d);
  };
  auto choice = [&](const char* name, const std::vector<std::string>& options) -> Result<std::string> {
    if (!present(name)) return std::string();
    std::string list;
    for (const auto& o : options) list += (list.empty() ? "" : ", ") + o;
    if (!body[name].is_string() || std::find(options.begin(), options.end(), body[name].get<std::string>()) == options.end())
      return Err(InvalidArgument("\"" + std::string(name) + "\" must be one of " + list));
    return body[name].get<std::string>();
  };

  TrainLaunchRequest out;
  TrainOptions& o = out.options;
  if (!present("data") || !body["data"].is_string() || body["data"].get<std::string>().empty())
    return Err(InvalidArgument("\"data\" is required: the dataset version to train on, as project@vN"));
  {
    auto ref = ParseVersionRef(body["data"].get<std::string>());
    if (!ref) return Err(InvalidArgument("\"data\": " + ref.error().message()));
    out.project = ref->project;
    out.version_ref = ref->ref;
  }
  if (present("model")) {
    if (!body["model"].is_string() ||
        std::find(ModelNames().begin(), ModelNames().end(), body["model"].get<std::string>()) == ModelNames().end())
      return Err(InvalidArgument("\"model\" must be one of mlp, cnn-small, resnet"));
    o.model = body["model"].get<std::string>();
  }
  if (present("model_params")) {
    const json& mp = body["model_params"];
    if (!mp.is_object() || mp.size() > 8)
      return Err(InvalidArgument("\"model_params\" must be an object of at most 8 model parameters, e.g. {\"hidden\": [256, 128]}"));
    for (const auto& [k, v] : mp.items()) {
      bool ok = v.is_number() || (v.is_array() && v.size() <= 64 &&
                                  std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); }));
      if (!ok || k.size() > 32)
        return Err(InvalidArgument("\"model_params\": each value must be a number or a list of numbers (\"" + k.substr(0, 32) + "\")"));
    }
    o.model_params = mp;
  }
  FSML_ASSIGN_OR_RETURN(auto epochs, integer("epochs", 1, 1000));
  if (epochs) o.epochs = static_cast<int>(*epochs);
  FSML_ASSIGN_OR_RETURN(auto batch, integer("batch_size", 1, 65536));
  if (batch) o.batch_size = static_cast<size_t>(*batch);
  FSML_ASSIGN_OR_RETURN(auto lr, number("lr", 0, 100, true, true));
  if (lr) o.lr = *lr;
  FSML_ASSIGN_OR_RETURN(o.optimizer, choice("optimizer", {"sgd", "adamw"}));
  FSML_ASSIGN_OR_RETURN(auto wd, number("weight_decay", 0, 1, false, false));
  if (wd) o.weight_decay = *wd;
  FSML_ASSIGN_OR_RETURN(auto momentum, number("momentum", 0, 1, false, false));
  if (momentum) o.momentum = *momentum;
  FSML_ASSIGN_OR_RETURN(o.schedule, choice("schedule", {"cosine", "step", "constant"}));
  FSML_ASSIGN_OR_RETURN(auto warmup, integer("warmup_epochs", 0, 1000));
  if (warmup) {
    if (epochs && *warmup >= *epochs && *warmup > 0) return Err(InvalidArgument("\"warmup_epochs\" must be fewer than \"epochs\""));
    o.warmup_epochs = static_cast<int>(*warmup);
  }
  FSML_ASSIGN_OR_RETURN(auto smoothing, number("label_smoothing", 0, 1, false, true));
  if (smoothing) o.label_smoothing = *smoothing;
  FSML_ASSIGN_OR_RETURN(auto patience, integer("patience", 0, 1000));
  if (patience) o.patience = static_cast<int>(*patience);
  FSML_ASSIGN_OR_RETURN(auto seed, integer("seed", 0, kMaxSeed));
  if (seed) o.seed = static_cast<uint64_t>(*seed);
  if (present("augment")) {
    if (!body["augment"].is_string()) return Err(InvalidArgument("\"augment\" must be a string such as \"crop,flip\" or \"none\""));
    std::string a = body["augment"].get<std::string>();
    if (a == "none") a = "";
    if (a.size() > 64) return Err(InvalidArgument("\"augment\" is too long"));
    auto parsed = ParseAugmentation(a);
    if (!parsed) return Err(InvalidArgument("\"augment\": " + parsed.error().message()));
    o.augment = a;
  }
  if (present("evaluate_test")) {
    if (!body["evaluate_test"].is_boolean()) return Err(InvalidArgument("\"evaluate_test\" must be true or false"));
    o.evaluate_test = body["evaluate_test"].get<bool>();
  }
  o.quiet = true;
  return out;
}

json TrainLaunchToJson(const TrainLaunch& t) {
  auto text = [](const std::string& v) { return v.empty() ? json() : json(v); };
  return {{"id", t.id},
          {"state", t.state},
          {"project", t.project},
          {"data", t.data},
          {"model", t.model},
          {"requested_by", t.requested_by},
          {"requested_at", t.requested_at},
          {"finished_at", text(t.finished_at)},
          {"run_id", t.run_id ? json(t.run_id) : json()},
          {"error", text(t.error)}};
}

// ---- Trainings -------------------------------------------------------------------

RunsApi::RunsApi(Workspace& ws) : ws_(ws) {}

RunsApi::~RunsApi() { Stop(); }

void RunsApi::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (auto& [id, l] : launches_)
      if (l.thread.joinable()) threads.push_back(std::move(l.thread));
  }
  for (auto& t : threads) t.join();
}

void RunsApi::Update(int64_t id, const std::function<void(TrainLaunch&)>& change) {
  {
    std::lock_guard lock(mu_);
    change(launches_[id].status);
  }
  changed_.notify_all();
}

Result<TrainLaunch> RunsApi::StartTraining(const Project& project, const DatasetVersion& version, TrainOptions options,
                                           const std::string& user) {
  int64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (stop_) return Err(Unavailable("the server is shutting down; start the training again after it restarts"));
    // Finished launches keep their status (the list shows them); their
    // threads have ended and join at once.
    for (auto& [old_id, l] : launches_)
      if (l.thread.joinable() && (l.status.state == "finished" || l.status.state == "failed")) l.thread.join();
    while (launches_.size() >= 100) {
      auto oldest = launches_.begin();
      if (oldest->second.thread.joinable()) break;
      launches_.erase(oldest);
    }
    id = next_id_++;
    Launch& l = launches_[id];
    l.status.id = id;
    l.status.state = "starting";
    l.status.project = project.name;
    l.status.data = project.name + "@v" + std::to_string(version.number);
    l.status.model = options.model;
    l.status.requested_by = user;
    l.status.requested_at = NowRfc3339();
    l.thread = std::thread([this, id, project, version, options = std::move(options)] { Train(id, project, version, options); });
  }
  // Until the run exists, the training is queued, or it failed before its
  // run (bad model parameters, too few items): then the request's answer is
  // that error. Loading a large dataset may take a while; past a minute the
  // answer is the launch, still "starting".
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, std::chrono::seconds(60), [&] { return launches_[id].status.state != "starting"; });
  TrainLaunch t = launches_[id].status;
  if (t.state == "failed" && t.run_id == 0) return Err(Status(t.error_code, t.error));
  return t;
}

void RunsApi::Train(int64_t id, Project project, DatasetVersion version, TrainOptions options) {
  Status status;
  // The boundary of this thread: an exception fails the training instead of
  // ending the process.
  try {
    std::unique_lock training(TrainingLock(), std::try_to_lock);
    if (!training.owns_lock()) {
      Update(id, [](TrainLaunch& t) { t.state = "queued"; });
      training.lock();
      Update(id, [](TrainLaunch& t) { t.state = "starting"; });
    }
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stop_;
    }
    if (stopping) {
      status = Aborted("the server shut down before the training started; start it again");
    } else {
      options.on_run_created = [this, id](int64_t run_id) {
        Update(id, [run_id](TrainLaunch& t) {
          t.run_id = run_id;
          t.state = "running";
        });
      };
      auto ml = LoadMlModule();
      if (!ml) {
        status = ml.error();
      } else {
        log::Info("training {} on {}@v{} (requested from the web API)", options.model, project.name, version.number);
        auto r = (*ml)->Train(ws_, project, version, options);
        if (!r) status = r.error();
      }
    }
  } catch (const std::exception& e) {
    status = Internal(std::string("training: ") + e.what());
  }
  if (!status.ok()) log::Warn("training on {}@v{} failed: {}", project.name, version.number, status.message());
  Update(id, [&](TrainLaunch& t) {
    t.state = status.ok() ? "finished" : "failed";
    t.error = status.ok() ? "" : status.message();
    t.error_code = status.code();
    t.finished_at = NowRfc3339();
  });
}

// ---- Routes ----------------------------------------------------------------------

void RunsApi::AddRoutes(http::Router& router) {
  AddRunRoutes(router);
  AddRegistryRoutes(router);
}

void RunsApi::AddRunRoutes(http::Router& router) {
  router.Add({"GET", "/api/v1/runs", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(RunQuery query, ParseRunQuery(q));
                  FSML_ASSIGN_OR_RETURN(RunPage page, ListRuns(ws_.meta(), query));
                  json runs = json::array();
                  for (const auto& r : page.runs) {
                    json j = RunToJson(r, false);
                    j.erase("spec");  // the list's rows stay small; GET /api/v1/runs/{id} has everything
                    runs.push_back(std::move(j));
                  }
                  return Response::Json(200, {{"runs", runs}, {"total", page.total}, {"limit", query.limit}, {"offset", query.offset},
                                              {"sort", query.sort}});
                });
              }});
  router.Add({"POST", "/api/v1/runs", Dispatch::kBlocking, Role::kReviewer, [this](Request& req, Reply reply) {
                auto parsed = route::JsonBody(req);
                if (!parsed) return reply(std::move(parsed.error()));
                Answer(reply, [&]() -> Result<Response> {
                  json body = std::move(*parsed);
                  FSML_ASSIGN_OR_RETURN(TrainLaunchRequest launch, ParseTrainRequest(body));
                  FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws_.meta(), launch.project));
                  if (project.type != TaskType::kImageClassification)
                    return Err(FailedPrecondition("project '" + project.name + "' is " + std::string(TaskTypeName(project.type)) +
                                                  "; training needs an image-classification project (there are no text models yet)"));
                  FSML_ASSIGN_OR_RETURN(DatasetVersion version, ResolveVersion(ws_.meta(), project, launch.version_ref));
                  FSML_ASSIGN_OR_RETURN(TrainLaunch t, StartTraining(project, version, std::move(launch.options), req.principal));
                  auto res = Response::Json(202, {{"run_id", t.run_id ? json(t.run_id) : json()}, {"training", TrainLaunchToJson(t)}});
                  if (t.run_id) res.headers.emplace_back("Location", "/api/v1/runs/" + std::to_string(t.run_id));
                  return res;
                });
              }});
  router.Add({"GET", "/api/v1/trainings", Dispatch::kBlocking, Role::kViewer, [this](Request&, Reply reply) {
                json out = json::array();
                {
                  std::lock_guard lock(mu_);
                  for (auto it = launches_.rbegin(); it != launches_.rend(); ++it) out.push_back(TrainLaunchToJson(it->second.status));
                }
                reply(Response::Json(200, {{"trainings", out}}));
              }});
  router.Add({"GET", "/api/v1/runs/compare", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  if (!q.count("ids")) return Err(InvalidArgument("ids is required: 2 to 5 run ids separated by commas, e.g. ids=3,7"));
                  FSML_ASSIGN_OR_RETURN(auto ids, ParseCompareIds(q["ids"]));
                  std::vector<Run> runs;
                  for (int64_t id : ids) {
                    FSML_ASSIGN_OR_RETURN(Run r, GetRun(ws_.meta(), id));
                    runs.push_back(std::move(r));
                  }
                  std::vector<std::map<std::string, json>> params;
                  std::set<std::string> keys;
                  for (const auto& r : runs) {
                    params.push_back(ComparableParams(r));
                    for (const auto& [k, v] : params.back()) keys.insert(k);
                  }
                  json differing = json::object(), common = json::object();
                  for (const auto& k : keys) {
                    json values = json::array();
                    for (auto& p : params) values.push_back(p.count(k) ? p[k] : json());
                    bool same = std::all_of(values.begin(), values.end(), [&](const json& v) { return v == values[0]; });
                    if (same) common[k] = values[0];
                    else differing[k] = values;
                  }
                  json out = json::array();
                  for (const auto& r : runs) {
                    json j = RunToJson(r, false);
                    j.erase("spec");
                    json epochs = json::array();
                    for (const auto& e : r.epochs) epochs.push_back(EpochJson(e));
                    j["epochs"] = epochs;
                    out.push_back(std::move(j));
                  }
                  return Response::Json(200, {{"runs", out}, {"params", {{"differing", differing}, {"common", common}}}});
                });
              }});
  router.Add({"GET", "/api/v1/runs/{id}", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, RunIdParam(req.params["id"]));
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(int64_t lines, IntParam(q, "log_lines", 200, 0, 10000));
                  FSML_ASSIGN_OR_RETURN(Run r, GetRun(ws_.meta(), id));
                  json j = RunToJson(r, true);
                  j["log"] = LogTail(r.log, lines);
                  j["dataset_version"] = {{"project", r.project}, {"number", r.version_number}};
                  json checkpoints = json::array();
                  for (const auto& e : r.epochs) {
                    if (e.checkpoint_key.empty()) continue;
                    checkpoints.push_back({{"epoch", e.epoch},
                                           {"key", e.checkpoint_key},
                                           {"bytes", e.checkpoint_bytes ? json(*e.checkpoint_bytes) : json()},
                                           {"best", r.best_epoch && *r.best_epoch == e.epoch},
                                           {"download", "/api/v1/runs/" + std::to_string(r.id) + "/artifacts/" + std::to_string(e.epoch)}});
                  }
                  json versions = json::array();
                  for (const auto& ref : r.model_versions) {
                    auto v = ResolveModel(ws_.meta(), ref);
                    if (v) versions.push_back({{"name", v->name}, {"number", v->number}, {"epoch", v->epoch}, {"aliases", v->aliases},
                                               {"metrics", v->metrics}, {"created_at", v->created_at}});
                  }
                  j["artifacts"] = {{"checkpoints", checkpoints},
                                    {"best_checkpoint", r.best_epoch ? json({{"epoch", *r.best_epoch}, {"key", r.best_checkpoint_key}}) : json()},
                                    {"model_versions", versions}};
                  return Response::Json(200, j);
                });
              }});
  router.Add({"GET", "/api/v1/runs/{id}/artifacts/{epoch}", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, RunIdParam(req.params["id"]));
                  FSML_ASSIGN_OR_RETURN(int64_t epoch, IntText(req.params["epoch"], "the epoch", 1, 1000000));
                  FSML_ASSIGN_OR_RETURN(Run r, GetRun(ws_.meta(), id));
                  auto it = std::find_if(r.epochs.begin(), r.epochs.end(), [&](const EpochMetrics& e) { return e.epoch == epoch; });
                  if (it == r.epochs.end() || it->checkpoint_key.empty())
                    return Err(NotFound("run " + std::to_string(id) + " has no checkpoint of epoch " + std::to_string(epoch) +
                                        " (it has " + std::to_string(r.epochs.size()) + " epochs)"));
                  // The key comes from the database, never from the request.
                  FSML_ASSIGN_OR_RETURN(std::string bytes, ws_.blobs().Get(it->checkpoint_key));
                  Response res = Response::Text(200, std::move(bytes), "application/octet-stream");
                  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"run-" + std::to_string(id) + "-epoch-" +
                                                                       std::to_string(epoch) + ".ckpt\"");
                  return res;
                });
              }});
}

// ---- Model registry ----------------------------------------------------------------

void RunsApi::AddRegistryRoutes(http::Router& router) {
  router.Add({"GET", "/api/v1/registry/{name}", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  const std::string& name = req.params["name"];
                  FSML_RETURN_IF_ERROR(ValidateModelName(name));
                  FSML_ASSIGN_OR_RETURN(auto versions, ListModelVersions(ws_.meta(), name));
                  if (versions.empty()) return Err(NotFound("no model '" + name + "' in the registry"));
                  json out = json::array();
                  for (const auto& v : versions) {
                    json j = ModelVersionToJson(v);
                    FSML_ASSIGN_OR_RETURN(auto dataset, ws_.meta().QueryInt("SELECT version_number FROM runs WHERE id = ?", {v.run_id}));
                    j["lineage"] = {{"run_id", v.run_id},
                                    {"epoch", v.epoch},
                                    {"project", v.project},
                                    {"dataset_version", dataset ? json(*dataset) : json()},
                                    {"dataset", dataset ? json(v.project + "@v" + std::to_string(*dataset)) : json()}};
                    out.push_back(std::move(j));
                  }
                  FSML_ASSIGN_OR_RETURN(auto events, AliasHistory(ws_.meta(), name));
                  json history = json::array();
                  for (const auto& e : events)
                    history.push_back({{"alias", e.alias}, {"number", e.number ? json(*e.number) : json()},
                                       {"previous", e.previous ? json(*e.previous) : json()}, {"at", e.at}, {"by", e.by},
                                       {"forced", e.forced}, {"note", e.note}});
                  json aliases = json::object();
                  for (const auto& v : versions)
                    for (const auto& a : v.aliases) aliases[a] = v.number;
                  return Response::Json(200, {{"name", name}, {"project", versions.front().project}, {"versions", out},
                                              {"aliases", aliases}, {"alias_history", history}});
                });
              }});
  router.Add({"GET", "/api/v1/registry/{name}/versions/{n}/gate", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_RETURN_IF_ERROR(ValidateModelName(req.params["name"]));
                  FSML_ASSIGN_OR_RETURN(int64_t n, IntText(req.params["n"], "the version number", 1, INT64_MAX));
                  FSML_ASSIGN_OR_RETURN(ModelVersion v, ResolveModel(ws_.meta(), ModelRef{req.params["name"], n, "", ""}));
                  FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws_.meta(), v.project));
                  FSML_ASSIGN_OR_RETURN(GateResult gate, CheckProductionGate(ws_, project, v));
                  return Response::Json(200, GateJson(gate));
                });
              }});
  router.Add({"POST", "/api/v1/registry/{name}/aliases/{alias}", Dispatch::kBlocking, Role::kAdmin, [this](Request& req, Reply reply) {
                auto parsed = route::JsonBody(req);
                if (!parsed) return reply(std::move(parsed.error()));
                Answer(reply, [&]() -> Result<Response> {
                  json body = std::move(*parsed);
                  static const std::set<std::string> known = {"version", "force", "reason"};
                  for (const auto& [k, v] : body.items())
                    if (!known.count(k)) return Err(InvalidArgument("unknown field \"" + k.substr(0, 64) + "\" (known: version, force, reason)"));
                  if (!body.contains("version") || !body["version"].is_number_integer() || body["version"].get<int64_t>() < 1)
                    return Err(InvalidArgument("\"version\" is required: the version number (an integer, 1 or more)"));
                  bool force = false;
                  if (body.contains("force")) {
                    if (!body["force"].is_boolean()) return Err(InvalidArgument("\"force\" must be true or false"));
                    force = body["force"].get<bool>();
                  }
                  std::string reason;
                  if (body.contains("reason") && !body["reason"].is_null()) {
                    if (!body["reason"].is_string()) return Err(InvalidArgument("\"reason\" must be a string"));
                    reason = body["reason"].get<std::string>();
                    if (reason.size() > 1000) return Err(InvalidArgument("\"reason\" must be at most 1000 characters"));
                  }
                  if (force && reason.empty())
                    return Err(InvalidArgument("\"reason\" is required with \"force\": it is kept in the alias history"));
                  FSML_RETURN_IF_ERROR(ValidateModelName(req.params["name"]));
                  AliasMove move{req.params["name"], body["version"].get<int64_t>(), req.params["alias"], req.principal, force, reason};
                  FSML_ASSIGN_OR_RETURN(AliasMoveResult moved, MoveAlias(ws_, move));
                  return Response::Json(200, {{"name", move.name},
                                              {"alias", move.alias},
                                              {"version", move.number},
                                              {"forced", moved.forced},
                                              {"gate", moved.gate ? GateJson(*moved.gate) : json()}});
                });
              }});
}

}  // namespace fsml
