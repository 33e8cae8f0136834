#include "registry/models.h"

#include <charconv>
#include <random>

#include "data/project.h"
#include "registry/fsml_model_py.h"  // generated: kFsmlModelPy, the Python loader

namespace fsml {
namespace {

constexpr const char* kVersionColumns =
    "SELECT m.id, m.name, p.name, v.number, v.run_id, v.epoch, v.weights_key, v.spec_key, v.architecture, "
    "v.parameters, v.weights_bytes, v.metrics, v.description, v.created_at, v.created_by "
    "FROM model_versions v JOIN models m ON m.id = v.model_id JOIN projects p ON p.id = m.project_id ";

ModelVersion VersionFromRow(const SqlRow& r) {
  ModelVersion v;
  v.model_id = r.Int(0);
  v.name = r.Text(1);
  v.project = r.Text(2);
  v.number = r.Int(3);
  v.run_id = r.Int(4);
  v.epoch = r.Int(5);
  v.weights_key = r.Text(6);
  v.spec_key = r.Text(7);
  v.architecture = r.Text(8);
  v.parameters = static_cast<uint64_t>(r.Int(9));
  v.weights_bytes = static_cast<uint64_t>(r.Int(10));
  v.metrics = nlohmann::json::parse(r.Text(11), nullptr, false);
  if (v.metrics.is_discarded()) v.metrics = nullptr;
  v.description = r.Text(12);
  v.created_at = r.Text(13);
  v.created_by = r.Text(14);
  return v;
}

Status FillAliases(MetaStore& meta, ModelVersion& v) {
  v.aliases.clear();
  return meta.Query("SELECT alias FROM model_aliases WHERE model_id = ? AND number = ? ORDER BY alias",
                    {v.model_id, v.number}, [&](const SqlRow& r) {
                      v.aliases.emplace_back(r.Text(0));
                      return Status::Ok();
                    });
}

Result<int64_t> ModelId(MetaStore& meta, const std::string& name) {
  FSML_ASSIGN_OR_RETURN(auto id, meta.QueryInt("SELECT id FROM models WHERE name = ?", {name}));
  if (!id) {
    std::string names;
    FSML_RETURN_IF_ERROR(meta.Query("SELECT name FROM models ORDER BY name", {}, [&](const SqlRow& r) {
      names += (names.empty() ? "" : ", ") + std::string(r.Text(0));
      return Status::Ok();
    }));
    return Err(NotFound("no model named '" + name + "' (" + (names.empty() ? "none registered yet; fsml models register RUN --name NAME" : "models: " + names) + ")"));
  }
  return *id;
}

std::string ReadmeFor(const ModelVersion& v, const nlohmann::json& spec) {
  std::string ref = v.name + "/" + std::to_string(v.number);
  std::string labels;
  for (const auto& l : spec["labels"]) labels += (labels.empty() ? "" : ", ") + l.get<std::string>();
  const auto& in = spec["input"];
  return "# " + ref + "\n\n"
         "A `" + v.architecture + "` image classifier (" + std::to_string(v.parameters) + " parameters) exported by fsml from run " +
         std::to_string(v.run_id) + ", epoch " + std::to_string(v.epoch) + ", trained on `" + spec.value("dataset", std::string("?")) + "`.\n\n"
         "- `model.safetensors`: the weights (safetensors; SHA-256 `" + v.weights_key + "`)\n"
         "- `spec.json`: architecture, input size, normalization and labels\n"
         "- `fsml_model.py`: rebuilds the network in PyTorch and loads the weights (needs only `torch` and `numpy`)\n\n"
         "Input: " + std::to_string(in["channels"].get<int>()) + " channel(s), " + std::to_string(in["height"].get<int>()) + "x" +
         std::to_string(in["width"].get<int>()) + " pixels, scaled to [0, 1] then normalized with the spec's mean and std.\n"
         "Labels, in output order: " + labels + ".\n\n"
         "## Load it in Python\n\n"
         "```python\n"
         "from fsml_model import load, preprocess\n\n"
         "model, spec = load(\".\")              # a torch.nn.Module in eval mode, and spec.json\n"
         "x = preprocess(images, spec)           # uint8 array (N, H, W) or (N, H, W, C) -> normalized float tensor\n"
         "probs = model(x).softmax(1)\n"
         "labels = [spec[\"labels\"][i] for i in probs.argmax(1)]\n"
         "```\n\n"
         "`preprocess` resizes nothing: pass images of the input size above.\n";
}

}  // namespace

Status ValidateModelName(std::string_view name) {
  Status s = ValidateProjectName(name);
  if (!s.ok()) return InvalidArgument("model " + s.message().substr(s.message().find("name")));
  return Status::Ok();
}

Status ValidateAlias(std::string_view alias) {
  bool ok = !alias.empty() && alias.size() <= 64;
  for (char c : alias) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
  if (!ok)
    return InvalidArgument("alias '" + std::string(alias.substr(0, 80)) + "' must be 1-64 lowercase letters, digits, '-' or '_'");
  bool looks_like_version = alias.size() > 1 && alias[0] == 'v' &&
                            alias.find_first_not_of("0123456789", 1) == std::string_view::npos;
  if (alias == "latest" || looks_like_version)
    return InvalidArgument("alias '" + std::string(alias) + "' is reserved (\"latest\" and \"vN\" name versions)");
  return Status::Ok();
}

Result<ModelRef> ParseModelRef(std::string_view text) {
  ModelRef ref;
  ref.text = std::string(text.substr(0, 200));
  size_t at = text.find('@'), slash = text.find('/');
  if (at != std::string_view::npos && slash != std::string_view::npos)
    return Err(InvalidArgument("model reference '" + ref.text + "': use NAME/N or NAME@ALIAS, not both"));
  size_t cut = std::min(at, slash);
  ref.name = std::string(text.substr(0, cut));
  FSML_RETURN_IF_ERROR(ValidateModelName(ref.name));
  if (slash != std::string_view::npos) {
    std::string_view num = text.substr(slash + 1);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (num.empty() || ec != std::errc() || end != num.data() + num.size() || n < 1)
      return Err(InvalidArgument("model reference '" + ref.text + "': the version after '/' must be a positive number"));
    ref.number = n;
  } else if (at != std::string_view::npos) {
    ref.alias = std::string(text.substr(at + 1));
    if (ref.alias == "latest") {
      ref.alias.clear();
    } else {
      FSML_RETURN_IF_ERROR(ValidateAlias(ref.alias));
    }
  }
  return ref;
}

Result<ModelVersion> RegisterModelVersion(Workspace& ws, const RegisterRequest& req) {
  FSML_RETURN_IF_ERROR(ValidateModelName(req.name));
  MetaStore& meta = ws.meta();
  FSML_ASSIGN_OR_RETURN(auto project_id, meta.QueryInt("SELECT project_id FROM runs WHERE id = ?", {req.run_id}));
  if (!project_id) return Err(NotFound("no run " + std::to_string(req.run_id)));
  FSML_ASSIGN_OR_RETURN(TensorFile tensors, ReadSafetensors(req.weights, "weights of run " + std::to_string(req.run_id)));
  FSML_ASSIGN_OR_RETURN(std::string weights_key, ws.blobs().Put(req.weights));
  nlohmann::json spec = req.spec;
  spec["format"] = "fsml-model";
  spec["format_version"] = kModelFormatVersion;
  spec["weights_sha256"] = weights_key;
  spec["run"] = req.run_id;
  spec["epoch"] = req.epoch;
  FSML_ASSIGN_OR_RETURN(std::string spec_key, ws.blobs().Put(spec.dump(2) + "\n"));
  std::string now = NowRfc3339();
  int64_t number = 0;
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto existing, meta.QueryInt("SELECT project_id FROM models WHERE name = ?", {req.name}));
    if (existing && *existing != *project_id)
      return FailedPrecondition("model '" + req.name + "' belongs to another project; register this run under another --name");
    if (!existing) {
      FSML_RETURN_IF_ERROR(meta.Exec("INSERT INTO models (name, project_id, created_at, created_by) VALUES (?, ?, ?, ?)",
                                     {req.name, *project_id, now, req.user}));
    }
    FSML_ASSIGN_OR_RETURN(auto model_id, meta.QueryInt("SELECT id FROM models WHERE name = ?", {req.name}));
    FSML_ASSIGN_OR_RETURN(auto last, meta.QueryInt("SELECT MAX(number) FROM model_versions WHERE model_id = ?", {*model_id}));
    number = last.value_or(0) + 1;
    return meta
        .Exec("INSERT INTO model_versions (model_id, number, run_id, epoch, weights_key, spec_key, architecture, parameters, "
              "weights_bytes, metrics, description, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              {*model_id, number, req.run_id, req.epoch, weights_key, spec_key, spec.value("model", std::string()),
               static_cast<int64_t>(spec.value("parameters", uint64_t{0})), static_cast<int64_t>(req.weights.size()),
               req.metrics.dump(), req.description, now, req.user});
  }));
  ModelRef ref{req.name, number, "", ""};
  return ResolveModel(meta, ref);
}

