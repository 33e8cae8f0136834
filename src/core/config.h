// Workspace configuration: fsml.toml plus FSML_<SECTION>_<KEY> overrides.
//
// Every key fsml knows is listed in one table (config.cc) with its default.
// Precedence, highest first: environment variable, fsml.toml, default.
// Unknown sections or keys in fsml.toml are errors (typos must not pass
// silently); the environment may hold unrelated FSML_* variables.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fsml {

struct ConfigKey {
  const char* section;
  const char* key;
  const char* default_value;
  const char* help;
};

// A URL with any password replaced by "***" (scheme://user:***@host...),
// for messages and logs; other URLs unchanged.
std::string MaskUrl(std::string_view url);

// All known keys, in documentation order.
const std::vector<ConfigKey>& KnownConfigKeys();

class Config {
 public:
  // Defaults, then the environment.
  static Config Defaults();
  // Parses TOML text (`source_name` appears in errors), then applies the
  // environment unless `apply_environment` is false (a config that describes
  // another place, such as the target of `fsml store copy`).
  static Result<Config> Parse(std::string_view toml_text, std::string_view source_name,
                              bool apply_environment = true);
  static Result<Config> Load(const std::string& path, bool apply_environment = true);

  // "store.meta" style key. REQUIRES: the key is in KnownConfigKeys().
  const std::string& Get(std::string_view dotted_key) const;
  // The value as a whole number: InvalidArgument "KEY 'VALUE' is not a
  // whole number" otherwise. REQUIRES: the key is in KnownConfigKeys().
  Result<int64_t> GetInt(std::string_view dotted_key) const;
  // Where the value came from: "default", the file's path, or "env FSML_STORE_META".
  const std::string& Origin(std::string_view dotted_key) const;
  const std::map<std::string, std::string>& values() const { return values_; }

  // The default fsml.toml written by `fsml init`, with every key commented;
  // `values` (dotted key -> string) replace defaults.
  static std::string DefaultToml(const std::map<std::string, std::string>& values = {});

 private:
  void ApplyEnvironment();
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> origins_;
};

}  // namespace fsml
