#include "data/workspace.h"

#include <cstdlib>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "test_util.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;

class WorkspaceInitTest : public test::TempDirTest {
 protected:
  void SetUp() override {
    test::TempDirTest::SetUp();
    // Locate() reads $FSML_WORKSPACE; keep the caller's value out of the tests.
    if (const char* v = std::getenv("FSML_WORKSPACE")) saved_env_ = v;
    ::unsetenv("FSML_WORKSPACE");
  }
  void TearDown() override {
    if (saved_env_)
      ::setenv("FSML_WORKSPACE", saved_env_->c_str(), 1);
    else
      ::unsetenv("FSML_WORKSPACE");
    test::TempDirTest::TearDown();
  }
  std::optional<std::string> saved_env_;
};

TEST_F(WorkspaceInitTest, InitCreatesConfigAndStores) {
  fs::path root = dir_ / "new" / "ws";  // made if missing
  auto ws = Workspace::Init(root);
  ASSERT_TRUE(ws.has_value()) << ws.error().ToString();
  EXPECT_EQ((*ws)->root(), fs::canonical(root));
  EXPECT_TRUE(fs::is_regular_file(root / "fsml.toml"));
  EXPECT_EQ(test::ReadBytes(root / ".fsml" / ".gitignore"), "*\n");
  EXPECT_TRUE(fs::exists(root / ".fsml" / "meta.db"));
  EXPECT_TRUE(fs::exists(root / ".fsml" / "objects" / "packed.db"));
  EXPECT_EQ((*ws)->config().Get("store.meta"), "sqlite://.fsml/meta.db");
  EXPECT_FALSE((*ws)->user().empty());
  // The stores work.
  auto key = (*ws)->blobs().Put("hello");
  ASSERT_TRUE(key.has_value());
  auto n = (*ws)->meta().QueryInt("SELECT COUNT(*) FROM projects");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(**n, 0);
}

TEST_F(WorkspaceInitTest, InitTwiceIsAlreadyExists) {
  ASSERT_TRUE(Workspace::Init(dir_ / "ws").has_value());
  auto again = Workspace::Init(dir_ / "ws");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  EXPECT_EQ(again.error().message(), fs::absolute(dir_ / "ws").string() + " is already an fsml workspace");
}

TEST_F(WorkspaceInitTest, OpenSeesWhatInitWrote) {
  {
    auto ws = Workspace::Init(dir_ / "ws");
    ASSERT_TRUE(ws.has_value());
    ASSERT_TRUE((*ws)->blobs().Put("kept").has_value());
  }
  auto ws = Workspace::Open(dir_ / "ws");
  ASSERT_TRUE(ws.has_value()) << ws.error().ToString();
  auto kept = (*ws)->blobs().Get(Sha256Hex("kept"));
  ASSERT_TRUE(kept.has_value()) << kept.error().ToString();
  EXPECT_EQ(*kept, "kept");
}

TEST_F(WorkspaceInitTest, OpenMissingFolderIsNotFound) {
  auto ws = Workspace::Open(dir_ / "absent");
  ASSERT_FALSE(ws.has_value());
  EXPECT_EQ(ws.error().code(), Code::kNotFound);
  EXPECT_THAT(ws.error().message(), HasSubstr("workspace " + (dir_ / "absent").string() + ": "));
}

TEST_F(WorkspaceInitTest, OpenRejectsAnUnknownLogLevel) {
  ASSERT_TRUE(Workspace::Init(dir_ / "ws").has_value());
  test::WriteBytes(dir_ / "ws" / "fsml.toml", "[log]\nlevel = \"loud\"\n");
  auto ws = Workspace::Open(dir_ / "ws");
  ASSERT_FALSE(ws.has_value());
  EXPECT_EQ(ws.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(ws.error().message(), "log.level 'loud' (from " + (fs::canonical(dir_ / "ws") / "fsml.toml").string() +
                                      ") is not debug, info, warn or error");
}

TEST_F(WorkspaceInitTest, OpenRejectsANonNumericSmallObjectSize) {
  ASSERT_TRUE(Workspace::Init(dir_ / "ws").has_value());
  test::WriteBytes(dir_ / "ws" / "fsml.toml", "[store]\nsmall_object_bytes = \"lots\"\n");
  auto ws = Workspace::Open(dir_ / "ws");
  ASSERT_FALSE(ws.has_value());
  EXPECT_EQ(ws.error().message(), "store.small_object_bytes 'lots' is not a whole number");
}

TEST_F(WorkspaceInitTest, UserNameComesFromTheConfig) {
  ASSERT_TRUE(Workspace::Init(dir_ / "ws").has_value());
  test::WriteBytes(dir_ / "ws" / "fsml.toml", "[user]\nname = \"Ada\"\n");
  auto ws = Workspace::Open(dir_ / "ws");
  ASSERT_TRUE(ws.has_value()) << ws.error().ToString();
  EXPECT_EQ((*ws)->user(), "Ada");
}

TEST_F(WorkspaceInitTest, LocateUsesExplicitRootThenEnvironment) {
  ASSERT_TRUE(Workspace::Init(dir_ / "ws").has_value());
  auto explicit_root = Workspace::Locate(dir_ / "ws");
  ASSERT_TRUE(explicit_root.has_value());
  EXPECT_EQ(*explicit_root, dir_ / "ws");

  auto not_ws = Workspace::Locate(dir_);
  ASSERT_FALSE(not_ws.has_value());
  EXPECT_EQ(not_ws.error().code(), Code::kNotFound);
  EXPECT_EQ(not_ws.error().message(), dir_.string() + " is not an fsml workspace (no fsml.toml)");

  ::setenv("FSML_WORKSPACE", (dir_ / "ws").c_str(), 1);
  auto from_env = Workspace::Locate(std::nullopt);
  ASSERT_TRUE(from_env.has_value());
  EXPECT_EQ(*from_env, dir_ / "ws");

  ::setenv("FSML_WORKSPACE", dir_.c_str(), 1);
  auto bad_env = Workspace::Locate(std::nullopt);
  ASSERT_FALSE(bad_env.has_value());
  EXPECT_EQ(bad_env.error().message(), "FSML_WORKSPACE=" + dir_.string() + " is not an fsml workspace (no fsml.toml)");
}

TEST_F(WorkspaceInitTest, LocateWalksUpFromTheCurrentFolder) {
  ASSERT_TRUE(Workspace::Init(dir_ / "ws").has_value());
  fs::create_directories(dir_ / "ws" / "a" / "b");
  fs::path cwd = fs::current_path();
  fs::current_path(dir_ / "ws" / "a" / "b");
  auto found = Workspace::Locate(std::nullopt);
  fs::current_path(dir_);
  auto outside = Workspace::Locate(std::nullopt);
  fs::current_path(cwd);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  EXPECT_EQ(fs::canonical(*found), fs::canonical(dir_ / "ws"));
  // Above the workspace there is none (unless the temp dir itself is inside one).
  if (!outside.has_value()) {
    EXPECT_EQ(outside.error().code(), Code::kNotFound);
    EXPECT_THAT(outside.error().message(), HasSubstr("not in an fsml workspace (no fsml.toml here or above)"));
  }
}

}  // namespace
}  // namespace fsml
