#include "data/project.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <random>
#include <set>

#include "core/fs.h"
#include "core/sha256.h"
#include "data/parsers.h"

namespace fsml {

std::string_view TaskTypeName(TaskType t) {
  return t == TaskType::kImageClassification ? "image-classification" : "text-classification";
}

Result<TaskType> ParseTaskType(std::string_view name) {
  if (name == "image-classification") return TaskType::kImageClassification;
  if (name == "text-classification") return TaskType::kTextClassification;
  return Err(InvalidArgument("unknown task type '" + std::string(name.substr(0, 40)) +
                             "' (expected image-classification or text-classification)"));
}

const Label* Project::FindLabel(std::string_view n) const {
  for (const auto& l : labels)
    if (l.name == n) return &l;
  return nullptr;
}

const Label* Project::FindLabelById(int64_t id) const {
  for (const auto& l : labels)
    if (l.id == id) return &l;
  return nullptr;
}

std::string Project::LabelList() const {
  std::string out;
  for (const auto& l : labels) out += (out.empty() ? "" : ", ") + l.name;
  return out;
}

Status ValidateProjectName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
  if (!ok)
    return InvalidArgument("project name '" + std::string(name.substr(0, 80)) +
                           "' must be 1-64 lowercase letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit");
  return Status::Ok();
}

Status ValidateLabelName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("label '" + std::string(name.substr(0, 80)) + "' " + why);
  };
  if (name.empty()) return InvalidArgument("empty label name");
  if (name.size() > 64) return bad("is longer than 64 bytes");
  if (!IsValidUtf8(name)) return bad("is not valid UTF-8");
  if (name == "." || name == "..") return bad("is not allowed");
  if (name.front() == ' ' || name.back() == ' ') return bad("has leading or trailing spaces");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return bad("contains a control character");
    if (c == '\\' || c == ',' || c == '@') return bad("contains one of \\ , @");
  }
  return Status::Ok();
}

std::string LabelToFolderName(std::string_view label) {
  std::string out;
  for (char c : label) {
    if (c == '%') out += "%25";
    else if (c == '/') out += "%2F";
    else out.push_back(c);
  }
  return out;
}

std::string FolderNameToLabel(std::string_view folder) {
  std::string out;
  for (size_t i = 0; i < folder.size(); ++i) {
    if (folder.substr(i, 3) == "%25") out.push_back('%'), i += 2;
    else if (folder.substr(i, 3) == "%2F" || folder.substr(i, 3) == "%2f") out.push_back('/'), i += 2;
    else out.push_back(folder[i]);
  }
  return out;
}

Result<std::vector<std::string>> ParseLabelList(std::string_view text) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = std::min(text.find(',', pos), text.size());
    std::string name(text.substr(pos, comma - pos));
    while (!name.empty() && name.front() == ' ') name.erase(name.begin());
    while (!name.empty() && name.back() == ' ') name.pop_back();
    FSML_RETURN_IF_ERROR(ValidateLabelName(name));
    if (!seen.insert(name).second) return Err(InvalidArgument("label '" + name + "' is listed twice"));
    out.push_back(name);
    pos = comma + 1;
  }
  if (out.size() > 10000) return Err(InvalidArgument("more than 10,000 labels"));
  return out;
}

// Distinct at a glance and readable with white text (WCAG AA on #fff text
// for the darker half; the web app picks black or white text by luminance).
static constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                           "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"};

static Status LoadLabels(MetaStore& meta, Project& p) {
  p.labels.clear();
  return meta.Query("SELECT id, name, color, hotkey FROM labels WHERE project_id = ? ORDER BY position", {p.id},
                    [&](const SqlRow& r) {
                      size_t i = p.labels.size();
                      Label l{r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)), std::string(r.Text(3))};
                      if (l.color.empty()) l.color = kPalette[i % std::size(kPalette)];
                      if (l.hotkey.empty() && i < 10) l.hotkey = std::string(1, static_cast<char>(i == 9 ? '0' : '1' + i));
                      p.labels.push_back(std::move(l));
                      return Status::Ok();
                    });
}

