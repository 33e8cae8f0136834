#include "registry/evaluations.h"

#include <cstring>

#include "core/fs.h"
#include "core/sha256.h"
#include "data/manifest.h"
#include "data/versions.h"
#include "registry/safetensors.h"

namespace fsml {
namespace {

constexpr const char* kEvalColumns =
    "SELECT e.id, m.name, e.model_id, e.model_number, p.name, e.project_id, e.version_number, e.split, e.created_at, "
    "e.created_by, e.seconds, e.metrics, e.predictions_key, e.label_issues "
    "FROM evaluations e JOIN models m ON m.id = e.model_id JOIN projects p ON p.id = e.project_id ";

Result<Evaluation> EvaluationFromRow(const SqlRow& r) {
  Evaluation e;
  e.id = r.Int(0);
  e.model_id = r.Int(2);
  e.model_number = r.Int(3);
  e.model = std::string(r.Text(1)) + "/" + std::to_string(e.model_number);
  e.project = r.Text(4);
  e.project_id = r.Int(5);
  e.version_number = r.Int(6);
  e.split = r.Text(7);
  e.created_at = r.Text(8);
  e.created_by = r.Text(9);
  e.seconds = r.Real(10);
  auto metrics = nlohmann::json::parse(r.Text(11), nullptr, false);
  auto parsed = eval::MetricsFromJson(metrics);
  if (!parsed) return Err(Corruption("evaluation " + std::to_string(e.id) + ": stored metrics: " + parsed.error().message()));
  e.metrics = std::move(*parsed);
  e.predictions_key = r.Text(12);
  if (!r.IsNull(13)) e.label_issues = nlohmann::json::parse(r.Text(13), nullptr, false);
  return e;
}

Result<std::vector<Evaluation>> QueryEvaluations(MetaStore& meta, const std::string& where, const SqlParams& params) {
  std::vector<Evaluation> out;
  FSML_RETURN_IF_ERROR(meta.Query(std::string(kEvalColumns) + where, params, [&](const SqlRow& r) -> Status {
    FSML_ASSIGN_OR_RETURN(Evaluation e, EvaluationFromRow(r));
    out.push_back(std::move(e));
    return Status::Ok();
  }));
  return out;
}

}  // namespace

Result<std::string> EncodePredictions(const Predictions& p) {
  size_t n = p.items.size(), k = p.labels.size();
  if (p.truth.size() != n || p.probs.size() != n * k)
    return Err(InvalidArgument("predictions: " + std::to_string(n) + " items, " + std::to_string(p.truth.size()) +
                               " labels and " + std::to_string(p.probs.size()) + " probabilities do not agree"));
  TensorFile f;
  f.metadata["labels"] = nlohmann::json(p.labels).dump();
  Tensor probs{DType::kF32, {static_cast<int64_t>(n), static_cast<int64_t>(k)}, {}};
  probs.data.assign(reinterpret_cast<const char*>(p.probs.data()), p.probs.size() * sizeof(float));
  Tensor truth{DType::kI64, {static_cast<int64_t>(n)}, {}};
  truth.data.assign(reinterpret_cast<const char*>(p.truth.data()), n * sizeof(int64_t));
  Tensor items{DType::kU8, {static_cast<int64_t>(n), 32}, {}};
  items.data.reserve(n * 32);
  for (const auto& id : p.items) {
    auto d = DigestFromHex(id);
    if (!d) return Err(InvalidArgument("predictions: bad item id '" + id.substr(0, 80) + "'"));
    items.data.append(reinterpret_cast<const char*>(d->data()), 32);
  }
  f.tensors["probs"] = std::move(probs);
  f.tensors["truth"] = std::move(truth);
  f.tensors["items"] = std::move(items);
  return WriteSafetensors(f);
}

Result<Predictions> DecodePredictions(std::string_view bytes, std::string_view name) {
  FSML_ASSIGN_OR_RETURN(TensorFile f, ReadSafetensors(bytes, name));
  auto bad = [&](const std::string& why) { return Err(Corruption(std::string(name) + ": " + why)); };
  auto probs = f.tensors.find("probs"), truth = f.tensors.find("truth"), items = f.tensors.find("items");
  if (probs == f.tensors.end() || truth == f.tensors.end() || items == f.tensors.end() || !f.metadata.contains("labels"))
    return bad("lacks probs, truth, items or labels");
  Predictions p;
  auto labels = nlohmann::json::parse(f.metadata["labels"], nullptr, false);
  if (!labels.is_array()) return bad("labels are not a list");
  for (const auto& l : labels) {
    if (!l.is_string()) return bad("labels are not strings");
    p.labels.push_back(l.get<std::string>());
  }
  size_t k = p.labels.size();
  if (probs->second.dtype != DType::kF32 || probs->second.shape.size() != 2 || truth->second.dtype != DType::kI64 ||
      truth->second.shape.size() != 1 || items->second.dtype != DType::kU8 || items->second.shape.size() != 2 ||
      items->second.shape[1] != 32)
    return bad("tensors have unexpected types or shapes");
  size_t n = static_cast<size_t>(truth->second.shape[0]);
  if (static_cast<size_t>(probs->second.shape[0]) != n || static_cast<size_t>(probs->second.shape[1]) != k ||
      static_cast<size_t>(items->second.shape[0]) != n)
    return bad("tensors disagree on the item or class count");
  p.probs.resize(n * k);
  std::memcpy(p.probs.data(), probs->second.data.data(), n * k * sizeof(float));
  p.truth.resize(n);
  std::memcpy(p.truth.data(), truth->second.data.data(), n * sizeof(int64_t));
  for (int64_t t : p.truth)
    if (t < 0 || static_cast<size_t>(t) >= k) return bad("a true label is out of range");
  p.items.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Digest d{};
    std::memcpy(d.data(), items->second.data.data() + i * 32, 32);
    p.items.push_back(ToHex(d));
  }
  return p;
}

