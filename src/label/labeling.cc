#include "label/labeling.h"

#include <algorithm>

#include "core/fs.h"
#include "core/sha256.h"
#include "data/split.h"

namespace fsml {

namespace {

constexpr const char* kReviewPrefix = "review:";

// Which annotations are votes: people's labels that are not withdrawn and
// not a reviewer's decision (alias a).
constexpr const char* kVoteFilter =
    "a.project_id = ? AND a.origin = 'human' AND (a.request_id IS NULL OR a.request_id NOT LIKE 'review:%') "
    "AND NOT EXISTS (SELECT 1 FROM annotation_withdrawals w WHERE w.annotation_id = a.id)";

// An item id's first 13 hex digits as a fraction in [0, 1): the random order
// (ids are SHA-256 hashes), the same on every server.
// Whether an item that finished without disagreement still goes to review:
// the project's random sample, drawn from the item id and the project's
// split salt, so that it is the same on every recompute and every server.
static bool InReviewSample(const Project& project, const std::string& item_id) {
  if (project.review_sample_permille <= 0) return false;
  Digest d = Sha256(project.split_salt + ":review:" + item_id);
  uint32_t v = (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | uint32_t{d[3]};
  return v % 1000 < static_cast<uint32_t>(project.review_sample_permille);
}

double HashPriority(const std::string& item_id) {
  double v = 0;
  for (size_t i = 0; i < 13 && i < item_id.size(); ++i) {
    char c = item_id[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
    v = v * 16 + d;
  }
  return v / 4503599627370496.0;  // 16^13
}

std::string TodayStart() { return NowRfc3339().substr(0, 10) + "T00:00:00.000Z"; }

bool IsText(const std::string& media_type) { return media_type.rfind("text/", 0) == 0; }

}  // namespace

Status ValidateRequestId(std::string_view id) {
  if (id.size() < 8 || id.size() > 64) return InvalidArgument("request_id must be 8 to 64 characters");
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      return InvalidArgument("request_id may contain only letters, digits, '_' and '-'");
  return Status::Ok();
}

Status LabelingService::SyncTasks(const Project& project, bool force) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = synced_.find(project.id);
    if (!force && it != synced_.end() && (options_.refresh_in_background || now - it->second < options_.sync_interval))
      return Status::Ok();
    synced_[project.id] = now;
    seen_.insert_or_assign(project.id, project);
  }
  MetaStore& meta = ws_.meta();
  // Every way into a project is an import row that counts what it added as
  // it goes (importers, crawls, collected production inputs), so the
  // imports say cheaply whether anything came in since the last sync.
  FSML_ASSIGN_OR_RETURN(auto items, meta.QueryInt("SELECT COALESCE(SUM(items_added), 0) FROM imports WHERE project_id = ?", {project.id}));
  FSML_ASSIGN_OR_RETURN(auto last_import, meta.QueryInt("SELECT MAX(id) FROM imports WHERE project_id = ?", {project.id}));
  bool current = false;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT items, import_id FROM label_task_sync WHERE project_id = ?", {project.id},
                                  [&](const SqlRow& r) {
                                    current = r.Int(0) == items.value_or(0) && r.Int(1) == last_import.value_or(0);
                                    return Status::Ok();
                                  }));
  if (current) return Status::Ok();
  return meta.Transaction([&]() -> Status {
    std::vector<std::pair<std::string, bool>> missing;  // item, has a label
    FSML_RETURN_IF_ERROR(meta.Query(
        "SELECT pi.item_id, pi.label_id FROM project_items pi WHERE pi.project_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM label_tasks t WHERE t.project_id = pi.project_id AND t.item_id = pi.item_id)",
        {project.id}, [&](const SqlRow& r) {
          missing.emplace_back(std::string(r.Text(0)), !r.IsNull(1));
          return Status::Ok();
        }));
    for (const auto& [item, labeled] : missing)
      FSML_RETURN_IF_ERROR(StatusOf(
          meta.Exec("INSERT INTO label_tasks (project_id, item_id, state, priority, votes) VALUES (?, ?, ?, ?, 0)",
                    {project.id, item, std::string(labeled ? "final" : "open"), HashPriority(item)})));
    // Items an import labeled after their task was made.
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec(
        "UPDATE label_tasks SET state = 'final' WHERE project_id = ? AND state = 'open' AND votes = 0 AND EXISTS "
        "(SELECT 1 FROM project_items pi WHERE pi.project_id = label_tasks.project_id AND pi.item_id = label_tasks.item_id "
        "AND pi.label_id IS NOT NULL)",
        {project.id})));
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("DELETE FROM label_task_sync WHERE project_id = ?", {project.id})));
    return StatusOf(meta.Exec("INSERT INTO label_task_sync (project_id, import_id, items) VALUES (?, ?, ?)",
                              {project.id, last_import.value_or(0), items.value_or(0)}));
  });
}