static constexpr const char* kProjectColumns =
    "SELECT id, name, task_type, guidelines, split_salt, train_permille, val_permille, "
    "test_permille, created_at, created_by, overlap, review_sample_permille, collect_below FROM projects ";

static Result<Project> ProjectFromRow(const SqlRow& r) {
  Project p;
  p.id = r.Int(0);
  p.name = r.Text(1);
  FSML_ASSIGN_OR_RETURN(p.type, ParseTaskType(r.Text(2)));
  p.guidelines = r.Text(3);
  p.split_salt = r.Text(4);
  p.ratios = {static_cast<int>(r.Int(5)), static_cast<int>(r.Int(6)), static_cast<int>(r.Int(7))};
  p.created_at = r.Text(8);
  p.created_by = r.Text(9);
  p.overlap = static_cast<int>(r.Int(10));
  p.review_sample_permille = static_cast<int>(r.Int(11));
  if (!r.IsNull(12)) p.collect_below = r.Real(12);
  return p;
}

Result<Project> CreateProject(MetaStore& meta, const ProjectSpec& spec, const std::string& author) {
  FSML_RETURN_IF_ERROR(ValidateProjectName(spec.name));
  if (spec.labels.empty()) return Err(InvalidArgument("project '" + spec.name + "' needs at least one label"));
  if (spec.overlap < 1 || spec.overlap > 10) return Err(InvalidArgument("overlap must be 1 to 10 annotators per item"));
  const SplitRatios& r = spec.ratios;
  if (r.train_permille < 0 || r.val_permille < 0 || r.test_permille < 0 ||
      r.train_permille + r.val_permille + r.test_permille != 1000)
    return Err(InvalidArgument("project '" + spec.name + "': split ratios " + std::to_string(r.train_permille) + "," +
                               std::to_string(r.val_permille) + "," + std::to_string(r.test_permille) +
                               " (permille) must be non-negative and add up to 1000"));
  std::set<std::string> seen;
  for (const auto& l : spec.labels) {
    FSML_RETURN_IF_ERROR(ValidateLabelName(l));
    if (!seen.insert(l).second) return Err(InvalidArgument("label '" + l + "' is listed twice"));
  }
  // The salt follows from the name, so the same data imported into a project
  // of the same name in another workspace gets the same splits.
  std::string salt = Sha256Hex("fsml split salt:" + spec.name).substr(0, 16);
  Project p;
  Status s = meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto existing, meta.QueryInt("SELECT id FROM projects WHERE name = ?", {spec.name}));
    if (existing) return AlreadyExists("project '" + spec.name + "' already exists");
    FSML_ASSIGN_OR_RETURN(
        auto id, meta.QueryInt("INSERT INTO projects (name, task_type, guidelines, split_salt, train_permille, "
                               "val_permille, test_permille, created_at, created_by, overlap) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                               {spec.name, std::string(TaskTypeName(spec.type)), spec.guidelines, salt,
                                int64_t{spec.ratios.train_permille}, int64_t{spec.ratios.val_permille},
                                int64_t{spec.ratios.test_permille}, NowRfc3339(), author, int64_t{spec.overlap}}));
    p.id = *id;
    for (size_t i = 0; i < spec.labels.size(); ++i) {
      FSML_RETURN_IF_ERROR(meta.Exec("INSERT INTO labels (project_id, position, name) VALUES (?, ?, ?)",
                                     {p.id, static_cast<int64_t>(i), spec.labels[i]}));
    }
    return Status::Ok();
  });
  FSML_RETURN_IF_ERROR(s);
  return GetProject(meta, spec.name);
}