Result<int64_t> SaveEvaluation(Workspace& ws, const NewEvaluation& e) {
  FSML_ASSIGN_OR_RETURN(std::string bytes, EncodePredictions(e.predictions));
  FSML_ASSIGN_OR_RETURN(std::string key, ws.blobs().Put(bytes));
  SqlValue issues = e.label_issues.is_null() ? SqlValue() : SqlValue(e.label_issues.dump());
  FSML_ASSIGN_OR_RETURN(auto id, ws.meta().QueryInt(
      "INSERT INTO evaluations (model_id, model_number, project_id, version_number, split, created_at, created_by, seconds, "
      "metrics, predictions_key, label_issues) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {e.model->model_id, e.model->number, e.project_id, e.version_number, e.split, NowRfc3339(), e.user, e.seconds,
       eval::MetricsToJson(e.metrics).dump(), key, issues}));
  if (!id) return Err(Internal("evaluation insert returned no id"));
  return *id;
}

Result<Evaluation> GetEvaluation(MetaStore& meta, int64_t id) {
  FSML_ASSIGN_OR_RETURN(auto found, QueryEvaluations(meta, "WHERE e.id = ?", {id}));
  if (found.empty()) return Err(NotFound("no evaluation " + std::to_string(id) + " (fsml eval list shows them)"));
  return std::move(found[0]);
}

Result<std::vector<Evaluation>> ListEvaluations(MetaStore& meta, const std::string& model, size_t limit,
                                                const std::string& project) {
  SqlParams params;
  std::string where;
  auto add = [&](const char* cond, const std::string& value) {
    if (value.empty()) return;
    where += where.empty() ? "WHERE " : "AND ";
    where += cond;
    params.push_back(value);
  };
  add("m.name = ? ", model);
  add("p.name = ? ", project);
  params.push_back(static_cast<int64_t>(limit));
  return QueryEvaluations(meta, where + "ORDER BY e.id DESC LIMIT ?", params);
}

Result<std::vector<std::string>> GetRequirements(MetaStore& meta, int64_t project_id) {
  std::vector<std::string> out;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT text FROM requirements WHERE project_id = ? ORDER BY position", {project_id},
                                  [&](const SqlRow& r) {
                                    out.emplace_back(r.Text(0));
                                    return Status::Ok();
                                  }));
  return out;
}

Status SetRequirements(MetaStore& meta, const Project& project, const std::vector<std::string>& texts, const std::string& user) {
  std::vector<std::string> labels;
  for (const auto& l : project.labels) labels.push_back(l.name);
  std::vector<std::string> normalized;
  for (const auto& t : texts) {
    auto r = eval::ParseRequirement(t, labels);
    if (!r) return r.error();
    normalized.push_back(r->text);
  }
  if (normalized.size() > 100) return InvalidArgument("a project holds at most 100 requirements");
  return meta.Transaction([&]() -> Status {
    FSML_RETURN_IF_ERROR(meta.Exec("DELETE FROM requirements WHERE project_id = ?", {project.id}));
    std::string now = NowRfc3339();
    for (size_t i = 0; i < normalized.size(); ++i)
      FSML_RETURN_IF_ERROR(meta.Exec("INSERT INTO requirements (project_id, position, text, created_at, created_by) "
                                     "VALUES (?, ?, ?, ?, ?)",
                                     {project.id, static_cast<int64_t>(i), normalized[i], now, user}));
    return Status::Ok();
  });
}

