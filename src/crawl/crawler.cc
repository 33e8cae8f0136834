#include "crawl/crawler.h"

#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "core/fs.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "core/text.h"
#include "crawl/extract.h"
#include "crawl/frontier.h"
#include "crawl/robots.h"
#include "crawl/sitemap.h"
#include "crawl/url.h"
#include "data/image.h"
#include "data/parsers.h"

namespace fsml::crawl {

namespace {
// The summary's counters, by their JSON names.
constexpr std::pair<const char*, uint64_t CrawlSummary::*> kCounters[] = {
    {"pages", &CrawlSummary::pages},         {"items", &CrawlSummary::items},
    {"items_present", &CrawlSummary::items_present}, {"duplicates", &CrawlSummary::duplicates},
    {"media", &CrawlSummary::media},         {"requests", &CrawlSummary::requests},
    {"retries", &CrawlSummary::retries},     {"bytes", &CrawlSummary::bytes},
    {"disallowed", &CrawlSummary::disallowed}, {"redirects", &CrawlSummary::redirects},
    {"queued", &CrawlSummary::queued},       {"labels_unknown", &CrawlSummary::labels_unknown},
};
}  // namespace

nlohmann::json CrawlSummary::ToJson() const {
  nlohmann::json j = {{"crawl_id", crawl_id}, {"status", status}, {"errors", errors},
                      {"statuses", statuses}, {"seconds", seconds}};
  for (const auto& [name, member] : kCounters) j[name] = this->*member;
  return j;
}

// Reads what ToJson wrote; missing or mistyped fields stay zero.
CrawlSummary CrawlSummary::FromJson(const nlohmann::json& j) {
  CrawlSummary s;
  if (!j.is_object()) return s;
  if (j.contains("crawl_id") && j["crawl_id"].is_number_integer()) s.crawl_id = j["crawl_id"].get<int64_t>();
  if (j.contains("status") && j["status"].is_string()) s.status = j["status"].get<std::string>();
  for (const auto& [name, member] : kCounters)
    if (j.contains(name) && j[name].is_number_unsigned()) s.*member = j[name].get<uint64_t>();
  for (auto [key, out] : {std::pair{"errors", &s.errors}, std::pair{"statuses", &s.statuses}}) {
    if (!j.contains(key) || !j[key].is_object()) continue;
    for (const auto& [k, v] : j[key].items())
      if (v.is_number_unsigned()) (*out)[k] = v.get<uint64_t>();
  }
  if (j.contains("seconds") && j["seconds"].is_number()) s.seconds = j["seconds"].get<double>();
  return s;
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// In-memory page tasks per origin beyond which discovered URLs stay in the
// store only (reloaded in order as the queue drains): bounds memory in
// crawls with millions of queued URLs.
constexpr size_t kHostWindow = 4096;
constexpr size_t kLinksPerPage = 10000;
constexpr int kMaxSitemaps = 1000;
constexpr int kMaxSitemapLevels = 3;
constexpr int kMaxRobotsRedirects = 5;
constexpr milliseconds kMaxBackoff{30000};
constexpr milliseconds kMaxRetryAfter{120000};
constexpr milliseconds kMaxCrawlDelay{60000};

enum class TaskKind { kRobots, kSitemap, kPage, kMedia };

// A page whose item waits for its media.
struct PendingItem {
  std::string page_url;
  int http_status = 0;
  std::string content_sha256;
  std::string fetched_at;
  nlohmann::json fields;
  std::string media_url;
};

struct Task {
  TaskKind kind = TaskKind::kPage;
  std::string url;     // normalized: origin + the target (Url::ToString())
  std::string origin;  // the queue it waits in
  int depth = 0;
  int attempt = 0;    // tries made so far
  int redirects = 0;  // hops followed to get to url
  int sitemap_level = 0;
  std::string robots_for;  // kRobots: the origin whose rules these are
  std::shared_ptr<PendingItem> item;  // kMedia
};

struct Host {
  std::string origin;
  enum class Robots { kUnknown, kFetching, kReady } robots = Robots::kUnknown;
  RobotsRules rules = RobotsRules::AllowAll();
  std::deque<Task> queue;
  int in_flight = 0;
  Clock::time_point next_start{};
  milliseconds delay{0};
  int64_t loaded_upto = 0;  // the highest seq of this origin's page tasks held in memory
  bool spilled = false;     // queued rows with seq > loaded_upto exist in the store only
  bool sitemaps_queued = false;
};

// Seconds or an HTTP-date, as a wait from now; nullopt when unreadable.
std::optional<milliseconds> ParseRetryAfter(const std::string& value) {
  std::string v(TrimSpace(value));
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 6) return kMaxRetryAfter;
    return milliseconds(std::stoll(v) * 1000);
  }
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  time_t now = time(nullptr);
  return milliseconds(std::max<int64_t>(0, static_cast<int64_t>(when - now)) * 1000);
}