Result<Project> GetProject(MetaStore& meta, std::string_view name) {
  std::optional<Project> found;
  FSML_RETURN_IF_ERROR(meta.Query(std::string(kProjectColumns) + "WHERE name = ?", {std::string(name)},
                                  [&](const SqlRow& r) -> Status {
                                    FSML_ASSIGN_OR_RETURN(found, ProjectFromRow(r));
                                    return Status::Ok();
                                  }));
  if (!found) {
    std::string known;
    FSML_ASSIGN_OR_RETURN(auto all, ListProjects(meta));
    for (const auto& p : all) known += (known.empty() ? "" : ", ") + p.name;
    return Err(NotFound("no project '" + std::string(name.substr(0, 80)) + "'" +
                        (known.empty() ? " (this workspace has no projects yet)" : " (projects: " + known + ")")));
  }
  FSML_RETURN_IF_ERROR(LoadLabels(meta, *found));
  return *found;
}

Result<std::vector<Project>> ListProjects(MetaStore& meta) {
  std::vector<Project> out;
  FSML_RETURN_IF_ERROR(meta.Query(std::string(kProjectColumns) + "ORDER BY name", {}, [&](const SqlRow& r) -> Status {
    FSML_ASSIGN_OR_RETURN(Project p, ProjectFromRow(r));
    out.push_back(std::move(p));
    return Status::Ok();
  }));
  for (auto& p : out) FSML_RETURN_IF_ERROR(LoadLabels(meta, p));
  return out;
}

Status SetLabels(MetaStore& meta, Project& project, const std::vector<std::string>& labels) {
  if (labels.empty()) return InvalidArgument("project '" + project.name + "' needs at least one label");
  std::set<std::string> keep;
  for (const auto& l : labels) {
    FSML_RETURN_IF_ERROR(ValidateLabelName(l));
    if (!keep.insert(l).second) return InvalidArgument("label '" + l + "' is listed twice");
  }
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    for (const auto& l : project.labels) {
      if (keep.count(l.name)) continue;
      FSML_ASSIGN_OR_RETURN(auto n, meta.QueryInt("SELECT COUNT(*) FROM annotations WHERE label_id = ?", {l.id}));
      if (n.value_or(0) > 0)
        return FailedPrecondition("label '" + l.name + "' has " + WithThousands(static_cast<uint64_t>(*n)) +
                                  " annotations in project '" + project.name +
                                  "'; removing it would orphan them (rename it instead, or keep it)");
      FSML_RETURN_IF_ERROR(meta.Exec("DELETE FROM labels WHERE id = ?", {l.id}));
    }
    for (size_t i = 0; i < labels.size(); ++i) {
      if (const Label* l = project.FindLabel(labels[i])) {
        FSML_RETURN_IF_ERROR(meta.Exec("UPDATE labels SET position = ? WHERE id = ?", {static_cast<int64_t>(i), l->id}));
      } else {
        FSML_RETURN_IF_ERROR(meta.Exec("INSERT INTO labels (project_id, position, name) VALUES (?, ?, ?)",
                                       {project.id, static_cast<int64_t>(i), labels[i]}));
      }
    }
    return Status::Ok();
  }));
  return LoadLabels(meta, project);
}

