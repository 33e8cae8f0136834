#include "serve/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "../data/test_util.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;

class AuthTest : public test::WorkspaceTest {
 protected:
  void SetUp() override {
    test::WorkspaceTest::SetUp();
    SetPasswordCostForTest(PasswordCost::kMinimum);
  }
  AccessOptions NoCache() {
    AccessOptions o;
    o.cache_ttl = std::chrono::seconds(0);
    return o;
  }
  static http::Request Get(const std::string& path, const std::string& cookie = "") {
    http::Request r;
    r.method = "GET";
    r.path = path;
    r.remote = "127.0.0.1:4000";
    if (!cookie.empty()) r.headers["cookie"] = cookie;
    return r;
  }
  static http::Request Bearer(const std::string& secret) {
    http::Request r = Get("/api/v1/projects");
    r.headers["authorization"] = "Bearer " + secret;
    return r;
  }
};

TEST_F(AuthTest, CreatedTokenVerifiesUntilRevoked) {
  auto secret = CreateApiToken(meta(), "ci", "tester");
  ASSERT_TRUE(secret) << secret.error().ToString();
  EXPECT_EQ(secret->size(), 45u);
  EXPECT_EQ(secret->substr(0, 5), "fsml_");
  AccessControl access(meta(), NoCache());  // no caching: revocation is immediate
  auto who = access.Authenticate(Bearer(*secret));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->name, "ci");
  EXPECT_EQ(who->role, Role::kViewer);  // a service token's default role
  EXPECT_FALSE(who->session);
  auto listed = ListApiTokens(meta());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_FALSE((*listed)[0].last_used_at.empty());
  ASSERT_TRUE(RevokeApiToken(meta(), "ci").ok());
  EXPECT_EQ(access.Authenticate(Bearer(*secret)).error().status, 401);
  EXPECT_EQ(RevokeApiToken(meta(), "ci").code(), Code::kNotFound);
}

TEST_F(AuthTest, OnlyTheHashIsStored) {
  auto secret = CreateApiToken(meta(), "svc", "tester");
  ASSERT_TRUE(secret);
  auto n = meta().QueryInt("SELECT COUNT(*) FROM api_tokens WHERE token_sha256 = ?", {*secret});
  EXPECT_EQ(**n, 0);
}

TEST_F(AuthTest, RejectsBadHeadersWithoutEchoingThem) {
  AccessControl access(meta());
  http::Request none = Get("/api/v1/projects");
  EXPECT_THAT(access.Authenticate(none).error().body, HasSubstr("log in, or send an 'Authorization: Bearer <token>' header"));
  http::Request basic = none;
  basic.headers["authorization"] = "Basic abc";
  EXPECT_THAT(access.Authenticate(basic).error().body, HasSubstr("must be 'Bearer <token>'"));
  std::string fake = "fsml_" + std::string(40, 'a');
  auto r = access.Authenticate(Bearer(fake));
  EXPECT_EQ(r.error().status, 401);
  EXPECT_THAT(r.error().body, ::testing::Not(HasSubstr(fake)));
  EXPECT_THAT(access.Authenticate(Bearer("x")).error().body, HasSubstr("invalid API token"));
}

TEST_F(AuthTest, TokenNamesAreValidatedAndUnique) {
  ASSERT_TRUE(CreateApiToken(meta(), "a", "t"));
  EXPECT_EQ(CreateApiToken(meta(), "a", "t").error().code(), Code::kAlreadyExists);
  EXPECT_EQ(CreateApiToken(meta(), "bad name", "t").error().code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateApiToken(meta(), "", "t").error().code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateApiToken(meta(), "b", "t", "nobody").error().code(), Code::kNotFound);
}

TEST_F(AuthTest, UserTokenCarriesTheUsersCurrentRole) {
  ASSERT_TRUE(CreateUser(meta(), "ann", Role::kAnnotator, "password-1", "t"));
  auto secret = CreateApiToken(meta(), "ann-script", "t", "ann");
  ASSERT_TRUE(secret);
  AccessControl access(meta(), NoCache());
  auto who = access.Authenticate(Bearer(*secret));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->name, "ann");
  EXPECT_EQ(who->role, Role::kAnnotator);
  ASSERT_TRUE(SetUserRole(meta(), "ann", Role::kReviewer).ok());
  EXPECT_EQ(access.Authenticate(Bearer(*secret))->role, Role::kReviewer);
  ASSERT_TRUE(CreateUser(meta(), "root", Role::kAdmin, "password-2", "t"));
  ASSERT_TRUE(RemoveUser(meta(), "ann").ok());
  EXPECT_EQ(access.Authenticate(Bearer(*secret)).error().status, 401);  // the user's tokens go with them
}

