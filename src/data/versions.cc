#include "data/versions.h"

#include <array>
#include <atomic>
#include <charconv>
#include <unordered_map>
#include <random>

#include "core/log.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "data/image.h"

namespace fsml {
namespace {

std::optional<int64_t> ParseVersionNumber(std::string_view ref) {
  if (ref.size() < 2 || ref[0] != 'v') return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(ref.data() + 1, ref.data() + ref.size(), n);
  if (ec != std::errc() || end != ref.data() + ref.size() || n <= 0) return std::nullopt;
  return n;
}

constexpr const char* kVersionColumns =
    "SELECT number, parent_number, manifest_key, message, author, created_at, item_count, stats "
    "FROM dataset_versions ";

DatasetVersion VersionFromRow(const SqlRow& r) {
  DatasetVersion v;
  v.number = r.Int(0);
  if (!r.IsNull(1)) v.parent = r.Int(1);
  v.manifest_key = r.Text(2);
  v.message = r.Text(3);
  v.author = r.Text(4);
  v.created_at = r.Text(5);
  v.item_count = static_cast<uint64_t>(r.Int(6));
  v.stats = nlohmann::json::parse(r.Text(7), nullptr, false);
  return v;
}

Status LoadTags(MetaStore& meta, const Project& p, std::vector<DatasetVersion>& versions) {
  return meta.Query("SELECT number, name FROM version_tags WHERE project_id = ? ORDER BY name", {p.id},
                    [&](const SqlRow& r) {
                      for (auto& v : versions)
                        if (v.number == r.Int(0)) v.tags.emplace_back(r.Text(1));
                      return Status::Ok();
                    });
}

nlohmann::json StatsOf(const Manifest& m) {
  nlohmann::json splits = {{"train", 0}, {"val", 0}, {"test", 0}};
  std::vector<std::array<uint64_t, 3>> per_label(m.labels.size(), {0, 0, 0});
  for (const auto& r : m.rows) per_label[r.label][static_cast<int>(r.split)]++;
  nlohmann::json labels = nlohmann::json::object();
  for (size_t i = 0; i < m.labels.size(); ++i) {
    const auto& c = per_label[i];
    labels[m.labels[i]] = {{"train", c[0]}, {"val", c[1]}, {"test", c[2]}, {"total", c[0] + c[1] + c[2]}};
    splits["train"] = splits["train"].get<uint64_t>() + c[0];
    splits["val"] = splits["val"].get<uint64_t>() + c[1];
    splits["test"] = splits["test"].get<uint64_t>() + c[2];
  }
  return {{"splits", splits}, {"labels", labels}};
}

bool SameRows(const Manifest& a, const Manifest& b) {
  if (a.rows.size() != b.rows.size()) return false;
  for (size_t i = 0; i < a.rows.size(); ++i) {
    const auto& x = a.rows[i];
    const auto& y = b.rows[i];
    if (x.item != y.item || x.split != y.split || a.labels[x.label] != b.labels[y.label]) return false;
  }
  return true;
}

}  // namespace

Result<VersionRef> ParseVersionRef(std::string_view text) {
  VersionRef r;
  size_t at = text.find('@');
  r.project = std::string(text.substr(0, at));
  if (at != std::string_view::npos) {
    r.ref = std::string(text.substr(at + 1));
    if (r.ref.empty())
      return Err(InvalidArgument("'" + std::string(text.substr(0, 80)) + "': nothing after '@' (expected NAME@vN or NAME@TAG)"));
  }
  FSML_RETURN_IF_ERROR(ValidateProjectName(r.project).WithContext("version ref '" + std::string(text.substr(0, 80)) + "'"));
  return r;
}

Result<DatasetVersion> CommitVersion(Workspace& ws, const Project& project, const CommitOptions& opt) {
  MetaStore& meta = ws.meta();
  if (opt.message.empty()) return Err(InvalidArgument("a version needs a message (-m \"what changed\")"));
  if (opt.message.size() > 10000) return Err(InvalidArgument("version message longer than 10,000 bytes"));
  DatasetVersion v;
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    // The label table in the manifest is the project's label order.
    Manifest m;
    std::unordered_map<int64_t, uint32_t> label_index;
    for (const auto& l : project.labels) {
      label_index[l.id] = static_cast<uint32_t>(m.labels.size());
      m.labels.push_back(l.name);
    }
    Status row_error;
    FSML_RETURN_IF_ERROR(meta.Query(
        "SELECT item_id, label_id, split, annotation_id FROM project_items "
        "WHERE project_id = ? AND label_id IS NOT NULL ORDER BY item_id",
        {project.id}, [&](const SqlRow& r) -> Status {
          ManifestRow row;
          FSML_ASSIGN_OR_RETURN(row.item, DigestFromHex(r.Text(0)));
          auto it = label_index.find(r.Int(1));
          if (it == label_index.end()) return Internal("item " + std::string(r.Text(0)) + " has a label of another project");
          row.label = it->second;
          row.split = static_cast<Split>(r.Int(2));
          row.annotation_id = static_cast<uint64_t>(r.IsNull(3) ? 0 : r.Int(3));
          m.rows.push_back(row);
          return Status::Ok();
        }));
    if (m.rows.empty())
      return FailedPrecondition("project '" + project.name + "' has no labeled items to commit");
    FSML_ASSIGN_OR_RETURN(auto latest, meta.QueryInt("SELECT MAX(number) FROM dataset_versions WHERE project_id = ?", {project.id}));
    if (latest && !opt.allow_empty) {
      FSML_ASSIGN_OR_RETURN(DatasetVersion parent, ResolveVersion(meta, project, "v" + std::to_string(*latest)));
      FSML_ASSIGN_OR_RETURN(Manifest pm, LoadManifest(ws.blobs(), parent));
      if (SameRows(pm, m))
        return FailedPrecondition("nothing changed since " + project.name + "@v" + std::to_string(*latest) +
                                  " (pass --allow-empty to commit anyway)");
    }
    log::Debug("commit {}: {} rows read", project.name, m.rows.size());
    std::string bytes = SerializeManifest(m);
    FSML_ASSIGN_OR_RETURN(v.manifest_key, ws.blobs().Put(bytes));
    v.number = latest.value_or(0) + 1;
    v.parent = latest;
    v.message = opt.message;
    v.author = opt.author;
    v.created_at = NowRfc3339();
    v.item_count = m.rows.size();
    v.stats = StatsOf(m);
    SqlValue parent = latest ? SqlValue(*latest) : SqlValue();
    return meta.Exec("INSERT INTO dataset_versions (project_id, number, parent_number, manifest_key, message, author, "
                     "created_at, item_count, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     {project.id, v.number, parent, v.manifest_key, v.message, v.author, v.created_at,
                      static_cast<int64_t>(v.item_count), v.stats.dump()});
  }));
  return v;
}

