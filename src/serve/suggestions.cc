#include "serve/suggestions.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/log.h"

namespace fsml {

namespace {

std::string ItemName(const std::string& item_id) { return "item " + item_id.substr(0, 12); }

}  // namespace

Result<std::optional<ModelVersion>> SuggestionModel(MetaStore& meta, const Project& project) {
  std::optional<std::pair<std::string, int64_t>> found;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT m.name, a.number FROM model_aliases a JOIN models m ON m.id = a.model_id "
      "WHERE m.project_id = ? AND a.alias IN ('staging', 'production') "
      "ORDER BY CASE WHEN a.alias = 'staging' THEN 0 ELSE 1 END, a.updated_at DESC, m.name LIMIT 1",
      {project.id}, [&](const SqlRow& r) {
        found.emplace(std::string(r.Text(0)), r.Int(1));
        return Status::Ok();
      }));
  if (!found) return std::optional<ModelVersion>();
  const auto& [name, number] = *found;
  FSML_ASSIGN_OR_RETURN(ModelVersion v, ResolveModel(meta, ModelRef{name, number, "", name + "/" + std::to_string(number)}));
  return std::optional<ModelVersion>(std::move(v));
}

SuggestionScorer::SuggestionScorer(Workspace& ws, ScorerOptions options)
    : ws_(ws), options_(options), labeling_(ws) {
  options_.batch = std::max<size_t>(1, options_.batch);
}

SuggestionScorer::~SuggestionScorer() { Stop(); }

void SuggestionScorer::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  wake_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void SuggestionScorer::Stop() {
  std::thread t;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void SuggestionScorer::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

bool SuggestionScorer::stopping() const {
  std::lock_guard lock(mu_);
  return stop_;
}

void SuggestionScorer::Loop() {
  while (true) {
    // Errors are logged by ScoreProject and ScoreAll and kept per project.
    (void)ScoreAll();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.interval, [this] { return stop_ || wake_; });
    if (stop_) return;
    wake_ = false;
  }
}

void SuggestionScorer::SetRunning(int64_t project_id, bool running) {
  std::lock_guard lock(mu_);
  projects_[project_id].running = running;
}

void SuggestionScorer::SetResult(const Project& project, const ::fsml::Status& status) {
  std::string error = status.ok() ? "" : status.message();
  std::lock_guard lock(mu_);
  ProjectState& st = projects_[project.id];
  // The loop retries every interval: log an error when it first appears.
  if (!error.empty() && error != st.last_error) log::Warn("suggestions for project '{}': {}", project.name, error);
  st.last_error = std::move(error);
}

Result<size_t> SuggestionScorer::ScoreBatch(const Project& project, LoadedModel& model,
                                            const std::vector<std::string>& items) {
  std::vector<std::pair<std::string, std::string>> images;
  images.reserve(items.size());
  for (const auto& id : items) {
    FSML_ASSIGN_OR_RETURN(std::string bytes, ws_.blobs().Get(id));
    images.emplace_back(ItemName(id), std::move(bytes));
  }
  const size_t k = model.labels.size();
  // probs[i]: item i's k probabilities; empty when the item cannot be decoded.
  std::vector<std::vector<float>> probs(items.size());
  auto all = PredictImages(model, images);
  if (all && all->size() != items.size() * k)
    return Err(Corruption("model " + model.ref() + ": the network gives " + std::to_string(all->size() / items.size()) +
                          " outputs per item for " + std::to_string(k) + " labels"));
  if (all) {
    for (size_t i = 0; i < items.size(); ++i) probs[i].assign(all->begin() + i * k, all->begin() + (i + 1) * k);
  } else if (all.error().code() == Code::kInvalidArgument) {
    // An image that does not decode fails the whole batch: find it (them)
    // one by one and score the rest.
    for (size_t i = 0; i < items.size(); ++i) {
      auto one = PredictImages(model, {images[i]});
      if (one) probs[i] = std::move(*one);
      else if (one.error().code() == Code::kInvalidArgument)
        log::Warn("suggestions for project '{}': {}: no suggestion ({})", project.name, images[i].first, one.error().message());
      else return Err(one.error());
    }
  } else {
    return Err(all.error());
  }

  // The model's label i as the project's label id; 0 where the project has
  // no label of that name.
  std::vector<int64_t> label_ids(k, 0);
  for (size_t i = 0; i < k; ++i)
    if (const Label* l = project.FindLabel(model.labels[i])) label_ids[i] = l->id;

  const std::string ref = model.ref();
  size_t scored = 0;
  MetaStore& meta = ws_.meta();
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> ::fsml::Status {
    scored = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      int64_t label_id = 0;
      double confidence = 0;
      if (!probs[i].empty()) {
        size_t top = static_cast<size_t>(std::max_element(probs[i].begin(), probs[i].end()) - probs[i].begin());
        label_id = label_ids[top];
        confidence = probs[i][top];
      }
      // Only open tasks change: one labeled meanwhile keeps its review order.
      if (label_id == 0) {
        // No suggestion, but seen by this model: later passes skip it.
        FSML_RETURN_IF_ERROR(StatusOf(meta.Exec(
            "UPDATE label_tasks SET suggestion_label_id = NULL, suggestion_confidence = NULL, suggestion_model = ? "
            "WHERE project_id = ? AND item_id = ? AND state = 'open'",
            {ref, project.id, items[i]})));
        continue;
      }
      FSML_ASSIGN_OR_RETURN(int64_t changed, meta.Exec(
          "UPDATE label_tasks SET suggestion_label_id = ?, suggestion_confidence = ?, suggestion_model = ?, priority = ? "
          "WHERE project_id = ? AND item_id = ? AND state = 'open'",
          {label_id, confidence, ref, confidence, project.id, items[i]}));
      scored += static_cast<size_t>(changed);
    }
    return ::fsml::Status::Ok();
  }));
  return scored;
}

