#include "serve/web_api.h"

#include <algorithm>
#include <set>

#include "core/fs.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/import.h"
#include "data/manifest.h"
#include "data/upload.h"
#include "data/versions.h"
#include "web/web_assets.h"
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
using route::JsonBody;
using route::StringField;

namespace {

json UserJson(const User& u) {
  return {{"name", u.name}, {"role", http::RoleName(u.role)}, {"created_at", u.created_at}, {"created_by", u.created_by}};
}

json LoginJson(const LoginResult& l) {
  return {{"user", {{"name", l.user.name}, {"role", http::RoleName(l.user.role)}}},
          {"csrf_token", l.csrf_token},
          {"expires_at", l.expires_at}};
}

json SuggestionJson(const std::optional<Suggestion>& s) {
  if (!s) return nullptr;
  return {{"label", s->label}, {"confidence", s->confidence}, {"model", s->model}};
}

json LabelsJson(const Project& p) {
  json out = json::array();
  for (const auto& l : p.labels) out.push_back({{"name", l.name}, {"color", l.color}, {"hotkey", l.hotkey}});
  return out;
}

json ProjectJson(const Project& p, const LabelingProgress* progress) {
  json j = {{"name", p.name},
            {"task_type", TaskTypeName(p.type)},
            {"labels", LabelsJson(p)},
            {"guidelines", p.guidelines},
            {"overlap", p.overlap},
            {"collect_below", p.collect_below ? json(*p.collect_below) : json()},
            {"review_sample_permille", p.review_sample_permille},
            {"created_at", p.created_at},
            {"created_by", p.created_by}};
  if (progress) {
    j["progress"] = {{"items", progress->items},         {"labeled", progress->labeled},         {"open", progress->open},
                     {"in_review", progress->in_review}, {"annotations", progress->annotations}, {"today", progress->today},
                     {"versions", progress->versions}};
  }
  return j;
}

json ItemJson(const ItemDetail& d) {
  json j = {{"item_id", d.item_id},
            {"media_type", d.media_type},
            {"split", d.split},
            {"state", d.state},
            {"label", d.label ? json(*d.label) : json()},
            {"suggestion", SuggestionJson(d.suggestion)}};
  if (d.width) j["width"] = d.width;
  if (d.height) j["height"] = d.height;
  if (!d.text.empty()) j["text"] = d.text;
  json votes = json::array();
  for (const auto& v : d.votes)
    votes.push_back({{"id", v.annotation_id}, {"user", v.user}, {"label", v.label}, {"created_at", v.created_at}});
  j["annotations"] = std::move(votes);
  json flags = json::array();
  for (const auto& f : d.flags)
    flags.push_back({{"id", f.id}, {"user", f.user}, {"comment", f.comment}, {"created_at", f.created_at}, {"resolved", f.resolved}});
  j["flags"] = std::move(flags);
  return j;
}

LabelingOptions RefreshedInBackground(LabelingOptions o) {
  o.refresh_in_background = true;
  return o;
}

}  // namespace

WebApi::WebApi(Workspace& ws, AccessControl& access, WebApiOptions options)
    : ws_(ws),
      access_(access),
      options_(std::move(options)),
      labeling_(ws, RefreshedInBackground(options_.labeling)),
      scorer_(ws),
      retrainer_(ws, [this](const Project&) { scorer_.Wake(); }) {}

WebApi::~WebApi() { Stop(); }

void WebApi::Start() {
  scorer_.Start();
  std::lock_guard lock(refresh_mu_);
  if (refresher_.joinable()) return;
  refresh_stop_ = false;
  refresher_ = std::thread([this] { RefreshLoop(); });
}

void WebApi::Stop() {
  {
    std::lock_guard lock(refresh_mu_);
    refresh_stop_ = true;
  }
  refresh_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  retrainer_.Stop();  // before the scorer: a finishing retrain wakes it
  scorer_.Stop();
}

