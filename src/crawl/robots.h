// robots.txt (RFC 9309): which targets of a host the crawler may fetch.
//
// A RobotsRules is immutable once made: thread-safe to share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fsml::crawl {

// The bytes of a robots.txt that are read; the rest is ignored (RFC 9309
// §2.5 asks for at least 500 KiB).
inline constexpr size_t kMaxRobotsBytes = 500 * 1024;

class RobotsRules {
 public:
  // Parses robots.txt for `user_agent` (the crawler's full UA string; its
  // product token is the part before the first '/' or space, matched
  // case-insensitively against the first word of User-agent lines). The
  // group(s) naming the token apply, else the '*' group(s); consecutive
  // User-agent lines share a group; several groups for the same agent are
  // merged; rules before the first User-agent line belong to no group.
  // Allow/Disallow patterns with '*' (any run of bytes) and a final '$' (end
  // of target); the longest matching pattern wins, Allow wins a tie; an empty
  // Allow or Disallow is ignored (an empty Disallow allows all).
  // Crawl-delay (seconds, decimals allowed, >= 0) of the applying group(s),
  // the first valid one. Sitemap lines of any group whose value ParseUrl
  // accepts, in normal form, first occurrence kept. Unknown lines, comments,
  // a UTF-8 BOM, CR, LF and CRLF line ends are handled; only the first
  // kMaxRobotsBytes are parsed. Never fails: any bytes give some rules.
  static RobotsRules Parse(std::string_view text, std::string_view user_agent);
  static RobotsRules AllowAll();     // robots.txt missing (4xx)
  static RobotsRules DisallowAll();  // robots.txt unreachable (5xx, network) per RFC 9309

  // Whether the rules let the crawler fetch `target` (path + query as in
  // Url::target). "/robots.txt" is always allowed. Patterns and target are
  // compared with percent-encoding normalized the same way on both sides
  // (RFC 9309 §2.2.2): escapes of unreserved characters decoded, hex
  // uppercased, non-ASCII bytes escaped; a '*' or '$' in the target matches
  // "%2A" or "%24" in a pattern. Time linear in the target's length per
  // rule, whatever the patterns.
  bool Allowed(std::string_view target) const;

  std::optional<double> crawl_delay_seconds() const { return crawl_delay_seconds_; }
  const std::vector<std::string>& sitemaps() const { return sitemaps_; }

 private:
  // One Allow or Disallow line, compiled.
  struct Rule {
    bool allow = false;
    bool anchored = false;                       // the pattern ended in '$'
    size_t priority = 0;                         // the normalized pattern's length, '*' and '$' included
    std::vector<std::string> segments;           // the pattern split at '*', runs of '*' as one; never empty
    std::vector<std::vector<uint32_t>> failure;  // the KMP failure table of each segment
  };
  static Rule Compile(bool allow, std::string_view pattern);
  static bool Matches(const Rule& rule, std::string_view target);

  std::vector<Rule> rules_;  // by priority, highest first; Allow before Disallow on a tie
  std::optional<double> crawl_delay_seconds_;
  std::vector<std::string> sitemaps_;
};

}  // namespace fsml::crawl