Status SetLabelStyles(MetaStore& meta, Project& project, const std::vector<LabelStyle>& styles) {
  std::map<std::string, const LabelStyle*> by_name;
  for (const auto& s : styles) {
    if (!project.FindLabel(s.name))
      return InvalidArgument("project '" + project.name + "' has no label '" + s.name + "' (labels: " + project.LabelList() + ")");
    by_name[s.name] = &s;
  }
  std::map<std::string, std::string> hotkeys;  // key → label, after the change
  for (const auto& l : project.labels) {
    auto it = by_name.find(l.name);
    std::string color = it != by_name.end() && !it->second->color.empty() ? it->second->color : l.color;
    std::string key = it != by_name.end() && !it->second->hotkey.empty() ? it->second->hotkey : l.hotkey;
    bool hex = color.size() == 7 && color[0] == '#' &&
               std::all_of(color.begin() + 1, color.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    if (!hex) return InvalidArgument("label '" + l.name + "': color '" + color.substr(0, 20) + "' must be #rrggbb");
    if (!key.empty()) {
      bool ok = key.size() == 1 && (std::islower(static_cast<unsigned char>(key[0])) || std::isdigit(static_cast<unsigned char>(key[0])));
      if (!ok) return InvalidArgument("label '" + l.name + "': hotkey '" + key.substr(0, 20) + "' must be one of a-z or 0-9");
      if (key == "s" || key == "f" || key == "g" || key == "n")
        return InvalidArgument("label '" + l.name + "': hotkey '" + key + "' is taken by the labeling view (s skip, f flag, g grid, n next page)");
      if (hotkeys.count(key)) return InvalidArgument("hotkey '" + key + "' is used by both '" + hotkeys[key] + "' and '" + l.name + "'");
      hotkeys[key] = l.name;
    }
  }
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    for (const auto& s : styles) {
      const Label* l = project.FindLabel(s.name);
      if (!s.color.empty()) FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("UPDATE labels SET color = ? WHERE id = ?", {s.color, l->id})));
      if (!s.hotkey.empty()) FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("UPDATE labels SET hotkey = ? WHERE id = ?", {s.hotkey, l->id})));
    }
    return Status::Ok();
  }));
  return LoadLabels(meta, project);
}

Status SetOverlap(MetaStore& meta, Project& project, int overlap) {
  if (overlap < 1 || overlap > 10) return InvalidArgument("overlap must be 1 to 10 annotators per item");
  FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("UPDATE projects SET overlap = ? WHERE id = ?", {int64_t{overlap}, project.id})));
  project.overlap = overlap;
  return Status::Ok();
}

Status SetReviewSample(MetaStore& meta, Project& project, int permille) {
  if (permille < 0 || permille > 1000) return InvalidArgument("the review sample must be 0 to 1000 per mille (0% to 100%)");
  FSML_RETURN_IF_ERROR(StatusOf(
      meta.Exec("UPDATE projects SET review_sample_permille = ? WHERE id = ?", {int64_t{permille}, project.id})));
  project.review_sample_permille = permille;
  return Status::Ok();
}

Status SetCollectBelow(MetaStore& meta, Project& project, std::optional<double> threshold) {
  if (threshold && !(*threshold > 0 && *threshold <= 1))
    return InvalidArgument("the collection threshold must be a probability in (0, 1]");
  SqlValue v = threshold ? SqlValue(*threshold) : SqlValue(std::monostate{});
  FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("UPDATE projects SET collect_below = ? WHERE id = ?", {v, project.id})));
  project.collect_below = threshold;
  return Status::Ok();
}

Status RenameLabel(MetaStore& meta, Project& project, std::string_view from, std::string_view to) {
  const Label* l = project.FindLabel(from);
  if (!l) return NotFound("project '" + project.name + "' has no label '" + std::string(from) + "' (labels: " +
                          project.LabelList() + ")");
  FSML_RETURN_IF_ERROR(ValidateLabelName(to));
  if (project.FindLabel(to)) return AlreadyExists("project '" + project.name + "' already has a label '" + std::string(to) + "'");
  FSML_RETURN_IF_ERROR(meta.Exec("UPDATE labels SET name = ? WHERE id = ?", {std::string(to), l->id}));
  return LoadLabels(meta, project);
}

Status DeleteEmptyProject(MetaStore& meta, const Project& project) {
  return meta.Transaction([&]() -> Status {
    for (const char* table : {"project_items", "imports", "dataset_versions", "annotations"}) {
      FSML_ASSIGN_OR_RETURN(auto n, meta.QueryInt(std::string("SELECT COUNT(*) FROM ") + table + " WHERE project_id = ?",
                                                  {project.id}));
      if (n.value_or(0) > 0)
        return FailedPrecondition("project '" + project.name + "' is not empty (" + table + ")");
    }
    FSML_RETURN_IF_ERROR(meta.Exec("DELETE FROM labels WHERE project_id = ?", {project.id}));
    return meta.Exec("DELETE FROM projects WHERE id = ?", {project.id});
  });
}

