// Who may use the server: users with roles and passwords, browser sessions
// with CSRF tokens, API tokens for scripts, and the login rate limit.
//
// Passwords are hashed with argon2id (libsodium's crypto_pwhash_str). A
// session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie;
// the MetaStore keeps its SHA-256, its user, its CSRF token and its expiry,
// so sessions survive restarts and work on every server of a deployment. An
// API token is "fsml_" + 40 random hex characters, shown once; only its
// SHA-256 is kept (tokens are random, so a slow hash adds nothing). A token
// either acts as a user (with that user's role) or is a service token with
// a role of its own.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "serve/http.h"
#include "store/meta_store.h"

namespace fsml {

using http::Role;

// ---- Users ---------------------------------------------------------------

struct User {
  std::string name;
  Role role = Role::kViewer;
  std::string created_at, created_by;
};

// 1-64 of [A-Za-z0-9._-].
Status ValidateUserName(std::string_view name);
// 8 to 1024 bytes.
Status ValidatePassword(std::string_view password);

// How expensive a password hash is. kInteractive is libsodium's
// OPSLIMIT/MEMLIMIT_INTERACTIVE (64 MiB, about 0.1 s here); tests use kMinimum.
enum class PasswordCost { kInteractive, kMinimum };
void SetPasswordCostForTest(PasswordCost cost);
// An argon2id hash string ("$argon2id$v=19$m=...").
Result<std::string> HashPassword(std::string_view password);
bool VerifyPassword(const std::string& hash, std::string_view password);

// AlreadyExists when the name is taken.
Result<User> CreateUser(MetaStore& meta, const std::string& name, Role role, std::string_view password,
                        const std::string& created_by);
Result<std::vector<User>> ListUsers(MetaStore& meta);
// NotFound when there is no such user.
Result<User> GetUser(MetaStore& meta, std::string_view name);
// Deletes the user, their sessions and their API tokens; their labels stay.
// FailedPrecondition for the last admin.
Status RemoveUser(MetaStore& meta, const std::string& name);
// FailedPrecondition when it would leave no admin.
Status SetUserRole(MetaStore& meta, const std::string& name, Role role);
// Sets a new password and ends the user's sessions.
Status SetUserPassword(MetaStore& meta, const std::string& name, std::string_view password);

// The first run: when the workspace has no admin (none yet, or only users
// added with `fsml user add` before the first serve), creates "admin" with the
// password in FSML_ADMIN_PASSWORD, or with a random one that is returned
// (to be printed once; only its hash is stored). nullopt when an admin
// exists or the password came from the environment. AlreadyExists when a
// user named "admin" exists without the admin role.
Result<std::optional<std::string>> EnsureAdminUser(MetaStore& meta);

// ---- API tokens ------------------------------------------------------------

struct ApiToken {
  std::string name, created_at, created_by, last_used_at;
  std::string user;          // the user it acts as; empty for a service token
  Role role = Role::kViewer;  // a service token's role (a user token has its user's)
};

// Creates token `name` (1-64 of [A-Za-z0-9._-]) and returns its secret. With
// a `user`, the token acts as that user (NotFound when there is none);
// otherwise it is a service token with `role`. AlreadyExists when the name
// is taken.
Result<std::string> CreateApiToken(MetaStore& meta, const std::string& name, const std::string& created_by,
                                   const std::string& user = "", Role role = Role::kViewer);
Result<std::vector<ApiToken>> ListApiTokens(MetaStore& meta);
// NotFound when there is no such token.
Status RevokeApiToken(MetaStore& meta, const std::string& name);

// ---- Sessions and the access check ----------------------------------------

struct LoginResult {
  User user;
  std::string session_token;  // the cookie's value
  std::string csrf_token;
  std::string expires_at;     // RFC 3339
  int64_t max_age_seconds = 0;
};

struct AccessOptions {
  std::chrono::seconds session_lifetime{12 * 3600};
  std::chrono::seconds cache_ttl{5};  // how long a verified token or session is trusted without a lookup
  int max_failures_per_name = 5;      // failed logins per user name per window
  int max_failures_per_address = 20;  // failed logins per client address per window
  std::chrono::seconds failure_window{300};
};

inline constexpr const char* kSessionCookie = "fsml_session";

// Authenticates requests (bearer tokens and session cookies, with the CSRF
// check for sessions) and runs logins. Thread-safe. Role changes, removed
// users and revoked tokens take effect within `cache_ttl`; a logout on this
// server at once.
class AccessControl {
 public:
  explicit AccessControl(MetaStore& meta, AccessOptions options = {}) : meta_(meta), options_(options) {}

  // Who sent `req`: a bearer token (Authorization header) or the session
  // cookie. For a session and a method other than GET/HEAD, the
  // X-CSRF-Token header must match the session's (403 csrf_failed).
  // Otherwise 401 with code unauthenticated or session_expired.
  tl::expected<http::Principal, http::Response> Authenticate(const http::Request& req);

  // Checks the password (argon2id, slow on purpose: call it off the network
  // threads) and starts a session. Errors as responses: 401
  // invalid_credentials (one message for an unknown user and a wrong
  // password), 429 rate_limited with Retry-After.
  tl::expected<LoginResult, http::Response> Login(const std::string& name, std::string_view password,
                                                  const std::string& remote);
  // Login's password check and rate limit alone, without a session (to
  // confirm a password before changing it): the user's id and record.
  tl::expected<std::pair<int64_t, User>, http::Response> CheckPassword(const std::string& name, std::string_view password,
                                                                       const std::string& remote);
  // The session of `req`'s cookie, refreshed from the store (for /auth/me).
  tl::expected<LoginResult, http::Response> CurrentSession(const http::Request& req);
  // Ends the session of `req`'s cookie, if any.
  Status Logout(const http::Request& req);

  // The Set-Cookie value for a new session, and the one that clears it.
  std::string SessionCookie(const LoginResult& login, bool secure) const;
  static std::string ClearedSessionCookie(bool secure);

  const AccessOptions& options() const { return options_; }

 private:
  struct Cached {
    http::Principal who;
    std::string csrf;
    int64_t expires_at_ms = 0;  // the session's own expiry (0 for tokens)
    std::chrono::steady_clock::time_point trusted_until;
  };
  tl::expected<http::Principal, http::Response> FromToken(std::string_view authorization);
  tl::expected<http::Principal, http::Response> FromSession(const http::Request& req, const std::string& token);
  // Seconds to wait when `name` or `remote` has too many recent failures; 0 when none.
  int64_t RetryAfter(const std::string& name, const std::string& remote);
  void RecordFailure(const std::string& name, const std::string& remote);

  MetaStore& meta_;
  AccessOptions options_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;  // sha256 of the token or session → principal
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> failures_;  // "n:" name / "a:" address
};

// The value of cookie `name` in a Cookie header; empty when absent.
std::string CookieValue(std::string_view cookie_header, std::string_view name);

}  // namespace fsml
