#include "serve/retrain.h"

#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "core/fs.h"
#include "core/log.h"
#include "data/versions.h"
#include "ml/inference.h"
#include "ml/train.h"
#include "registry/models.h"
#include "registry/runs.h"
#include "serve/suggestions.h"
#include "serve/training_lock.h"

namespace fsml {

namespace {

bool Running(const RetrainStatus& s) {
  return s.state == "committing" || s.state == "training" || s.state == "registering";
}

}  // namespace

nlohmann::json RetrainStatusToJson(const RetrainStatus& s) {
  auto text = [](const std::string& v) { return v.empty() ? nlohmann::json() : nlohmann::json(v); };
  auto number = [](int64_t v) { return v == 0 ? nlohmann::json() : nlohmann::json(v); };
  return {{"state", s.state},           {"version", number(s.version)},  {"run_id", number(s.run_id)},
          {"model", text(s.model)},     {"error", text(s.error)},        {"started_at", text(s.started_at)},
          {"finished_at", text(s.finished_at)}};
}

Retrainer::Retrainer(Workspace& ws, std::function<void(const Project&)> on_done) : ws_(ws), on_done_(std::move(on_done)) {}

Retrainer::~Retrainer() { Stop(); }

Result<RetrainStatus> Retrainer::Start(const RetrainRequest& req) {
  if (req.epochs < 0) return Err(InvalidArgument("epochs must be 0 (the model's recipe) or more, not " + std::to_string(req.epochs)));
  FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws_.meta(), req.project));
  if (project.type != TaskType::kImageClassification)
    return Err(FailedPrecondition("project '" + project.name + "' is " + std::string(TaskTypeName(project.type)) +
                                  "; retraining needs an image-classification project (there are no text models yet)"));
  FSML_ASSIGN_OR_RETURN(auto labeled, ws_.meta().QueryInt(
      "SELECT COUNT(*) FROM project_items WHERE project_id = ? AND label_id IS NOT NULL", {project.id}));
  if (labeled.value_or(0) == 0)
    return Err(FailedPrecondition("project '" + project.name + "' has no labeled items to train on; label some first"));
  std::lock_guard lock(mu_);
  if (stop_) return Err(FailedPrecondition("the server is shutting down; start the retrain again after it restarts"));
  Job& job = jobs_[project.name];
  if (Running(job.status))
    return Err(FailedPrecondition("a retrain of project '" + project.name + "' is already running (" + job.status.state +
                                  ", started " + job.status.started_at + "); wait for it to finish"));
  // The previous retrain's thread has set its final state, after which it
  // takes no lock: the join is immediate.
  if (job.thread.joinable()) job.thread.join();
  job.status = RetrainStatus{};
  job.status.state = "committing";
  job.status.started_at = NowRfc3339();
  job.thread = std::thread([this, project, req] { Work(project, req); });
  return job.status;
}

RetrainStatus Retrainer::Get(const std::string& project) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(project);
  if (it == jobs_.end()) {
    RetrainStatus idle;
    idle.state = "idle";
    return idle;
  }
  return it->second.status;
}

void Retrainer::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (auto& [name, job] : jobs_)
      if (job.thread.joinable()) threads.push_back(std::move(job.thread));
  }
  for (auto& t : threads) t.join();
}

bool Retrainer::stopping() {
  std::lock_guard lock(mu_);
  return stop_;
}

void Retrainer::Update(const std::string& project, const std::function<void(RetrainStatus&)>& change) {
  std::lock_guard lock(mu_);
  change(jobs_[project].status);
}

void Retrainer::Work(const Project& project, const RetrainRequest& req) {
  Status status;
  // The boundary of this thread: an exception (from on_done, say) fails the
  // retrain instead of ending the process.
  try {
    status = Steps(project, req);
  } catch (const std::exception& e) {
    status = Internal(std::string("retrain: ") + e.what());
  }
  if (status.ok()) log::Info("retrain of project '{}' done", project.name);
  else log::Warn("retrain of project '{}' failed: {}", project.name, status.message());
  Update(project.name, [&](RetrainStatus& s) {
    s.state = status.ok() ? "done" : "failed";
    s.error = status.message();
    s.finished_at = NowRfc3339();
  });
}

Status Retrainer::Steps(const Project& project, const RetrainRequest& req) {
  MetaStore& meta = ws_.meta();
  std::string who = req.requested_by.empty() ? ws_.user() : req.requested_by;

  // committing
  DatasetVersion version;
  auto committed = CommitVersion(ws_, project, CommitOptions{"labels as of a retrain requested by " + who, who, false});
  if (committed) {
    version = std::move(*committed);
  } else if (committed.error().code() == Code::kFailedPrecondition) {
    // Nothing changed since the latest version: train on it.
    auto latest = ResolveVersion(meta, project, "");
    if (!latest) return committed.error();
    version = std::move(*latest);
  } else {
    return committed.error();
  }
  std::string data_ref = project.name + "@v" + std::to_string(version.number);
  Update(project.name, [&](RetrainStatus& s) {
    s.version = version.number;
    s.state = "training";
  });

  // training
  TrainOptions opt;  // the recipe, as `fsml train` without flags
  std::string model_name = project.name;
  FSML_ASSIGN_OR_RETURN(std::optional<ModelVersion> base, SuggestionModel(meta, project));
  if (base) {
    std::string base_ref = base->name + "/" + std::to_string(base->number);
    auto base_run = GetRun(meta, base->run_id);
    if (!base_run) return base_run.error().WithContext("model " + base_ref + "'s run");
    opt.model = base->architecture;
    if (base_run->spec.contains("params") && base_run->spec["params"].is_object()) opt.model_params = base_run->spec["params"];
    model_name = base->name;
  }
  opt.epochs = req.epochs;
  opt.quiet = true;
  FSML_ASSIGN_OR_RETURN(MlModule * ml, LoadMlModule());
  TrainResult trained;
  {
    std::lock_guard training(TrainingLock());
    if (stopping()) return Aborted("stopped before training " + data_ref + ": the server is shutting down");
    log::Info("retrain of project '{}': training {} on {} for {}", project.name, opt.model, data_ref, who);
    FSML_ASSIGN_OR_RETURN(trained, ml->Train(ws_, project, version, opt));
  }
  std::string run_name = "run " + std::to_string(trained.run_id);
  Update(project.name, [&](RetrainStatus& s) {
    s.run_id = trained.run_id;
    s.state = "registering";
  });
  if (stopping())
    return Aborted("stopped after training: the server is shutting down; register " + run_name + " with fsml models register " +
                   std::to_string(trained.run_id) + " --name " + model_name);

  // registering
  FSML_ASSIGN_OR_RETURN(ModelVersion v, RegisterRunCheckpoint(ws_, {trained.run_id, 0, model_name,
                                                                     "retrained on " + data_ref + " (" + run_name + "), requested by " + who,
                                                                     who}));
  std::string ref = v.name + "/" + std::to_string(v.number);
  FSML_RETURN_IF_ERROR(SetAlias(meta, v.name, v.number, "staging", who, /*forced=*/false,
                                "retrained on " + data_ref + " (" + run_name + ")"));
  log::Info("retrain of project '{}': registered {} as {}@staging", project.name, ref, v.name);
  if (on_done_) on_done_(project);
  Update(project.name, [&](RetrainStatus& s) { s.model = ref; });
  return Status::Ok();
}

}  // namespace fsml