Status LabelingService::FillItem(const Project& project, const std::string& item_id, ItemDetail* out, bool with_text) {
  MetaStore& meta = ws_.meta();
  bool found = false;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT i.media_type, i.width, i.height, pi.split, pi.label_id, t.state, t.suggestion_label_id, t.suggestion_confidence, "
      "t.suggestion_model FROM project_items pi JOIN items i ON i.id = pi.item_id "
      "LEFT JOIN label_tasks t ON t.project_id = pi.project_id AND t.item_id = pi.item_id "
      "WHERE pi.project_id = ? AND pi.item_id = ?",
      {project.id, item_id}, [&](const SqlRow& r) {
        found = true;
        out->item_id = item_id;
        out->media_type = std::string(r.Text(0));
        out->width = r.IsNull(1) ? 0 : r.Int(1);
        out->height = r.IsNull(2) ? 0 : r.Int(2);
        out->split = std::string(SplitName(static_cast<Split>(r.Int(3))));
        if (!r.IsNull(4))
          if (const Label* l = project.FindLabelById(r.Int(4))) out->label = l->name;
        out->state = r.IsNull(5) ? (out->label ? "final" : "open") : std::string(r.Text(5));
        if (!r.IsNull(6))
          if (const Label* l = project.FindLabelById(r.Int(6)))
            out->suggestion = Suggestion{l->name, r.IsNull(7) ? 0.0 : r.Real(7), r.IsNull(8) ? "" : std::string(r.Text(8))};
        return Status::Ok();
      }));
  if (!found) return NotFound("project '" + project.name + "' has no item " + item_id.substr(0, 64));
  if (with_text && IsText(out->media_type)) {
    FSML_ASSIGN_OR_RETURN(out->text, ws_.blobs().Get(item_id));
  }
  return Status::Ok();
}

Result<NextItems> LabelingService::Next(const Project& project, const std::string& user, size_t n,
                                        const std::set<std::string>& exclude) {
  if (n < 1 || n > 100) return Err(InvalidArgument("n must be 1 to 100"));
  FSML_RETURN_IF_ERROR(SyncTasks(project));
  MetaStore& meta = ws_.meta();
  NextItems out;
  std::vector<std::string> picked;
  int64_t now = NowUnixMs();
  int64_t expires = now + options_.lock_ttl.count();
  bool scored = false;
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    if (meta.dialect() == "postgresql")
      FSML_RETURN_IF_ERROR(meta.Query("SELECT pg_advisory_xact_lock(?)", {project.id}, [](const SqlRow&) { return Status::Ok(); }));
    // What this person still holds.
    FSML_RETURN_IF_ERROR(meta.Query(
        "SELECT a.item_id FROM task_assignments a JOIN label_tasks t ON t.project_id = a.project_id AND t.item_id = a.item_id "
        "WHERE a.project_id = ? AND a.user_name = ? AND a.state = 'locked' AND a.expires_at_ms > ? AND t.state = 'open' "
        "ORDER BY t.priority LIMIT ?",
        {project.id, user, now, static_cast<int64_t>(n + exclude.size())}, [&](const SqlRow& r) {
          std::string id(r.Text(0));
          if (!exclude.count(id) && picked.size() < n) picked.push_back(std::move(id));
          return Status::Ok();
        }));
    if (picked.size() < n) {
      FSML_RETURN_IF_ERROR(meta.Query(
          "SELECT t.item_id FROM label_tasks t WHERE t.project_id = ? AND t.state = 'open' "
          "AND NOT EXISTS (SELECT 1 FROM task_assignments a WHERE a.project_id = t.project_id AND a.item_id = t.item_id "
          "AND a.user_name = ? AND (a.state <> 'locked' OR a.expires_at_ms > ?)) "
          "AND (SELECT COUNT(*) FROM task_assignments a WHERE a.project_id = t.project_id AND a.item_id = t.item_id "
          "AND (a.state = 'labeled' OR (a.state = 'locked' AND a.expires_at_ms > ?))) < ? "
          "ORDER BY t.priority LIMIT ?",
          {project.id, user, now, now, int64_t{project.overlap}, static_cast<int64_t>(n - picked.size())},
          [&](const SqlRow& r) {
            picked.emplace_back(r.Text(0));
            return Status::Ok();
          }));
    }
    for (size_t i = 0; i < picked.size(); ++i) {
      FSML_RETURN_IF_ERROR(StatusOf(meta.Exec(
          "INSERT INTO task_assignments (project_id, item_id, user_name, state, expires_at_ms) VALUES (?, ?, ?, 'locked', ?) "
          "ON CONFLICT (project_id, item_id, user_name) DO UPDATE SET state = 'locked', expires_at_ms = excluded.expires_at_ms",
          {project.id, picked[i], user, expires})));
    }
    return Status::Ok();
  }));
  FSML_ASSIGN_OR_RETURN(auto open, OpenTasks(project));
  out.remaining = open.count;
  scored = open.scored;
  out.order = scored ? "uncertainty" : "random";
  for (const auto& id : picked) {
    ItemDetail d;
    FSML_RETURN_IF_ERROR(FillItem(project, id, &d, /*with_text=*/true));
    QueueItem q;
    q.item_id = id;
    q.media_type = d.media_type;
    q.text = std::move(d.text);
    q.width = d.width;
    q.height = d.height;
    q.suggestion = d.suggestion;
    q.lock_expires_ms = expires;
    out.items.push_back(std::move(q));
  }
  return out;
}

