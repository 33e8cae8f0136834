#include "data/doctor.h"

#include <sqlite3.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "data/import.h"
#include "data/versions.h"
#include "test_util.h"

namespace fsml {
namespace {

using ::testing::ElementsAre;

class DoctorTest : public test::WorkspaceTest {
 protected:
  void SetUp() override {
    test::WorkspaceTest::SetUp();
    objects_ = ws_->root() / ".fsml" / "objects";
    text_ = MakeProject("texts", TaskType::kTextClassification, {"pos", "neg"});
  }

  void ImportJsonl(const std::string& jsonl) {
    fs::path f = dir_ / ("import" + std::to_string(n_++) + ".jsonl");
    test::WriteBytes(f, jsonl);
    ImportOptions opt;
    opt.format = ImportFormat::kJsonl;
    opt.threads = 2;
    auto s = ImportItems(*ws_, text_, f, opt);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
  }

  DatasetVersion Commit() {
    CommitOptions opt;
    opt.message = "v";
    opt.author = "alice";
    auto v = CommitVersion(*ws_, text_, opt);
    EXPECT_TRUE(v.has_value()) << v.error().ToString();
    return v ? *v : DatasetVersion{};
  }

  DoctorReport Doctor() {
    auto r = RunDoctor(*ws_);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? *r : DoctorReport{};
  }

  // Runs SQL on the object store's packed database, with the workspace
  // closed, then reopens the workspace.
  void ExecOnPackedDb(const std::string& sql) {
    ws_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((objects_ / "packed.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string message = err ? err : "";
    sqlite3_free(err);
    int changed = sqlite3_changes(db);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
    ASSERT_EQ(changed, 1) << sql;
    auto ws = Workspace::Open(dir_ / "ws");
    ASSERT_TRUE(ws.has_value()) << ws.error().ToString();
    ws_ = std::move(*ws);
  }

  fs::path objects_;
  Project text_;
  int n_ = 0;
};

TEST_F(DoctorTest, EmptyWorkspaceIsHealthy) {
  DoctorReport r = Doctor();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.objects, 0u);
  EXPECT_EQ(r.object_bytes, 0u);
  EXPECT_EQ(r.items, 0u);
  EXPECT_EQ(r.versions, 0u);
  EXPECT_EQ(r.unreferenced, 0u);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.warnings.empty());
}

TEST_F(DoctorTest, HealthyWorkspaceIsOkWithCounts) {
  ImportJsonl(
      "{\"text\": \"alpha\", \"label\": \"pos\"}\n{\"text\": \"beta\", \"label\": \"neg\"}\n"
      "{\"text\": \"gamma\"}\n");
  DatasetVersion v1 = Commit();
  ImportJsonl("{\"text\": \"gamma\", \"label\": \"pos\"}\n");
  DatasetVersion v2 = Commit();
  auto m1 = ws_->blobs().Get(v1.manifest_key);
  auto m2 = ws_->blobs().Get(v2.manifest_key);
  ASSERT_TRUE(m1.has_value() && m2.has_value());

  DoctorReport r = Doctor();
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.objects, 5u);  // 3 items + 2 manifests
  EXPECT_EQ(r.object_bytes, 5u + 4 + 5 + m1->size() + m2->size());
  EXPECT_EQ(r.items, 3u);
  EXPECT_EQ(r.versions, 2u);
  EXPECT_EQ(r.unreferenced, 0u);
  EXPECT_TRUE(r.warnings.empty());
}

TEST_F(DoctorTest, ReportsUnreferencedObjectsAsAWarning) {
  ImportJsonl("{\"text\": \"alpha\", \"label\": \"pos\"}\n");
  ASSERT_TRUE(ws_->blobs().Put("left by an interrupted import").has_value());
  DoctorReport r = Doctor();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.objects, 2u);
  EXPECT_EQ(r.unreferenced, 1u);
  EXPECT_THAT(r.warnings,
              ElementsAre("1 objects are not referenced (left by an interrupted import or commit; harmless)"));
}

TEST_F(DoctorTest, DamagedPackedObjectIsAnErrorNamingIt) {
  ImportJsonl("{\"text\": \"alpha\", \"label\": \"pos\"}\n{\"text\": \"beta\", \"label\": \"neg\"}\n");
  Commit();
  std::string key = Sha256Hex("alpha");
  ExecOnPackedDb("UPDATE objects SET data = CAST('alphX' AS BLOB) WHERE key = X'" + key + "'");
  DoctorReport r = Doctor();
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.errors[0],
            "object " + key + " in file://" + objects_.string() + " does not match its hash (damaged on disk)");
  EXPECT_EQ(r.objects, 3u);
}

TEST_F(DoctorTest, DamagedLooseObjectIsAnErrorNamingIt) {
  // Objects over 128 KiB (store.small_object_bytes) are files of their own.
  std::string big(200 * 1024, 'b');
  ImportJsonl("{\"text\": \"" + big + "\", \"label\": \"pos\"}\n");
  std::string key = Sha256Hex(big);
  fs::path file = objects_ / key.substr(0, 2) / key.substr(2);
  ASSERT_TRUE(fs::exists(file)) << file;
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  big[1000] = 'X';
  test::WriteBytes(file, big);

  DoctorReport r = Doctor();
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.errors[0],
            "object " + key + " in file://" + objects_.string() + " does not match its hash (damaged on disk)");
}

TEST_F(DoctorTest, MissingManifestObjectReportsTheVersion) {
  ImportJsonl("{\"text\": \"alpha\", \"label\": \"pos\"}\n");
  DatasetVersion v = Commit();
  ExecOnPackedDb("DELETE FROM objects WHERE key = X'" + v.manifest_key + "'");
  DoctorReport r = Doctor();
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.errors[0], "texts@v1: object " + v.manifest_key + " is not in file://" + objects_.string());
  EXPECT_EQ(r.versions, 1u);
}

TEST_F(DoctorTest, CorruptManifestReportsTheVersion) {
  ImportJsonl("{\"text\": \"alpha\", \"label\": \"pos\"}\n");
  DatasetVersion v = Commit();
  ExecOnPackedDb("UPDATE objects SET data = CAST('FSMLMANI-not-a-real-manifest' AS BLOB) WHERE key = X'" +
                 v.manifest_key + "'");
  DoctorReport r = Doctor();
  EXPECT_FALSE(r.ok());
  // The object fails its hash, and so does the version that needs it.
  EXPECT_THAT(r.errors, ElementsAre("object " + v.manifest_key + " in file://" + objects_.string() +
                                        " does not match its hash (damaged on disk)",
                                    "texts@v1: object " + v.manifest_key + " in file://" + objects_.string() +
                                        " does not match its hash (damaged on disk)"));
}

TEST_F(DoctorTest, MissingItemObjectReportsTheItem) {
  ImportJsonl("{\"text\": \"alpha\", \"label\": \"pos\"}\n{\"text\": \"beta\"}\n");
  std::string key = Sha256Hex("beta");
  ExecOnPackedDb("DELETE FROM objects WHERE key = X'" + key + "'");
  DoctorReport r = Doctor();
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.errors, ElementsAre("item " + key + ": its object is missing from file://" + objects_.string()));
  EXPECT_EQ(r.items, 2u);
  EXPECT_EQ(r.objects, 1u);
}

}  // namespace
}  // namespace fsml