void WebApi::RefreshLoop() {
  std::string last_error;
  std::unique_lock lock(refresh_mu_);
  while (!refresh_cv_.wait_for(lock, options_.labeling.sync_interval, [this] { return refresh_stop_; })) {
    lock.unlock();
    Status s = labeling_.Refresh();
    // Logged when it starts failing or changes, not every interval.
    if (!s.ok() && s.message() != last_error) log::Warn("labeling queues: {}", s.message());
    last_error = s.ok() ? "" : s.message();
    lock.lock();
  }
}

void WebApi::AddRoutes(http::Router& router) {
  AddAuthRoutes(router);
  AddUserRoutes(router);
  AddProjectRoutes(router);
  AddLabelingRoutes(router);
  AddVersionRoutes(router);
  AddModelLoopRoutes(router);
  AddStaticRoutes(router);
}

// ---- Active learning: suggestions and retraining ------------------------------------

void WebApi::AddModelLoopRoutes(http::Router& router) {
  router.Add({"GET", "/api/v1/projects/{p}/suggestions", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  json j = scorer_.Status(p);
                  j["retrain"] = RetrainStatusToJson(retrainer_.Get(p.name));
                  return Response::Json(200, j);
                });
              }});
  router.Add({"POST", "/api/v1/projects/{p}/retrain", Dispatch::kBlocking, Role::kReviewer, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  RetrainRequest r;
                  r.project = p.name;
                  r.requested_by = req.principal;
                  if (body->contains("epochs")) {
                    if (!(*body)["epochs"].is_number_integer() || (*body)["epochs"].get<int64_t>() < 0 || (*body)["epochs"].get<int64_t>() > 1000)
                      return Err(InvalidArgument("\"epochs\" must be an integer from 0 (the recipe's) to 1000"));
                    r.epochs = static_cast<int>((*body)["epochs"].get<int64_t>());
                  }
                  FSML_ASSIGN_OR_RETURN(auto status, retrainer_.Start(r));
                  return Response::Json(202, RetrainStatusToJson(status));
                });
              }});
}

// ---- Sessions ----------------------------------------------------------------

void WebApi::AddAuthRoutes(http::Router& router) {
  router.Add({"POST", "/api/v1/auth/login", Dispatch::kBlocking, Role::kPublic, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                auto name = StringField(*body, "name");
                auto password = StringField(*body, "password");
                if (!name) return reply(Response::FromStatus(name.error()));
                if (!password) return reply(Response::FromStatus(password.error()));
                auto login = access_.Login(*name, *password, req.remote);
                if (!login) return reply(std::move(login.error()));
                auto res = Response::Json(200, LoginJson(*login));
                res.headers.emplace_back("Set-Cookie", access_.SessionCookie(*login, options_.secure_cookies));
                reply(std::move(res));
              }});
  router.Add({"GET", "/api/v1/auth/me", Dispatch::kBlocking, Role::kPublic, [this](Request& req, Reply reply) {
                auto session = access_.CurrentSession(req);
                if (!session) return reply(std::move(session.error()));
                reply(Response::Json(200, LoginJson(*session)));
              }});
  router.Add({"POST", "/api/v1/auth/logout", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Status s = access_.Logout(req);
                if (!s.ok()) return reply(Response::FromStatus(s));
                auto res = Response::Json(200, {{"logged_out", true}});
                res.headers.emplace_back("Set-Cookie", AccessControl::ClearedSessionCookie(options_.secure_cookies));
                reply(std::move(res));
              }});
  router.Add({"POST", "/api/v1/auth/password", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto current, StringField(*body, "current"));
                  FSML_ASSIGN_OR_RETURN(auto next, StringField(*body, "new"));
                  auto check = access_.CheckPassword(req.principal, current, req.remote);
                  if (!check) return check.error().status == 429 ? std::move(check.error())
                                                                 : Response::Error(403, "invalid_credentials", "the current password is wrong");
                  FSML_RETURN_IF_ERROR(SetUserPassword(ws_.meta(), req.principal, next));
                  auto res = Response::Json(200, {{"changed", true}});
                  res.headers.emplace_back("Set-Cookie", AccessControl::ClearedSessionCookie(options_.secure_cookies));
                  return res;
                });
              }});
}