Result<LabelingService::OpenSummary> LabelingService::OpenTasks(const Project& project) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(project.id);
    if (it != open_.end() && (options_.refresh_in_background || now - it->second.at < options_.sync_interval)) return it->second;
  }
  return CountOpenTasks(project);
}

Status LabelingService::Refresh() {
  std::vector<Project> projects;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, p] : seen_) projects.push_back(p);
  }
  Status first;
  auto now = std::chrono::steady_clock::now();
  for (const auto& p : projects) {
    Status s = SyncTasks(p, /*force=*/true);
    // The open count is a scan over the project's open tasks: every 15
    // intervals (30 s by default), as the queue's "remaining" needs no more.
    bool recount = true;
    {
      std::lock_guard lock(mu_);
      auto it = open_.find(p.id);
      recount = it == open_.end() || now - it->second.at >= 15 * options_.sync_interval;
    }
    if (s.ok() && recount) s = internal::ToStatus(CountOpenTasks(p));
    if (!s.ok() && first.ok()) first = s.WithContext("project '" + p.name + "'");
  }
  return first;
}

Result<LabelingService::OpenSummary> LabelingService::CountOpenTasks(const Project& project) {
  auto now = std::chrono::steady_clock::now();
  OpenSummary s;
  s.at = now;
  MetaStore& meta = ws_.meta();
  FSML_ASSIGN_OR_RETURN(auto count, meta.QueryInt("SELECT COUNT(*) FROM label_tasks WHERE project_id = ? AND state = 'open'", {project.id}));
  s.count = static_cast<uint64_t>(count.value_or(0));
  FSML_ASSIGN_OR_RETURN(auto scored, meta.QueryInt("SELECT 1 FROM label_tasks WHERE project_id = ? AND state = 'open' "
                                                   "AND suggestion_confidence IS NOT NULL LIMIT 1",
                                                   {project.id}));
  s.scored = scored.has_value();
  std::lock_guard lock(mu_);
  open_[project.id] = s;
  return s;
}

Result<std::vector<Vote>> LabelingService::Votes(const Project& project, const std::string& item_id) {
  std::map<std::string, Vote> latest;
  FSML_RETURN_IF_ERROR(ws_.meta().Query(
      std::string("SELECT a.id, a.author, a.label_id, a.created_at FROM annotations a WHERE ") + kVoteFilter +
          " AND a.item_id = ? ORDER BY a.id",
      {project.id, item_id}, [&](const SqlRow& r) {
        const Label* l = project.FindLabelById(r.Int(2));
        latest[std::string(r.Text(1))] = Vote{r.Int(0), std::string(r.Text(1)), l ? l->name : "", std::string(r.Text(3))};
        return Status::Ok();
      }));
  std::vector<Vote> out;
  for (auto& [user, v] : latest) out.push_back(std::move(v));
  std::sort(out.begin(), out.end(), [](const Vote& a, const Vote& b) { return a.annotation_id < b.annotation_id; });
  return out;
}

