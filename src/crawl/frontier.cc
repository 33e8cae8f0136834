#include "crawl/frontier.h"

#include <unistd.h>

#include "core/fs.h"
#include "core/sha256.h"
#include "data/split.h"

namespace fsml::crawl {
namespace {

constexpr const char* kCrawlColumns =
    "id, project_id, import_id, config, config_sha256, status, started_at, updated_at, ended_at, host, pid, stats";

CrawlRecord ReadCrawl(const SqlRow& row) {
  CrawlRecord c;
  c.id = row.Int(0);
  c.project_id = row.Int(1);
  c.import_id = row.Int(2);
  c.config = row.Text(3);
  c.config_sha256 = row.Text(4);
  c.status = row.Text(5);
  c.started_at = row.Text(6);
  c.updated_at = row.Text(7);
  if (!row.IsNull(8)) c.ended_at = row.Text(8);
  c.host = row.Text(9);
  c.pid = row.Int(10);
  c.stats = nlohmann::json::parse(row.Text(11), nullptr, /*allow_exceptions=*/false);
  if (c.stats.is_discarded()) c.stats = nlohmann::json::object();
  return c;
}

Result<std::vector<CrawlRecord>> QueryCrawls(MetaStore& meta, const std::string& where, const SqlParams& params) {
  std::vector<CrawlRecord> out;
  FSML_RETURN_IF_ERROR(meta.Query(std::string("SELECT ") + kCrawlColumns + " FROM crawls WHERE " + where, params,
                                  [&](const SqlRow& row) {
                                    out.push_back(ReadCrawl(row));
                                    return Status::Ok();
                                  }));
  return out;
}

}  // namespace

const char* UrlStateName(UrlState s) {
  switch (s) {
    case UrlState::kQueued: return "queued";
    case UrlState::kDone: return "done";
    case UrlState::kFailed: return "failed";
    case UrlState::kSkipped: return "skipped";
  }
  return "queued";
}

static UrlState ParseUrlState(std::string_view s) {
  if (s == "done") return UrlState::kDone;
  if (s == "failed") return UrlState::kFailed;
  if (s == "skipped") return UrlState::kSkipped;
  return UrlState::kQueued;
}

Result<std::vector<CrawlRecord>> ListCrawls(MetaStore& meta, int64_t project_id) {
  return QueryCrawls(meta, "project_id = ? ORDER BY id DESC", {project_id});
}

Result<std::optional<CrawlRecord>> LatestUnfinishedCrawl(MetaStore& meta, int64_t project_id) {
  FSML_ASSIGN_OR_RETURN(auto crawls,
                        QueryCrawls(meta, "project_id = ? AND status <> 'finished' ORDER BY id DESC LIMIT 1", {project_id}));
  if (crawls.empty()) return std::optional<CrawlRecord>();
  return std::optional<CrawlRecord>(std::move(crawls.front()));
}

Result<FrontierStore> FrontierStore::Create(Workspace& ws, const Project& project, const std::string& config_text) {
  MetaStore& meta = ws.meta();
  std::string now = NowRfc3339();
  CrawlRecord c;
  c.project_id = project.id;
  c.config = config_text;
  c.config_sha256 = Sha256Hex(config_text);
  c.status = "running";
  c.started_at = c.updated_at = now;
  c.host = HostName();
  c.pid = static_cast<int64_t>(::getpid());
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto import_id,
                          meta.QueryInt("INSERT INTO imports (project_id, source, format, author, created_at, items_added, "
                                        "items_present, labels_added) VALUES (?, 'crawl', 'crawl', ?, ?, 0, 0, 0) RETURNING id",
                                        {project.id, ws.user(), now}));
    c.import_id = *import_id;
    FSML_ASSIGN_OR_RETURN(auto id, meta.QueryInt("INSERT INTO crawls (project_id, import_id, config, config_sha256, status, "
                                                 "started_at, updated_at, host, pid, stats) VALUES (?, ?, ?, ?, 'running', ?, "
                                                 "?, ?, ?, '{}') RETURNING id",
                                                 {project.id, c.import_id, c.config, c.config_sha256, now, now, c.host, c.pid}));
    c.id = *id;
    return StatusOf(meta.Exec("UPDATE imports SET source = ? WHERE id = ?", {"crawl " + std::to_string(c.id), c.import_id}));
  }));
  return FrontierStore(ws, project, std::move(c));
}

