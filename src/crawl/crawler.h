// The crawl engine: turns a site into project items.
//
// One thread runs an event loop over a Fetcher (libcurl multi): per-origin
// politeness queues (concurrency and delay, robots.txt's Crawl-delay),
// robots.txt before any other request to an origin, sitemap discovery,
// retries with exponential backoff (Retry-After honored), redirects followed
// hop by hop through the URL rules and the SSRF guard, HTML parsed and
// fields extracted by XPath, media fetched as the item's bytes, content
// deduplicated by SHA-256. The frontier lives in the MetaStore (frontier.h),
// so a crawl killed at any point resumes where its last flush left it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "crawl/crawl_config.h"
#include "crawl/fetcher.h"
#include "data/project.h"
#include "data/workspace.h"

namespace fsml::crawl {

struct CrawlOptions {
  // Continue the project's newest unfinished crawl instead of starting one.
  bool resume = false;
  // Replaces [crawl] max_pages (a resumed crawl counts the pages it did).
  std::optional<uint64_t> max_pages;
  // Polled by the loop; true stops the crawl gracefully (status "interrupted").
  std::function<bool()> should_stop;
  // Flush the frontier at least this often (and every 2,000 writes).
  int flush_interval_ms = 250;
};

// Totals of a crawl; for a resumed crawl, of all its sessions together.
struct CrawlSummary {
  int64_t crawl_id = 0;
  std::string status;          // finished | limited | interrupted | failed
  uint64_t pages = 0;          // HTML pages fetched with a 2xx answer
  uint64_t items = 0;          // items added to the project
  uint64_t items_present = 0;  // item pages whose bytes the project already held
  uint64_t duplicates = 0;     // pages with the same content as an earlier one
  uint64_t media = 0;          // media files fetched
  uint64_t requests = 0;       // every request: robots.txt, sitemaps, pages, media, retries
  uint64_t retries = 0;
  uint64_t bytes = 0;          // body bytes received (decoded)
  uint64_t disallowed = 0;     // URLs robots.txt disallows, never requested
  uint64_t redirects = 0;
  uint64_t queued = 0;         // URLs left in the frontier
  uint64_t labels_unknown = 0; // weak labels that name no project label
  std::map<std::string, uint64_t> errors;    // final failures by kind ("http_4xx", "timeout", ...)
  std::map<std::string, uint64_t> statuses;  // HTTP status -> answers
  double seconds = 0;
  nlohmann::json ToJson() const;
  static CrawlSummary FromJson(const nlohmann::json& j);
};

// Runs (or resumes) a crawl of `config` into `project`. `config_text` is the
// crawl.toml text, stored with the crawl. `fetcher` null: libcurl.
// Errors: NotFound when resume finds no unfinished crawl; FailedPrecondition
// when the project's task type does not match [extract] (media for image
// projects, text for text projects) or the resumed crawl ran another config;
// store errors end the crawl with its frontier intact.
Result<CrawlSummary> RunCrawl(Workspace& ws, const Project& project, const CrawlConfig& config,
                              const std::string& config_text, const CrawlOptions& options,
                              Fetcher* fetcher = nullptr);

}  // namespace fsml::crawl