bool Retryable(const FetchResult& r) {
  switch (r.error) {
    case FetchError::kTimeout:
    case FetchError::kReset:
    case FetchError::kConnect:
    case FetchError::kOther: return true;
    case FetchError::kNone: return r.status == 429 || r.status == 408 || r.status >= 500;
    default: return false;
  }
}

std::string ErrorKind(const FetchResult& r) {
  if (r.error != FetchError::kNone) return FetchErrorName(r.error);
  if (r.status >= 500) return "http_5xx";
  if (r.status >= 400) return "http_4xx";
  if (r.status >= 300) return "redirect";
  return "http_other";
}

std::string Describe(const FetchResult& r) {
  if (r.error != FetchError::kNone) return r.error_message;
  return "HTTP " + std::to_string(r.status);
}

class Crawl {
 public:
  Crawl(const Project& project, const CrawlConfig& config, const CrawlOptions& options, Fetcher& fetcher,
        FrontierStore store, CrawlSummary summary)
      : project_(project),
        config_(config),
        options_(options),
        fetcher_(fetcher),
        store_(std::move(store)),
        sum_(std::move(summary)),
        rng_(std::random_device{}()) {
    sum_.crawl_id = store_.record().id;
    max_pages_ = options.max_pages.value_or(config.crawl.max_pages);
  }

  Status Compile() {
    auto compile = [](const std::string& text) -> Result<std::optional<XPath>> {
      if (text.empty()) return std::optional<XPath>();
      FSML_ASSIGN_OR_RETURN(auto x, XPath::Compile(text));
      return std::optional<XPath>(std::move(x));
    };
    FSML_ASSIGN_OR_RETURN(follow_, compile(config_.extract.follow));
    FSML_ASSIGN_OR_RETURN(item_xpath_, compile(config_.extract.item_xpath));
    for (const auto& [name, text] : config_.extract.fields) {
      FSML_ASSIGN_OR_RETURN(auto x, XPath::Compile(text));
      fields_.emplace_back(name, std::move(x));
    }
    return Status::Ok();
  }

  // Rebuilds the in-memory frontier from the store (a resumed crawl).
  Status Load() {
    FSML_RETURN_IF_ERROR(store_.ForEachUrl([&](const UrlRow& row) {
      seen_.insert(UrlKey(row.url));
      next_seq_ = std::max(next_seq_, row.seq);
      if (!row.content_sha256.empty()) content_seen_.insert(row.content_sha256);
      if (row.state != UrlState::kQueued) {
        ++pages_begun_;
        return Status::Ok();
      }
      Host& host = GetHost(row.origin);
      if (!host.spilled && host.queue.size() < kHostWindow) {
        host.queue.push_back(PageTask(row.url, row.origin, row.depth));
        host.loaded_upto = row.seq;
      } else {
        host.spilled = true;
      }
      ++queued_pages_;
      return Status::Ok();
    }));
    log::Debug("crawl {}: resumed with {} URLs seen, {} queued", sum_.crawl_id, seen_.size(), queued_pages_);
    return Status::Ok();
  }

  void Seed() {
    for (const auto& seed : config_.crawl.seeds) Discover(*ParseUrl(seed, config_.crawl.urls), 0, /*front=*/false);  // parsed by the config
  }