Status LabelingService::Recompute(const Project& project, const std::string& item_id) {
  MetaStore& meta = ws_.meta();
  int64_t reviewed = 0;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT reviewed_annotation_id FROM label_tasks WHERE project_id = ? AND item_id = ?",
                                  {project.id, item_id}, [&](const SqlRow& r) {
                                    reviewed = r.IsNull(0) ? 0 : r.Int(0);
                                    return Status::Ok();
                                  }));
  FSML_ASSIGN_OR_RETURN(auto votes, Votes(project, item_id));
  FSML_ASSIGN_OR_RETURN(auto flags, meta.QueryInt("SELECT COUNT(*) FROM item_flags WHERE project_id = ? AND item_id = ? "
                                                  "AND resolved_at IS NULL",
                                                  {project.id, item_id}));
  std::string state;
  SqlValue label_id, annotation_id;
  if (reviewed) {
    state = flags.value_or(0) > 0 ? "review" : "final";
    FSML_ASSIGN_OR_RETURN(auto l, meta.QueryInt("SELECT label_id FROM annotations WHERE id = ?", {reviewed}));
    if (l) label_id = *l;
    annotation_id = reviewed;
  } else {
    bool agree = !votes.empty() && std::all_of(votes.begin(), votes.end(), [&](const Vote& v) { return v.label == votes[0].label; });
    if (flags.value_or(0) > 0) {
      state = "review";
    } else if (static_cast<int>(votes.size()) >= project.overlap) {
      state = agree && !InReviewSample(project, item_id) ? "final" : "review";
    } else {
      state = "open";
    }
    if (state == "final") {
      label_id = project.FindLabel(votes[0].label)->id;
      annotation_id = votes.back().annotation_id;
    } else if (votes.empty()) {
      // No one's label counts (all withdrawn): an imported label, if any, stands.
      FSML_RETURN_IF_ERROR(meta.Query(
          "SELECT id, label_id FROM annotations WHERE project_id = ? AND item_id = ? AND origin = 'import' ORDER BY id DESC LIMIT 1",
          {project.id, item_id}, [&](const SqlRow& r) {
            annotation_id = r.Int(0);
            label_id = r.Int(1);
            return Status::Ok();
          }));
      if (state == "open" && !std::holds_alternative<std::monostate>(label_id)) state = "final";
    }
  }
  FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("UPDATE label_tasks SET state = ?, votes = ? WHERE project_id = ? AND item_id = ?",
                                          {state, static_cast<int64_t>(votes.size()), project.id, item_id})));
  return StatusOf(meta.Exec("UPDATE project_items SET label_id = ?, annotation_id = ? WHERE project_id = ? AND item_id = ?",
                            {label_id, annotation_id, project.id, item_id}));
}

// Makes the task of an item that is in the project but not yet synced.
static Status EnsureTask(MetaStore& meta, const Project& project, const std::string& item_id, std::string* state,
                         int64_t* reviewed) {
  bool found = false;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT state, reviewed_annotation_id FROM label_tasks WHERE project_id = ? AND item_id = ?",
                                  {project.id, item_id}, [&](const SqlRow& r) {
                                    found = true;
                                    *state = std::string(r.Text(0));
                                    *reviewed = r.IsNull(1) ? 0 : r.Int(1);
                                    return Status::Ok();
                                  }));
  if (found) return Status::Ok();
  FSML_ASSIGN_OR_RETURN(auto in_project, meta.QueryInt("SELECT 1 FROM project_items WHERE project_id = ? AND item_id = ?",
                                                       {project.id, item_id}));
  if (!in_project) return NotFound("project '" + project.name + "' has no item " + item_id.substr(0, 64));
  *state = "open";
  *reviewed = 0;
  return StatusOf(meta.Exec("INSERT INTO label_tasks (project_id, item_id, state, priority, votes) VALUES (?, ?, 'open', ?, 0)",
                            {project.id, item_id, HashPriority(item_id)}));
}

