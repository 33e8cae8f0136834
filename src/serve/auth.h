// API tokens: bearer credentials for scripts and services.
//
// A token is "fsml_" + 40 random hex characters, shown once at creation;
// the MetaStore keeps only its SHA-256 (tokens are random, so a slow hash
// adds nothing). Verification caches good tokens for `cache_ttl`, so a
// revoked token stops working within that time.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/meta_store.h"

namespace fsml {

struct ApiToken {
  std::string name, created_at, created_by, last_used_at;
};

// Creates token `name` (1-64 of [A-Za-z0-9._-]) and returns its secret.
// AlreadyExists when the name is taken.
Result<std::string> CreateApiToken(MetaStore& meta, const std::string& name, const std::string& created_by);
Result<std::vector<ApiToken>> ListApiTokens(MetaStore& meta);
// NotFound when there is no such token.
Status RevokeApiToken(MetaStore& meta, const std::string& name);

class TokenVerifier {
 public:
  explicit TokenVerifier(MetaStore& meta, std::chrono::seconds cache_ttl = std::chrono::seconds(5))
      : meta_(meta), ttl_(cache_ttl) {}
  // The token's name for an "Authorization: Bearer fsml_..." header value;
  // Unauthenticated (never naming the token) otherwise.
  Result<std::string> Verify(std::string_view authorization);

 private:
  MetaStore& meta_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> cache_;  // sha → (name, expiry)
};

}  // namespace fsml
