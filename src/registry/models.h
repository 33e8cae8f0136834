// The model registry: named, numbered model versions made from training runs,
// each a self-contained artifact in the BlobStore (safetensors weights + a
// spec JSON; docs/formats/model.md), with aliases that move atomically and
// keep their history (`fashion@production`), and lineage back to the run and
// the dataset version.
//
// References: "NAME/N" (version N), "NAME@ALIAS", "NAME@latest" or "NAME"
// (the highest version).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "core/status.h"
#include "data/workspace.h"
#include "registry/safetensors.h"

namespace fsml {

constexpr int kModelFormatVersion = 1;

struct ModelRef {
  std::string name;
  std::optional<int64_t> number;  // "NAME/N"
  std::string alias;              // "NAME@ALIAS"; "" with no number = latest
  std::string text;               // as given, for messages
};
// InvalidArgument for a bad name, number or alias.
Result<ModelRef> ParseModelRef(std::string_view text);
// Model names follow project-name rules; aliases are lowercase letters,
// digits, '-' and '_' (1-64 chars), and may not be "latest" or look like "vN".
Status ValidateModelName(std::string_view name);
Status ValidateAlias(std::string_view alias);

struct ModelVersion {
  int64_t model_id = 0;
  std::string name;
  std::string project;
  int64_t number = 0;
  int64_t run_id = 0;
  int64_t epoch = 0;          // the run's epoch whose weights these are
  std::string weights_key;    // SHA-256 of the safetensors file: the checksum
  std::string spec_key;
  std::string architecture;   // "cnn-small"
  uint64_t parameters = 0;
  uint64_t weights_bytes = 0;
  nlohmann::json metrics;     // the epoch's val metrics and the run's test metrics
  std::string description;
  std::string created_at, created_by;
  std::vector<std::string> aliases;
};

// A loaded artifact: the spec and the weights, checked against each other.
struct ModelArtifact {
  nlohmann::json spec;
  std::string weights;  // safetensors bytes
  TensorFile tensors;
};

struct RegisterRequest {
  std::string name;
  int64_t run_id = 0;
  int64_t epoch = 0;
  nlohmann::json spec;       // the run's spec plus format fields (filled here)
  std::string weights;       // safetensors bytes
  nlohmann::json metrics;
  std::string description;
  std::string user;
};

// Stores the artifact (weights, then spec naming the weights' checksum) and
// adds version max+1 of `name`, creating the model on first use. The model
// belongs to the run's project: registering a run of another project under
// an existing name is FailedPrecondition.
Result<ModelVersion> RegisterModelVersion(Workspace& ws, const RegisterRequest& req);

// NotFound names the ref and what exists (versions, aliases).
Result<ModelVersion> ResolveModel(MetaStore& meta, const ModelRef& ref);
// ParseModelRef, then ResolveModel.
Result<ModelVersion> ResolveModel(MetaStore& meta, std::string_view ref_text);

struct ModelSummary {
  std::string name, project;
  int64_t versions = 0, latest = 0;
  std::vector<std::pair<std::string, int64_t>> aliases;
  std::string updated_at;
};
Result<std::vector<ModelSummary>> ListModels(MetaStore& meta);
// Newest first.
Result<std::vector<ModelVersion>> ListModelVersions(MetaStore& meta, const std::string& name);

// Reads and checks an artifact: blob checksums (a corrupt object is a
// Corruption naming its key), the spec's format version, and that the
// weights hold a tensor file.
Result<ModelArtifact> LoadArtifact(Workspace& ws, const ModelVersion& v);

struct AliasEvent {
  std::string alias;
  std::optional<int64_t> number;    // nullopt: removed
  std::optional<int64_t> previous;
  std::string at, by;
  bool forced = false;
  std::string note;
};

// Points `alias` at version `number` in one transaction with its history
// entry. `forced` and `note` are recorded (a gate was overridden).
Status SetAlias(MetaStore& meta, const std::string& name, int64_t number, const std::string& alias,
                const std::string& user, bool forced, const std::string& note);
Status RemoveAlias(MetaStore& meta, const std::string& name, const std::string& alias, const std::string& user);
// Oldest first.
Result<std::vector<AliasEvent>> AliasHistory(MetaStore& meta, const std::string& name);

// FailedPrecondition while an alias points at the version (naming it).
// Deletes the version's evaluations with it; the blobs stay until gc.
Status DeleteModelVersion(MetaStore& meta, const std::string& name, int64_t number);

// Writes DIR/model.safetensors, DIR/spec.json, DIR/fsml_model.py (a loader
// for Python with torch and numpy) and DIR/README.md. DIR must not exist or
// be empty; it appears complete or not at all.
Status ExportModel(Workspace& ws, const ModelVersion& v, const fs::path& dir);

// run -> dataset version -> counts per split and label, annotators, imports.
Result<nlohmann::json> Lineage(Workspace& ws, const ModelVersion& v);

nlohmann::json ModelVersionToJson(const ModelVersion& v);

}  // namespace fsml
