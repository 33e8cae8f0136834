#include "registry/runs.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <map>

#include "core/fs.h"

namespace fsml {
namespace {

// The run columns RunFromRow reads; the list leaves the log out (it grows
// with every epoch and the list never shows it).
std::string RunColumns(bool with_log) {
  return std::string(
             "SELECT r.id, p.name, r.version_number, r.model, r.spec, r.params, r.seed, r.code_version, r.host, r.pid, "
             "r.status, r.started_at, r.ended_at, r.heartbeat_at, r.error, r.resumed_from, r.checkpoint_key, "
             "r.checkpoint_epoch, r.best_epoch, r.best_checkpoint_key, r.test_metrics, ") +
         (with_log ? "r.log" : "''") + ", r.best_val_accuracy, r.train_seconds FROM runs r JOIN projects p ON p.id = r.project_id ";
}

std::string Text(const SqlRow& r, int c) { return r.IsNull(c) ? "" : std::string(r.Text(c)); }
std::optional<int64_t> OptInt(const SqlRow& r, int c) {
  return r.IsNull(c) ? std::nullopt : std::optional<int64_t>(r.Int(c));
}

Run RunFromRow(const SqlRow& r) {
  Run run;
  run.id = r.Int(0);
  run.project = Text(r, 1);
  run.version_number = r.Int(2);
  run.model = Text(r, 3);
  run.spec = nlohmann::json::parse(Text(r, 4), nullptr, false);
  run.params = nlohmann::json::parse(Text(r, 5), nullptr, false);
  run.seed = static_cast<uint64_t>(r.Int(6));
  run.code_version = Text(r, 7);
  run.host = Text(r, 8);
  run.pid = r.Int(9);
  run.status = Text(r, 10);
  run.started_at = Text(r, 11);
  run.ended_at = Text(r, 12);
  run.heartbeat_at = Text(r, 13);
  run.error = Text(r, 14);
  run.resumed_from = OptInt(r, 15);
  run.checkpoint_key = Text(r, 16);
  run.checkpoint_epoch = OptInt(r, 17);
  run.best_epoch = OptInt(r, 18);
  run.best_checkpoint_key = Text(r, 19);
  run.test_metrics = r.IsNull(20) ? nlohmann::json() : nlohmann::json::parse(Text(r, 20), nullptr, false);
  run.log = Text(r, 21);
  if (!r.IsNull(22)) run.best_val_accuracy = r.Real(22);
  run.train_seconds = r.IsNull(23) ? 0 : r.Real(23);
  return run;
}

// Seconds since an RFC 3339 UTC timestamp written by NowRfc3339().
double SecondsSince(const std::string& t) {
  std::tm tm{};
  if (t.size() < 19 || !strptime(t.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  time_t then = timegm(&tm);
  return std::difftime(std::time(nullptr), then);
}

bool ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) == 0) {
    // A zombie (exited, not yet reaped) is not running.
    auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (stat) {
      size_t close = stat->rfind(')');
      if (close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] == 'Z') return false;
    }
    return true;
  }
  return errno == EPERM;
}

// ORDER BY for a RunQuery sort; nullopt for an unknown one. Every order ends
// in the id, so pages never overlap; runs without a value sort last both ways
// (NULLS LAST: SQLite 3.30+ and PostgreSQL, each still reading the index).
std::optional<std::string> SortClause(const std::string& sort) {
  if (sort == "-started_at") return "r.started_at DESC, r.id DESC";
  if (sort == "started_at") return "r.started_at, r.id";
  if (sort == "-accuracy") return "r.best_val_accuracy DESC NULLS LAST, r.id DESC";
  if (sort == "accuracy") return "r.best_val_accuracy ASC NULLS LAST, r.id";
  if (sort == "-duration") return "r.train_seconds DESC, r.id DESC";
  if (sort == "duration") return "r.train_seconds, r.id";
  if (sort == "-id") return "r.id DESC";
  return std::nullopt;
}