Result<std::vector<AnnotationResult>> LabelingService::Annotate(const Project& project, const std::string& user,
                                                                 const std::vector<AnnotationRequest>& labels) {
  if (labels.empty() || labels.size() > 100) return Err(InvalidArgument("send 1 to 100 annotations at a time"));
  for (size_t i = 0; i < labels.size(); ++i) {
    FSML_RETURN_IF_ERROR(ValidateRequestId(labels[i].request_id));
    if (!project.FindLabel(labels[i].label))
      return Err(InvalidArgument("annotation " + std::to_string(i) + ": project '" + project.name + "' has no label '" +
                                 labels[i].label.substr(0, 64) + "' (labels: " + project.LabelList() + ")"));
  }
  MetaStore& meta = ws_.meta();
  std::vector<AnnotationResult> out;
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    out.clear();
    for (const auto& in : labels) {
      AnnotationResult res;
      bool seen = false;
      FSML_RETURN_IF_ERROR(meta.Query(
          "SELECT id, item_id, label_id, created_at FROM annotations WHERE project_id = ? AND author = ? AND request_id = ?",
          {project.id, user, in.request_id}, [&](const SqlRow& r) {
            seen = true;
            const Label* l = project.FindLabelById(r.Int(2));
            res = {r.Int(0), std::string(r.Text(1)), l ? l->name : "", in.request_id, std::string(r.Text(3)), true};
            return Status::Ok();
          }));
      if (seen) {
        out.push_back(std::move(res));
        continue;
      }
      std::string state;
      int64_t reviewed = 0;
      FSML_RETURN_IF_ERROR(EnsureTask(meta, project, in.item_id, &state, &reviewed));
      if (reviewed)
        return FailedPrecondition("item " + in.item_id.substr(0, 12) + " was decided by a reviewer; ask a reviewer to change it");
      std::string now = NowRfc3339();
      FSML_ASSIGN_OR_RETURN(auto id, meta.QueryInt("INSERT INTO annotations (project_id, item_id, label_id, origin, author, created_at, "
                                                   "request_id) VALUES (?, ?, ?, 'human', ?, ?, ?) RETURNING id",
                                                   {project.id, in.item_id, project.FindLabel(in.label)->id, user, now, in.request_id}));
      FSML_RETURN_IF_ERROR(StatusOf(meta.Exec(
          "INSERT INTO task_assignments (project_id, item_id, user_name, state, expires_at_ms) VALUES (?, ?, ?, 'labeled', 0) "
          "ON CONFLICT (project_id, item_id, user_name) DO UPDATE SET state = 'labeled', expires_at_ms = 0",
          {project.id, in.item_id, user})));
      FSML_RETURN_IF_ERROR(Recompute(project, in.item_id));
      out.push_back({*id, in.item_id, in.label, in.request_id, now, false});
    }
    return Status::Ok();
  }));
  return out;
}

Result<std::string> LabelingService::Undo(const Project& project, const std::string& user, int64_t annotation_id) {
  MetaStore& meta = ws_.meta();
  std::string item;
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    std::optional<std::string> author, request;
    FSML_RETURN_IF_ERROR(meta.Query("SELECT item_id, author, request_id FROM annotations WHERE id = ? AND project_id = ? "
                                    "AND origin = 'human'",
                                    {annotation_id, project.id}, [&](const SqlRow& r) {
                                      item = std::string(r.Text(0));
                                      author = std::string(r.Text(1));
                                      request = r.IsNull(2) ? "" : std::string(r.Text(2));
                                      return Status::Ok();
                                    }));
    if (!author || *author != user || request->rfind(kReviewPrefix, 0) == 0)
      return NotFound("you have no annotation " + std::to_string(annotation_id) + " in project '" + project.name + "'");
    FSML_ASSIGN_OR_RETURN(auto gone, meta.QueryInt("SELECT 1 FROM annotation_withdrawals WHERE annotation_id = ?", {annotation_id}));
    if (gone) return FailedPrecondition("annotation " + std::to_string(annotation_id) + " is already withdrawn");
    FSML_ASSIGN_OR_RETURN(auto reviewed, meta.QueryInt("SELECT reviewed_annotation_id FROM label_tasks WHERE project_id = ? "
                                                       "AND item_id = ?",
                                                       {project.id, item}));
    if (reviewed) return FailedPrecondition("item " + item.substr(0, 12) + " was decided by a reviewer; its labels can no longer change");
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("INSERT INTO annotation_withdrawals (annotation_id, at, by_user) VALUES (?, ?, ?)",
                                            {annotation_id, NowRfc3339(), user})));
    FSML_ASSIGN_OR_RETURN(auto still, meta.QueryInt(
                                          "SELECT COUNT(*) FROM annotations a WHERE a.project_id = ? AND a.item_id = ? AND a.author = ? "
                                          "AND a.origin = 'human' AND NOT EXISTS (SELECT 1 FROM annotation_withdrawals w "
                                          "WHERE w.annotation_id = a.id)",
                                          {project.id, item, user}));
    if (still.value_or(0) == 0)
      FSML_RETURN_IF_ERROR(StatusOf(meta.Exec(
          "UPDATE task_assignments SET state = 'locked', expires_at_ms = ? WHERE project_id = ? AND item_id = ? AND user_name = ?",
          {NowUnixMs() + options_.lock_ttl.count(), project.id, item, user})));
    return Recompute(project, item);
  }));
  return item;
}