TEST_F(AuthTest, PasswordsAreArgon2idAndChecked) {
  auto hash = HashPassword("correct horse");
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsE"));
  EXPECT_FALSE(VerifyPassword("garbage", "correct horse"));
  EXPECT_THAT(CreateUser(meta(), "u", Role::kViewer, "short", "t").error().message(), HasSubstr("at least 8"));
  EXPECT_THAT(CreateUser(meta(), "bad name", Role::kViewer, "long enough", "t").error().message(), HasSubstr("may contain only"));
  auto n = meta().QueryInt("SELECT COUNT(*) FROM users");
  EXPECT_EQ(**n, 0);
}

TEST_F(AuthTest, LoginStartsASessionThatNeedsCsrfForWrites) {
  ASSERT_TRUE(CreateUser(meta(), "rev", Role::kReviewer, "s3cret-pass", "t"));
  AccessControl access(meta(), NoCache());
  auto login = access.Login("rev", "s3cret-pass", "127.0.0.1:5000");
  ASSERT_TRUE(login) << login.error().body;
  EXPECT_EQ(login->user.role, Role::kReviewer);
  std::string cookie = std::string(kSessionCookie) + "=" + login->session_token;
  std::string set_cookie = access.SessionCookie(*login, false);
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(set_cookie, HasSubstr("Max-Age=43200"));
  EXPECT_THAT(access.SessionCookie(*login, true), HasSubstr("; Secure"));

  auto who = access.Authenticate(Get("/api/v1/projects", "theme=dark; " + cookie));
  ASSERT_TRUE(who) << who.error().body;
  EXPECT_EQ(who->name, "rev");
  EXPECT_TRUE(who->session);

  http::Request post = Get("/api/v1/projects/x/versions", cookie);
  post.method = "POST";
  auto no_csrf = access.Authenticate(post);
  ASSERT_FALSE(no_csrf);
  EXPECT_EQ(no_csrf.error().status, 403);
  EXPECT_THAT(no_csrf.error().body, HasSubstr("csrf_failed"));
  post.headers["x-csrf-token"] = std::string(login->csrf_token.size(), '0');
  EXPECT_EQ(access.Authenticate(post).error().status, 403);
  post.headers["x-csrf-token"] = login->csrf_token;
  EXPECT_TRUE(access.Authenticate(post));

  // The session cookie's value is not stored, only its hash.
  auto stored = meta().QueryInt("SELECT COUNT(*) FROM sessions WHERE token_sha256 = ?", {login->session_token});
  EXPECT_EQ(**stored, 0);

  ASSERT_TRUE(access.Logout(Get("/", cookie)).ok());
  auto after = access.Authenticate(Get("/api/v1/projects", cookie));
  ASSERT_FALSE(after);
  EXPECT_THAT(after.error().body, HasSubstr("session_expired"));
}

TEST_F(AuthTest, WrongPasswordAndUnknownUserLookTheSame) {
  ASSERT_TRUE(CreateUser(meta(), "ann", Role::kAnnotator, "password-1", "t"));
  AccessControl access(meta(), NoCache());
  auto wrong = access.Login("ann", "password-2", "10.0.0.1:1");
  auto unknown = access.Login("nobody", "password-1", "10.0.0.2:1");
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(wrong.error().status, 401);
  EXPECT_EQ(wrong.error().body, unknown.error().body);
}

TEST_F(AuthTest, FailedLoginsAreRateLimitedPerNameAndAddress) {
  ASSERT_TRUE(CreateUser(meta(), "ann", Role::kAnnotator, "password-1", "t"));
  AccessOptions o = NoCache();
  o.max_failures_per_name = 3;
  o.max_failures_per_address = 5;
  AccessControl access(meta(), o);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(access.Login("ann", "nope-nope", "10.0.0." + std::to_string(i) + ":1").error().status, 401);
  auto limited = access.Login("ann", "password-1", "10.0.0.9:1");  // even the right password waits
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().status, 429);
  bool retry_after = false;
  for (auto& [k, v] : limited.error().headers) retry_after |= k == "Retry-After" && std::stoi(v) > 0;
  EXPECT_TRUE(retry_after);
  // One address guessing many names.
  for (int i = 0; i < 5; ++i) (void)access.Login("user" + std::to_string(i), "x-x-x-x-x", "10.9.9.9:" + std::to_string(i));
  EXPECT_EQ(access.Login("other", "whatever1", "10.9.9.9:77").error().status, 429);
}