// Sets `model_versions` of each run with one query.
Status FillModelVersions(MetaStore& meta, const std::vector<Run*>& runs) {
  if (runs.empty()) return Status::Ok();
  std::map<int64_t, Run*> by_id;
  std::string marks;
  SqlParams params;
  for (Run* r : runs) {
    by_id[r->id] = r;
    marks += marks.empty() ? "?" : ", ?";
    params.emplace_back(std::in_place_type<int64_t>, r->id);
  }
  return meta.Query("SELECT mv.run_id, m.name, mv.number FROM model_versions mv JOIN models m ON m.id = mv.model_id "
                    "WHERE mv.run_id IN (" + marks + ") ORDER BY m.name, mv.number",
                    params, [&](const SqlRow& row) {
                      auto it = by_id.find(row.Int(0));
                      if (it != by_id.end()) it->second->model_versions.push_back(std::string(row.Text(1)) + "/" + std::to_string(row.Int(2)));
                      return Status::Ok();
                    });
}

// REQUIRES: SortClause(q.sort) is set (ValidateRunQuery, or the "-id" of the
// older ListRuns).
Result<RunPage> ListRunsPage(MetaStore& meta, const RunQuery& q, bool count) {
  std::string where;
  SqlParams params;
  auto add = [&](const char* cond, const std::string& value) {
    if (value.empty()) return;
    where += where.empty() ? "WHERE " : " AND ";
    where += cond;
    params.push_back(value);
  };
  add("r.project_id = (SELECT id FROM projects WHERE name = ?)", q.project);
  add("r.model = ?", q.model);
  add("r.status = ?", q.status);
  RunPage page;
  if (count) {
    FSML_ASSIGN_OR_RETURN(auto total, meta.QueryInt("SELECT COUNT(*) FROM runs r " + where, params));
    page.total = total.value_or(0);
  }
  SqlParams page_params = params;
  page_params.push_back(q.limit);
  page_params.push_back(q.offset);
  FSML_RETURN_IF_ERROR(meta.Query(RunColumns(false) + where + " ORDER BY " + SortClause(q.sort).value_or("r.id DESC") +
                                      " LIMIT ? OFFSET ?",
                                  page_params, [&](const SqlRow& r) {
                                    page.runs.push_back(RunFromRow(r));
                                    return Status::Ok();
                                  }));
  std::vector<Run*> ptrs;
  for (auto& r : page.runs) ptrs.push_back(&r);
  FSML_RETURN_IF_ERROR(FillModelVersions(meta, ptrs));
  if (!count) page.total = static_cast<int64_t>(page.runs.size());
  return page;
}

}  // namespace

Result<int64_t> CreateRun(MetaStore& meta, const NewRun& r) {
  std::string now = NowRfc3339();
  FSML_ASSIGN_OR_RETURN(
      auto id, meta.QueryInt("INSERT INTO runs (project_id, version_number, model, spec, params, seed, code_version, "
                             "host, pid, status, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                             "'running', ?, ?) RETURNING id",
                             {r.project_id, r.version_number, r.model, r.spec.dump(), r.params.dump(),
                              static_cast<int64_t>(r.seed), r.code_version, HostName(), static_cast<int64_t>(::getpid()),
                              now, now}));
  return *id;
}

Status RecordEpoch(MetaStore& meta, int64_t run_id, const EpochMetrics& m, bool is_best) {
  return meta.Transaction([&]() -> Status {
    SqlValue vl = m.val_loss ? SqlValue(*m.val_loss) : SqlValue();
    SqlValue va = m.val_accuracy ? SqlValue(*m.val_accuracy) : SqlValue();
    SqlValue bytes;
    if (m.checkpoint_bytes) bytes = *m.checkpoint_bytes;
    FSML_RETURN_IF_ERROR(meta.Exec("DELETE FROM run_epochs WHERE run_id = ? AND epoch >= ?", {run_id, int64_t{m.epoch}}));
    FSML_RETURN_IF_ERROR(meta.Exec(
        "INSERT INTO run_epochs (run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy, learning_rate, "
        "seconds, samples_per_second, checkpoint_key, checkpoint_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {run_id, int64_t{m.epoch}, m.train_loss, m.train_accuracy, vl, va, m.learning_rate, m.seconds,
         m.samples_per_second, m.checkpoint_key, bytes}));
    FSML_RETURN_IF_ERROR(meta.Exec("UPDATE runs SET checkpoint_key = ?, checkpoint_epoch = ?, heartbeat_at = ? WHERE id = ?",
                                   {m.checkpoint_key, int64_t{m.epoch}, NowRfc3339(), run_id}));
    if (is_best)
      FSML_RETURN_IF_ERROR(meta.Exec("UPDATE runs SET best_epoch = ?, best_checkpoint_key = ? WHERE id = ?",
                                     {int64_t{m.epoch}, m.checkpoint_key, run_id}));
    // The run list's sort columns, kept with the epochs they summarize.
    return meta.Exec(
        "UPDATE runs SET train_seconds = (SELECT COALESCE(SUM(e.seconds), 0) FROM run_epochs e WHERE e.run_id = runs.id), "
        "best_val_accuracy = (SELECT e.val_accuracy FROM run_epochs e WHERE e.run_id = runs.id AND e.epoch = runs.best_epoch) "
        "WHERE id = ?",
        {run_id});
  });
}

