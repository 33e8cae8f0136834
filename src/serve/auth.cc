#include "serve/auth.h"

#include <sodium.h>

#include <atomic>
#include <cstdlib>

#include "core/fs.h"
#include "core/sha256.h"
#include "core/text.h"

namespace fsml {

using http::Principal;
using http::Request;
using http::Response;

// ---- Users ---------------------------------------------------------------

static Status ValidateName(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > 64) return InvalidArgument(std::string(what) + " name must be 1 to 64 characters");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return InvalidArgument(std::string(what) + " name '" + std::string(name) + "' may contain only letters, digits, '.', '_' and '-'");
  return Status::Ok();
}

Status ValidateUserName(std::string_view name) { return ValidateName("user", name); }

Status ValidatePassword(std::string_view password) {
  if (password.size() < 8) return InvalidArgument("password must be at least 8 characters");
  if (password.size() > 1024) return InvalidArgument("password must be at most 1024 bytes");
  return Status::Ok();
}

static std::atomic<PasswordCost> g_cost{PasswordCost::kInteractive};
void SetPasswordCostForTest(PasswordCost cost) { g_cost = cost; }

static Status InitSodium() {
  static const int rc = sodium_init();
  if (rc < 0) return Internal("libsodium failed to initialize");
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password) {
  FSML_RETURN_IF_ERROR(InitSodium());
  bool minimum = g_cost.load() == PasswordCost::kMinimum;
  unsigned long long ops = minimum ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem = minimum ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Err(ResourceExhausted("not enough memory to hash a password"));
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, std::string_view password) {
  if (!InitSodium().ok()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

static User UserFromRow(const SqlRow& r) {
  User u;
  u.name = std::string(r.Text(0));
  u.role = http::ParseRole(r.Text(1)).value_or(Role::kViewer);
  u.created_at = std::string(r.Text(2));
  u.created_by = std::string(r.Text(3));
  return u;
}

Result<User> CreateUser(MetaStore& meta, const std::string& name, Role role, std::string_view password,
                        const std::string& created_by) {
  FSML_RETURN_IF_ERROR(ValidateUserName(name));
  FSML_RETURN_IF_ERROR(ValidatePassword(password));
  if (role == Role::kPublic) return Err(InvalidArgument("a user needs a role: admin, reviewer, annotator or viewer"));
  FSML_ASSIGN_OR_RETURN(auto hash, HashPassword(password));
  User u{name, role, NowRfc3339(), created_by};
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto taken, meta.QueryInt("SELECT id FROM users WHERE name = ?", {name}));
    if (taken) return AlreadyExists("a user named '" + name + "' exists");
    return StatusOf(meta.Exec(
        "INSERT INTO users (name, role, password_hash, created_at, created_by, password_changed_at) VALUES (?, ?, ?, ?, ?, ?)",
        {name, std::string(http::RoleName(role)), hash, u.created_at, created_by, u.created_at}));
  }));
  return u;
}

Result<std::vector<User>> ListUsers(MetaStore& meta) {
  std::vector<User> out;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT name, role, created_at, created_by FROM users ORDER BY name", {}, [&](const SqlRow& r) {
    out.push_back(UserFromRow(r));
    return Status::Ok();
  }));
  return out;
}

Result<User> GetUser(MetaStore& meta, std::string_view name) {
  std::optional<User> u;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT name, role, created_at, created_by FROM users WHERE name = ?", {std::string(name)},
                                  [&](const SqlRow& r) {
                                    u = UserFromRow(r);
                                    return Status::Ok();
                                  }));
  if (!u) return Err(NotFound("no user named '" + std::string(name) + "' (fsml user list shows them)"));
  return *u;
}

// FailedPrecondition when `name` is the only admin (checked inside a transaction).
static Status KeepAnAdmin(MetaStore& meta, const std::string& name) {
  FSML_ASSIGN_OR_RETURN(auto role, meta.QueryText("SELECT role FROM users WHERE name = ?", {name}));
  if (!role) return NotFound("no user named '" + name + "' (fsml user list shows them)");
  if (*role != "admin") return Status::Ok();
  FSML_ASSIGN_OR_RETURN(auto admins, meta.QueryInt("SELECT COUNT(*) FROM users WHERE role = 'admin'"));
  if (admins.value_or(0) <= 1) return FailedPrecondition("'" + name + "' is the only admin; make another user admin first");
  return Status::Ok();
}

