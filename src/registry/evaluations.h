// Stored evaluations of model versions on dataset versions, the per-item
// predictions behind them, and the project requirements they are checked
// against (the gate on the `production` alias).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/project.h"
#include "data/workspace.h"
#include "eval/metrics.h"
#include "eval/requirements.h"
#include "registry/models.h"

namespace fsml {

// Per-item predictions of one evaluation, stored as a safetensors object:
// "probs" F32 [n, k], "truth" I64 [n], "items" U8 [n, 32] (raw item ids),
// metadata {"labels": JSON list}.
struct Predictions {
  std::vector<std::string> labels;
  std::vector<std::string> items;  // hex item ids
  std::vector<int64_t> truth;
  std::vector<float> probs;        // items.size() * labels.size()
};
Result<std::string> EncodePredictions(const Predictions& p);
// Corruption naming `name` when the tensors are missing or disagree.
Result<Predictions> DecodePredictions(std::string_view bytes, std::string_view name);

struct Evaluation {
  int64_t id = 0;
  std::string model;         // "fashion/2"
  int64_t model_id = 0, model_number = 0;
  std::string project;
  int64_t project_id = 0, version_number = 0;
  std::string split;
  std::string created_at, created_by;
  double seconds = 0;
  eval::Metrics metrics;
  std::string predictions_key;
  nlohmann::json label_issues;  // null, or [{"item", "given", "suggested", "score"}] most likely first
};

struct NewEvaluation {
  const ModelVersion* model = nullptr;
  int64_t project_id = 0, version_number = 0;
  std::string split;
  double seconds = 0;
  eval::Metrics metrics;
  Predictions predictions;
  nlohmann::json label_issues;
  std::string user;
};
// Stores the predictions object, then the row. Returns the new id.
Result<int64_t> SaveEvaluation(Workspace& ws, const NewEvaluation& e);
Result<Evaluation> GetEvaluation(MetaStore& meta, int64_t id);
// Newest first; `model` (a model name) and `project` empty = all.
Result<std::vector<Evaluation>> ListEvaluations(MetaStore& meta, const std::string& model, size_t limit,
                                                const std::string& project = "");

// The project's acceptance criteria, in order.
Result<std::vector<std::string>> GetRequirements(MetaStore& meta, int64_t project_id);
// Replaces them all (each must parse against the project's labels).
Status SetRequirements(MetaStore& meta, const Project& project, const std::vector<std::string>& texts, const std::string& user);
Result<std::vector<eval::Requirement>> ParsedRequirements(MetaStore& meta, const Project& project);

// Whether version `v` may become `production`: its latest evaluation on the
// test split of the project's latest dataset version passes the project's
// current requirements. `reason` says why not, naming failing criteria.
struct GateResult {
  bool passed = true;
  std::string reason;
  std::optional<int64_t> evaluation_id;
  std::vector<eval::RequirementResult> results;
};
Result<GateResult> CheckProductionGate(Workspace& ws, const Project& project, const ModelVersion& v);

// Points `alias` of model `name` at version `number`, as `fsml models alias`
// does: "production" passes the gate first. A refused gate is
// FailedPrecondition ("refusing to make ...: <reason>; ... overrides") unless
// `force`, which moves the alias anyway and records the gate's reason with
// `note` in the alias history. NotFound for an unknown model or version,
// InvalidArgument for a bad alias.
struct AliasMove {
  std::string name;
  int64_t number = 0;
  std::string alias;
  std::string user;
  bool force = false;
  std::string note;
};
struct AliasMoveResult {
  ModelVersion version;
  bool forced = false;              // the gate refused and `force` overrode it
  std::optional<GateResult> gate;   // checked for "production" only
};
Result<AliasMoveResult> MoveAlias(Workspace& ws, const AliasMove& move);

nlohmann::json EvaluationToJson(const Evaluation& e, const std::vector<eval::RequirementResult>& requirements);

}  // namespace fsml
