#include "serve/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../data/test_util.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;

class AuthTest : public test::WorkspaceTest {};

TEST_F(AuthTest, CreatedTokenVerifiesUntilRevoked) {
  auto secret = CreateApiToken(meta(), "ci", "tester");
  ASSERT_TRUE(secret) << secret.error().ToString();
  EXPECT_EQ(secret->size(), 45u);
  EXPECT_EQ(secret->substr(0, 5), "fsml_");
  TokenVerifier v(meta(), std::chrono::seconds(0));  // no caching: revocation is immediate
  auto who = v.Verify("Bearer " + *secret);
  ASSERT_TRUE(who);
  EXPECT_EQ(*who, "ci");
  auto listed = ListApiTokens(meta());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_FALSE((*listed)[0].last_used_at.empty());
  ASSERT_TRUE(RevokeApiToken(meta(), "ci").ok());
  EXPECT_EQ(v.Verify("Bearer " + *secret).error().code(), Code::kUnauthenticated);
  EXPECT_EQ(RevokeApiToken(meta(), "ci").code(), Code::kNotFound);
}

TEST_F(AuthTest, OnlyTheHashIsStored) {
  auto secret = CreateApiToken(meta(), "svc", "tester");
  ASSERT_TRUE(secret);
  auto n = meta().QueryInt("SELECT COUNT(*) FROM api_tokens WHERE token_sha256 = ?", {*secret});
  EXPECT_EQ(**n, 0);
}

TEST_F(AuthTest, RejectsBadHeadersWithoutEchoingThem) {
  TokenVerifier v(meta());
  EXPECT_THAT(v.Verify("").error().message(), HasSubstr("missing Authorization"));
  EXPECT_THAT(v.Verify("Basic abc").error().message(), HasSubstr("must be 'Bearer <token>'"));
  std::string fake = "fsml_" + std::string(40, 'a');
  auto r = v.Verify("Bearer " + fake);
  EXPECT_EQ(r.error().code(), Code::kUnauthenticated);
  EXPECT_THAT(r.error().message(), ::testing::Not(HasSubstr(fake)));
  EXPECT_EQ(v.Verify("Bearer x").error().message(), "invalid API token");
}

TEST_F(AuthTest, NamesAreValidatedAndUnique) {
  ASSERT_TRUE(CreateApiToken(meta(), "a", "t"));
  EXPECT_EQ(CreateApiToken(meta(), "a", "t").error().code(), Code::kAlreadyExists);
  EXPECT_EQ(CreateApiToken(meta(), "bad name", "t").error().code(), Code::kInvalidArgument);
  EXPECT_EQ(CreateApiToken(meta(), "", "t").error().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace fsml