Status LabelingService::Skip(const Project& project, const std::string& user, const std::string& item_id) {
  MetaStore& meta = ws_.meta();
  return meta.Transaction([&]() -> Status {
    std::string state;
    int64_t reviewed = 0;
    FSML_RETURN_IF_ERROR(EnsureTask(meta, project, item_id, &state, &reviewed));
    return StatusOf(meta.Exec(
        "INSERT INTO task_assignments (project_id, item_id, user_name, state, expires_at_ms) VALUES (?, ?, ?, 'skipped', 0) "
        "ON CONFLICT (project_id, item_id, user_name) DO UPDATE SET state = 'skipped', expires_at_ms = 0 "
        "WHERE task_assignments.state = 'locked'",
        {project.id, item_id, user}));
  });
}

Result<int64_t> LabelingService::AddFlag(const Project& project, const std::string& user, const std::string& item_id,
                                         const std::string& comment) {
  if (comment.size() > 2000) return Err(InvalidArgument("a flag's comment must be at most 2,000 bytes"));
  MetaStore& meta = ws_.meta();
  int64_t id = 0;
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    std::string state;
    int64_t reviewed = 0;
    FSML_RETURN_IF_ERROR(EnsureTask(meta, project, item_id, &state, &reviewed));
    FSML_ASSIGN_OR_RETURN(auto fid, meta.QueryInt("INSERT INTO item_flags (project_id, item_id, user_name, comment, created_at) "
                                                  "VALUES (?, ?, ?, ?, ?) RETURNING id",
                                                  {project.id, item_id, user, comment, NowRfc3339()}));
    id = *fid;
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec(
        "INSERT INTO task_assignments (project_id, item_id, user_name, state, expires_at_ms) VALUES (?, ?, ?, 'flagged', 0) "
        "ON CONFLICT (project_id, item_id, user_name) DO UPDATE SET state = 'flagged', expires_at_ms = 0 "
        "WHERE task_assignments.state = 'locked'",
        {project.id, item_id, user})));
    return Recompute(project, item_id);
  }));
  return id;
}

Result<std::vector<HistoryEntry>> LabelingService::History(const Project& project, const std::string& user, size_t limit,
                                                           int64_t before) {
  if (limit < 1 || limit > 500) return Err(InvalidArgument("limit must be 1 to 500"));
  std::vector<HistoryEntry> out;
  FSML_RETURN_IF_ERROR(ws_.meta().Query(
      "SELECT a.id, a.item_id, a.label_id, a.created_at, "
      "CASE WHEN EXISTS (SELECT 1 FROM annotation_withdrawals w WHERE w.annotation_id = a.id) THEN 1 ELSE 0 END "
      "FROM annotations a WHERE a.project_id = ? AND a.author = ? AND a.origin = 'human' AND a.id < ? "
      "ORDER BY a.id DESC LIMIT ?",
      {project.id, user, before > 0 ? before : INT64_MAX, static_cast<int64_t>(limit)}, [&](const SqlRow& r) {
        const Label* l = project.FindLabelById(r.Int(2));
        out.push_back({r.Int(0), std::string(r.Text(1)), l ? l->name : "", std::string(r.Text(3)), r.Int(4) != 0});
        return Status::Ok();
      }));
  return out;
}

Result<ItemDetail> LabelingService::GetItem(const Project& project, const std::string& item_id, const std::string& user,
                                            bool all_votes) {
  ItemDetail d;
  FSML_RETURN_IF_ERROR(FillItem(project, item_id, &d, /*with_text=*/true));
  FSML_ASSIGN_OR_RETURN(auto votes, Votes(project, item_id));
  for (auto& v : votes)
    if (all_votes || v.user == user) d.votes.push_back(std::move(v));
  FSML_RETURN_IF_ERROR(ws_.meta().Query(
      "SELECT id, user_name, comment, created_at, resolved_at FROM item_flags WHERE project_id = ? AND item_id = ? ORDER BY id",
      {project.id, item_id}, [&](const SqlRow& r) {
        d.flags.push_back({r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)), std::string(r.Text(3)), !r.IsNull(4)});
        return Status::Ok();
      }));
  return d;
}