// ---- Users -------------------------------------------------------------------

void WebApi::AddUserRoutes(http::Router& router) {
  router.Add({"GET", "/api/v1/users", Dispatch::kBlocking, Role::kAdmin, [this](Request&, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto users, ListUsers(ws_.meta()));
                  json out = json::array();
                  for (const auto& u : users) out.push_back(UserJson(u));
                  return Response::Json(200, {{"users", out}});
                });
              }});
  router.Add({"POST", "/api/v1/users", Dispatch::kBlocking, Role::kAdmin, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto name, StringField(*body, "name"));
                  FSML_ASSIGN_OR_RETURN(auto role_name, StringField(*body, "role"));
                  FSML_ASSIGN_OR_RETURN(auto password, StringField(*body, "password"));
                  FSML_ASSIGN_OR_RETURN(auto role, http::ParseRole(role_name));
                  FSML_ASSIGN_OR_RETURN(auto user, CreateUser(ws_.meta(), name, role, password, req.principal));
                  return Response::Json(201, UserJson(user));
                });
              }});
  router.Add({"PATCH", "/api/v1/users/{name}", Dispatch::kBlocking, Role::kAdmin, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  const std::string& name = req.params["name"];
                  FSML_RETURN_IF_ERROR(StatusOf(GetUser(ws_.meta(), name)));
                  FSML_ASSIGN_OR_RETURN(auto role_name, StringField(*body, "role", false));
                  FSML_ASSIGN_OR_RETURN(auto password, StringField(*body, "password", false));
                  if (!role_name.empty()) {
                    FSML_ASSIGN_OR_RETURN(auto role, http::ParseRole(role_name));
                    FSML_RETURN_IF_ERROR(SetUserRole(ws_.meta(), name, role));
                  }
                  if (body->contains("password")) FSML_RETURN_IF_ERROR(SetUserPassword(ws_.meta(), name, password));
                  FSML_ASSIGN_OR_RETURN(auto user, GetUser(ws_.meta(), name));
                  return Response::Json(200, UserJson(user));
                });
              }});
  router.Add({"DELETE", "/api/v1/users/{name}", Dispatch::kBlocking, Role::kAdmin, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_RETURN_IF_ERROR(RemoveUser(ws_.meta(), req.params["name"]));
                  return Response::Json(200, {{"removed", req.params["name"]}});
                });
              }});
}

// ---- Projects and uploads ----------------------------------------------------------

static Result<std::vector<LabelStyle>> ParseLabels(const json& labels, std::vector<std::string>* names) {
  if (!labels.is_array() || labels.empty()) return Err(InvalidArgument("\"labels\" must be a non-empty array"));
  if (labels.size() > 1000) return Err(InvalidArgument("at most 1,000 labels"));
  std::vector<LabelStyle> styles;
  for (const auto& l : labels) {
    LabelStyle s;
    if (l.is_string()) {
      s.name = l.get<std::string>();
    } else if (l.is_object() && l.contains("name") && l["name"].is_string()) {
      s.name = l["name"].get<std::string>();
      FSML_ASSIGN_OR_RETURN(s.color, StringField(l, "color", false));
      FSML_ASSIGN_OR_RETURN(s.hotkey, StringField(l, "hotkey", false));
    } else {
      return Err(InvalidArgument("each label must be a name or {\"name\", \"color\", \"hotkey\"}"));
    }
    names->push_back(s.name);
    styles.push_back(std::move(s));
  }
  return styles;
}

static Result<int> OverlapField(const json& body, int fallback) {
  if (!body.contains("overlap")) return fallback;
  if (!body["overlap"].is_number_integer()) return Err(InvalidArgument("\"overlap\" must be an integer from 1 to 10"));
  int64_t k = body["overlap"].get<int64_t>();
  if (k < 1 || k > 10) return Err(InvalidArgument("\"overlap\" must be an integer from 1 to 10"));
  return static_cast<int>(k);
}

