// robots.txt parsing and matching (RFC 9309). Patterns are split at '*' and
// matched segment by segment, each at its leftmost place (KMP), which is
// exact for patterns whose only wildcard is '*' and needs no backtracking.
#include "crawl/robots.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/text.h"
#include "crawl/url.h"

namespace fsml::crawl {
namespace {

// The percent-normal form of a target or a pattern: the same as a Url's
// target, except that a '%' which starts no escape becomes "%25" instead of
// an error, and that the bytes in `escape` are escaped too.
std::string NormalizeEscapes(std::string_view s, std::string_view escape) {
  return *NormalizePercentEscapes(s, {.question_mark = true, .also_escape = escape, .lenient = true});
}

// A target as patterns see it: '*' and '$' are literal there, so they match a
// pattern's "%2A" and "%24" (RFC 9309 §2.2.3).
std::string NormalizeTarget(std::string_view target) {
  bool rooted = !target.empty() && target.front() == '/';
  return (rooted ? "" : "/") + NormalizeEscapes(target, "*$");
}

// The KMP failure table of `p`: f[i] is the length of the longest proper
// prefix of p[0..i] that is also its suffix.
std::vector<uint32_t> FailureTable(std::string_view p) {
  std::vector<uint32_t> f(p.size(), 0);
  uint32_t k = 0;
  for (size_t i = 1; i < p.size(); ++i) {
    while (k > 0 && p[i] != p[k]) k = f[k - 1];
    if (p[i] == p[k]) ++k;
    f[i] = k;
  }
  return f;
}

// The first place at or after `pos` where `p` (with failure table `f`)
// occurs in `t`; npos when none. O(t.size() - pos + p.size()).
size_t Find(std::string_view t, size_t pos, std::string_view p, const std::vector<uint32_t>& f) {
  if (p.empty()) return pos;
  size_t k = 0;
  for (size_t i = pos; i < t.size(); ++i) {
    while (k > 0 && t[i] != p[k]) k = f[k - 1];
    if (t[i] == p[k]) ++k;
    if (k == p.size()) return i + 1 - p.size();
  }
  return std::string_view::npos;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The first word of a User-agent value or of the crawler's UA string,
// lowercased: "Googlebot/2.1 (+http://...)" -> "googlebot".
std::string ProductToken(std::string_view s) {
  s = TrimSpace(s);
  return AsciiLower(s.substr(0, s.find_first_of("/ \t")));
}

std::optional<double> ParseDelay(std::string_view value) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds, std::chars_format::fixed);
  if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(seconds) || seconds < 0)
    return std::nullopt;
  return seconds;
}

}  // namespace

RobotsRules::Rule RobotsRules::Compile(bool allow, std::string_view pattern) {
  Rule rule;
  rule.allow = allow;
  // A final '$' anchors; one anywhere else is a literal.
  rule.anchored = !pattern.empty() && pattern.back() == '$';
  if (rule.anchored) pattern.remove_suffix(1);
  std::string normal = NormalizeEscapes(pattern, "$");
  rule.priority = normal.size() + (rule.anchored ? 1 : 0);
  size_t start = 0;
  while (true) {
    size_t star = normal.find('*', start);
    std::string_view segment = std::string_view(normal).substr(start, star == std::string::npos ? star : star - start);
    // Runs of '*' are one: drop the empty segments between them.
    if (!segment.empty() || rule.segments.empty() || star == std::string::npos) rule.segments.emplace_back(segment);
    if (star == std::string::npos) break;
    start = star + 1;
  }
  for (const std::string& s : rule.segments) rule.failure.push_back(FailureTable(s));
  return rule;
}

bool RobotsRules::Matches(const Rule& rule, std::string_view t) {
  const std::vector<std::string>& s = rule.segments;
  if (s.size() == 1) return rule.anchored ? t == s[0] : StartsWith(t, s[0]);
  if (!StartsWith(t, s[0])) return false;
  // Each middle segment at its leftmost place leaves the most room for the rest.
  size_t pos = s[0].size();
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    size_t at = Find(t, pos, s[i], rule.failure[i]);
    if (at == std::string_view::npos) return false;
    pos = at + s[i].size();
  }
  const std::string& last = s.back();
  if (rule.anchored) return t.size() - pos >= last.size() && t.substr(t.size() - last.size()) == last;
  return Find(t, pos, last, rule.failure.back()) != std::string_view::npos;
}

RobotsRules RobotsRules::Parse(std::string_view text, std::string_view user_agent) {
  text = text.substr(0, kMaxRobotsBytes);
  if (StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::string token = ProductToken(user_agent);

  // Rules of the groups naming the token and of the '*' groups; the
  // group being read names the token and/or '*'.
  struct Side {
    bool named = false;
    std::vector<Rule> rules;
    std::optional<double> delay;
  } mine, star;
  bool in_agent_lines = false;  // the last group line was a User-agent
  bool group_mine = false, group_star = false;
  RobotsRules out;
  std::unordered_set<std::string> sitemaps_seen;

  while (!text.empty()) {
    size_t end = text.find_first_of("\r\n");
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    line = line.substr(0, line.find('#'));
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key = AsciiLower(TrimSpace(line.substr(0, colon)));
    std::string_view value = TrimSpace(line.substr(colon + 1));

    if (key == "user-agent") {
      if (!in_agent_lines) group_mine = group_star = false;
      in_agent_lines = true;
      std::string name = ProductToken(value);
      if (name == "*") {
        group_star = true;
      } else if (!token.empty() && name == token) {
        group_mine = mine.named = true;
      }
    } else if (key == "allow" || key == "disallow") {
      in_agent_lines = false;
      if (value.empty() || (!group_mine && !group_star)) continue;
      Rule rule = Compile(key == "allow", value);
      if (group_mine && group_star) mine.rules.push_back(rule);
      (group_star ? star : mine).rules.push_back(std::move(rule));
    } else if (key == "crawl-delay") {
      in_agent_lines = false;
      std::optional<double> delay = ParseDelay(value);
      if (!delay) continue;
      if (group_mine && !mine.delay) mine.delay = delay;
      if (group_star && !star.delay) star.delay = delay;
    } else if (key == "sitemap") {
      Result<Url> url = ParseUrl(value);
      if (url && sitemaps_seen.insert(url->ToString()).second) out.sitemaps_.push_back(url->ToString());
    }
  }

  Side& applying = mine.named ? mine : star;
  out.rules_ = std::move(applying.rules);
  out.crawl_delay_seconds_ = applying.delay;
  std::stable_sort(out.rules_.begin(), out.rules_.end(), [](const Rule& a, const Rule& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.allow && !b.allow;
  });
  return out;
}

RobotsRules RobotsRules::AllowAll() { return RobotsRules(); }

RobotsRules RobotsRules::DisallowAll() {
  RobotsRules out;
  out.rules_.push_back(Compile(false, "/"));
  return out;
}

bool RobotsRules::Allowed(std::string_view target) const {
  if (rules_.empty()) return true;
  std::string t = NormalizeTarget(target);
  if (std::string_view(t).substr(0, t.find('?')) == "/robots.txt") return true;
  for (const Rule& rule : rules_)
    if (Matches(rule, t)) return rule.allow;
  return true;
}

}  // namespace fsml::crawl
