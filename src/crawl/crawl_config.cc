#include "crawl/crawl_config.h"

#include <re2/re2.h>
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <set>

#include "crawl/extract.h"
#include "crawl/url.h"

namespace fsml::crawl {
namespace {

// Reads one section's keys with a handler per key; unknown keys are errors.
class SectionReader {
 public:
  SectionReader(std::string_view source, std::string section) : source_(source), section_(std::move(section)) {}

  std::string At(const toml::node& node) const {
    return std::string(source_) + ": line " + std::to_string(node.source().begin.line) + ": ";
  }
  Status Error(const toml::node& node, const std::string& key, const std::string& what) const {
    return InvalidArgument(At(node) + "[" + section_ + "] " + key + ": " + what);
  }

  Result<std::string> String(const toml::node& node, const std::string& key) const {
    if (auto s = node.value_exact<std::string>()) return *s;
    return Err(Error(node, key, "must be a string"));
  }
  Result<bool> Bool(const toml::node& node, const std::string& key) const {
    if (auto b = node.value_exact<bool>()) return *b;
    return Err(Error(node, key, "must be true or false"));
  }
  Result<int64_t> Int(const toml::node& node, const std::string& key, int64_t min, int64_t max) const {
    auto i = node.value_exact<int64_t>();
    if (!i) return Err(Error(node, key, "must be a whole number"));
    if (*i < min || *i > max)
      return Err(Error(node, key, std::to_string(*i) + " is out of range [" + std::to_string(min) + ", " +
                                      std::to_string(max) + "]"));
    return *i;
  }
  Result<std::vector<std::string>> Strings(const toml::node& node, const std::string& key) const {
    const toml::array* array = node.as_array();
    if (array == nullptr) return Err(Error(node, key, "must be an array of strings"));
    std::vector<std::string> out;
    for (const toml::node& e : *array) {
      auto s = e.value_exact<std::string>();
      if (!s) return Err(Error(e, key, "must be an array of strings"));
      out.push_back(*s);
    }
    return out;
  }
  Result<UrlPattern> Pattern(const toml::node& node, const std::string& key, const std::string& text) const {
    if (text.empty()) return Err(Error(node, key, "empty regular expression"));
    RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_shared<const RE2>(text, options);
    if (!regex->ok()) return Err(Error(node, key, "invalid regular expression '" + text + "': " + regex->error()));
    return UrlPattern{text, std::move(regex)};
  }
  Result<std::vector<UrlPattern>> Patterns(const toml::node& node, const std::string& key) const {
    FSML_ASSIGN_OR_RETURN(auto texts, Strings(node, key));
    std::vector<UrlPattern> out;
    for (const auto& t : texts) {
      FSML_ASSIGN_OR_RETURN(auto p, Pattern(node, key, t));
      out.push_back(std::move(p));
    }
    return out;
  }
  Result<std::string> XPathText(const toml::node& node, const std::string& key) const {
    FSML_ASSIGN_OR_RETURN(std::string text, String(node, key));
    auto compiled = XPath::Compile(text);
    if (!compiled) return Err(Error(node, key, compiled.error().message()));
    return text;
  }