TEST_F(AuthTest, ExpiredSessionIsRefused) {
  ASSERT_TRUE(CreateUser(meta(), "ann", Role::kAnnotator, "password-1", "t"));
  AccessControl access(meta(), NoCache());
  auto login = access.Login("ann", "password-1", "127.0.0.1:1");
  ASSERT_TRUE(login);
  ASSERT_TRUE(meta().Exec("UPDATE sessions SET expires_at_ms = 1").has_value());
  auto r = access.Authenticate(Get("/api/v1/projects", std::string(kSessionCookie) + "=" + login->session_token));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 401);
  EXPECT_THAT(r.error().body, HasSubstr("session_expired"));
}

TEST_F(AuthTest, PasswordChangeEndsSessions) {
  ASSERT_TRUE(CreateUser(meta(), "ann", Role::kAnnotator, "password-1", "t"));
  AccessControl access(meta(), NoCache());
  auto login = access.Login("ann", "password-1", "127.0.0.1:1");
  ASSERT_TRUE(login);
  ASSERT_TRUE(SetUserPassword(meta(), "ann", "password-2").ok());
  EXPECT_FALSE(access.Authenticate(Get("/", std::string(kSessionCookie) + "=" + login->session_token)));
  EXPECT_FALSE(access.Login("ann", "password-1", "127.0.0.1:1"));
  EXPECT_TRUE(access.Login("ann", "password-2", "127.0.0.1:1"));
}

TEST_F(AuthTest, TheLastAdminStays) {
  ASSERT_TRUE(CreateUser(meta(), "root", Role::kAdmin, "password-1", "t"));
  EXPECT_EQ(RemoveUser(meta(), "root").code(), Code::kFailedPrecondition);
  EXPECT_EQ(SetUserRole(meta(), "root", Role::kViewer).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(CreateUser(meta(), "root2", Role::kAdmin, "password-1", "t"));
  EXPECT_TRUE(SetUserRole(meta(), "root", Role::kViewer).ok());
}

TEST_F(AuthTest, FirstRunMakesOneAdmin) {
  unsetenv("FSML_ADMIN_PASSWORD");
  auto pw = EnsureAdminUser(meta());
  ASSERT_TRUE(pw);
  ASSERT_TRUE(pw->has_value());
  EXPECT_GE((*pw)->size(), 16u);
  AccessControl access(meta(), NoCache());
  EXPECT_TRUE(access.Login("admin", **pw, "127.0.0.1:1"));
  auto again = EnsureAdminUser(meta());
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
}

TEST_F(AuthTest, FirstRunMakesAnAdminEvenWhenOtherUsersCameFirst) {
  unsetenv("FSML_ADMIN_PASSWORD");
  ASSERT_TRUE(CreateUser(meta(), "ann", Role::kAnnotator, "password-1", "t"));
  auto pw = EnsureAdminUser(meta());
  ASSERT_TRUE(pw);
  EXPECT_TRUE(pw->has_value());
  EXPECT_EQ(GetUser(meta(), "admin")->role, Role::kAdmin);
}

TEST_F(AuthTest, FirstRunTakesTheAdminPasswordFromTheEnvironment) {
  setenv("FSML_ADMIN_PASSWORD", "from-the-env", 1);
  auto pw = EnsureAdminUser(meta());
  unsetenv("FSML_ADMIN_PASSWORD");
  ASSERT_TRUE(pw);
  EXPECT_FALSE(pw->has_value());
  AccessControl access(meta(), NoCache());
  EXPECT_TRUE(access.Login("admin", "from-the-env", "127.0.0.1:1"));
}

TEST_F(AuthTest, CookieValueFindsTheNamedCookie) {
  EXPECT_EQ(CookieValue("a=1; fsml_session=abc; b=2", "fsml_session"), "abc");
  EXPECT_EQ(CookieValue("fsml_sessionx=1", "fsml_session"), "");
  EXPECT_EQ(CookieValue("", "fsml_session"), "");
  EXPECT_EQ(CookieValue(";;=;fsml_session", "fsml_session"), "");
}

}  // namespace
}  // namespace fsml