  Result<CrawlSummary> Run() {
    auto t0 = Clock::now();
    double seconds_before = sum_.seconds;
    // Progress counts pages requested (the max_pages budget), so its ETA is
    // the budget's; the summary's `pages` counts those that answered 2xx.
    Progress progress("crawl", config_.crawl.max_pages_set || options_.max_pages ? max_pages_ : 0, "pages");
    uint64_t shown = pages_begun_;
    progress.Add(shown);
    auto last_flush = Clock::now();
    auto last_status = Clock::time_point{};
    std::string final_status;
    while (true) {
      if (options_.should_stop && options_.should_stop() && !stopping_) {
        stopping_ = true;
        log::Info("crawl {}: stopping: waiting for {} transfers", sum_.crawl_id, fetcher_.InFlight());
      }
      auto now = Clock::now();
      ReleaseDelayed(now);
      if (!stopping_) StartReady(now);
      if (fetcher_.InFlight() == 0 && (stopping_ || NothingLeftToStart())) break;

      milliseconds wait = WaitBudget(now);
      for (FetchResult& r : fetcher_.Wait(wait)) Handle(std::move(r));
      if (pages_begun_ > shown) {
        progress.Add(pages_begun_ - shown);
        shown = pages_begun_;
      }

      now = Clock::now();
      if (now - last_status > milliseconds(250)) {
        last_status = now;
        progress.SetStatus(StatusLine());
      }
      bool reload = NeedsReload();
      if (reload || store_.pending() >= 2000 || store_.pending_item_bytes() >= (64u << 20) ||
          now - last_flush >= milliseconds(options_.flush_interval_ms)) {
        sum_.seconds = seconds_before + std::chrono::duration<double>(Clock::now() - t0).count();
        FSML_RETURN_IF_ERROR(Flush("running"));
        last_flush = Clock::now();
        if (reload) FSML_RETURN_IF_ERROR(Reload());
      }
    }
    if (stopping_) final_status = "interrupted";
    else if (queued_pages_ > 0) final_status = "limited";
    else final_status = "finished";
    sum_.seconds = seconds_before + std::chrono::duration<double>(Clock::now() - t0).count();
    FSML_RETURN_IF_ERROR(Flush(final_status));
    progress.SetStatus(StatusLine());
    progress.Finish();
    return sum_;
  }

 private:
  // ---- frontier -----------------------------------------------------------
  static uint64_t UrlKey(std::string_view url) { return std::hash<std::string_view>{}(url); }

  Host& GetHost(const std::string& origin) {
    auto it = hosts_.find(origin);
    if (it != hosts_.end()) return *it->second;
    auto host = std::make_unique<Host>();
    host->origin = origin;
    host->delay = milliseconds(config_.crawl.delay_ms);
    if (!config_.crawl.respect_robots) host->robots = Host::Robots::kReady;
    Host& ref = *host;
    hosts_.emplace(origin, std::move(host));
    return ref;
  }

  Task PageTask(const std::string& url, const std::string& origin, int depth) {
    Task t;
    t.kind = TaskKind::kPage;
    t.url = url;
    t.origin = origin;
    t.depth = depth;
    return t;
  }

  // Records a newly found page URL (in scope) unless seen before. `front`:
  // ahead of the origin's queue (a redirect's target).
  bool Discover(const Url& found, int depth, bool front, int redirects = 0) {
    std::string url = found.ToString();
    if (!seen_.insert(UrlKey(url)).second) return false;
    std::string origin = found.Origin();
    Host& host = GetHost(origin);
    UrlRow row;
    row.url = url;
    row.seq = ++next_seq_;
    row.origin = origin;
    row.depth = depth;
    store_.AddUrl(row);
    ++queued_pages_;
    if (front) {
      Task t = PageTask(url, origin, depth);
      t.redirects = redirects;
      host.queue.push_front(std::move(t));
    } else if (!host.spilled && host.queue.size() < kHostWindow) {
      host.queue.push_back(PageTask(url, origin, depth));
      host.loaded_upto = row.seq;
    } else {
      host.spilled = true;
    }
    return true;
  }

  bool NeedsReload() const {
    for (const auto& [origin, host] : hosts_)
      if (host->spilled && host->queue.size() < kHostWindow / 4) return true;
    return false;
  }

  // REQUIRES: the store was just flushed (QueuedAfter reads flushed rows).
  Status Reload() {
    for (auto& [origin, host] : hosts_) {
      if (!host->spilled || host->queue.size() >= kHostWindow / 4) continue;
      size_t want = kHostWindow - host->queue.size();
      FSML_ASSIGN_OR_RETURN(auto rows, store_.QueuedAfter(origin, host->loaded_upto, want));
      for (auto& row : rows) {
        host->queue.push_back(PageTask(row.url, origin, row.depth));
        host->loaded_upto = row.seq;
      }
      if (rows.size() < want) host->spilled = false;
    }
    return Status::Ok();
  }

  void FinishPage(const std::string& url, UrlState state, int http_status, const std::string& detail,
                  const std::string& sha = "", const std::string& item_id = "") {
    store_.SetState(url, state, http_status, detail, sha, item_id);
    if (queued_pages_ > 0) --queued_pages_;
  }

