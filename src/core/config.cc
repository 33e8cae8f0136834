#include "core/config.h"

#include <cstdlib>
#include <sstream>

#include <toml++/toml.h>

#include "core/fs.h"

namespace fsml {

std::string MaskUrl(std::string_view url) {
  std::string u(url);
  size_t scheme = u.find("://");
  size_t at = u.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return u;
  size_t colon = u.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return u;
  return u.substr(0, colon + 1) + "***" + u.substr(at);
}

const std::vector<ConfigKey>& KnownConfigKeys() {
  static const std::vector<ConfigKey> keys = {
      {"store", "meta", "sqlite://.fsml/meta.db",
       "metadata database: sqlite://PATH (relative to the workspace) or postgresql://USER@HOST:PORT/DB"},
      {"store", "blobs", "file://.fsml/objects",
       "object store: file://PATH (local) or s3://BUCKET/PREFIX?endpoint=URL&region=R (S3-compatible)"},
      {"store", "small_object_bytes", "131072",
       "objects up to this size are packed in the store's database; larger ones are files"},
      {"store", "s3_access_key_id", "",
       "S3 credentials (default: AWS_ACCESS_KEY_ID..., then ~/.aws/credentials); prefer the environment for secrets"},
      {"store", "s3_secret_access_key", "", "S3 secret key (never printed)"},
      {"store", "s3_session_token", "", "S3 session token, for temporary credentials"},
      {"queue", "url", "embedded", "job queue: embedded (in the metadata database) or amqp://user:pass@host:port/vhost (RabbitMQ)"},
      {"queue", "max_attempts", "5", "deliveries of a job before it is dead-lettered"},
      {"server", "listen", "127.0.0.1:8080", "address the server listens on"},
      {"server", "workers", "1", "job workers inside the server process (fsml worker runs more elsewhere)"},
      {"server", "max_batch", "32", "dynamic batching: most requests per forward pass (per model: fsml models serving)"},
      {"server", "max_delay_ms", "2", "dynamic batching: longest wait for a batch to fill"},
      {"server", "max_body_bytes", "33554432", "largest request body accepted"},
      {"log", "level", "info", "log level: debug, info, warn, error"},
      {"user", "name", "", "author recorded on annotations and versions (default: $USER)"},
  };
  return keys;
}

static std::string Dotted(const ConfigKey& k) { return std::string(k.section) + "." + k.key; }

static std::string EnvName(const ConfigKey& k) {
  std::string name = "FSML_";
  for (const char* p : {k.section, "_", k.key})
    for (const char* c = p; *c; ++c) name.push_back(static_cast<char>(std::toupper(*c)));
  return name;
}

Config Config::Defaults() {
  Config c;
  for (const auto& k : KnownConfigKeys()) {
    c.values_[Dotted(k)] = k.default_value;
    c.origins_[Dotted(k)] = "default";
  }
  c.ApplyEnvironment();
  return c;
}

void Config::ApplyEnvironment() {
  for (const auto& k : KnownConfigKeys()) {
    std::string env = EnvName(k);
    if (const char* v = std::getenv(env.c_str())) {
      values_[Dotted(k)] = v;
      origins_[Dotted(k)] = "env " + env;
    }
  }
}

Result<Config> Config::Parse(std::string_view toml_text, std::string_view source_name, bool apply_environment) {
  Config c;
  for (const auto& k : KnownConfigKeys()) {
    c.values_[Dotted(k)] = k.default_value;
    c.origins_[Dotted(k)] = "default";
  }
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {  // the library reports syntax errors by exception
    return Err(InvalidArgument(std::string(source_name) + ": line " +
                               std::to_string(e.source().begin.line) + ": " +
                               std::string(e.description())));
  }
  for (const auto& [section_key, section_node] : root) {
    std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    bool known_section = false;
    for (const auto& k : KnownConfigKeys()) known_section |= section == k.section;
    if (!known_section || table == nullptr) {
      return Err(InvalidArgument(std::string(source_name) + ": line " +
                                 std::to_string(section_node.source().begin.line) +
                                 ": unknown section [" + section + "]"));
    }
    for (const auto& [key_key, node] : *table) {
      std::string dotted = section + "." + std::string(key_key.str());
      if (!c.values_.count(dotted)) {
        return Err(InvalidArgument(std::string(source_name) + ": line " +
                                   std::to_string(node.source().begin.line) + ": unknown key '" +
                                   std::string(key_key.str()) + "' in [" + section + "]"));
      }
      // value_exact: value<int64_t>() would also accept a boolean (as 0 or 1)
      // and a whole float.
      std::string value;
      if (auto s = node.value_exact<std::string>()) value = *s;
      else if (auto i = node.value_exact<int64_t>()) value = std::to_string(*i);
      else if (auto b = node.value_exact<bool>()) value = *b ? "true" : "false";
      else {
        return Err(InvalidArgument(std::string(source_name) + ": line " +
                                   std::to_string(node.source().begin.line) + ": '" + dotted +
                                   "' must be a string, integer or boolean"));
      }
      c.values_[dotted] = value;
      c.origins_[dotted] = std::string(source_name);
    }
  }
  if (apply_environment) c.ApplyEnvironment();
  return c;
}

Result<Config> Config::Load(const std::string& path, bool apply_environment) {
  FSML_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1 << 20));
  return Parse(text, path, apply_environment);
}

const std::string& Config::Get(std::string_view dotted_key) const {
  auto it = values_.find(std::string(dotted_key));
  FSML_DCHECK(it != values_.end());  // callers name keys from KnownConfigKeys()
  return it->second;
}

Result<int64_t> Config::GetInt(std::string_view dotted_key) const {
  const std::string& v = Get(dotted_key);
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used == v.size()) return n;
  } catch (...) {
  }
  return Err(InvalidArgument(std::string(dotted_key) + " '" + v + "' is not a whole number"));
}

const std::string& Config::Origin(std::string_view dotted_key) const {
  auto it = origins_.find(std::string(dotted_key));
  FSML_DCHECK(it != origins_.end());
  return it->second;
}

std::string Config::DefaultToml(const std::map<std::string, std::string>& values) {
  std::ostringstream out;
  out << "# fsml workspace configuration. Every key can be overridden by an\n"
         "# environment variable FSML_<SECTION>_<KEY>, e.g. FSML_STORE_META.\n";
  std::string section;
  for (const auto& k : KnownConfigKeys()) {
    if (section != k.section) {
      section = k.section;
      out << "\n[" << section << "]\n";
    }
    out << "# " << k.help << "\n";
    auto given = values.find(Dotted(k));
    if (given != values.end()) {
      out << k.key << " = " << toml::value<std::string>(given->second) << "\n";
      continue;
    }
    bool is_number = !std::string(k.default_value).empty() &&
                     std::string(k.default_value).find_first_not_of("0123456789") == std::string::npos;
    if (is_number) out << k.key << " = " << k.default_value << "\n";
    else out << k.key << " = \"" << k.default_value << "\"\n";
  }
  return out.str();
}

}  // namespace fsml