// "collect_below": null (off) or a probability in (0, 1]; only image
// projects have models whose inputs can come back.
static Result<std::optional<double>> CollectBelowField(const json& body, const Project& p) {
  const json& v = body.at("collect_below");
  if (v.is_null()) return std::optional<double>();
  if (!v.is_number() || !(v.get<double>() > 0 && v.get<double>() <= 1))
    return Err(InvalidArgument("\"collect_below\" must be a number in (0, 1] (a top probability, e.g. 0.6) or null to stop collecting"));
  if (p.type != TaskType::kImageClassification)
    return Err(InvalidArgument("project '" + p.name + "' is " + std::string(TaskTypeName(p.type)) +
                               ": only image-classification projects have models whose inputs can be collected"));
  return std::optional<double>(v.get<double>());
}

static Result<int> ReviewSampleField(const json& body) {
  const json& v = body.at("review_sample_permille");
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000)
    return Err(InvalidArgument("\"review_sample_permille\" must be an integer from 0 to 1000 (per mille of finished items)"));
  return static_cast<int>(v.get<int64_t>());
}

void WebApi::AddProjectRoutes(http::Router& router) {
  router.Add({"GET", "/api/v1/projects", Dispatch::kBlocking, Role::kViewer, [this](Request&, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto projects, ListProjects(ws_.meta()));
                  json out = json::array();
                  for (const auto& p : projects) {
                    FSML_ASSIGN_OR_RETURN(auto progress, labeling_.Progress(p));
                    out.push_back(ProjectJson(p, &progress));
                  }
                  return Response::Json(200, {{"projects", out}});
                });
              }});
  router.Add({"POST", "/api/v1/projects", Dispatch::kBlocking, Role::kAdmin, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  ProjectSpec spec;
                  FSML_ASSIGN_OR_RETURN(spec.name, StringField(*body, "name"));
                  FSML_ASSIGN_OR_RETURN(auto type, StringField(*body, "task_type"));
                  FSML_ASSIGN_OR_RETURN(spec.type, ParseTaskType(type));
                  FSML_ASSIGN_OR_RETURN(spec.guidelines, StringField(*body, "guidelines", false));
                  if (spec.guidelines.size() > (1u << 20)) return Err(InvalidArgument("guidelines must be at most 1 MiB"));
                  FSML_ASSIGN_OR_RETURN(spec.overlap, OverlapField(*body, 1));
                  if (!body->contains("labels")) return Err(InvalidArgument("\"labels\" is required"));
                  FSML_ASSIGN_OR_RETURN(auto styles, ParseLabels((*body)["labels"], &spec.labels));
                  FSML_RETURN_IF_ERROR(ValidateProjectName(spec.name));
                  FSML_ASSIGN_OR_RETURN(Project p, CreateProject(ws_.meta(), spec, req.principal));
                  Status styled = SetLabelStyles(ws_.meta(), p, styles);
                  if (!styled.ok()) {
                    (void)DeleteEmptyProject(ws_.meta(), p);  // all or nothing: a project with bad styles is not made
                    return Err(styled);
                  }
                  FSML_ASSIGN_OR_RETURN(auto progress, labeling_.Progress(p));
                  return Response::Json(201, ProjectJson(p, &progress));
                });
              }});
  router.Add({"GET", "/api/v1/projects/{p}", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto progress, labeling_.Progress(p));
                  json j = ProjectJson(p, &progress);
                  json per_annotator = json::array();
                  for (const auto& a : progress.per_annotator)
                    per_annotator.push_back({{"user", a.user}, {"labels", a.labels}, {"today", a.today}});
                  json per_label = json::object();
                  for (const auto& l : p.labels) per_label[l.name] = progress.per_label.count(l.name) ? progress.per_label.at(l.name) : 0;
                  j["stats"] = {{"per_label", per_label}, {"per_annotator", per_annotator}};
                  return Response::Json(200, j);
                });
              }});
  router.Add({"PATCH", "/api/v1/projects/{p}", Dispatch::kBlocking, Role::kAdmin, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  // Settings are checked before any is stored, so a bad one changes nothing.
                  std::optional<std::optional<double>> collect_below;
                  std::optional<int> review_sample;
                  if (body->contains("collect_below")) {
                    FSML_ASSIGN_OR_RETURN(auto below, CollectBelowField(*body, p));
                    collect_below.emplace(below);
                  }
                  if (body->contains("review_sample_permille")) {
                    FSML_ASSIGN_OR_RETURN(int permille, ReviewSampleField(*body));
                    review_sample = permille;
                  }
                  if (body->contains("labels")) {
                    std::vector<std::string> names;
                    FSML_ASSIGN_OR_RETURN(auto styles, ParseLabels((*body)["labels"], &names));
                    FSML_RETURN_IF_ERROR(SetLabels(ws_.meta(), p, names));
                    FSML_RETURN_IF_ERROR(SetLabelStyles(ws_.meta(), p, styles));
                  }
                  if (body->contains("guidelines")) {
                    FSML_ASSIGN_OR_RETURN(auto g, StringField(*body, "guidelines"));
                    if (g.size() > (1u << 20)) return Err(InvalidArgument("guidelines must be at most 1 MiB"));
                    FSML_RETURN_IF_ERROR(SetGuidelines(ws_.meta(), p, g));
                  }
                  if (body->contains("overlap")) {
                    FSML_ASSIGN_OR_RETURN(int k, OverlapField(*body, p.overlap));
                    FSML_RETURN_IF_ERROR(SetOverlap(ws_.meta(), p, k));
                  }
                  if (collect_below) FSML_RETURN_IF_ERROR(SetCollectBelow(ws_.meta(), p, *collect_below));
                  if (review_sample) FSML_RETURN_IF_ERROR(SetReviewSample(ws_.meta(), p, *review_sample));
                  FSML_ASSIGN_OR_RETURN(auto progress, labeling_.Progress(p));
                  return Response::Json(200, ProjectJson(p, &progress));
                });
              }});
  router.Add({"POST", "/api/v1/projects/{p}/imports", Dispatch::kBlocking, Role::kAdmin, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  if (http::MediaType(req.Header("content-type")) != "multipart/form-data")
                    return Response::Error(415, "unsupported_media_type", "upload files as multipart/form-data with \"file\" parts");
                  FSML_ASSIGN_OR_RETURN(auto parts, http::ParseMultipart(req.Header("content-type"), req.body, 10000));
                  std::vector<UploadedFile> files;
                  for (auto& part : parts)
                    if (!part.filename.empty() || part.name == "file") files.push_back({part.filename, std::move(part.body)});
                  if (files.empty()) return Err(InvalidArgument("the upload has no files (send \"file\" parts with file names)"));
                  fs::path staging = ws_.root() / ".fsml" / "tmp" / ("upload-" + SecureRandomHex(8));
                  FSML_RETURN_IF_ERROR(MakeDirs(staging));
                  struct Cleanup {
                    fs::path dir;
                    ~Cleanup() {
                      std::error_code ec;
                      fs::remove_all(dir, ec);
                    }
                  } cleanup{staging};
                  FSML_ASSIGN_OR_RETURN(auto staged, StageUpload(files, p, staging, UploadLimits{}));
                  ImportOptions opt;
                  opt.format = staged.format;
                  opt.skip_duplicates = true;
                  FSML_ASSIGN_OR_RETURN(auto summary, ImportItems(ws_, p, staged.source, opt));
                  FSML_RETURN_IF_ERROR(labeling_.SyncTasks(p, /*force=*/true));
                  log::Info("web: {} imported {} files into '{}': {} added", req.principal, staged.files, p.name, summary.added);
                  return Response::Json(201, {{"records", summary.records},
                                              {"added", summary.added},
                                              {"present", summary.present},
                                              {"relabeled", summary.relabeled},
                                              {"duplicates", summary.duplicates}});
                });
              }});
}