  void Fail(const Task& t, const std::string& kind, const std::string& detail, int http_status = 0) {
    ++sum_.errors[kind];
    log::Debug("crawl {}: {} failed: {}: {}", sum_.crawl_id, t.url, kind, detail);
    if (t.kind == TaskKind::kPage) {
      FinishPage(t.url, UrlState::kFailed, http_status, kind + ": " + detail);
    } else if (t.kind == TaskKind::kMedia) {
      FinishPage(t.item->page_url, UrlState::kFailed, t.item->http_status,
                 "media " + t.url + ": " + kind + ": " + detail, t.item->content_sha256);
    }
  }

  Status Flush(const std::string& status) {
    sum_.status = status;
    sum_.queued = queued_pages_;
    FSML_ASSIGN_OR_RETURN(auto counts, store_.Flush(
                                           [&](const FlushCounts& c) {
                                             CrawlSummary after = sum_;
                                             after.items += c.items_added;
                                             after.items_present += c.items_present;
                                             return after.ToJson();
                                           },
                                           status));
    sum_.items += counts.items_added;
    sum_.items_present += counts.items_present;
    return Status::Ok();
  }

  // ---- scheduling ---------------------------------------------------------
  bool PageBudgetLeft() const { return pages_begun_ < max_pages_; }

  bool NothingLeftToStart() const {
    if (!delayed_.empty()) return false;
    for (const auto& [origin, host] : hosts_) {
      for (const Task& t : host->queue)
        if (t.kind != TaskKind::kPage || PageBudgetLeft()) return false;
      if (host->spilled && PageBudgetLeft()) return false;
    }
    return true;
  }

