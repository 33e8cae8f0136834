// The crawl's durable state in the MetaStore: one `crawls` row per crawl and
// one `crawl_urls` row per URL it discovered (the persisted frontier and
// URL-seen set), plus the items it produced.
//
// Writes are buffered and applied by Flush() in one transaction, objects
// first: a page's "done" mark, the URLs it discovered and the item it made
// become durable together, so after a kill -9 a resumed crawl refetches
// exactly the pages whose results were not yet flushed, and no item is made
// twice.
//
// Thread safety: one thread uses a FrontierStore.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/project.h"
#include "data/workspace.h"

namespace fsml::crawl {

struct CrawlRecord {
  int64_t id = 0;
  int64_t project_id = 0;
  int64_t import_id = 0;
  std::string config;  // the crawl.toml text it ran with
  std::string config_sha256;
  std::string status;  // running | finished | limited | interrupted | failed
  std::string started_at, updated_at, ended_at;
  std::string host;
  int64_t pid = 0;
  nlohmann::json stats = nlohmann::json::object();
};

// Crawls of a project, newest first.
Result<std::vector<CrawlRecord>> ListCrawls(MetaStore& meta, int64_t project_id);
// The newest crawl of the project that did not finish (running, limited,
// interrupted or failed), if any.
Result<std::optional<CrawlRecord>> LatestUnfinishedCrawl(MetaStore& meta, int64_t project_id);

enum class UrlState { kQueued, kDone, kFailed, kSkipped };
const char* UrlStateName(UrlState s);

struct UrlRow {
  std::string url;
  int64_t seq = 0;       // discovery order within the crawl
  std::string origin;
  int depth = 0;
  UrlState state = UrlState::kQueued;
  std::string content_sha256;
};

// An item ready to be recorded: its bytes are stored as an object at Flush().
struct ItemWrite {
  std::string bytes;
  std::string id;          // SHA-256 of bytes
  std::string media_type;
  int width = 0, height = 0, channels = 0;
  std::string source_url;
  nlohmann::json meta;     // provenance and extracted fields
  std::optional<int64_t> label_id;  // a label to record (label_as = "label")
};

struct FlushCounts {
  uint64_t items_added = 0;    // new to the project
  uint64_t items_present = 0;  // the project already held the same bytes
};

class FrontierStore {
 public:
  // Starts a crawl: its imports row (format "crawl") and crawls row.
  static Result<FrontierStore> Create(Workspace& ws, const Project& project, const std::string& config_text);
  // Continues `record` (status set back to running, this host and pid).
  static Result<FrontierStore> Resume(Workspace& ws, const Project& project, const CrawlRecord& record);

  const CrawlRecord& record() const { return record_; }

  // Every URL row, in seq order (to rebuild the in-memory frontier).
  Status ForEachUrl(const std::function<Status(const UrlRow&)>& fn);
  // Queued URLs of one origin with seq > after_seq, in seq order. REQUIRES:
  // no unflushed writes (call Flush first).
  Result<std::vector<UrlRow>> QueuedAfter(const std::string& origin, int64_t after_seq, size_t limit);

  // Buffered until Flush():
  void AddUrl(const UrlRow& row);
  void SetState(const std::string& url, UrlState state, int http_status, const std::string& detail,
                const std::string& content_sha256 = "", const std::string& item_id = "");
  void AddItem(ItemWrite item);
  size_t pending() const { return urls_.size() + states_.size() + items_.size(); }
  size_t pending_item_bytes() const { return item_bytes_; }

  // Stores pending objects, then applies every pending row, the crawl's
  // stats and its status in one transaction. `stats` makes the stats from
  // the batch's counts (items added or already present), inside that
  // transaction. On error nothing of the batch is applied and the batch stays
  // pending.
  using StatsFn = std::function<nlohmann::json(const FlushCounts&)>;
  Result<FlushCounts> Flush(const StatsFn& stats, const std::string& status);

 private:
  FrontierStore(Workspace& ws, const Project& project, CrawlRecord record) : ws_(&ws), project_(&project), record_(std::move(record)) {}

  struct StateWrite {
    std::string url;
    UrlState state;
    int http_status;
    std::string detail, content_sha256, item_id, fetched_at;
  };
  Workspace* ws_;
  const Project* project_;
  CrawlRecord record_;
  std::vector<UrlRow> urls_;
  std::vector<StateWrite> states_;
  std::vector<ItemWrite> items_;
  size_t item_bytes_ = 0;
};

}  // namespace fsml::crawl