Status SetGuidelines(MetaStore& meta, Project& project, const std::string& markdown) {
  if (markdown.size() > (1 << 20)) return InvalidArgument("guidelines larger than 1 MiB");
  if (!IsValidUtf8(markdown)) return InvalidArgument("guidelines are not valid UTF-8");
  FSML_RETURN_IF_ERROR(meta.Exec("UPDATE projects SET guidelines = ? WHERE id = ?", {markdown, project.id}));
  project.guidelines = markdown;
  return Status::Ok();
}

Result<ProjectStats> GetProjectStats(MetaStore& meta, const Project& p) {
  ProjectStats st;
  for (auto sp : {Split::kTrain, Split::kVal, Split::kTest}) st.per_split[std::string(SplitName(sp))] = 0;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT split, label_id, COUNT(*) FROM project_items WHERE project_id = ? GROUP BY split, label_id", {p.id},
      [&](const SqlRow& r) {
        std::string split(SplitName(static_cast<Split>(r.Int(0))));
        uint64_t n = static_cast<uint64_t>(r.Int(2));
        st.items += n;
        st.per_split[split] += n;
        if (!r.IsNull(1)) {
          st.labeled += n;
          const Label* l = p.FindLabelById(r.Int(1));
          st.per_label_split[l ? l->name : "?"][split] += n;
        }
        return Status::Ok();
      }));
  FSML_ASSIGN_OR_RETURN(auto a, meta.QueryInt("SELECT COUNT(*) FROM annotations WHERE project_id = ?", {p.id}));
  st.annotations = static_cast<uint64_t>(a.value_or(0));
  FSML_ASSIGN_OR_RETURN(auto v, meta.QueryInt("SELECT COUNT(*) FROM dataset_versions WHERE project_id = ?", {p.id}));
  st.versions = static_cast<uint64_t>(v.value_or(0));
  return st;
}

nlohmann::json ProjectToJson(const Project& p, const ProjectStats* st) {
  nlohmann::json j;
  j["name"] = p.name;
  j["task_type"] = TaskTypeName(p.type);
  j["labels"] = nlohmann::json::array();
  for (const auto& l : p.labels) j["labels"].push_back(l.name);
  j["split_ratios"] = {{"train", p.ratios.train_permille / 1000.0},
                       {"val", p.ratios.val_permille / 1000.0},
                       {"test", p.ratios.test_permille / 1000.0}};
  j["created_at"] = p.created_at;
  j["created_by"] = p.created_by;
  j["guidelines"] = p.guidelines;
  j["overlap"] = p.overlap;
  j["review_sample_permille"] = p.review_sample_permille;
  j["collect_below"] = p.collect_below ? nlohmann::json(*p.collect_below) : nlohmann::json(nullptr);
  if (st) {
    j["items"] = st->items;
    j["labeled"] = st->labeled;
    j["unlabeled"] = st->items - st->labeled;
    j["annotations"] = st->annotations;
    j["versions"] = st->versions;
    j["splits"] = st->per_split;
    nlohmann::json per_label = nlohmann::json::object();
    for (const auto& l : p.labels) {
      nlohmann::json row = {{"total", 0}, {"train", 0}, {"val", 0}, {"test", 0}};
      auto it = st->per_label_split.find(l.name);
      if (it != st->per_label_split.end()) {
        uint64_t total = 0;
        for (const auto& [split, n] : it->second) {
          row[split] = n;
          total += n;
        }
        row["total"] = total;
      }
      per_label[l.name] = row;
    }
    j["per_label"] = per_label;
  }
  return j;
}

}  // namespace fsml