Result<ModelVersion> ResolveModel(MetaStore& meta, const ModelRef& ref) {
  FSML_ASSIGN_OR_RETURN(int64_t model_id, ModelId(meta, ref.name));
  std::optional<int64_t> number = ref.number;
  if (!ref.alias.empty()) {
    FSML_ASSIGN_OR_RETURN(number, meta.QueryInt("SELECT number FROM model_aliases WHERE model_id = ? AND alias = ?",
                                                {model_id, ref.alias}));
    if (!number) {
      std::string aliases;
      FSML_RETURN_IF_ERROR(meta.Query("SELECT alias, number FROM model_aliases WHERE model_id = ? ORDER BY alias", {model_id},
                                      [&](const SqlRow& r) {
                                        aliases += (aliases.empty() ? "" : ", ") + std::string(r.Text(0)) + " -> " +
                                                   std::to_string(r.Int(1));
                                        return Status::Ok();
                                      }));
      return Err(NotFound("model '" + ref.name + "' has no alias '" + ref.alias + "' (" +
                          (aliases.empty() ? "it has no aliases; fsml models alias " + ref.name + " N " + ref.alias : "aliases: " + aliases) + ")"));
    }
  } else if (!number) {
    FSML_ASSIGN_OR_RETURN(number, meta.QueryInt("SELECT MAX(number) FROM model_versions WHERE model_id = ?", {model_id}));
    if (!number) return Err(NotFound("model '" + ref.name + "' has no versions"));
  }
  std::optional<ModelVersion> found;
  FSML_RETURN_IF_ERROR(meta.Query(std::string(kVersionColumns) + "WHERE v.model_id = ? AND v.number = ?", {model_id, *number},
                                  [&](const SqlRow& r) {
                                    found = VersionFromRow(r);
                                    return Status::Ok();
                                  }));
  if (!found) {
    FSML_ASSIGN_OR_RETURN(auto last, meta.QueryInt("SELECT MAX(number) FROM model_versions WHERE model_id = ?", {model_id}));
    return Err(NotFound("model '" + ref.name + "' has no version " + std::to_string(*number) +
                        (last ? " (versions 1 to " + std::to_string(*last) + ", some may be deleted)" : " (it has none)")));
  }
  FSML_RETURN_IF_ERROR(FillAliases(meta, *found));
  return *found;
}