Result<std::pair<std::string, std::string>> LabelingService::ItemContent(const Project& project, const std::string& item_id) {
  FSML_ASSIGN_OR_RETURN(auto type, ws_.meta().QueryText("SELECT i.media_type FROM project_items pi JOIN items i ON i.id = pi.item_id "
                                                        "WHERE pi.project_id = ? AND pi.item_id = ?",
                                                        {project.id, item_id}));
  if (!type) return Err(NotFound("project '" + project.name + "' has no item " + item_id.substr(0, 64)));
  FSML_ASSIGN_OR_RETURN(auto bytes, ws_.blobs().Get(item_id));
  return std::make_pair(*type, std::move(bytes));
}

Result<std::pair<std::vector<ReviewItem>, uint64_t>> LabelingService::ReviewQueue(const Project& project, size_t limit) {
  if (limit < 1 || limit > 200) return Err(InvalidArgument("limit must be 1 to 200"));
  FSML_RETURN_IF_ERROR(SyncTasks(project));
  std::vector<std::string> ids;
  FSML_RETURN_IF_ERROR(ws_.meta().Query("SELECT item_id FROM label_tasks WHERE project_id = ? AND state = 'review' ORDER BY priority LIMIT ?",
                                        {project.id, static_cast<int64_t>(limit)}, [&](const SqlRow& r) {
                                          ids.emplace_back(r.Text(0));
                                          return Status::Ok();
                                        }));
  FSML_ASSIGN_OR_RETURN(auto total, ws_.meta().QueryInt("SELECT COUNT(*) FROM label_tasks WHERE project_id = ? AND state = 'review'",
                                                        {project.id}));
  std::vector<ReviewItem> out;
  for (const auto& id : ids) {
    ReviewItem r;
    FSML_ASSIGN_OR_RETURN(r.item, GetItem(project, id, "", /*all_votes=*/true));
    std::set<std::string> labels;
    for (const auto& v : r.item.votes) labels.insert(v.label);
    if (labels.size() > 1) r.reasons.push_back("disagreement");
    if (std::any_of(r.item.flags.begin(), r.item.flags.end(), [](const Flag& f) { return !f.resolved; })) r.reasons.push_back("flag");
    if (r.reasons.empty() && InReviewSample(project, id)) r.reasons.push_back("sample");
    out.push_back(std::move(r));
  }
  return std::make_pair(std::move(out), static_cast<uint64_t>(total.value_or(0)));
}

Status LabelingService::Resolve(const Project& project, const std::string& reviewer, const std::string& item_id,
                                const std::string& label) {
  const Label* l = project.FindLabel(label);
  if (!l) return InvalidArgument("project '" + project.name + "' has no label '" + label.substr(0, 64) + "' (labels: " + project.LabelList() + ")");
  MetaStore& meta = ws_.meta();
  return meta.Transaction([&]() -> Status {
    std::string state;
    int64_t reviewed = 0;
    FSML_RETURN_IF_ERROR(EnsureTask(meta, project, item_id, &state, &reviewed));
    std::string now = NowRfc3339();
    FSML_ASSIGN_OR_RETURN(auto id, meta.QueryInt("INSERT INTO annotations (project_id, item_id, label_id, origin, author, created_at, "
                                                 "request_id) VALUES (?, ?, ?, 'human', ?, ?, ?) RETURNING id",
                                                 {project.id, item_id, l->id, reviewer, now,
                                                  std::string(kReviewPrefix) + std::to_string(NowUnixMs()) + ":" + SecureRandomHex(4)}));
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("UPDATE item_flags SET resolved_at = ?, resolved_by = ? WHERE project_id = ? AND item_id = ? "
                                            "AND resolved_at IS NULL",
                                            {now, reviewer, project.id, item_id})));
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("UPDATE label_tasks SET reviewed_annotation_id = ? WHERE project_id = ? AND item_id = ?",
                                            {*id, project.id, item_id})));
    return Recompute(project, item_id);
  });
}

Status LabelingService::SendToReview(const Project& project, const std::vector<ReviewRequest>& items, const std::string& user) {
  if (items.empty() || items.size() > 1000) return InvalidArgument("send 1 to 1,000 items to review at a time");
  MetaStore& meta = ws_.meta();
  return meta.Transaction([&]() -> Status {
    std::string now = NowRfc3339();
    for (const auto& it : items) {
      if (it.reason.size() > 2000) return InvalidArgument("a review reason must be at most 2,000 bytes");
      std::string state;
      int64_t reviewed = 0;
      FSML_RETURN_IF_ERROR(EnsureTask(meta, project, it.item_id, &state, &reviewed));
      FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("INSERT INTO item_flags (project_id, item_id, user_name, comment, created_at) "
                                              "VALUES (?, ?, ?, ?, ?)",
                                              {project.id, it.item_id, user, it.reason, now})));
      FSML_RETURN_IF_ERROR(Recompute(project, it.item_id));
    }
    return Status::Ok();
  });
}