Result<std::vector<DatasetVersion>> ListVersions(MetaStore& meta, const Project& project) {
  std::vector<DatasetVersion> out;
  FSML_RETURN_IF_ERROR(meta.Query(std::string(kVersionColumns) + "WHERE project_id = ? ORDER BY number DESC", {project.id},
                                  [&](const SqlRow& r) {
                                    out.push_back(VersionFromRow(r));
                                    return Status::Ok();
                                  }));
  FSML_RETURN_IF_ERROR(LoadTags(meta, project, out));
  return out;
}

Result<DatasetVersion> ResolveVersion(MetaStore& meta, const Project& project, std::string_view ref) {
  std::optional<int64_t> number;
  if (ref.empty() || ref == "latest") {
    FSML_ASSIGN_OR_RETURN(number, meta.QueryInt("SELECT MAX(number) FROM dataset_versions WHERE project_id = ?", {project.id}));
    if (!number) return Err(NotFound("project '" + project.name + "' has no versions yet (fsml data commit " + project.name + " -m MSG)"));
  } else if (auto n = ParseVersionNumber(ref)) {
    number = n;
  } else {
    FSML_ASSIGN_OR_RETURN(number, meta.QueryInt("SELECT number FROM version_tags WHERE project_id = ? AND name = ?",
                                                {project.id, std::string(ref)}));
    if (!number) return Err(NotFound("no version or tag '" + project.name + "@" + std::string(ref.substr(0, 80)) + "'"));
  }
  std::vector<DatasetVersion> found;
  FSML_RETURN_IF_ERROR(meta.Query(std::string(kVersionColumns) + "WHERE project_id = ? AND number = ?", {project.id, *number},
                                  [&](const SqlRow& r) {
                                    found.push_back(VersionFromRow(r));
                                    return Status::Ok();
                                  }));
  if (found.empty()) {
    FSML_ASSIGN_OR_RETURN(auto latest, meta.QueryInt("SELECT MAX(number) FROM dataset_versions WHERE project_id = ?", {project.id}));
    return Err(NotFound("no version " + project.name + "@v" + std::to_string(*number) +
                        (latest ? " (latest is " + project.name + "@v" + std::to_string(*latest) + ")" : " (no versions yet)")));
  }
  FSML_RETURN_IF_ERROR(LoadTags(meta, project, found));
  return found[0];
}