Status RemoveUser(MetaStore& meta, const std::string& name) {
  return meta.Transaction([&]() -> Status {
    FSML_RETURN_IF_ERROR(KeepAnAdmin(meta, name));
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", {name})));
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE name = ?)", {name})));
    return StatusOf(meta.Exec("DELETE FROM users WHERE name = ?", {name}));
  });
}

Status SetUserRole(MetaStore& meta, const std::string& name, Role role) {
  if (role == Role::kPublic) return InvalidArgument("a user needs a role: admin, reviewer, annotator or viewer");
  return meta.Transaction([&]() -> Status {
    if (role != Role::kAdmin) FSML_RETURN_IF_ERROR(KeepAnAdmin(meta, name));
    FSML_ASSIGN_OR_RETURN(int64_t n, meta.Exec("UPDATE users SET role = ? WHERE name = ?", {std::string(http::RoleName(role)), name}));
    if (n == 0) return NotFound("no user named '" + name + "' (fsml user list shows them)");
    return Status::Ok();
  });
}

Status SetUserPassword(MetaStore& meta, const std::string& name, std::string_view password) {
  FSML_RETURN_IF_ERROR(ValidatePassword(password));
  FSML_ASSIGN_OR_RETURN(auto hash, HashPassword(password));
  return meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(int64_t n, meta.Exec("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?",
                                               {hash, NowRfc3339(), name}));
    if (n == 0) return NotFound("no user named '" + name + "' (fsml user list shows them)");
    return StatusOf(meta.Exec("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", {name}));
  });
}

Result<std::optional<std::string>> EnsureAdminUser(MetaStore& meta) {
  FSML_ASSIGN_OR_RETURN(auto admins, meta.QueryInt("SELECT COUNT(*) FROM users WHERE role = 'admin'"));
  if (admins.value_or(0) > 0) return std::optional<std::string>();
  const char* env = std::getenv("FSML_ADMIN_PASSWORD");
  std::string password = env && *env ? std::string(env) : SecureRandomHex(12);
  auto made = CreateUser(meta, "admin", Role::kAdmin, password, "fsml");
  if (!made && made.error().code() == Code::kAlreadyExists) {
    FSML_ASSIGN_OR_RETURN(auto now_admins, meta.QueryInt("SELECT COUNT(*) FROM users WHERE role = 'admin'"));
    if (now_admins.value_or(0) > 0) return std::optional<std::string>();  // another server was first
    return Err(FailedPrecondition("the workspace has no admin and the user 'admin' is not one: fsml user role admin admin"));
  }
  if (!made) {
    if (env && *env) return Err(InvalidArgument("FSML_ADMIN_PASSWORD: " + made.error().message()));
    return Err(made.error());
  }
  if (env && *env) return std::optional<std::string>();
  return std::optional<std::string>(password);
}

// ---- API tokens ------------------------------------------------------------

Result<std::string> CreateApiToken(MetaStore& meta, const std::string& name, const std::string& created_by,
                                   const std::string& user, Role role) {
  FSML_RETURN_IF_ERROR(ValidateName("token", name));
  if (user.empty() && role == Role::kPublic) return Err(InvalidArgument("a service token needs a role"));
  std::string secret = "fsml_" + SecureRandomHex(20);
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto taken, meta.QueryInt("SELECT id FROM api_tokens WHERE name = ?", {name}));
    if (taken) return AlreadyExists("a token named '" + name + "' exists (revoke it first: fsml token revoke " + name + ")");
    SqlValue user_id;
    if (!user.empty()) {
      FSML_ASSIGN_OR_RETURN(auto id, meta.QueryInt("SELECT id FROM users WHERE name = ?", {user}));
      if (!id) return NotFound("no user named '" + user + "' (fsml user list shows them)");
      user_id = *id;
    }
    return StatusOf(meta.Exec(
        "INSERT INTO api_tokens (name, token_sha256, created_at, created_by, role, user_id) VALUES (?, ?, ?, ?, ?, ?)",
        {name, Sha256Hex(secret), NowRfc3339(), created_by, std::string(http::RoleName(user.empty() ? role : Role::kViewer)),
         user_id}));
  }));
  return secret;
}