Result<ModelVersion> ResolveModel(MetaStore& meta, std::string_view ref_text) {
  FSML_ASSIGN_OR_RETURN(ModelRef ref, ParseModelRef(ref_text));
  return ResolveModel(meta, ref);
}

Result<std::vector<ModelSummary>> ListModels(MetaStore& meta) {
  std::vector<ModelSummary> out;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT m.id, m.name, p.name, COUNT(v.number), MAX(v.number), MAX(v.created_at) FROM models m "
      "JOIN projects p ON p.id = m.project_id LEFT JOIN model_versions v ON v.model_id = m.id "
      "GROUP BY m.id, m.name, p.name ORDER BY m.name",
      {}, [&](const SqlRow& r) {
        ModelSummary s;
        s.name = r.Text(1);
        s.project = r.Text(2);
        s.versions = r.Int(3);
        s.latest = r.IsNull(4) ? 0 : r.Int(4);
        s.updated_at = r.IsNull(5) ? "" : std::string(r.Text(5));
        out.push_back(std::move(s));
        return Status::Ok();
      }));
  for (auto& s : out) {
    FSML_RETURN_IF_ERROR(meta.Query(
        "SELECT a.alias, a.number FROM model_aliases a JOIN models m ON m.id = a.model_id WHERE m.name = ? ORDER BY a.alias",
        {s.name}, [&](const SqlRow& r) {
          s.aliases.emplace_back(std::string(r.Text(0)), r.Int(1));
          return Status::Ok();
        }));
  }
  return out;
}

