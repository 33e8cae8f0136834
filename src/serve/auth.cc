#include "serve/auth.h"

#include "core/fs.h"
#include "core/sha256.h"

namespace fsml {

static Status ValidateTokenName(const std::string& name) {
  if (name.empty() || name.size() > 64) return InvalidArgument("token name must be 1 to 64 characters");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return InvalidArgument("token name '" + name + "' may contain only letters, digits, '.', '_' and '-'");
  return Status::Ok();
}

Result<std::string> CreateApiToken(MetaStore& meta, const std::string& name, const std::string& created_by) {
  FSML_RETURN_IF_ERROR(ValidateTokenName(name));
  std::string secret = "fsml_" + SecureRandomHex(20);
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto taken, meta.QueryInt("SELECT id FROM api_tokens WHERE name = ?", {name}));
    if (taken) return AlreadyExists("a token named '" + name + "' exists (revoke it first: fsml token revoke " + name + ")");
    return StatusOf(meta.Exec("INSERT INTO api_tokens (name, token_sha256, created_at, created_by) VALUES (?, ?, ?, ?)",
                              {name, Sha256Hex(secret), NowRfc3339(), created_by}));
  }));
  return secret;
}

Result<std::vector<ApiToken>> ListApiTokens(MetaStore& meta) {
  std::vector<ApiToken> out;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT name, created_at, created_by, last_used_at FROM api_tokens ORDER BY name", {},
                                  [&](const SqlRow& r) {
                                    out.push_back({std::string(r.Text(0)), std::string(r.Text(1)), std::string(r.Text(2)),
                                                   r.IsNull(3) ? "" : std::string(r.Text(3))});
                                    return Status::Ok();
                                  }));
  return out;
}

Status RevokeApiToken(MetaStore& meta, const std::string& name) {
  FSML_ASSIGN_OR_RETURN(int64_t n, meta.Exec("DELETE FROM api_tokens WHERE name = ?", {name}));
  if (n == 0) return NotFound("no token named '" + name + "'");
  return Status::Ok();
}

Result<std::string> TokenVerifier::Verify(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) return Err(Unauthenticated("missing Authorization: Bearer <token> header"));
  if (authorization.size() < kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer)
    return Err(Unauthenticated("Authorization header must be 'Bearer <token>'"));
  std::string_view token = authorization.substr(kBearer.size());
  if (token.size() != 45 || token.substr(0, 5) != "fsml_") return Err(Unauthenticated("invalid API token"));
  std::string sha = Sha256Hex(token);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(sha);
    if (it != cache_.end() && it->second.second > now) return it->second.first;
  }
  FSML_ASSIGN_OR_RETURN(auto name, meta_.QueryText("SELECT name FROM api_tokens WHERE token_sha256 = ?", {sha}));
  if (!name) return Err(Unauthenticated("invalid API token"));
  (void)meta_.Exec("UPDATE api_tokens SET last_used_at = ? WHERE token_sha256 = ?", {NowRfc3339(), sha});
  std::lock_guard lock(mu_);
  if (cache_.size() > 10000) cache_.clear();
  cache_[sha] = {*name, now + ttl_};
  return *name;
}

}  // namespace fsml