Result<std::vector<ApiToken>> ListApiTokens(MetaStore& meta) {
  std::vector<ApiToken> out;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT t.name, t.created_at, t.created_by, t.last_used_at, u.name, COALESCE(u.role, t.role) "
      "FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.name",
      {}, [&](const SqlRow& r) {
        ApiToken t;
        t.name = std::string(r.Text(0));
        t.created_at = std::string(r.Text(1));
        t.created_by = std::string(r.Text(2));
        t.last_used_at = r.IsNull(3) ? "" : std::string(r.Text(3));
        t.user = r.IsNull(4) ? "" : std::string(r.Text(4));
        t.role = http::ParseRole(r.Text(5)).value_or(Role::kViewer);
        out.push_back(std::move(t));
        return Status::Ok();
      }));
  return out;
}

Status RevokeApiToken(MetaStore& meta, const std::string& name) {
  FSML_ASSIGN_OR_RETURN(int64_t n, meta.Exec("DELETE FROM api_tokens WHERE name = ?", {name}));
  if (n == 0) return NotFound("no token named '" + name + "'");
  return Status::Ok();
}

// ---- Sessions and the access check ----------------------------------------

std::string CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = TrimSpace(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && TrimSpace(pair.substr(0, eq)) == name) return std::string(TrimSpace(pair.substr(eq + 1)));
  }
  return "";
}

static Response Unauthorized(std::string_view code, std::string_view message) { return Response::Error(401, code, message); }

static bool SafeMethod(const std::string& method) { return method == "GET" || method == "HEAD"; }

static bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

tl::expected<Principal, Response> AccessControl::Authenticate(const Request& req) {
  std::string authorization = req.Header("authorization");
  if (!authorization.empty()) return FromToken(authorization);
  std::string session = CookieValue(req.Header("cookie"), kSessionCookie);
  if (!session.empty()) return FromSession(req, session);
  return tl::unexpected(Unauthorized("unauthenticated", "log in, or send an 'Authorization: Bearer <token>' header"));
}

tl::expected<Principal, Response> AccessControl::FromToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() < kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer)
    return tl::unexpected(Unauthorized("unauthenticated", "Authorization header must be 'Bearer <token>'"));
  std::string_view token = authorization.substr(kBearer.size());
  if (token.size() != 45 || token.substr(0, 5) != "fsml_") return tl::unexpected(Unauthorized("unauthenticated", "invalid API token"));
  std::string sha = Sha256Hex(token);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(sha);
    if (it != cache_.end() && it->second.trusted_until > now) return it->second.who;
  }
  std::optional<Principal> who;
  auto st = meta_.Query(
      "SELECT t.name, t.role, u.name, u.role FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?",
      {sha}, [&](const SqlRow& r) {
        bool user = !r.IsNull(2);
        who = Principal{std::string(r.Text(user ? 2 : 0)), http::ParseRole(r.Text(user ? 3 : 1)).value_or(Role::kViewer), false};
        return Status::Ok();
      });
  if (!st.ok()) return tl::unexpected(Response::FromStatus(st));
  if (!who) return tl::unexpected(Unauthorized("unauthenticated", "invalid API token"));
  (void)meta_.Exec("UPDATE api_tokens SET last_used_at = ? WHERE token_sha256 = ?", {NowRfc3339(), sha});
  std::lock_guard lock(mu_);
  if (cache_.size() > 10000) cache_.clear();
  cache_[sha] = {*who, "", 0, now + options_.cache_ttl};
  return *who;
}