Result<LabelingProgress> LabelingService::Progress(const Project& project) {
  FSML_RETURN_IF_ERROR(SyncTasks(project));
  MetaStore& meta = ws_.meta();
  LabelingProgress p;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT state, COUNT(*) FROM label_tasks WHERE project_id = ? GROUP BY state", {project.id},
                                  [&](const SqlRow& r) {
                                    auto n = static_cast<uint64_t>(r.Int(1));
                                    if (r.Text(0) == "open") p.open = n;
                                    if (r.Text(0) == "review") p.in_review = n;
                                    return Status::Ok();
                                  }));
  FSML_RETURN_IF_ERROR(meta.Query("SELECT label_id, COUNT(*) FROM project_items WHERE project_id = ? GROUP BY label_id", {project.id},
                                  [&](const SqlRow& r) {
                                    auto n = static_cast<uint64_t>(r.Int(1));
                                    p.items += n;
                                    if (r.IsNull(0)) return Status::Ok();
                                    p.labeled += n;
                                    if (const Label* l = project.FindLabelById(r.Int(0))) p.per_label[l->name] += n;
                                    return Status::Ok();
                                  }));
  std::string today = TodayStart();
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT author, COUNT(*), SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END) FROM annotations "
      "WHERE project_id = ? AND origin = 'human' GROUP BY author ORDER BY author",
      {today, project.id}, [&](const SqlRow& r) {
        AnnotatorProgress a{std::string(r.Text(0)), static_cast<uint64_t>(r.Int(1)), static_cast<uint64_t>(r.Int(2))};
        p.annotations += a.labels;
        p.today += a.today;
        p.per_annotator.push_back(std::move(a));
        return Status::Ok();
      }));
  FSML_ASSIGN_OR_RETURN(auto versions, meta.QueryInt("SELECT COUNT(*) FROM dataset_versions WHERE project_id = ?", {project.id}));
  p.versions = static_cast<uint64_t>(versions.value_or(0));
  return p;
}

Result<AgreementSummary> LabelingService::Agreement(const Project& project) {
  MetaStore& meta = ws_.meta();
  // Each person's latest standing label per item, review decisions aside.
  std::map<std::string, std::map<std::string, int>> votes;  // item → user → label index
  std::map<int64_t, int> label_index;
  for (size_t i = 0; i < project.labels.size(); ++i) label_index[project.labels[i].id] = static_cast<int>(i);
  FSML_RETURN_IF_ERROR(meta.Query(
      std::string("SELECT a.item_id, a.author, a.label_id FROM annotations a WHERE ") + kVoteFilter + " ORDER BY a.id",
      {project.id}, [&](const SqlRow& r) {
        auto it = label_index.find(r.Int(2));
        if (it != label_index.end()) votes[std::string(r.Text(0))][std::string(r.Text(1))] = it->second;
        return Status::Ok();
      }));
  std::map<std::string, int> finals;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT item_id, label_id FROM project_items WHERE project_id = ? AND label_id IS NOT NULL",
                                  {project.id}, [&](const SqlRow& r) {
                                    std::string id(r.Text(0));
                                    if (!votes.count(id)) return Status::Ok();
                                    auto it = label_index.find(r.Int(1));
                                    if (it != label_index.end()) finals[id] = it->second;
                                    return Status::Ok();
                                  }));
  AgreementSummary out;
  std::vector<RatedItem> rated;
  std::map<std::string, AgreementSummary::Annotator> people;
  for (const auto& [item, by_user] : votes) {
    auto fin = finals.find(item);
    RatedItem r;
    for (const auto& [user, label] : by_user) {
      r.ratings.emplace_back(user, label);
      auto& a = people[user];
      a.user = user;
      ++a.labels;
      if (fin != finals.end()) {
        ++a.with_final;
        if (fin->second == label) ++a.agree_with_final;
      }
    }
    if (r.ratings.size() >= 2) rated.push_back(std::move(r));
  }
  out.report = ComputeAgreement(rated, static_cast<int>(project.labels.size()));
  for (auto& [user, a] : people) out.annotators.push_back(std::move(a));
  return out;
}

}  // namespace fsml