// ---- Labeling and review ---------------------------------------------------------

void WebApi::AddLabelingRoutes(http::Router& router) {
  router.Add({"GET", "/api/v1/projects/{p}/items/{id}/content", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto content, labeling_.ItemContent(p, req.params["id"]));
                  std::string etag = "\"" + req.params["id"].substr(0, 32) + "\"";
                  Response r;
                  if (req.Header("if-none-match") == etag) {
                    r.status = 304;
                    r.content_type = content.first;
                  } else {
                    r = Response::Text(200, std::move(content.second), content.first);
                  }
                  r.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
                  r.headers.emplace_back("ETag", etag);
                  return r;
                });
              }});
  router.Add({"GET", "/api/v1/projects/{p}/items/{id}", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto d, labeling_.GetItem(p, req.params["id"], req.principal, req.role >= Role::kReviewer));
                  return Response::Json(200, ItemJson(d));
                });
              }});
  router.Add({"GET", "/api/v1/projects/{p}/queue/next", Dispatch::kBlocking, Role::kAnnotator, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(int64_t n, IntParam(q, "n", 10, 1, 100));
                  std::set<std::string> exclude;
                  std::string_view ex = q.count("exclude") ? std::string_view(q["exclude"]) : std::string_view();
                  while (!ex.empty() && exclude.size() <= 1000) {
                    size_t comma = ex.find(',');
                    if (comma != 0) exclude.emplace(ex.substr(0, comma));
                    ex = comma == std::string_view::npos ? std::string_view() : ex.substr(comma + 1);
                  }
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto next, labeling_.Next(p, req.principal, static_cast<size_t>(n), exclude));
                  json items = json::array();
                  for (const auto& it : next.items) {
                    json j = {{"item_id", it.item_id},
                              {"media_type", it.media_type},
                              {"suggestion", SuggestionJson(it.suggestion)},
                              {"lock_expires_at", Rfc3339FromUnixMs(it.lock_expires_ms)}};
                    if (!it.text.empty()) j["text"] = it.text;
                    if (it.width) j["width"] = it.width;
                    if (it.height) j["height"] = it.height;
                    items.push_back(std::move(j));
                  }
                  return Response::Json(200, {{"items", items}, {"remaining", next.remaining}, {"order", next.order}});
                });
              }});
  router.Add({"POST", "/api/v1/projects/{p}/annotations", Dispatch::kBlocking, Role::kAnnotator, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  if (!body->contains("annotations") || !(*body)["annotations"].is_array())
                    return Err(InvalidArgument("\"annotations\" must be an array of {\"item_id\", \"label\", \"request_id\"}"));
                  std::vector<AnnotationRequest> in;
                  for (const auto& a : (*body)["annotations"]) {
                    if (!a.is_object()) return Err(InvalidArgument("each annotation must be an object"));
                    AnnotationRequest r;
                    FSML_ASSIGN_OR_RETURN(r.item_id, StringField(a, "item_id"));
                    FSML_ASSIGN_OR_RETURN(r.label, StringField(a, "label"));
                    FSML_ASSIGN_OR_RETURN(r.request_id, StringField(a, "request_id"));
                    in.push_back(std::move(r));
                  }
                  FSML_ASSIGN_OR_RETURN(auto out, labeling_.Annotate(p, req.principal, in));
                  json list = json::array();
                  for (const auto& a : out)
                    list.push_back({{"id", a.id},
                                    {"item_id", a.item_id},
                                    {"label", a.label},
                                    {"request_id", a.request_id},
                                    {"created_at", a.created_at},
                                    {"duplicate", a.duplicate}});
                  return Response::Json(200, {{"annotations", list}});
                });
              }});
  router.Add({"POST", "/api/v1/projects/{p}/annotations/{id}/undo", Dispatch::kBlocking, Role::kAnnotator,
              [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  int64_t id = 0;
                  try {
                    size_t used = 0;
                    id = std::stoll(req.params["id"], &used);
                    if (used != req.params["id"].size()) id = 0;
                  } catch (...) {
                  }
                  if (id <= 0) return Err(InvalidArgument("annotation id must be a positive integer"));
                  FSML_ASSIGN_OR_RETURN(auto item, labeling_.Undo(p, req.principal, id));
                  return Response::Json(200, {{"withdrawn", id}, {"item_id", item}});
                });
              }});
  router.Add({"GET", "/api/v1/projects/{p}/annotations", Dispatch::kBlocking, Role::kAnnotator, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(int64_t limit, IntParam(q, "limit", 50, 1, 500));
                  FSML_ASSIGN_OR_RETURN(int64_t before, IntParam(q, "before", 0, 0, INT64_MAX));
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto list, labeling_.History(p, req.principal, static_cast<size_t>(limit), before));
                  json out = json::array();
                  for (const auto& h : list)
                    out.push_back(
                        {{"id", h.id}, {"item_id", h.item_id}, {"label", h.label}, {"created_at", h.created_at}, {"withdrawn", h.withdrawn}});
                  return Response::Json(200, {{"annotations", out}});
                });
              }});
  router.Add({"POST", "/api/v1/projects/{p}/skips", Dispatch::kBlocking, Role::kAnnotator, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto item, StringField(*body, "item_id"));
                  FSML_RETURN_IF_ERROR(labeling_.Skip(p, req.principal, item));
                  return Response::Json(200, {{"skipped", item}});
                });
              }});
  router.Add({"POST", "/api/v1/projects/{p}/flags", Dispatch::kBlocking, Role::kAnnotator, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto item, StringField(*body, "item_id"));
                  FSML_ASSIGN_OR_RETURN(auto comment, StringField(*body, "comment", false));
                  FSML_ASSIGN_OR_RETURN(auto id, labeling_.AddFlag(p, req.principal, item, comment));
                  return Response::Json(201, {{"id", id}, {"item_id", item}});
                });
              }});
  router.Add({"GET", "/api/v1/projects/{p}/review", Dispatch::kBlocking, Role::kReviewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(int64_t limit, IntParam(q, "limit", 50, 1, 200));
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto queue, labeling_.ReviewQueue(p, static_cast<size_t>(limit)));
                  json items = json::array();
                  for (const auto& r : queue.first) {
                    json j = ItemJson(r.item);
                    j["reasons"] = r.reasons;
                    items.push_back(std::move(j));
                  }
                  return Response::Json(200, {{"items", items}, {"total", queue.second}});
                });
              }});
  router.Add({"POST", "/api/v1/projects/{p}/review/{id}", Dispatch::kBlocking, Role::kReviewer, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto label, StringField(*body, "label"));
                  FSML_RETURN_IF_ERROR(labeling_.Resolve(p, req.principal, req.params["id"], label));
                  return Response::Json(200, {{"item_id", req.params["id"]}, {"label", label}});
                });
              }});
  router.Add({"GET", "/api/v1/projects/{p}/agreement", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto a, labeling_.Agreement(p));
                  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(); };
                  json pairs = json::array();
                  for (const auto& pr : a.report.pairs)
                    pairs.push_back({{"a", pr.a},
                                     {"b", pr.b},
                                     {"items", pr.items},
                                     {"percent_agreement", pr.percent_agreement},
                                     {"cohen_kappa", opt(pr.cohen_kappa)}});
                  json people = json::array();
                  for (const auto& x : a.annotators)
                    people.push_back({{"user", x.user},
                                      {"labels", x.labels},
                                      {"agreement_with_final",
                                       x.with_final ? json(static_cast<double>(x.agree_with_final) / static_cast<double>(x.with_final)) : json()}});
                  return Response::Json(200, {{"items", a.report.items},
                                              {"percent_agreement", opt(a.report.percent_agreement)},
                                              {"fleiss_kappa", opt(a.report.fleiss_kappa)},
                                              {"pairs", pairs},
                                              {"annotators", people}});
                });
              }});
}