Result<FrontierStore> FrontierStore::Resume(Workspace& ws, const Project& project, const CrawlRecord& record) {
  CrawlRecord c = record;
  c.status = "running";
  c.host = HostName();
  c.pid = static_cast<int64_t>(::getpid());
  c.updated_at = NowRfc3339();
  FSML_RETURN_IF_ERROR(ws.meta()
                           .Exec("UPDATE crawls SET status = 'running', ended_at = NULL, host = ?, pid = ?, updated_at = ? "
                                 "WHERE id = ?",
                                 {c.host, c.pid, c.updated_at, c.id}));
  return FrontierStore(ws, project, std::move(c));
}

Status FrontierStore::ForEachUrl(const std::function<Status(const UrlRow&)>& fn) {
  return ws_->meta().Query(
      "SELECT url, seq, origin, depth, state, content_sha256 FROM crawl_urls WHERE crawl_id = ? ORDER BY seq",
      {record_.id}, [&](const SqlRow& row) {
        UrlRow u;
        u.url = row.Text(0);
        u.seq = row.Int(1);
        u.origin = row.Text(2);
        u.depth = static_cast<int>(row.Int(3));
        u.state = ParseUrlState(row.Text(4));
        if (!row.IsNull(5)) u.content_sha256 = row.Text(5);
        return fn(u);
      });
}

Result<std::vector<UrlRow>> FrontierStore::QueuedAfter(const std::string& origin, int64_t after_seq, size_t limit) {
  std::vector<UrlRow> out;
  FSML_RETURN_IF_ERROR(ws_->meta().Query(
      "SELECT url, seq, depth FROM crawl_urls WHERE crawl_id = ? AND state = 'queued' AND origin = ? AND seq > ? "
      "ORDER BY seq LIMIT ?",
      {record_.id, origin, after_seq, static_cast<int64_t>(limit)}, [&](const SqlRow& row) {
        UrlRow u;
        u.url = row.Text(0);
        u.seq = row.Int(1);
        u.origin = origin;
        u.depth = static_cast<int>(row.Int(2));
        out.push_back(std::move(u));
        return Status::Ok();
      }));
  return out;
}

void FrontierStore::AddUrl(const UrlRow& row) { urls_.push_back(row); }

void FrontierStore::SetState(const std::string& url, UrlState state, int http_status, const std::string& detail,
                             const std::string& content_sha256, const std::string& item_id) {
  states_.push_back({url, state, http_status, detail.substr(0, 500), content_sha256, item_id, NowRfc3339()});
}

void FrontierStore::AddItem(ItemWrite item) {
  item_bytes_ += item.bytes.size();
  items_.push_back(std::move(item));
}