tl::expected<Principal, Response> AccessControl::FromSession(const Request& req, const std::string& token) {
  std::string sha = Sha256Hex(token);
  auto now = std::chrono::steady_clock::now();
  std::optional<Cached> entry;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(sha);
    if (it != cache_.end() && it->second.trusted_until > now && it->second.expires_at_ms > 0) entry = it->second;
  }
  if (!entry) {
    auto st = meta_.Query(
        "SELECT u.name, u.role, s.csrf_token, s.expires_at_ms FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_sha256 = ?",
        {sha}, [&](const SqlRow& r) {
          entry = Cached{Principal{std::string(r.Text(0)), http::ParseRole(r.Text(1)).value_or(Role::kViewer), true},
                         std::string(r.Text(2)), r.Int(3), now + options_.cache_ttl};
          return Status::Ok();
        });
    if (!st.ok()) return tl::unexpected(Response::FromStatus(st));
    if (!entry) return tl::unexpected(Unauthorized("session_expired", "your session has ended; log in again"));
    std::lock_guard lock(mu_);
    if (cache_.size() > 10000) cache_.clear();
    cache_[sha] = *entry;
  }
  if (entry->expires_at_ms <= NowUnixMs()) {
    (void)meta_.Exec("DELETE FROM sessions WHERE token_sha256 = ?", {sha});
    std::lock_guard lock(mu_);
    cache_.erase(sha);
    return tl::unexpected(Unauthorized("session_expired", "your session has expired; log in again"));
  }
  if (!SafeMethod(req.method) && !SameSecret(req.Header("x-csrf-token"), entry->csrf))
    return tl::unexpected(Response::Error(403, "csrf_failed",
                                          req.Header("x-csrf-token").empty() ? "missing X-CSRF-Token header"
                                                                             : "X-CSRF-Token does not match the session"));
  return entry->who;
}

int64_t AccessControl::RetryAfter(const std::string& name, const std::string& remote) {
  auto now = std::chrono::steady_clock::now();
  int64_t wait = 0;
  std::lock_guard lock(mu_);
  auto check = [&](const std::string& key, int limit) {
    auto it = failures_.find(key);
    if (it == failures_.end()) return;
    auto& q = it->second;
    while (!q.empty() && q.front() + options_.failure_window <= now) q.pop_front();
    if (q.empty()) {
      failures_.erase(it);
      return;
    }
    if (static_cast<int>(q.size()) >= limit) {
      auto until = q.front() + options_.failure_window;
      wait = std::max<int64_t>(wait, std::chrono::ceil<std::chrono::seconds>(until - now).count());
    }
  };
  check("n:" + name, options_.max_failures_per_name);
  check("a:" + remote, options_.max_failures_per_address);
  return wait;
}

void AccessControl::RecordFailure(const std::string& name, const std::string& remote) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (failures_.size() > 100000) failures_.clear();  // bounded memory under a flood; limits restart
  for (const std::string& key : {"n:" + name, "a:" + remote}) {
    auto& q = failures_[key];
    q.push_back(now);
    while (q.size() > 1000) q.pop_front();
  }
}