Status Heartbeat(MetaStore& meta, int64_t run_id) {
  return meta.Exec("UPDATE runs SET heartbeat_at = ? WHERE id = ?", {NowRfc3339(), run_id});
}

Status AppendRunLog(MetaStore& meta, int64_t run_id, const std::string& line) {
  return meta.Exec("UPDATE runs SET log = log || ? WHERE id = ?", {NowRfc3339() + " " + line + "\n", run_id});
}

Status FinishRun(MetaStore& meta, int64_t run_id, const nlohmann::json& test_metrics) {
  SqlValue tm = test_metrics.is_null() ? SqlValue() : SqlValue(test_metrics.dump());
  return meta.Exec("UPDATE runs SET status = 'finished', ended_at = ?, test_metrics = ?, error = NULL WHERE id = ?",
                   {NowRfc3339(), tm, run_id});
}

Status EndRun(MetaStore& meta, int64_t run_id, const std::string& status, const std::string& error) {
  return meta.Exec("UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?",
                   {status, NowRfc3339(), error, run_id});
}

Status ReopenRun(MetaStore& meta, int64_t run_id) {
  return meta.Exec("UPDATE runs SET status = 'running', ended_at = NULL, error = NULL, host = ?, pid = ?, heartbeat_at = ? "
                   "WHERE id = ?",
                   {HostName(), static_cast<int64_t>(::getpid()), NowRfc3339(), run_id});
}

Status ReapDeadRuns(MetaStore& meta) {
  std::vector<std::pair<int64_t, std::string>> dead;
  std::string host = HostName();
  FSML_RETURN_IF_ERROR(meta.Query("SELECT id, host, pid, heartbeat_at FROM runs WHERE status = 'running'", {},
                                  [&](const SqlRow& r) {
                                    bool here = r.Text(1) == host;
                                    if (here && !ProcessAlive(r.Int(2)))
                                      dead.emplace_back(r.Int(0), "the training process (pid " + std::to_string(r.Int(2)) + ") is gone");
                                    else if (!here && SecondsSince(std::string(r.Text(3))) > 600)
                                      dead.emplace_back(r.Int(0), "no heartbeat from " + std::string(r.Text(1)) + " for 10 minutes");
                                    return Status::Ok();
                                  }));
  for (const auto& [id, why] : dead)
    FSML_RETURN_IF_ERROR(meta.Exec("UPDATE runs SET status = 'interrupted', ended_at = ?, error = ? WHERE id = ? AND status = 'running'",
                                   {NowRfc3339(), why + "; resume with --resume " + std::to_string(id), id}));
  return Status::Ok();
}

Result<Run> GetRun(MetaStore& meta, int64_t run_id) {
  std::optional<Run> run;
  FSML_RETURN_IF_ERROR(meta.Query(RunColumns(true) + "WHERE r.id = ?", {run_id}, [&](const SqlRow& r) {
    run = RunFromRow(r);
    return Status::Ok();
  }));
  if (!run) return Err(NotFound("no run " + std::to_string(run_id) + " (fsml runs list shows the runs)"));
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy, learning_rate, seconds, samples_per_second, "
      "checkpoint_key, checkpoint_bytes FROM run_epochs WHERE run_id = ? ORDER BY epoch",
      {run_id}, [&](const SqlRow& r) {
        EpochMetrics m;
        m.epoch = static_cast<int>(r.Int(0));
        m.train_loss = r.Real(1);
        m.train_accuracy = r.Real(2);
        if (!r.IsNull(3)) m.val_loss = r.Real(3);
        if (!r.IsNull(4)) m.val_accuracy = r.Real(4);
        m.learning_rate = r.Real(5);
        m.seconds = r.Real(6);
        m.samples_per_second = r.Real(7);
        m.checkpoint_key = Text(r, 8);
        m.checkpoint_bytes = OptInt(r, 9);
        run->epochs.push_back(m);
        return Status::Ok();
      }));
  std::vector<Run*> one = {&*run};
  FSML_RETURN_IF_ERROR(FillModelVersions(meta, one));
  return *run;
}