Result<FlushCounts> FrontierStore::Flush(const StatsFn& stats_of, const std::string& status) {
  FlushCounts counts;
  nlohmann::json stats;
  MetaStore& meta = ws_->meta();
  if (!items_.empty()) {
    std::vector<std::string_view> views;
    views.reserve(items_.size());
    for (const auto& item : items_) views.push_back(item.bytes);
    FSML_RETURN_IF_ERROR(ws_->blobs().PutMany(views));
  }
  std::string now = NowRfc3339();
  bool ended = status != "running";
  Status st = meta.Transaction([&]() -> Status {
    counts = FlushCounts{};
    for (const auto& u : urls_) {
      FSML_RETURN_IF_ERROR(meta.Exec("INSERT INTO crawl_urls (crawl_id, url, seq, origin, depth, state) VALUES (?, ?, ?, ?, ?, "
                                     "'queued') ON CONFLICT (crawl_id, url) DO NOTHING",
                                     {record_.id, u.url, u.seq, u.origin, static_cast<int64_t>(u.depth)}));
    }
    for (const auto& item : items_) {
      // Text items have no geometry: NULL, as the importer writes them.
      FSML_RETURN_IF_ERROR(meta.Exec("INSERT INTO items (id, media_type, size_bytes, width, height, channels) VALUES (?, ?, ?, "
                                     "NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0)) ON CONFLICT (id) DO NOTHING",
                                     {item.id, item.media_type, static_cast<int64_t>(item.bytes.size()), int64_t{item.width},
                                      int64_t{item.height}, int64_t{item.channels}}));
      Split split = AssignSplit(item.id, project_->split_salt, project_->ratios);
      FSML_ASSIGN_OR_RETURN(int64_t added,
                            meta.Exec("INSERT INTO project_items (project_id, item_id, split, source, meta, added_at, import_id) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, item_id) DO NOTHING",
                                      {project_->id, item.id, static_cast<int64_t>(split), item.source_url, item.meta.dump(),
                                       now, record_.import_id}));
      if (added == 0) {
        ++counts.items_present;
        continue;
      }
      ++counts.items_added;
      if (item.label_id) {
        FSML_ASSIGN_OR_RETURN(auto annotation,
                              meta.QueryInt("INSERT INTO annotations (project_id, item_id, label_id, origin, author, created_at, "
                                            "import_id) VALUES (?, ?, ?, 'import', ?, ?, ?) RETURNING id",
                                            {project_->id, item.id, *item.label_id, ws_->user(), now, record_.import_id}));
        FSML_RETURN_IF_ERROR(meta.Exec("UPDATE project_items SET label_id = ?, annotation_id = ? WHERE project_id = ? AND "
                                       "item_id = ?",
                                       {*item.label_id, *annotation, project_->id, item.id}));
        FSML_RETURN_IF_ERROR(
            meta.Exec("UPDATE imports SET labels_added = labels_added + 1 WHERE id = ?", {record_.import_id}));
      }
    }
    for (const auto& s : states_) {
      SqlValue sha = s.content_sha256.empty() ? SqlValue() : SqlValue(s.content_sha256);
      SqlValue item = s.item_id.empty() ? SqlValue() : SqlValue(s.item_id);
      SqlValue code = s.http_status ? SqlValue(int64_t{s.http_status}) : SqlValue();
      SqlValue detail = s.detail.empty() ? SqlValue() : SqlValue(s.detail);
      FSML_RETURN_IF_ERROR(meta.Exec("UPDATE crawl_urls SET state = ?, http_status = ?, content_sha256 = ?, item_id = ?, "
                                     "detail = ?, fetched_at = ? WHERE crawl_id = ? AND url = ?",
                                     {std::string(UrlStateName(s.state)), code, sha, item, detail, s.fetched_at, record_.id,
                                      s.url}));
    }
    if (counts.items_added || counts.items_present) {
      FSML_RETURN_IF_ERROR(meta.Exec("UPDATE imports SET items_added = items_added + ?, items_present = items_present + ? "
                                     "WHERE id = ?",
                                     {static_cast<int64_t>(counts.items_added), static_cast<int64_t>(counts.items_present),
                                      record_.import_id}));
    }
    stats = stats_of(counts);
    SqlValue ended_at = ended ? SqlValue(now) : SqlValue();
    return StatusOf(meta.Exec("UPDATE crawls SET status = ?, stats = ?, updated_at = ?, ended_at = ? WHERE id = ?",
                              {status, stats.dump(), now, ended_at, record_.id}));
  });
  FSML_RETURN_IF_ERROR(st);
  urls_.clear();
  states_.clear();
  items_.clear();
  item_bytes_ = 0;
  record_.status = status;
  record_.stats = stats;
  record_.updated_at = now;
  if (ended) record_.ended_at = now;
  return counts;
}

}  // namespace fsml::crawl