Result<std::vector<eval::Requirement>> ParsedRequirements(MetaStore& meta, const Project& project) {
  FSML_ASSIGN_OR_RETURN(auto texts, GetRequirements(meta, project.id));
  std::vector<std::string> labels;
  for (const auto& l : project.labels) labels.push_back(l.name);
  std::vector<eval::Requirement> out;
  for (const auto& t : texts) {
    auto r = eval::ParseRequirement(t, labels);
    if (!r) return Err(FailedPrecondition("project " + project.name + " requirement '" + t + "' no longer parses (" +
                                          r.error().message() + "); set them again with fsml project require"));
    out.push_back(std::move(*r));
  }
  return out;
}

Result<GateResult> CheckProductionGate(Workspace& ws, const Project& project, const ModelVersion& v) {
  GateResult g;
  FSML_ASSIGN_OR_RETURN(auto reqs, ParsedRequirements(ws.meta(), project));
  if (reqs.empty()) return g;  // nothing required
  FSML_ASSIGN_OR_RETURN(DatasetVersion latest, ResolveVersion(ws.meta(), project, ""));
  std::string ref = v.name + "/" + std::to_string(v.number);
  std::string data = project.name + "@v" + std::to_string(latest.number);
  FSML_ASSIGN_OR_RETURN(auto evals, QueryEvaluations(ws.meta(),
                                                     "WHERE e.model_id = ? AND e.model_number = ? AND e.project_id = ? "
                                                     "AND e.version_number = ? AND e.split = 'test' ORDER BY e.id DESC LIMIT 1",
                                                     {v.model_id, v.number, project.id, latest.number}));
  if (evals.empty()) {
    g.passed = false;
    g.reason = ref + " has no evaluation on the test split of " + data + " (the project's current version); run fsml eval " +
               ref + " " + data;
    return g;
  }
  g.evaluation_id = evals[0].id;
  g.results = eval::CheckRequirements(reqs, evals[0].metrics);
  std::string failing;
  for (const auto& r : g.results) {
    if (r.passed) continue;
    char actual[64];
    if (r.actual) std::snprintf(actual, sizeof actual, "%.4g", *r.actual);
    failing += (failing.empty() ? "" : "; ") + r.requirement.text + " (is " + (r.actual ? actual : "not measured") + ")";
  }
  if (!failing.empty()) {
    g.passed = false;
    g.reason = ref + " fails the requirements of " + project.name + " on " + data + " (evaluation " +
               std::to_string(evals[0].id) + "): " + failing;
  }
  return g;
}

Result<AliasMoveResult> MoveAlias(Workspace& ws, const AliasMove& move) {
  FSML_RETURN_IF_ERROR(ValidateAlias(move.alias));
  AliasMoveResult out;
  FSML_ASSIGN_OR_RETURN(out.version, ResolveModel(ws.meta(), ModelRef{move.name, move.number, "", ""}));
  std::string note = move.note;
  if (move.alias == "production") {
    FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws.meta(), out.version.project));
    FSML_ASSIGN_OR_RETURN(out.gate, CheckProductionGate(ws, project, out.version));
    if (!out.gate->passed && !move.force)
      return Err(FailedPrecondition("refusing to make " + out.gate->reason + "; --force overrides (recorded in the alias history)"));
    if (!out.gate->passed) {
      out.forced = true;
      note = "forced past the gate: " + out.gate->reason + (move.note.empty() ? "" : "; " + move.note);
    }
  }
  FSML_RETURN_IF_ERROR(SetAlias(ws.meta(), move.name, move.number, move.alias, move.user, out.forced, note));
  return out;
}

nlohmann::json EvaluationToJson(const Evaluation& e, const std::vector<eval::RequirementResult>& requirements) {
  nlohmann::json j = {{"id", e.id},
                      {"model", e.model},
                      {"dataset", e.project + "@v" + std::to_string(e.version_number)},
                      {"split", e.split},
                      {"created_at", e.created_at},
                      {"created_by", e.created_by},
                      {"seconds", e.seconds},
                      {"metrics", eval::MetricsToJson(e.metrics)},
                      {"requirements", eval::RequirementResultsToJson(requirements)},
                      {"passed", eval::AllPassed(requirements)},
                      {"predictions", e.predictions_key}};
  if (!e.label_issues.is_null()) j["label_issues"] = e.label_issues;
  return j;
}

}  // namespace fsml
