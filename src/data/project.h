// Projects: one labeling and modeling problem each (task type, label set,
// guidelines, split rule), and their statistics.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/split.h"
#include "store/meta_store.h"

namespace fsml {

enum class TaskType { kImageClassification, kTextClassification };
std::string_view TaskTypeName(TaskType t);
Result<TaskType> ParseTaskType(std::string_view name);

struct Label {
  int64_t id = 0;
  std::string name;
  std::string color;   // "#rrggbb"; a palette color by position unless set
  std::string hotkey;  // one key of [a-z0-9]; "1".."9", "0" by position unless set; may be empty
};

// How the labeling view shows a label; empty fields keep the default.
struct LabelStyle {
  std::string name, color, hotkey;
};

struct Project {
  int64_t id = 0;
  std::string name;
  TaskType type = TaskType::kImageClassification;
  std::vector<Label> labels;  // in display order
  std::string guidelines;     // Markdown
  std::string split_salt;
  SplitRatios ratios;
  std::string created_at;
  std::string created_by;
  int overlap = 1;  // how many people label each item (1-10)
  // Per mille of items finished without disagreement that still go to the
  // review queue, drawn at random (0-1000; 0 = none).
  int review_sample_permille = 0;
  // Production inputs that the project's models predict with a top
  // probability below this come back as unlabeled items; unset = off.
  std::optional<double> collect_below;

  const Label* FindLabel(std::string_view name) const;
  const Label* FindLabelById(int64_t id) const;
  std::string LabelList() const;  // "shirt, sneaker, bag"
};

struct ProjectSpec {
  std::string name;
  TaskType type = TaskType::kImageClassification;
  std::vector<std::string> labels;
  std::string guidelines;
  SplitRatios ratios;
  int overlap = 1;
};

// Project names: 1-64 of [a-z0-9._-], starting with a letter or digit.
Status ValidateProjectName(std::string_view name);
// Label names: 1-64 bytes of UTF-8, no control characters, none of \ , @,
// not "." or "..", no leading or trailing space. "/" is allowed (Fashion-MNIST
// has "T-shirt/top"); folder names escape it (LabelToFolderName).
Status ValidateLabelName(std::string_view name);
// A label as a single path component: "%" -> "%25", "/" -> "%2F".
std::string LabelToFolderName(std::string_view label);
// The inverse; other "%" sequences are kept as they are.
std::string FolderNameToLabel(std::string_view folder);
// "a,b,c" -> {"a","b","c"}, validated, no duplicates.
Result<std::vector<std::string>> ParseLabelList(std::string_view text);

Result<Project> CreateProject(MetaStore& meta, const ProjectSpec& spec, const std::string& author);
Result<Project> GetProject(MetaStore& meta, std::string_view name);
Result<std::vector<Project>> ListProjects(MetaStore& meta);

// Replaces the label set with `labels` (in that order): new names are added,
// missing ones removed. A label that any annotation uses cannot be removed:
// FailedPrecondition names it and its annotation count.
Status SetLabels(MetaStore& meta, Project& project, const std::vector<std::string>& labels);
// Renames a label; annotations keep pointing at it.
Status RenameLabel(MetaStore& meta, Project& project, std::string_view from, std::string_view to);
// Deletes a project that has no items, imports or versions (one made for an
// import that then failed). FailedPrecondition otherwise.
Status DeleteEmptyProject(MetaStore& meta, const Project& project);
Status SetGuidelines(MetaStore& meta, Project& project, const std::string& markdown);
// Sets colors and hotkeys of existing labels. InvalidArgument for an unknown
// label, a color that is not "#rrggbb", a hotkey that is not one of
// [a-z0-9], is one the labeling view uses itself (s, f, g, n) or is taken.
Status SetLabelStyles(MetaStore& meta, Project& project, const std::vector<LabelStyle>& styles);
// 1 to 10.
Status SetOverlap(MetaStore& meta, Project& project, int overlap);
// 0 to 1000.
Status SetReviewSample(MetaStore& meta, Project& project, int permille);
// A threshold in (0, 1], or nullopt to stop collecting.
Status SetCollectBelow(MetaStore& meta, Project& project, std::optional<double> threshold);

struct ProjectStats {
  uint64_t items = 0;
  uint64_t labeled = 0;
  uint64_t annotations = 0;
  uint64_t versions = 0;
  std::map<std::string, uint64_t> per_split;               // all items
  std::map<std::string, std::map<std::string, uint64_t>> per_label_split;  // labeled items
};
Result<ProjectStats> GetProjectStats(MetaStore& meta, const Project& project);

nlohmann::json ProjectToJson(const Project& p, const ProjectStats* stats);

}  // namespace fsml
