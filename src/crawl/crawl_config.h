// crawl.toml: what to crawl, how politely, and what to extract.
//
// Every key is documented in docs/crawl.md. Unknown sections and keys are
// errors, as are invalid regular expressions and XPath expressions: each
// message names the file and the line.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crawl/url.h"

namespace re2 {
class RE2;
}

namespace fsml::crawl {

// A regular expression with the text it was compiled from: RE2 syntax,
// matched anywhere in the URL. RE2 runs in time linear in the URL, so no
// pattern can be made to backtrack for ever on a hostile URL.
struct UrlPattern {
  std::string text;
  std::shared_ptr<const re2::RE2> regex;  // shared: patterns are immutable once compiled
  bool Matches(std::string_view url) const;
};

struct CrawlSettings {
  std::vector<std::string> seeds;         // absolute http(s) URLs, normalized
  std::vector<UrlPattern> allow;          // empty: the seeds' origins
  std::vector<UrlPattern> deny;
  int max_depth = 10;                     // links from a seed: depth 1
  uint64_t max_pages = 100000;
  bool max_pages_set = false;             // written in the file (bounds the ETA)
  int concurrency_per_host = 8;
  int delay_ms = 250;                     // per host, between request starts
  bool respect_robots = true;
  bool sitemaps = true;                   // read robots.txt's Sitemap lines, else /sitemap.xml
  bool allow_private = false;
  int timeout_s = 30;
  uint64_t max_bytes = 10 << 20;
  int retries = 3;                        // after the first try, for timeouts, resets, 429 and 5xx
  int max_redirects = 10;
  UrlOptions urls;                        // sort_query
  std::string user_agent = "fsml-crawler/0.1";
};

enum class LabelMode { kSuggestion, kLabel };

struct ExtractSettings {
  std::optional<UrlPattern> item_url;     // item pages: URL matches...
  std::string item_xpath;                 // ...or this XPath selects something
  std::string follow = "//a/@href";       // links to follow
  std::vector<UrlPattern> follow_url;     // and only those matching one of these (empty: all)
  std::string media;                      // field whose URL becomes the item's bytes (image projects)
  std::string text;                       // field whose text becomes the item (text projects)
  std::string label;                      // field holding a weak label
  LabelMode label_as = LabelMode::kSuggestion;
  std::map<std::string, std::string> fields;  // name -> XPath
};

struct CrawlConfig {
  CrawlSettings crawl;
  ExtractSettings extract;
  // True when `url` passes allow/deny (deny wins); with no allow patterns,
  // when it is on a seed's origin.
  bool InScope(const Url& url) const;
  // The same for a URL in text (false when it does not parse).
  bool InScope(std::string_view url) const;
  // The seeds' origins ("https://shop.example"), when allow is empty.
  std::vector<std::string> seed_origins;
};

// Parses crawl.toml text; `source_name` (the file name) prefixes messages:
// "crawl.toml: line 12: [extract.fields] title: invalid XPath '//h1['".
Result<CrawlConfig> ParseCrawlConfig(std::string_view toml_text, std::string_view source_name);

}  // namespace fsml::crawl