  void ReleaseDelayed(Clock::time_point now) {
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      Task t = std::move(delayed_.begin()->second);
      delayed_.erase(delayed_.begin());
      GetHost(t.origin).queue.push_front(std::move(t));
    }
  }

  void StartReady(Clock::time_point now) {
    for (auto& [origin, host_ptr] : hosts_) {
      Host& host = *host_ptr;
      while (!host.queue.empty() && host.in_flight < config_.crawl.concurrency_per_host && now >= host.next_start &&
             fetcher_.InFlight() < kMaxInFlight) {
        if (host.robots == Host::Robots::kUnknown) {
          host.robots = Host::Robots::kFetching;
          Task robots;
          robots.kind = TaskKind::kRobots;
          robots.url = origin + "/robots.txt";
          robots.origin = origin;
          robots.robots_for = origin;
          StartTask(host, std::move(robots), now);
          break;  // nothing else of this origin until its rules are in
        }
        if (host.robots == Host::Robots::kFetching) {
          // Only robots.txt itself (a retry or a redirect hop) may go.
          if (host.queue.front().kind != TaskKind::kRobots) break;
          Task robots = std::move(host.queue.front());
          host.queue.pop_front();
          StartTask(host, std::move(robots), now);
          break;
        }
        Task& next = host.queue.front();
        if (next.kind == TaskKind::kPage && next.attempt == 0 && next.redirects == 0 && !PageBudgetLeft()) {
          // Over budget: media and retries of started pages may still run.
          auto it = std::find_if(host.queue.begin(), host.queue.end(),
                                 [&](const Task& t) { return t.kind != TaskKind::kPage || t.attempt > 0 || t.redirects > 0; });
          if (it == host.queue.end()) break;
          std::iter_swap(host.queue.begin(), it);
          continue;
        }
        Task t = std::move(host.queue.front());
        host.queue.pop_front();
        std::string_view target = std::string_view(t.url).substr(t.origin.size());
        if (t.kind != TaskKind::kRobots && !host.rules.Allowed(target)) {
          ++sum_.disallowed;
          if (t.kind == TaskKind::kPage) FinishPage(t.url, UrlState::kSkipped, 0, "disallowed by robots.txt");
          else if (t.kind == TaskKind::kMedia) Fail(t, "disallowed", "robots.txt disallows the media URL");
          continue;
        }
        if (t.kind == TaskKind::kPage && t.attempt == 0 && t.redirects == 0) ++pages_begun_;
        StartTask(host, std::move(t), now);
      }
    }
  }

  void StartTask(Host& host, Task t, Clock::time_point now) {
    uint64_t id = ++next_request_id_;
    ++host.in_flight;
    host.next_start = std::max(now, Clock::now()) + host.delay;
    ++sum_.requests;
    if (t.attempt > 0) ++sum_.retries;
    fetcher_.Start(FetchRequest{id, t.url});
    in_flight_.emplace(id, std::move(t));
  }

  milliseconds WaitBudget(Clock::time_point now) const {
    auto until = now + milliseconds(100);
    if (!delayed_.empty()) until = std::min(until, delayed_.begin()->first);
    for (const auto& [origin, host] : hosts_) {
      if (host->queue.empty() || host->in_flight >= config_.crawl.concurrency_per_host) continue;
      if (host->robots == Host::Robots::kFetching && host->queue.front().kind != TaskKind::kRobots) continue;
      until = std::min(until, host->next_start);
    }
    auto wait = std::chrono::duration_cast<milliseconds>(until - now);
    return std::max(wait, milliseconds(0));
  }

  void Retry(Task t, const FetchResult& r) {
    milliseconds wait = std::min(kMaxBackoff, milliseconds(250) * (1 << std::min(t.attempt, 10)));
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    wait = milliseconds(static_cast<int64_t>(static_cast<double>(wait.count()) * jitter(rng_)));
    if (auto after = ParseRetryAfter(r.retry_after)) wait = std::max(wait, std::min(*after, kMaxRetryAfter));
    ++t.attempt;
    log::Debug("crawl {}: {}: {}; retry {} in {} ms", sum_.crawl_id, t.url, Describe(r), t.attempt, wait.count());
    delayed_.emplace(Clock::now() + wait, std::move(t));
  }

  // ---- results ------------------------------------------------------------
  void Handle(FetchResult r) {
    auto it = in_flight_.find(r.id);
    if (it == in_flight_.end()) return;
    Task t = std::move(it->second);
    in_flight_.erase(it);
    Host& host = GetHost(t.origin);
    --host.in_flight;
    sum_.bytes += r.body.size();
    if (r.error == FetchError::kNone) ++sum_.statuses[std::to_string(r.status)];
    switch (t.kind) {
      case TaskKind::kRobots: return HandleRobots(host, std::move(t), std::move(r));
      case TaskKind::kSitemap: return HandleSitemap(std::move(t), std::move(r));
      case TaskKind::kPage: return HandlePage(std::move(t), std::move(r));
      case TaskKind::kMedia: return HandleMedia(std::move(t), std::move(r));
    }
  }

  // True when `t` will be tried again: scheduled after a backoff, or, when
  // the crawl is stopping, left queued in the frontier for --resume.
  bool RetryIfWorth(Task& t, const FetchResult& r) {
    if (!Retryable(r) || t.attempt >= config_.crawl.retries) return false;
    if (!stopping_) Retry(std::move(t), r);
    return true;
  }

  void HandleRobots(Host& host, Task t, FetchResult r) {
    Host& owner = GetHost(t.robots_for);
    if (r.error == FetchError::kNone && r.status >= 300 && r.status < 400 && !r.location.empty() &&
        t.redirects < kMaxRobotsRedirects) {
      auto next = ParseUrl(r.location, config_.crawl.urls);
      if (next) {
        t.url = next->ToString();
        ++t.redirects;
        host.queue.push_front(std::move(t));
        return;
      }
    }
    if (RetryIfWorth(t, r)) return;
    (void)host;
    if (r.error == FetchError::kNone && r.status >= 200 && r.status < 300) {
      owner.rules = RobotsRules::Parse(r.body, config_.crawl.user_agent);
    } else if (r.error == FetchError::kNone && r.status >= 400 && r.status < 500) {
      owner.rules = RobotsRules::AllowAll();  // RFC 9309: unavailable means no rules
    } else {
      owner.rules = RobotsRules::DisallowAll();  // RFC 9309: unreachable means crawl nothing
      ++sum_.errors[ErrorKind(r)];
      log::Warn("crawl: {}/robots.txt is unreachable ({}): nothing there is crawled", owner.origin, Describe(r));
    }
    if (auto delay = owner.rules.crawl_delay_seconds()) {
      milliseconds crawl_delay(static_cast<int64_t>(*delay * 1000));
      owner.delay = std::max(owner.delay, std::min(crawl_delay, kMaxCrawlDelay));
    }
    owner.robots = Host::Robots::kReady;
    QueueSitemaps(owner);
  }

  void QueueSitemaps(Host& host) {
    if (!config_.crawl.sitemaps || host.sitemaps_queued) return;
    host.sitemaps_queued = true;
    std::vector<std::string> urls = host.rules.sitemaps();
    if (urls.empty()) urls.push_back(host.origin + "/sitemap.xml");
    for (const auto& u : urls) QueueSitemap(u, 0);
  }

  void QueueSitemap(const std::string& url, int level) {
    if (sitemaps_queued_ >= kMaxSitemaps || level > kMaxSitemapLevels) return;
    auto parsed = ParseUrl(url, config_.crawl.urls);
    if (!parsed) return;
    ++sitemaps_queued_;
    Task t;
    t.kind = TaskKind::kSitemap;
    t.url = parsed->ToString();
    t.origin = parsed->Origin();
    t.sitemap_level = level;
    GetHost(t.origin).queue.push_front(std::move(t));
  }

  void HandleSitemap(Task t, FetchResult r) {
    if (r.error == FetchError::kNone && r.status >= 300 && r.status < 400 && !r.location.empty() &&
        t.redirects < config_.crawl.max_redirects) {
      if (auto next = ParseUrl(r.location, config_.crawl.urls)) {
        t.url = next->ToString();
        t.origin = next->Origin();
        ++t.redirects;
        GetHost(t.origin).queue.push_front(std::move(t));
        return;
      }
    }
    if (RetryIfWorth(t, r)) return;
    if (r.error != FetchError::kNone || r.status < 200 || r.status >= 300) {
      if (r.status != 404) log::Debug("crawl {}: sitemap {}: {}", sum_.crawl_id, t.url, Describe(r));
      return;  // a missing sitemap is normal
    }
    auto sitemap = ParseSitemap(r.body);
    if (!sitemap) {
      ++sum_.errors["sitemap"];
      log::Warn("crawl: sitemap {}: {}", t.url, sitemap.error().message());
      return;
    }
    for (const auto& loc : sitemap->sitemaps) QueueSitemap(loc, t.sitemap_level + 1);
    for (const auto& loc : sitemap->urls) {
      auto u = ParseUrl(loc, config_.crawl.urls);
      if (u && config_.InScope(*u) && config_.crawl.max_depth >= 1) Discover(*u, 1, false);
    }
  }

  void HandlePage(Task t, FetchResult r) {
    if (r.error != FetchError::kNone || r.status < 200 || r.status >= 300) {
      if (r.error == FetchError::kNone && r.status >= 300 && r.status < 400) return FollowPageRedirect(t, r);
      if (RetryIfWorth(t, r)) return;
      return Fail(t, ErrorKind(r), Describe(r), r.status);
    }
    ++sum_.pages;
    if (!LooksLikeHtml(r.content_type, r.body)) {
      return Fail(t, "content_type",
                  "not HTML (Content-Type: " + (r.content_type.empty() ? std::string("none") : r.content_type) + ")",
                  r.status);
    }
    std::string sha = Sha256Hex(r.body);
    if (!content_seen_.insert(sha).second) {
      ++sum_.duplicates;
      return FinishPage(t.url, UrlState::kDone, r.status, "duplicate content", sha);
    }
    auto page = HtmlPage::Parse(r.body);
    if (!page) return Fail(t, "parse", page.error().message(), r.status);
    auto self = ParseUrl(t.url, config_.crawl.urls);
    if (!self) return Fail(t, "url", self.error().message(), r.status);
    Url base = *self;
    if (std::string href = page->BaseHref(); !href.empty()) {
      if (auto b = ResolveUrl(*self, href, config_.crawl.urls)) base = *b;
    }
    if (follow_ && t.depth < config_.crawl.max_depth) {
      for (const auto& href : page->Strings(*follow_, kLinksPerPage)) {
        auto link = ResolveUrl(base, href, config_.crawl.urls);
        if (link && FollowAllowed(*link) && config_.InScope(*link)) Discover(*link, t.depth + 1, false);
      }
    }
    bool item_page = (config_.extract.item_url && config_.extract.item_url->Matches(t.url)) ||
                     (item_xpath_ && page->Test(*item_xpath_));
    if (!item_page) return FinishPage(t.url, UrlState::kDone, r.status, "", sha);

    auto pending = std::make_shared<PendingItem>();
    pending->page_url = t.url;
    pending->http_status = r.status;
    pending->content_sha256 = sha;
    pending->fetched_at = NowRfc3339();
    pending->fields = nlohmann::json::object();
    for (const auto& [name, xpath] : fields_) pending->fields[name] = page->First(xpath);

    if (project_.type == TaskType::kTextClassification) {
      std::string text = pending->fields.value(config_.extract.text, "");
      if (text.empty()) return Fail(t, "extract", "field '" + config_.extract.text + "' is empty", r.status);
      if (!IsValidUtf8(text)) return Fail(t, "extract", "field '" + config_.extract.text + "' is not UTF-8", r.status);
      ItemWrite item;
      item.bytes = std::move(text);
      item.media_type = "text/plain";
      return AddItem(*pending, std::move(item));
    }
    std::string media = pending->fields.value(config_.extract.media, "");
    if (media.empty()) return Fail(t, "extract", "field '" + config_.extract.media + "' is empty", r.status);
    auto media_url = ResolveUrl(base, media, config_.crawl.urls);
    if (!media_url) return Fail(t, "extract", "media URL: " + media_url.error().message(), r.status);
    pending->media_url = media_url->ToString();
    Task m;
    m.kind = TaskKind::kMedia;
    m.url = pending->media_url;
    m.origin = media_url->Origin();
    m.depth = t.depth;
    m.item = std::move(pending);
    GetHost(m.origin).queue.push_front(std::move(m));
  }

  bool FollowAllowed(const Url& link) const {
    if (config_.extract.follow_url.empty()) return true;
    std::string url = link.ToString();
    for (const auto& p : config_.extract.follow_url)
      if (p.Matches(url)) return true;
    return false;
  }

  void FollowPageRedirect(const Task& t, const FetchResult& r) {
    ++sum_.redirects;
    if (r.location.empty()) return Fail(t, "redirect", "HTTP " + std::to_string(r.status) + " without Location", r.status);
    if (t.redirects >= config_.crawl.max_redirects)
      return Fail(t, "redirect", "more than " + std::to_string(config_.crawl.max_redirects) + " redirects", r.status);
    auto target = ParseUrl(r.location, config_.crawl.urls);
    if (!target) return Fail(t, "redirect", "bad Location: " + target.error().message(), r.status);
    std::string url = target->ToString();
    if (!config_.InScope(*target)) return FinishPage(t.url, UrlState::kDone, r.status, "redirect out of scope to " + url);
    if (!Discover(*target, t.depth, /*front=*/true, t.redirects + 1))
      return FinishPage(t.url, UrlState::kDone, r.status, "redirect to an already seen URL " + url);
    FinishPage(t.url, UrlState::kDone, r.status, "redirect to " + url);
  }

  void HandleMedia(Task t, FetchResult r) {
    if (r.error == FetchError::kNone && r.status >= 300 && r.status < 400) {
      ++sum_.redirects;
      if (r.location.empty() || t.redirects >= config_.crawl.max_redirects)
        return Fail(t, "redirect", r.location.empty() ? "redirect without Location" : "too many redirects", r.status);
      auto next = ParseUrl(r.location, config_.crawl.urls);
      if (!next) return Fail(t, "redirect", "bad Location: " + next.error().message(), r.status);
      t.url = next->ToString();
      t.origin = next->Origin();
      ++t.redirects;
      GetHost(t.origin).queue.push_front(std::move(t));
      return;
    }
    if (r.error != FetchError::kNone || r.status < 200 || r.status >= 300) {
      if (RetryIfWorth(t, r)) return;
      return Fail(t, ErrorKind(r), Describe(r), r.status);
    }
    ++sum_.media;
    auto info = InspectImage(r.body, t.url);
    if (!info) return Fail(t, "media_type", info.error().message(), r.status);
    ItemWrite item;
    item.bytes = std::move(r.body);
    item.media_type = info->media_type;
    item.width = info->width;
    item.height = info->height;
    item.channels = info->channels;
    AddItem(*t.item, std::move(item));
  }

  void AddItem(const PendingItem& page, ItemWrite item) {
    item.id = Sha256Hex(item.bytes);
    item.source_url = page.page_url;
    item.meta = {{"source_url", page.page_url},
                 {"crawl_id", sum_.crawl_id},
                 {"fetched_at", page.fetched_at},
                 {"http_status", page.http_status},
                 {"fields", page.fields}};
    if (!page.media_url.empty()) item.meta["media_url"] = page.media_url;
    if (!config_.extract.label.empty()) {
      std::string weak = page.fields.value(config_.extract.label, "");
      if (!weak.empty()) {
        item.meta["weak_label"] = weak;
        const Label* label = project_.FindLabel(weak);
        if (label == nullptr) ++sum_.labels_unknown;
        else if (config_.extract.label_as == LabelMode::kLabel) item.label_id = label->id;
      }
    }
    std::string id = item.id;
    store_.AddItem(std::move(item));
    FinishPage(page.page_url, UrlState::kDone, page.http_status, "", page.content_sha256, id);
  }

  std::string StatusLine() const {
    uint64_t errors = 0;
    for (const auto& [k, v] : sum_.errors) errors += v;
    std::string line = WithThousands(sum_.items) + " items, queue " + WithThousands(queued_pages_) + ", errors " +
                       WithThousands(errors);
    if (errors) {
      line += " (";
      bool first = true;
      for (const auto& [k, v] : sum_.errors) {
        line += (first ? "" : ", ") + k + " " + WithThousands(v);
        first = false;
      }
      line += ")";
    }
    return line;
  }

  static constexpr size_t kMaxInFlight = 512;

  const Project& project_;
  const CrawlConfig& config_;
  const CrawlOptions& options_;
  Fetcher& fetcher_;
  FrontierStore store_;
  CrawlSummary sum_;
  std::mt19937_64 rng_;
  uint64_t max_pages_ = 0;
  std::optional<XPath> follow_, item_xpath_;
  std::vector<std::pair<std::string, XPath>> fields_;

  std::map<std::string, std::unique_ptr<Host>> hosts_;
  std::unordered_set<uint64_t> seen_;
  std::unordered_set<std::string> content_seen_;
  std::unordered_map<uint64_t, Task> in_flight_;
  std::multimap<Clock::time_point, Task> delayed_;
  int64_t next_seq_ = 0;
  uint64_t next_request_id_ = 0;
  uint64_t pages_begun_ = 0;   // page URLs started or finished (the max_pages budget)
  uint64_t queued_pages_ = 0;  // page URLs not yet finished
  int sitemaps_queued_ = 0;
  bool stopping_ = false;
};

}  // namespace