// ---- Dataset versions ------------------------------------------------------------------

void WebApi::AddVersionRoutes(http::Router& router) {
  router.Add({"GET", "/api/v1/projects/{p}/versions", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  FSML_ASSIGN_OR_RETURN(auto versions, ListVersions(ws_.meta(), p));
                  json out = json::array();
                  for (const auto& v : versions) {
                    json j = VersionToJson(p, v);
                    j["number"] = v.number;
                    out.push_back(std::move(j));
                  }
                  return Response::Json(200, {{"versions", out}});
                });
              }});
  router.Add({"POST", "/api/v1/projects/{p}/versions", Dispatch::kBlocking, Role::kReviewer, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  CommitOptions opt;
                  FSML_ASSIGN_OR_RETURN(opt.message, StringField(*body, "message"));
                  if (opt.message.empty() || opt.message.size() > 10000)
                    return Err(InvalidArgument("a version needs a message of 1 to 10,000 bytes"));
                  opt.author = req.principal;
                  FSML_ASSIGN_OR_RETURN(auto v, CommitVersion(ws_, p, opt));
                  json j = VersionToJson(p, v);
                  j["number"] = v.number;
                  return Response::Json(201, j);
                });
              }});
  router.Add({"GET", "/api/v1/projects/{p}/versions/{a}/diff/{b}", Dispatch::kBlocking, Role::kViewer,
              [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto p, GetProject(ws_.meta(), req.params["p"]));
                  // "3" is version 3, as "v3" (the documented forms: v3, a number or a tag).
                  auto ref = [](const std::string& s) {
                    bool number = !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
                    return number ? "v" + s : s;
                  };
                  FSML_ASSIGN_OR_RETURN(auto va, ResolveVersion(ws_.meta(), p, ref(req.params["a"])));
                  FSML_ASSIGN_OR_RETURN(auto vb, ResolveVersion(ws_.meta(), p, ref(req.params["b"])));
                  FSML_ASSIGN_OR_RETURN(Manifest ma, LoadManifest(ws_.blobs(), va));
                  FSML_ASSIGN_OR_RETURN(Manifest mb, LoadManifest(ws_.blobs(), vb));
                  json j = DiffToJson(ma, mb, DiffManifests(ma, mb), 24);
                  j["a"] = va.number;
                  j["b"] = vb.number;
                  return Response::Json(200, j);
                });
              }});
}