Result<std::vector<Run>> ListRuns(MetaStore& meta, const std::string& project, size_t limit) {
  RunQuery q;
  q.project = project;
  q.sort = "-id";
  q.limit = static_cast<int64_t>(std::min<size_t>(limit, 1u << 30));
  FSML_ASSIGN_OR_RETURN(RunPage page, ListRunsPage(meta, q, /*count=*/false));
  return std::move(page.runs);
}

Status ValidateRunQuery(const RunQuery& q) {
  if (!q.status.empty() && q.status != "running" && q.status != "finished" && q.status != "failed" && q.status != "interrupted")
    return InvalidArgument("status must be running, finished, failed or interrupted, not '" + q.status + "'");
  if (q.sort == "-id" || !SortClause(q.sort))  // "-id" is the older ListRuns' own order
    return InvalidArgument("sort must be started_at, -started_at, accuracy, -accuracy, duration or -duration, not '" + q.sort + "'");
  if (q.limit < 1 || q.limit > 1000) return InvalidArgument("limit must be an integer from 1 to 1000");
  if (q.offset < 0) return InvalidArgument("offset must be 0 or more");
  return Status::Ok();
}

Result<RunPage> ListRuns(MetaStore& meta, const RunQuery& q) {
  FSML_RETURN_IF_ERROR(ValidateRunQuery(q));
  return ListRunsPage(meta, q, /*count=*/true);
}

nlohmann::json RunToJson(const Run& r, bool with_epochs) {
  auto opt = [](const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  nlohmann::json j = {{"id", r.id},
                      {"project", r.project},
                      {"dataset", r.project + "@v" + std::to_string(r.version_number)},
                      {"model", r.model},
                      {"spec", r.spec},
                      {"params", r.params},
                      {"seed", r.seed},
                      {"code_version", r.code_version},
                      {"host", r.host},
                      {"pid", r.pid},
                      {"status", r.status},
                      {"started_at", r.started_at},
                      {"ended_at", r.ended_at.empty() ? nlohmann::json() : nlohmann::json(r.ended_at)},
                      {"error", r.error.empty() ? nlohmann::json() : nlohmann::json(r.error)},
                      {"resumed_from", opt(r.resumed_from)},
                      {"checkpoint", r.checkpoint_key.empty() ? nlohmann::json() : nlohmann::json(r.checkpoint_key)},
                      {"checkpoint_epoch", opt(r.checkpoint_epoch)},
                      {"best_epoch", opt(r.best_epoch)},
                      {"test_metrics", r.test_metrics}};
  j["version"] = r.version_number;
  j["epochs_done"] = r.checkpoint_epoch.value_or(0);
  j["epochs_planned"] = r.params.is_object() && r.params.contains("epochs") ? r.params["epochs"] : nlohmann::json();
  j["best_val_accuracy"] = r.best_val_accuracy ? nlohmann::json(*r.best_val_accuracy) : nlohmann::json();
  j["test_accuracy"] = r.test_metrics.is_object() && r.test_metrics.contains("accuracy") ? r.test_metrics["accuracy"] : nlohmann::json();
  j["seconds"] = r.train_seconds;
  j["model_versions"] = r.model_versions;
  if (with_epochs) {
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& m : r.epochs) {
      epochs.push_back({{"epoch", m.epoch},
                        {"train_loss", m.train_loss},
                        {"train_accuracy", m.train_accuracy},
                        {"val_loss", m.val_loss ? nlohmann::json(*m.val_loss) : nlohmann::json()},
                        {"val_accuracy", m.val_accuracy ? nlohmann::json(*m.val_accuracy) : nlohmann::json()},
                        {"learning_rate", m.learning_rate},
                        {"seconds", m.seconds},
                        {"samples_per_second", m.samples_per_second}});
    }
    j["epochs"] = epochs;
    j["log"] = r.log;
  }
  return j;
}

}  // namespace fsml