Result<CrawlSummary> RunCrawl(Workspace& ws, const Project& project, const CrawlConfig& config,
                              const std::string& config_text, const CrawlOptions& options, Fetcher* fetcher) {
  bool image = project.type == TaskType::kImageClassification;
  if (image && config.extract.media.empty())
    return Err(FailedPrecondition("project '" + project.name +
                                  "' is an image project: [extract] media must name the field holding the image URL"));
  if (!image && config.extract.text.empty())
    return Err(FailedPrecondition("project '" + project.name +
                                  "' is a text project: [extract] text must name the field holding the text"));
  std::unique_ptr<Fetcher> own;
  if (fetcher == nullptr) {
    FetcherOptions fo;
    fo.user_agent = config.crawl.user_agent;
    fo.timeout = std::chrono::seconds(config.crawl.timeout_s);
    fo.max_bytes = config.crawl.max_bytes;
    fo.allow_private = config.crawl.allow_private;
    fo.max_connections_per_host = config.crawl.concurrency_per_host;
    own = NewCurlFetcher(fo);
    fetcher = own.get();
  }
  // The frontier's writes and the new objects touch few pages at a time:
  // small page caches keep a long crawl's memory flat.
  FSML_RETURN_IF_ERROR(ws.meta().SetCacheBytes(4 << 20));
  FSML_RETURN_IF_ERROR(ws.blobs().SetCacheBytes(2 << 20));
  if (options.resume) {
    FSML_ASSIGN_OR_RETURN(auto previous, LatestUnfinishedCrawl(ws.meta(), project.id));
    if (!previous)
      return Err(NotFound("project '" + project.name + "' has no unfinished crawl to resume; run without --resume"));
    if (previous->status == "running" && previous->host == HostName() && previous->pid != ::getpid() &&
        ::kill(static_cast<pid_t>(previous->pid), 0) == 0)
      return Err(FailedPrecondition("crawl " + std::to_string(previous->id) + " is still running (pid " +
                                    std::to_string(previous->pid) + "); stop it first"));
    if (previous->config_sha256 != Sha256Hex(config_text))
      return Err(FailedPrecondition("crawl " + std::to_string(previous->id) +
                                    " ran with another config; resume it with the same crawl.toml (its text is stored: "
                                    "fsml crawls " + project.name + " --json), or start a new crawl without --resume"));
    FSML_ASSIGN_OR_RETURN(auto store, FrontierStore::Resume(ws, project, *previous));
    CrawlSummary before = CrawlSummary::FromJson(previous->stats);
    Crawl crawl(project, config, options, *fetcher, std::move(store), std::move(before));
    FSML_RETURN_IF_ERROR(crawl.Compile());
    FSML_RETURN_IF_ERROR(crawl.Load());
    return crawl.Run();
  }
  FSML_ASSIGN_OR_RETURN(auto store, FrontierStore::Create(ws, project, config_text));
  Crawl crawl(project, config, options, *fetcher, std::move(store), CrawlSummary{});
  FSML_RETURN_IF_ERROR(crawl.Compile());
  crawl.Seed();
  return crawl.Run();
}

}  // namespace fsml::crawl