Result<Manifest> LoadManifest(BlobStore& blobs, const DatasetVersion& v) {
  FSML_ASSIGN_OR_RETURN(std::string bytes, blobs.Get(v.manifest_key, /*verify=*/true));
  auto m = ParseManifest(bytes);
  if (!m) return Err(m.error().WithContext("version v" + std::to_string(v.number)));
  return m;
}

Status TagVersion(MetaStore& meta, const Project& project, int64_t number, const std::string& tag,
                  const std::string& author, bool force) {
  FSML_RETURN_IF_ERROR(ValidateLabelName(tag).WithContext("tag"));
  if (ParseVersionNumber(tag) || tag == "latest")
    return InvalidArgument("tag '" + tag + "' would be confused with a version number or 'latest'");
  return meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto exists, meta.QueryInt("SELECT number FROM dataset_versions WHERE project_id = ? AND number = ?",
                                                     {project.id, number}));
    if (!exists) {
      FSML_ASSIGN_OR_RETURN(auto latest, meta.QueryInt("SELECT MAX(number) FROM dataset_versions WHERE project_id = ?", {project.id}));
      return NotFound("no version " + project.name + "@v" + std::to_string(number) +
                      (latest ? " (latest is " + project.name + "@v" + std::to_string(*latest) + ")" : " (no versions yet)"));
    }
    FSML_ASSIGN_OR_RETURN(auto current, meta.QueryInt("SELECT number FROM version_tags WHERE project_id = ? AND name = ?",
                                                      {project.id, tag}));
    if (current && *current == number) return Status::Ok();
    if (current && !force)
      return AlreadyExists("tag '" + tag + "' already names " + project.name + "@v" + std::to_string(*current) +
                           " (pass --force to move it)");
    if (current) FSML_RETURN_IF_ERROR(meta.Exec("DELETE FROM version_tags WHERE project_id = ? AND name = ?", {project.id, tag}));
    return meta.Exec("INSERT INTO version_tags (project_id, name, number, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                     {project.id, tag, number, NowRfc3339(), author});
  });
}

nlohmann::json VersionToJson(const Project& p, const DatasetVersion& v) {
  nlohmann::json j = {{"ref", p.name + "@v" + std::to_string(v.number)},
                      {"project", p.name},
                      {"version", v.number},
                      {"parent", v.parent ? nlohmann::json(*v.parent) : nlohmann::json()},
                      {"message", v.message},
                      {"author", v.author},
                      {"created_at", v.created_at},
                      {"items", v.item_count},
                      {"manifest", v.manifest_key},
                      {"tags", v.tags},
                      {"stats", v.stats}};
  return j;
}

nlohmann::json DiffToJson(const Manifest& a, const Manifest& b, const ManifestDiff& d, size_t limit) {
  auto rows = [&](const std::vector<ManifestRow>& v, const Manifest& m) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < v.size() && i < limit; ++i)
      out.push_back({{"id", ToHex(v[i].item)}, {"label", m.labels[v[i].label]}, {"split", SplitName(v[i].split)}});
    return out;
  };
  nlohmann::json relabeled = nlohmann::json::array();
  for (size_t i = 0; i < d.relabeled.size() && i < limit; ++i)
    relabeled.push_back({{"id", ToHex(d.relabeled[i].item)}, {"from", d.relabeled[i].from}, {"to", d.relabeled[i].to}});
  return {{"added", d.added.size()},
          {"removed", d.removed.size()},
          {"relabeled", d.relabeled.size()},
          {"unchanged", d.unchanged},
          {"samples", {{"added", rows(d.added, b)}, {"removed", rows(d.removed, a)}, {"relabeled", relabeled}}}};
}

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "imagefolder") return ExportFormat::kImageFolder;
  if (name == "jsonl") return ExportFormat::kJsonl;
  return Err(InvalidArgument("unknown export format '" + std::string(name.substr(0, 40)) + "' (expected imagefolder or jsonl)"));
}