Result<std::vector<ModelVersion>> ListModelVersions(MetaStore& meta, const std::string& name) {
  FSML_ASSIGN_OR_RETURN(int64_t model_id, ModelId(meta, name));
  std::vector<ModelVersion> out;
  FSML_RETURN_IF_ERROR(meta.Query(std::string(kVersionColumns) + "WHERE v.model_id = ? ORDER BY v.number DESC", {model_id},
                                  [&](const SqlRow& r) {
                                    out.push_back(VersionFromRow(r));
                                    return Status::Ok();
                                  }));
  for (auto& v : out) FSML_RETURN_IF_ERROR(FillAliases(meta, v));
  return out;
}

Result<ModelArtifact> LoadArtifact(Workspace& ws, const ModelVersion& v) {
  std::string ref = v.name + "/" + std::to_string(v.number);
  ModelArtifact a;
  auto spec_bytes = ws.blobs().Get(v.spec_key, /*verify=*/true);
  if (!spec_bytes) return Err(Corruption("model " + ref + ": spec object " + v.spec_key + ": " + spec_bytes.error().message()));
  auto weights = ws.blobs().Get(v.weights_key, /*verify=*/true);
  if (!weights) return Err(Corruption("model " + ref + ": weights object " + v.weights_key + ": " + weights.error().message()));
  a.weights = std::move(*weights);
  a.spec = nlohmann::json::parse(*spec_bytes, nullptr, false);
  if (a.spec.is_discarded() || !a.spec.is_object()) return Err(Corruption("model " + ref + ": spec.json does not parse"));
  if (a.spec.value("format", std::string()) != "fsml-model" || !a.spec.contains("format_version") ||
      !a.spec["format_version"].is_number_integer())
    return Err(Corruption("model " + ref + ": spec.json is not an fsml model spec"));
  if (a.spec["format_version"].get<int64_t>() > kModelFormatVersion)
    return Err(FailedPrecondition("model " + ref + " has format version " + a.spec["format_version"].dump() +
                                  "; this fsml reads up to " + std::to_string(kModelFormatVersion) + " (upgrade fsml)"));
  if (a.spec.value("weights_sha256", std::string()) != v.weights_key)
    return Err(Corruption("model " + ref + ": spec.json names other weights (" + a.spec.value("weights_sha256", std::string("none")) + ")"));
  FSML_ASSIGN_OR_RETURN(a.tensors, ReadSafetensors(a.weights, "model " + ref + " weights"));
  return a;
}

Status SetAlias(MetaStore& meta, const std::string& name, int64_t number, const std::string& alias, const std::string& user,
                bool forced, const std::string& note) {
  FSML_RETURN_IF_ERROR(ValidateAlias(alias));
  FSML_ASSIGN_OR_RETURN(int64_t model_id, ModelId(meta, name));
  return meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto exists, meta.QueryInt("SELECT number FROM model_versions WHERE model_id = ? AND number = ?",
                                                     {model_id, number}));
    if (!exists) return NotFound("model '" + name + "' has no version " + std::to_string(number));
    FSML_ASSIGN_OR_RETURN(auto previous, meta.QueryInt("SELECT number FROM model_aliases WHERE model_id = ? AND alias = ?",
                                                       {model_id, alias}));
    std::string now = NowRfc3339();
    FSML_RETURN_IF_ERROR(meta.Exec(
        "INSERT INTO model_aliases (model_id, alias, number, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (model_id, alias) DO UPDATE SET number = excluded.number, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        {model_id, alias, number, now, user}));
    SqlValue prev = previous ? SqlValue(*previous) : SqlValue();
    return meta
        .Exec("INSERT INTO model_alias_history (model_id, alias, number, previous, at, by_user, forced, note) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              {model_id, alias, number, prev, now, user, int64_t{forced}, note});
  });
}