// The client's address without its port: "127.0.0.1:5555" → "127.0.0.1".
static std::string AddressOnly(const std::string& remote) {
  size_t colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

tl::expected<std::pair<int64_t, User>, Response> AccessControl::CheckPassword(const std::string& name,
                                                                              std::string_view password,
                                                                              const std::string& remote) {
  std::string address = AddressOnly(remote);
  std::string key = name.substr(0, 64);
  if (int64_t wait = RetryAfter(key, address); wait > 0) {
    auto r = Response::Error(429, "rate_limited", "too many failed logins; try again in " + std::to_string(wait) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(wait));
    return tl::unexpected(std::move(r));
  }
  std::optional<std::pair<int64_t, std::string>> row;  // user id, hash
  User user;
  if (ValidateUserName(name).ok()) {
    auto st = meta_.Query("SELECT id, password_hash, name, role, created_at, created_by FROM users WHERE name = ?", {name},
                          [&](const SqlRow& r) {
                            row = {r.Int(0), std::string(r.Text(1))};
                            user = User{std::string(r.Text(2)), http::ParseRole(r.Text(3)).value_or(Role::kViewer),
                                            std::string(r.Text(4)), std::string(r.Text(5))};
                            return Status::Ok();
                          });
    if (!st.ok()) return tl::unexpected(Response::FromStatus(st));
  }
  // An unknown user costs the same hash as a wrong password, so timing does
  // not tell which names exist.
  static const std::string dummy = HashPassword("not a password of anyone").value_or("");
  bool ok = VerifyPassword(row ? row->second : dummy, password) && row.has_value();
  if (!ok) {
    RecordFailure(key, address);
    return tl::unexpected(Unauthorized("invalid_credentials", "wrong user name or password"));
  }
  return std::make_pair(row->first, std::move(user));
}

tl::expected<LoginResult, Response> AccessControl::Login(const std::string& name, std::string_view password,
                                                         const std::string& remote) {
  auto who = CheckPassword(name, password, remote);
  if (!who) return tl::unexpected(std::move(who.error()));
  LoginResult out;
  out.user = std::move(who->second);
  int64_t user_id = who->first;
  out.session_token = SecureRandomHex(32);
  out.csrf_token = SecureRandomHex(32);
  int64_t expires_ms = NowUnixMs() + std::chrono::duration_cast<std::chrono::milliseconds>(options_.session_lifetime).count();
  out.expires_at = Rfc3339FromUnixMs(expires_ms);
  out.max_age_seconds = options_.session_lifetime.count();
  auto st = meta_.Transaction([&]() -> Status {
    FSML_RETURN_IF_ERROR(StatusOf(meta_.Exec("DELETE FROM sessions WHERE user_id = ? AND expires_at_ms <= ?", {user_id, NowUnixMs()})));
    return StatusOf(meta_.Exec(
        "INSERT INTO sessions (token_sha256, user_id, csrf_token, created_at, expires_at_ms, remote) VALUES (?, ?, ?, ?, ?, ?)",
        {Sha256Hex(out.session_token), user_id, out.csrf_token, NowRfc3339(), expires_ms, AddressOnly(remote)}));
  });
  if (!st.ok()) return tl::unexpected(Response::FromStatus(st));
  return out;
}

tl::expected<LoginResult, Response> AccessControl::CurrentSession(const Request& req) {
  std::string token = CookieValue(req.Header("cookie"), kSessionCookie);
  if (token.empty()) return tl::unexpected(Unauthorized("unauthenticated", "not logged in"));
  std::optional<LoginResult> out;
  int64_t expires_ms = 0;
  auto st = meta_.Query(
      "SELECT u.name, u.role, u.created_at, u.created_by, s.csrf_token, s.expires_at_ms FROM sessions s "
      "JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?",
      {Sha256Hex(token)}, [&](const SqlRow& r) {
        LoginResult l;
        l.user = User{std::string(r.Text(0)), http::ParseRole(r.Text(1)).value_or(Role::kViewer), std::string(r.Text(2)),
                      std::string(r.Text(3))};
        l.csrf_token = std::string(r.Text(4));
        expires_ms = r.Int(5);
        l.expires_at = Rfc3339FromUnixMs(expires_ms);
        out = std::move(l);
        return Status::Ok();
      });
  if (!st.ok()) return tl::unexpected(Response::FromStatus(st));
  if (!out || expires_ms <= NowUnixMs()) return tl::unexpected(Unauthorized("session_expired", "your session has ended; log in again"));
  return *out;
}

Status AccessControl::Logout(const Request& req) {
  std::string token = CookieValue(req.Header("cookie"), kSessionCookie);
  if (token.empty()) return Status::Ok();
  std::string sha = Sha256Hex(token);
  {
    std::lock_guard lock(mu_);
    cache_.erase(sha);
  }
  return StatusOf(meta_.Exec("DELETE FROM sessions WHERE token_sha256 = ?", {sha}));
}

std::string AccessControl::SessionCookie(const LoginResult& login, bool secure) const {
  return std::string(kSessionCookie) + "=" + login.session_token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
         std::to_string(login.max_age_seconds) + (secure ? "; Secure" : "");
}

std::string AccessControl::ClearedSessionCookie(bool secure) {
  return std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "");
}

}  // namespace fsml