// ---- The web app's files -----------------------------------------------------------------

static Response AssetResponse(const web::Asset& a, const Request& req) {
  Response r;
  if (req.Header("if-none-match") == a.etag) {
    r.status = 304;
  } else {
    r.status = 200;
    if (req.method != "HEAD") r.body = std::string(a.body);
  }
  r.content_type = std::string(a.content_type);
  r.headers.emplace_back("ETag", std::string(a.etag));
  r.headers.emplace_back("Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                         "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "same-origin");
  return r;
}

void WebApi::AddStaticRoutes(http::Router& router) {
  auto index = [](Request& req, Reply reply) {
    const web::Asset* a = web::FindAsset("/index.html");
    if (!a) return reply(Response::Error(404, "not_found", "this build has no web app"));
    reply(AssetResponse(*a, req));
  };
  router.Add({"GET", "/", Dispatch::kInline, Role::kPublic, index});
  router.Add({"GET", "/assets/{file}", Dispatch::kInline, Role::kPublic, [](Request& req, Reply reply) {
                const web::Asset* a = web::FindAsset(req.path);
                if (!a) return reply(Response::Error(404, "not_found", "no file " + req.path.substr(0, 200)));
                reply(AssetResponse(*a, req));
              }});
  // Every other page is the app's own route (/projects/x/label, ...), except the API's.
  router.SetFallback({"GET", "/{page}", Dispatch::kInline, Role::kPublic, [index](Request& req, Reply reply) {
                        if (req.path.rfind("/api/", 0) == 0)
                          return reply(Response::Error(404, "not_found", "no route for " + req.method + " " + req.path.substr(0, 200)));
                        if (const web::Asset* a = web::FindAsset(req.path)) return reply(AssetResponse(*a, req));
                        index(req, std::move(reply));
                      }});
}

}  // namespace fsml