Result<size_t> SuggestionScorer::ScoreProject(const Project& project) {
  if (project.type != TaskType::kImageClassification) return size_t{0};
  std::lock_guard pass(pass_mu_);
  SetRunning(project.id, true);
  size_t scored = 0;
  auto run = [&]() -> ::fsml::Status {
    // New imports get their tasks here, not only when someone asks for items.
    FSML_RETURN_IF_ERROR(labeling_.SyncTasks(project, /*force=*/true));
    FSML_ASSIGN_OR_RETURN(std::optional<ModelVersion> version, SuggestionModel(ws_.meta(), project));
    if (!version) return ::fsml::Status::Ok();
    std::string ref = version->name + "/" + std::to_string(version->number);
    FSML_ASSIGN_OR_RETURN(auto pending, ws_.meta().QueryInt(
        "SELECT 1 FROM label_tasks WHERE project_id = ? AND state = 'open' AND "
        "(suggestion_model IS NULL OR suggestion_model <> ?) LIMIT 1",
        {project.id, ref}));
    if (!pending) return ::fsml::Status::Ok();  // nothing to load the model for
    FSML_ASSIGN_OR_RETURN(std::shared_ptr<LoadedModel> model,
                          cache_.Get(ws_, ModelRef{version->name, version->number, "", ref}));
    while (!stopping()) {
      // The tasks served first are scored first. Each batch marks every task
      // it read (or the task left the open state), so the loop ends.
      std::vector<std::string> items;
      FSML_RETURN_IF_ERROR(ws_.meta().Query(
          "SELECT item_id FROM label_tasks WHERE project_id = ? AND state = 'open' AND "
          "(suggestion_model IS NULL OR suggestion_model <> ?) ORDER BY priority, item_id LIMIT ?",
          {project.id, ref, static_cast<int64_t>(options_.batch)}, [&](const SqlRow& r) {
            items.emplace_back(r.Text(0));
            return ::fsml::Status::Ok();
          }));
      if (items.empty()) break;
      FSML_ASSIGN_OR_RETURN(size_t n, ScoreBatch(project, *model, items));
      scored += n;
    }
    return ::fsml::Status::Ok();
  };
  ::fsml::Status status = run();
  SetResult(project, status);
  SetRunning(project.id, false);
  if (!status.ok()) return Err(status);
  if (scored > 0) log::Debug("suggestions for project '{}': scored {} items", project.name, scored);
  return scored;
}

Result<size_t> SuggestionScorer::ScoreAll() {
  auto listed = ListProjects(ws_.meta());
  {
    std::lock_guard lock(mu_);
    std::string error = listed ? "" : listed.error().message();
    if (!error.empty() && error != list_error_) log::Warn("suggestions: cannot list projects: {}", error);
    list_error_ = std::move(error);
  }
  if (!listed) return Err(listed.error().WithContext("suggestions: listing projects"));
  const std::vector<Project>& projects = *listed;
  size_t scored = 0;
  ::fsml::Status first;
  for (const auto& project : projects) {
    if (stopping()) break;
    if (project.type != TaskType::kImageClassification) continue;
    auto n = ScoreProject(project);
    if (n) scored += *n;
    else if (first.ok()) first = n.error().WithContext("project '" + project.name + "'");
  }
  if (!first.ok()) return Err(first);
  return scored;
}

nlohmann::json SuggestionScorer::Status(const Project& project) {
  nlohmann::json out = {{"model", nullptr}, {"scored", 0}, {"open", 0}, {"running", false}, {"last_error", ""}};
  {
    std::lock_guard lock(mu_);
    auto it = projects_.find(project.id);
    if (it != projects_.end()) {
      out["running"] = it->second.running;
      out["last_error"] = it->second.last_error;
    }
  }
  auto fill = [&]() -> ::fsml::Status {
    FSML_ASSIGN_OR_RETURN(auto open, ws_.meta().QueryInt(
        "SELECT COUNT(*) FROM label_tasks WHERE project_id = ? AND state = 'open'", {project.id}));
    out["open"] = open.value_or(0);
    if (project.type != TaskType::kImageClassification) return ::fsml::Status::Ok();
    FSML_ASSIGN_OR_RETURN(std::optional<ModelVersion> version, SuggestionModel(ws_.meta(), project));
    if (!version) return ::fsml::Status::Ok();
    std::string ref = version->name + "/" + std::to_string(version->number);
    out["model"] = ref;
    FSML_ASSIGN_OR_RETURN(auto scored, ws_.meta().QueryInt(
        "SELECT COUNT(*) FROM label_tasks WHERE project_id = ? AND state = 'open' AND suggestion_model = ? "
        "AND suggestion_label_id IS NOT NULL",
        {project.id, ref}));
    out["scored"] = scored.value_or(0);
    return ::fsml::Status::Ok();
  };
  if (::fsml::Status s = fill(); !s.ok() && out["last_error"].get<std::string>().empty()) out["last_error"] = s.message();
  return out;
}

}  // namespace fsml