Result<ExportSummary> ExportVersion(Workspace& ws, const Project& project, const DatasetVersion& v,
                                    const fs::path& dir, ExportFormat format) {
  if (format == ExportFormat::kImageFolder && project.type != TaskType::kImageClassification)
    return Err(InvalidArgument("imagefolder export needs an image project; '" + project.name + "' is text (use --format jsonl)"));
  std::error_code ec;
  if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec)))
    return Err(AlreadyExists(dir.string() + " exists and is not empty; export into a new folder"));
  FSML_ASSIGN_OR_RETURN(Manifest m, LoadManifest(ws.blobs(), v));
  fs::path target = fs::absolute(dir, ec).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::mt19937_64 rng{std::random_device{}()};
  fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".partial-" + std::to_string(rng() % 1000000));
  FSML_RETURN_IF_ERROR(MakeDirs(tmp));
  auto cleanup = [&] { fs::remove_all(tmp, ec); };

  // Media types for extensions.
  std::unordered_map<std::string, std::string> media;
  FSML_RETURN_IF_ERROR(ws.meta().Query(
      "SELECT i.id, i.media_type FROM items i JOIN project_items p ON p.item_id = i.id WHERE p.project_id = ?",
      {project.id}, [&](const SqlRow& r) {
        media.emplace(std::string(r.Text(0)), std::string(r.Text(1)));
        return Status::Ok();
      }));
  if (format == ExportFormat::kImageFolder) {
    for (auto sp : {Split::kTrain, Split::kVal, Split::kTest})
      for (const auto& l : m.labels) FSML_RETURN_IF_ERROR(MakeDirs(tmp / SplitName(sp) / LabelToFolderName(l)));
  } else if (project.type == TaskType::kImageClassification) {
    FSML_RETURN_IF_ERROR(MakeDirs(tmp / "items"));
  }
  std::vector<std::string> lines(m.rows.size());
  std::atomic<uint64_t> bytes{0};
  Progress progress("export", m.rows.size());
  Status s = ParallelFor(m.rows.size(), 256, DefaultThreads(), [&](size_t b, size_t e) -> Status {
    for (size_t i = b; i < e; ++i) {
      const ManifestRow& r = m.rows[i];
      std::string id = ToHex(r.item);
      FSML_ASSIGN_OR_RETURN(std::string data, ws.blobs().Get(id, /*verify=*/true));
      bytes += data.size();
      auto mt = media.find(id);
      if (mt == media.end()) return Corruption("item " + id + " of version v" + std::to_string(v.number) + " is not in the project");
      std::string label = m.labels[r.label];
      std::string split(SplitName(r.split));
      nlohmann::json line = {{"id", id}, {"label", label}, {"split", split}};
      if (format == ExportFormat::kImageFolder) {
        fs::path f = tmp / split / LabelToFolderName(label) / (id + "." + std::string(ExtensionFor(mt->second)));
        FSML_RETURN_IF_ERROR(WriteNewFile(f, data));
      } else if (project.type == TaskType::kImageClassification) {
        std::string rel = "items/" + id + "." + std::string(ExtensionFor(mt->second));
        FSML_RETURN_IF_ERROR(WriteNewFile(tmp / rel, data));
        line["image"] = rel;
      } else {
        line["text"] = data;
      }
      lines[i] = line.dump();
    }
    progress.Add(e - b);
    return Status::Ok();
  });
  if (!s.ok()) {
    cleanup();
    return Err(s);
  }
  progress.Finish();
  if (format == ExportFormat::kJsonl) {
    std::string all;
    for (const auto& l : lines) all.append(l).push_back('\n');
    s = WriteFileAtomic(tmp / "data.jsonl", all);
  }
  nlohmann::json info = {{"project", project.name},
                         {"task_type", TaskTypeName(project.type)},
                         {"version", v.number},
                         {"ref", project.name + "@v" + std::to_string(v.number)},
                         {"labels", m.labels},
                         {"items", m.rows.size()},
                         {"stats", v.stats}};
  if (s.ok()) s = WriteFileAtomic(tmp / "version.json", info.dump(2) + "\n");
  if (s.ok()) s = SyncFilesystemOf(tmp);
  if (s.ok() && fs::exists(target, ec)) fs::remove(target, ec);  // the empty folder the user made
  if (s.ok()) {
    fs::rename(tmp, target, ec);
    if (ec) s = IoError("rename " + tmp.string() + " to " + target.string() + ": " + ec.message());
  }
  if (!s.ok()) {
    cleanup();
    return Err(s);
  }
  return ExportSummary{m.rows.size(), bytes.load()};
}

}  // namespace fsml