Status RemoveAlias(MetaStore& meta, const std::string& name, const std::string& alias, const std::string& user) {
  FSML_ASSIGN_OR_RETURN(int64_t model_id, ModelId(meta, name));
  return meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto previous, meta.QueryInt("SELECT number FROM model_aliases WHERE model_id = ? AND alias = ?",
                                                       {model_id, alias}));
    if (!previous) return NotFound("model '" + name + "' has no alias '" + alias + "'");
    FSML_RETURN_IF_ERROR(meta.Exec("DELETE FROM model_aliases WHERE model_id = ? AND alias = ?", {model_id, alias}));
    return meta
        .Exec("INSERT INTO model_alias_history (model_id, alias, number, previous, at, by_user, forced, note) "
              "VALUES (?, ?, NULL, ?, ?, ?, 0, 'removed')",
              {model_id, alias, *previous, NowRfc3339(), user});
  });
}

Result<std::vector<AliasEvent>> AliasHistory(MetaStore& meta, const std::string& name) {
  FSML_ASSIGN_OR_RETURN(int64_t model_id, ModelId(meta, name));
  std::vector<AliasEvent> out;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT alias, number, previous, at, by_user, forced, note FROM model_alias_history WHERE model_id = ? ORDER BY id",
      {model_id}, [&](const SqlRow& r) {
        AliasEvent e;
        e.alias = r.Text(0);
        if (!r.IsNull(1)) e.number = r.Int(1);
        if (!r.IsNull(2)) e.previous = r.Int(2);
        e.at = r.Text(3);
        e.by = r.Text(4);
        e.forced = r.Int(5) != 0;
        e.note = r.Text(6);
        out.push_back(std::move(e));
        return Status::Ok();
      }));
  return out;
}

Status DeleteModelVersion(MetaStore& meta, const std::string& name, int64_t number) {
  FSML_ASSIGN_OR_RETURN(int64_t model_id, ModelId(meta, name));
  return meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto exists, meta.QueryInt("SELECT number FROM model_versions WHERE model_id = ? AND number = ?",
                                                     {model_id, number}));
    if (!exists) return NotFound("model '" + name + "' has no version " + std::to_string(number));
    std::string aliases;
    FSML_RETURN_IF_ERROR(meta.Query("SELECT alias FROM model_aliases WHERE model_id = ? AND number = ? ORDER BY alias",
                                    {model_id, number}, [&](const SqlRow& r) {
                                      aliases += (aliases.empty() ? "" : ", ") + std::string(r.Text(0));
                                      return Status::Ok();
                                    }));
    if (!aliases.empty())
      return FailedPrecondition("model " + name + "/" + std::to_string(number) + " is aliased as " + aliases +
                                "; move the alias first (fsml models alias " + name + " N ALIAS)");
    FSML_RETURN_IF_ERROR(meta.Exec("DELETE FROM evaluations WHERE model_id = ? AND model_number = ?", {model_id, number}));
    return meta.Exec("DELETE FROM model_versions WHERE model_id = ? AND number = ?", {model_id, number});
  });
}

Status ExportModel(Workspace& ws, const ModelVersion& v, const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec)))
    return AlreadyExists(dir.string() + " exists and is not empty; export into a new folder");
  FSML_ASSIGN_OR_RETURN(ModelArtifact a, LoadArtifact(ws, v));
  fs::path target = fs::absolute(dir, ec).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::mt19937_64 rng{std::random_device{}()};
  fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".partial-" + std::to_string(rng() % 1000000));
  FSML_RETURN_IF_ERROR(MakeDirs(tmp));
  Status s = WriteNewFile(tmp / "model.safetensors", a.weights);
  if (s.ok()) s = WriteNewFile(tmp / "spec.json", a.spec.dump(2) + "\n");
  if (s.ok()) s = WriteNewFile(tmp / "fsml_model.py", kFsmlModelPy);
  if (s.ok()) s = WriteNewFile(tmp / "README.md", ReadmeFor(v, a.spec));
  if (s.ok()) s = SyncFilesystemOf(tmp);
  if (s.ok()) {
    if (fs::exists(target, ec)) fs::remove(target, ec);  // the empty folder
    fs::rename(tmp, target, ec);
    if (ec) s = IoError("export: renaming into " + target.string() + ": " + ec.message());
  }
  if (s.ok()) s = FsyncPath(target.parent_path());
  if (!s.ok()) fs::remove_all(tmp, ec);
  return s;
}