 private:
  std::string_view source_;
  std::string section_;
};

Status ReadCrawl(const toml::table& table, std::string_view source, CrawlSettings& c) {
  SectionReader r(source, "crawl");
  std::vector<std::string> seeds;
  const toml::node* seeds_node = nullptr;
  for (const auto& [k, node] : table) {
    std::string key(k.str());
    if (key == "seeds") {
      seeds_node = &node;
      FSML_ASSIGN_OR_RETURN(seeds, r.Strings(node, key));
    } else if (key == "sort_query") {
      FSML_ASSIGN_OR_RETURN(c.urls.sort_query, r.Bool(node, key));
    } else if (key == "allow") {
      FSML_ASSIGN_OR_RETURN(c.allow, r.Patterns(node, key));
    } else if (key == "deny") {
      FSML_ASSIGN_OR_RETURN(c.deny, r.Patterns(node, key));
    } else if (key == "max_depth") {
      FSML_ASSIGN_OR_RETURN(auto v, r.Int(node, key, 0, 1000));
      c.max_depth = static_cast<int>(v);
    } else if (key == "max_pages") {
      FSML_ASSIGN_OR_RETURN(auto v, r.Int(node, key, 1, int64_t{1} << 40));
      c.max_pages = static_cast<uint64_t>(v);
      c.max_pages_set = true;
    } else if (key == "concurrency_per_host") {
      FSML_ASSIGN_OR_RETURN(auto v, r.Int(node, key, 1, 256));
      c.concurrency_per_host = static_cast<int>(v);
    } else if (key == "delay_ms") {
      FSML_ASSIGN_OR_RETURN(auto v, r.Int(node, key, 0, 3600000));
      c.delay_ms = static_cast<int>(v);
    } else if (key == "respect_robots") {
      FSML_ASSIGN_OR_RETURN(c.respect_robots, r.Bool(node, key));
    } else if (key == "sitemaps") {
      FSML_ASSIGN_OR_RETURN(c.sitemaps, r.Bool(node, key));
    } else if (key == "allow_private") {
      FSML_ASSIGN_OR_RETURN(c.allow_private, r.Bool(node, key));
    } else if (key == "timeout_s") {
      FSML_ASSIGN_OR_RETURN(auto v, r.Int(node, key, 1, 3600));
      c.timeout_s = static_cast<int>(v);
    } else if (key == "max_bytes") {
      FSML_ASSIGN_OR_RETURN(auto v, r.Int(node, key, 1024, int64_t{1} << 30));
      c.max_bytes = static_cast<uint64_t>(v);
    } else if (key == "retries") {
      FSML_ASSIGN_OR_RETURN(auto v, r.Int(node, key, 0, 20));
      c.retries = static_cast<int>(v);
    } else if (key == "max_redirects") {
      FSML_ASSIGN_OR_RETURN(auto v, r.Int(node, key, 0, 50));
      c.max_redirects = static_cast<int>(v);
    } else if (key == "user_agent") {
      FSML_ASSIGN_OR_RETURN(c.user_agent, r.String(node, key));
      if (c.user_agent.empty() || c.user_agent.size() > 512 ||
          c.user_agent.find_first_of("\r\n") != std::string::npos)
        return r.Error(node, key, "must be 1-512 characters on one line");
    } else {
      return InvalidArgument(r.At(node) + "unknown key '" + key + "' in [crawl] (see docs/crawl.md)");
    }
  }
  // Normalized once every key is read: sort_query may come after seeds.
  for (const auto& s : seeds) {
    auto url = ParseUrl(s, c.urls);
    if (!url) return r.Error(*seeds_node, "seeds", url.error().message());
    c.seeds.push_back(url->ToString());
  }
  return Status::Ok();
}

Status ReadExtract(const toml::table& table, std::string_view source, ExtractSettings& e) {
  SectionReader r(source, "extract");
  for (const auto& [k, node] : table) {
    std::string key(k.str());
    if (key == "item_url") {
      FSML_ASSIGN_OR_RETURN(auto text, r.String(node, key));
      FSML_ASSIGN_OR_RETURN(e.item_url, r.Pattern(node, key, text));
    } else if (key == "item_xpath") {
      FSML_ASSIGN_OR_RETURN(e.item_xpath, r.XPathText(node, key));
    } else if (key == "follow") {
      FSML_ASSIGN_OR_RETURN(e.follow, r.XPathText(node, key));
    } else if (key == "follow_url") {
      FSML_ASSIGN_OR_RETURN(e.follow_url, r.Patterns(node, key));
    } else if (key == "media") {
      FSML_ASSIGN_OR_RETURN(e.media, r.String(node, key));
    } else if (key == "text") {
      FSML_ASSIGN_OR_RETURN(e.text, r.String(node, key));
    } else if (key == "label") {
      FSML_ASSIGN_OR_RETURN(e.label, r.String(node, key));
    } else if (key == "label_as") {
      FSML_ASSIGN_OR_RETURN(auto v, r.String(node, key));
      if (v == "suggestion") e.label_as = LabelMode::kSuggestion;
      else if (v == "label") e.label_as = LabelMode::kLabel;
      else return r.Error(node, key, "must be \"suggestion\" or \"label\", not '" + v + "'");
    } else if (key == "fields") {
      const toml::table* fields = node.as_table();
      if (fields == nullptr) return r.Error(node, key, "must be a table: [extract.fields]");
      SectionReader fr(source, "extract.fields");
      for (const auto& [fk, fnode] : *fields) {
        std::string name(fk.str());
        if (name.empty() || name.size() > 64) return fr.Error(fnode, name, "field names are 1-64 characters");
        FSML_ASSIGN_OR_RETURN(auto xpath, fr.XPathText(fnode, name));
        e.fields[name] = xpath;
      }
    } else {
      return InvalidArgument(r.At(node) + "unknown key '" + key + "' in [extract] (see docs/crawl.md)");
    }
  }
  // Fields the other keys name must exist.
  for (const auto& [key, field] : {std::pair<const char*, const std::string&>{"media", e.media},
                                   {"text", e.text},
                                   {"label", e.label}}) {
    if (!field.empty() && !e.fields.count(field))
      return InvalidArgument(std::string(source) + ": [extract] " + key + " = \"" + field +
                             "\" names no field of [extract.fields]");
  }
  if (!e.item_url && e.item_xpath.empty())
    return InvalidArgument(std::string(source) + ": [extract] needs item_url (a URL regex) or item_xpath: "
                           "which pages are item pages");
  if (e.media.empty() && e.text.empty())
    return InvalidArgument(std::string(source) + ": [extract] needs media (image projects) or text (text projects): "
                           "the field that becomes the item");
  return Status::Ok();
}

}  // namespace

bool UrlPattern::Matches(std::string_view url) const { return RE2::PartialMatch(url, *regex); }

bool CrawlConfig::InScope(const Url& url) const {
  if (!crawl.deny.empty() || !crawl.allow.empty()) {
    std::string text = url.ToString();
    for (const auto& p : crawl.deny)
      if (p.Matches(text)) return false;
    if (!crawl.allow.empty()) {
      for (const auto& p : crawl.allow)
        if (p.Matches(text)) return true;
      return false;
    }
  }
  std::string origin = url.Origin();
  return std::find(seed_origins.begin(), seed_origins.end(), origin) != seed_origins.end();
}

bool CrawlConfig::InScope(std::string_view url) const {
  auto parsed = ParseUrl(url, crawl.urls);
  return parsed && InScope(*parsed);
}

Result<CrawlConfig> ParseCrawlConfig(std::string_view toml_text, std::string_view source_name) {
  if (toml_text.size() > (1 << 20)) return Err(InvalidArgument(std::string(source_name) + ": larger than 1 MiB"));
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {  // the library reports syntax errors by exception
    return Err(InvalidArgument(std::string(source_name) + ": line " + std::to_string(e.source().begin.line) + ": " +
                               std::string(e.description())));
  }
  CrawlConfig config;
  bool have_crawl = false, have_extract = false;
  for (const auto& [k, node] : root) {
    std::string section(k.str());
    const toml::table* table = node.as_table();
    std::string at = std::string(source_name) + ": line " + std::to_string(node.source().begin.line) + ": ";
    if (table == nullptr || (section != "crawl" && section != "extract"))
      return Err(InvalidArgument(at + "unknown section or key '" + section + "' (sections: [crawl], [extract])"));
    if (section == "crawl") {
      FSML_RETURN_IF_ERROR(ReadCrawl(*table, source_name, config.crawl));
      have_crawl = true;
    } else {
      FSML_RETURN_IF_ERROR(ReadExtract(*table, source_name, config.extract));
      have_extract = true;
    }
  }
  if (!have_crawl || config.crawl.seeds.empty())
    return Err(InvalidArgument(std::string(source_name) + ": [crawl] seeds is missing or empty"));
  if (!have_extract) return Err(InvalidArgument(std::string(source_name) + ": the [extract] section is missing"));
  std::set<std::string> origins;
  for (const auto& s : config.crawl.seeds) origins.insert(ParseUrl(s, config.crawl.urls)->Origin());  // seeds parsed above
  config.seed_origins.assign(origins.begin(), origins.end());
  return config;
}

}  // namespace fsml::crawl