Result<nlohmann::json> Lineage(Workspace& ws, const ModelVersion& v) {
  MetaStore& meta = ws.meta();
  nlohmann::json out;
  out["model"] = ModelVersionToJson(v);
  nlohmann::json run;
  int64_t project_id = 0, version_number = 0;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT r.id, r.model, r.params, r.seed, r.code_version, r.host, r.status, r.started_at, r.ended_at, r.best_epoch, "
      "r.test_metrics, r.project_id, r.version_number FROM runs r WHERE r.id = ?",
      {v.run_id}, [&](const SqlRow& r) {
        run = {{"id", r.Int(0)},
               {"model", r.Text(1)},
               {"params", nlohmann::json::parse(r.Text(2), nullptr, false)},
               {"seed", r.Int(3)},
               {"code_version", r.Text(4)},
               {"host", r.Text(5)},
               {"status", r.Text(6)},
               {"started_at", r.Text(7)},
               {"ended_at", r.IsNull(8) ? nlohmann::json() : nlohmann::json(r.Text(8))},
               {"best_epoch", r.IsNull(9) ? nlohmann::json() : nlohmann::json(r.Int(9))},
               {"test_metrics", r.IsNull(10) ? nlohmann::json() : nlohmann::json::parse(r.Text(10), nullptr, false)}};
        project_id = r.Int(11);
        version_number = r.Int(12);
        return Status::Ok();
      }));
  if (run.is_null()) return Err(Corruption("model " + v.name + "/" + std::to_string(v.number) + " names run " +
                                           std::to_string(v.run_id) + ", which does not exist"));
  out["run"] = run;
  nlohmann::json dataset;
  std::string committed_at;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT number, message, author, created_at, item_count, stats, manifest_key FROM dataset_versions "
      "WHERE project_id = ? AND number = ?",
      {project_id, version_number}, [&](const SqlRow& r) {
        committed_at = r.Text(3);
        dataset = {{"ref", v.project + "@v" + std::to_string(r.Int(0))},
                   {"message", r.Text(1)},
                   {"author", r.Text(2)},
                   {"created_at", committed_at},
                   {"items", r.Int(4)},
                   {"stats", nlohmann::json::parse(r.Text(5), nullptr, false)},
                   {"manifest", r.Text(6)}};
        return Status::Ok();
      }));
  // Who labeled: the annotations recorded in the project up to the commit.
  nlohmann::json annotators = nlohmann::json::array();
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT author, origin, COUNT(*) FROM annotations WHERE project_id = ? AND created_at <= ? "
      "GROUP BY author, origin ORDER BY COUNT(*) DESC, author",
      {project_id, committed_at}, [&](const SqlRow& r) {
        annotators.push_back({{"author", r.Text(0)}, {"origin", r.Text(1)}, {"annotations", r.Int(2)}});
        return Status::Ok();
      }));
  dataset["annotators"] = annotators;
  nlohmann::json imports = nlohmann::json::array();
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT id, source, author, created_at, items_added FROM imports WHERE project_id = ? AND created_at <= ? ORDER BY id",
      {project_id, committed_at}, [&](const SqlRow& r) {
        imports.push_back({{"id", r.Int(0)}, {"source", r.Text(1)}, {"author", r.Text(2)}, {"created_at", r.Text(3)},
                           {"items_added", r.Int(4)}});
        return Status::Ok();
      }));
  dataset["imports"] = imports;
  out["dataset"] = dataset;
  return out;
}

nlohmann::json ModelVersionToJson(const ModelVersion& v) {
  return {{"name", v.name},
          {"ref", v.name + "/" + std::to_string(v.number)},
          {"project", v.project},
          {"version", v.number},
          {"run", v.run_id},
          {"epoch", v.epoch},
          {"architecture", v.architecture},
          {"parameters", v.parameters},
          {"weights_sha256", v.weights_key},
          {"weights_bytes", v.weights_bytes},
          {"spec_key", v.spec_key},
          {"metrics", v.metrics},
          {"description", v.description},
          {"aliases", v.aliases},
          {"created_at", v.created_at},
          {"created_by", v.created_by}};
}

}  // namespace fsml
