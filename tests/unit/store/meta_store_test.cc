#include "store/meta_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../temp_dir_test.h"

#include "store/schema.h"

namespace fsml {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Each test gets its own folder and opens "sqlite://meta.db" relative to it.
class MetaStoreTest : public test::TempDirTest {
 protected:

  Result<std::unique_ptr<MetaStore>> OpenDefault() {
    return OpenMetaStore("sqlite://meta.db", dir_.string());
  }
  // Opens the store or fails the test (callers ASSERT_NE(store, nullptr)).
  std::unique_ptr<MetaStore> MustOpen() {
    auto r = OpenDefault();
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? std::move(*r) : nullptr;
  }
  std::string DbPath() const { return (dir_ / "meta.db").string(); }

  static int64_t Count(MetaStore& store, const std::string& table) {
    auto r = store.QueryInt("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r && *r ? **r : -1;
  }

  // Inserts a project row (all NOT NULL columns) and returns its id.
  static int64_t AddProject(MetaStore& store, const std::string& name) {
    auto id = store.QueryInt(
        "INSERT INTO projects (name, task_type, split_salt, train_permille, val_permille, "
        "test_permille, created_at, created_by) VALUES (?, 'classification', 'salt', 800, 100, "
        "100, '2026-01-01T00:00:00.000Z', 'test') RETURNING id",
        {name});
    EXPECT_TRUE(id.has_value()) << id.error().ToString();
    return id && *id ? **id : -1;
  }

};

int LastMigrationVersion() { return SchemaMigrations().back().version; }

TEST_F(MetaStoreTest, OpenCreatesDatabaseAndRunsAllMigrations) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::exists(dir_ / "meta.db"));
  EXPECT_EQ(store->dialect(), "sqlite");
  EXPECT_EQ(store->schema_version(), LastMigrationVersion());
  EXPECT_EQ(Count(*store, "schema_migrations"), static_cast<int64_t>(SchemaMigrations().size()));
  auto max = store->QueryInt("SELECT MAX(version) FROM schema_migrations");
  ASSERT_TRUE(max.has_value());
  EXPECT_EQ(*max, LastMigrationVersion());
  for (const char* table : {"projects", "labels", "items", "imports", "annotations",
                            "project_items", "dataset_versions", "version_tags"}) {
    auto n = store->QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                             {std::string(table)});
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 1) << table;
  }
  auto desc = store->QueryText("SELECT description FROM schema_migrations WHERE version = 1");
  ASSERT_TRUE(desc.has_value());
  EXPECT_EQ(*desc, SchemaMigrations()[0].description);
}

TEST_F(MetaStoreTest, ReopeningIsIdempotentAndKeepsData) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    AddProject(*store, "cats");
  }
  for (int i = 0; i < 2; ++i) {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->schema_version(), LastMigrationVersion());
    EXPECT_EQ(Count(*store, "schema_migrations"), static_cast<int64_t>(SchemaMigrations().size()));
    auto name = store->QueryText("SELECT name FROM projects");
    ASSERT_TRUE(name.has_value());
    EXPECT_EQ(*name, "cats");
  }
}

TEST_F(MetaStoreTest, RelativePathCreatesParentFolders) {
  auto r = OpenMetaStore("sqlite://.fsml/sub/meta.db", dir_.string());
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(fs::exists(dir_ / ".fsml" / "sub" / "meta.db"));
}

TEST_F(MetaStoreTest, AbsolutePathIgnoresBaseDir) {
  fs::path abs = dir_ / "abs.db";
  auto r = OpenMetaStore("sqlite://" + abs.string(), (dir_ / "elsewhere").string());
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(fs::exists(abs));
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere"));
}

TEST_F(MetaStoreTest, UnsupportedUrlIsInvalidArgumentNamingTheUrl) {
  auto r = OpenMetaStore("mysql://localhost/fsml", dir_.string());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.error().message(),
            "store.meta 'mysql://localhost/fsml': unsupported URL (expected sqlite://PATH or postgresql://...)");
  auto bare = OpenMetaStore("meta.db", dir_.string());
  ASSERT_FALSE(bare.has_value());
  EXPECT_EQ(bare.error().message(),
            "store.meta 'meta.db': unsupported URL (expected sqlite://PATH or postgresql://...)");
}

TEST_F(MetaStoreTest, UrlWithoutPathIsInvalidArgument) {
  auto r = OpenMetaStore("sqlite://", dir_.string());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "store.meta 'sqlite://': no path");
}

TEST_F(MetaStoreTest, PathThatIsAFolderFailsToOpen) {
  fs::create_directories(dir_ / "meta.db");
  auto r = OpenDefault();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kIoError);
  EXPECT_THAT(r.error().message(), HasSubstr(DbPath()));
}

TEST_F(MetaStoreTest, NewerSchemaVersionIsFailedPrecondition) {
  const int64_t future = LastMigrationVersion() + 1;
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    auto n = store->Exec(
        "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
        {future, std::string("from a newer fsml"), std::string("2030-01-01T00:00:00.000Z")});
    ASSERT_TRUE(n.has_value()) << n.error().ToString();
  }
  auto r = OpenDefault();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.error().message(), DbPath() + ": schema version " + std::to_string(future) +
                                     " is newer than this fsml understands (" +
                                     std::to_string(LastMigrationVersion()) + "); upgrade fsml");
}

TEST_F(MetaStoreTest, ExecReturnsChangedRowCount) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE t (a INTEGER)").has_value());
  for (int64_t i = 0; i < 5; ++i) {
    auto n = store->Exec("INSERT INTO t (a) VALUES (?)", {i});
    ASSERT_TRUE(n.has_value()) << n.error().ToString();
    EXPECT_EQ(*n, 1);
  }
  auto updated = store->Exec("UPDATE t SET a = a + 100 WHERE a >= ?", {int64_t{2}});
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(*updated, 3);
  auto none = store->Exec("DELETE FROM t WHERE a = ?", {int64_t{-1}});
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, 0);
}

TEST_F(MetaStoreTest, ParamsOfEveryTypeRoundTrip) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE v (n, i, r, t)").has_value());
  const int64_t big = std::numeric_limits<int64_t>::min();
  const std::string text("caf\xc3\xa9 \0 end", 11);
  auto n = store->Exec("INSERT INTO v (n, i, r, t) VALUES (?, ?, ?, ?)",
                       {std::monostate{}, big, 2.5, text});
  ASSERT_TRUE(n.has_value()) << n.error().ToString();

  int rows = 0;
  Status s = store->Query("SELECT n, i, r, t, typeof(n), typeof(i), typeof(r), typeof(t) FROM v",
                          {}, [&](const SqlRow& row) {
                            ++rows;
                            EXPECT_EQ(row.columns(), 8);
                            EXPECT_TRUE(row.IsNull(0));
                            EXPECT_FALSE(row.IsNull(1));
                            EXPECT_EQ(row.Int(1), big);
                            EXPECT_DOUBLE_EQ(row.Real(2), 2.5);
                            EXPECT_EQ(row.Text(3), text);
                            EXPECT_EQ(row.Text(4), "null");
                            EXPECT_EQ(row.Text(5), "integer");
                            EXPECT_EQ(row.Text(6), "real");
                            EXPECT_EQ(row.Text(7), "text");
                            return Status::Ok();
                          });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, 1);
}

TEST_F(MetaStoreTest, NullParamMatchesIsNull) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE v (a, b)").has_value());
  ASSERT_TRUE(store->Exec("INSERT INTO v VALUES (?, ?)", {std::monostate{}, int64_t{1}}).has_value());
  ASSERT_TRUE(store->Exec("INSERT INTO v VALUES (?, ?)", {int64_t{7}, int64_t{2}}).has_value());
  auto b = store->QueryInt("SELECT b FROM v WHERE a IS ?", {std::monostate{}});
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, 1);
}

TEST_F(MetaStoreTest, QueryIntAndQueryTextGiveNulloptForNoRowOrNull) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE v (i INTEGER, t TEXT)").has_value());
  auto no_row_int = store->QueryInt("SELECT i FROM v");
  ASSERT_TRUE(no_row_int.has_value());
  EXPECT_EQ(*no_row_int, std::nullopt);
  auto no_row_text = store->QueryText("SELECT t FROM v");
  ASSERT_TRUE(no_row_text.has_value());
  EXPECT_EQ(*no_row_text, std::nullopt);

  ASSERT_TRUE(store->Exec("INSERT INTO v VALUES (NULL, NULL)").has_value());
  auto null_int = store->QueryInt("SELECT i FROM v");
  ASSERT_TRUE(null_int.has_value());
  EXPECT_EQ(*null_int, std::nullopt);
  auto null_text = store->QueryText("SELECT t FROM v");
  ASSERT_TRUE(null_text.has_value());
  EXPECT_EQ(*null_text, std::nullopt);

  auto i = store->QueryInt("SELECT ? + 1", {int64_t{41}});
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(*i, 42);
  auto t = store->QueryText("SELECT ? || '!'", {std::string("hi")});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, "hi!");
  auto empty = store->QueryText("SELECT ''");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");  // empty text is not NULL
}

TEST_F(MetaStoreTest, QueryVisitsRowsInOrder) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE v (i INTEGER)").has_value());
  for (int64_t i : {3, 1, 2}) ASSERT_TRUE(store->Exec("INSERT INTO v VALUES (?)", {i}).has_value());
  std::vector<int64_t> seen;
  Status s = store->Query("SELECT i FROM v WHERE i > ? ORDER BY i", {int64_t{0}}, [&](const SqlRow& r) {
    seen.push_back(r.Int(0));
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(MetaStoreTest, ErrorFromRowCallbackStopsQueryAndIsReturned) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE v (i INTEGER)").has_value());
  for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE(store->Exec("INSERT INTO v VALUES (?)", {i}).has_value());
  int calls = 0;
  Status s = store->Query("SELECT i FROM v", {}, [&](const SqlRow&) {
    ++calls;
    return Aborted("stop here");
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(s.message(), "stop here");
  EXPECT_EQ(calls, 1);
  // The statement was reset: the same query runs again from the start.
  EXPECT_EQ(Count(*store, "v"), 3);
  int again = 0;
  ASSERT_TRUE(store->Query("SELECT i FROM v", {}, [&](const SqlRow&) {
    ++again;
    return Status::Ok();
  }).ok());
  EXPECT_EQ(again, 3);
}

TEST_F(MetaStoreTest, WrongParameterCountIsError) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE v (a, b)").has_value());
  auto too_few = store->Exec("INSERT INTO v (a, b) VALUES (?, ?)", {int64_t{1}});
  ASSERT_FALSE(too_few.has_value());
  EXPECT_EQ(too_few.error().code(), Code::kInternal);
  EXPECT_EQ(too_few.error().message(), "'INSERT INTO v (a, b) VALUES (?, ?)' takes 2 parameters, got 1");

  auto too_many = store->QueryInt("SELECT 1", {int64_t{1}});
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().code(), Code::kInternal);
  EXPECT_EQ(too_many.error().message(), "'SELECT 1' takes 0 parameters, got 1");
  EXPECT_EQ(Count(*store, "v"), 0);
}

TEST_F(MetaStoreTest, BadSqlIsErrorNamingTheStatement) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto r = store->Exec("SELECT * FROM no_such_table");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kIoError);
  EXPECT_EQ(r.error().message(),
            DbPath() + ": prepare 'SELECT * FROM no_such_table': no such table: no_such_table");
}

TEST_F(MetaStoreTest, UniqueViolationIsFailedPrecondition) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  AddProject(*store, "cats");
  auto r = store->Exec(
      "INSERT INTO projects (name, task_type, split_salt, train_permille, val_permille, "
      "test_permille, created_at, created_by) VALUES ('cats', 'c', 's', 1, 1, 1, 'now', 'me')");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(r.error().message(), HasSubstr("UNIQUE constraint failed: projects.name"));
  EXPECT_EQ(Count(*store, "projects"), 1);
}

TEST_F(MetaStoreTest, ForeignKeyViolationIsRefused) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto r = store->Exec("INSERT INTO labels (project_id, position, name) VALUES (?, 0, 'cat')",
                       {int64_t{999}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(r.error().message(), HasSubstr("FOREIGN KEY constraint failed"));
  EXPECT_EQ(Count(*store, "labels"), 0);

  int64_t project = AddProject(*store, "cats");
  auto ok = store->Exec("INSERT INTO labels (project_id, position, name) VALUES (?, 0, 'cat')",
                        {project});
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(Count(*store, "labels"), 1);

  // Deleting the referenced parent is refused too.
  auto del = store->Exec("DELETE FROM projects WHERE id = ?", {project});
  ASSERT_FALSE(del.has_value());
  EXPECT_EQ(del.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Count(*store, "projects"), 1);
}

TEST_F(MetaStoreTest, TransactionCommitsWhenBodyReturnsOk) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = store->Transaction([&]() -> Status {
    int64_t project = AddProject(*store, "cats");
    FSML_RETURN_IF_ERROR(store->Exec(
        "INSERT INTO labels (project_id, position, name) VALUES (?, 0, 'cat')", {project}));
    return store->Exec("INSERT INTO labels (project_id, position, name) VALUES (?, 1, 'dog')",
                       {project});
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Count(*store, "projects"), 1);
  EXPECT_EQ(Count(*store, "labels"), 2);
  store.reset();  // committed means durable: visible after reopening
  auto reopened = MustOpen();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Count(*reopened, "labels"), 2);
}

TEST_F(MetaStoreTest, TransactionRollsBackWhenBodyFails) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = store->Transaction([&]() -> Status {
    AddProject(*store, "cats");
    AddProject(*store, "dogs");
    return Aborted("user pressed ctrl-c");
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(s.message(), "user pressed ctrl-c");
  EXPECT_EQ(Count(*store, "projects"), 0);

  // The store is usable again: a later transaction commits.
  ASSERT_TRUE(store->Transaction([&]() -> Status {
    AddProject(*store, "birds");
    return Status::Ok();
  }).ok());
  EXPECT_EQ(Count(*store, "projects"), 1);
}

TEST_F(MetaStoreTest, TransactionRollsBackEarlierStatementsWhenALaterOneFails) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = store->Transaction([&]() -> Status {
    int64_t project = AddProject(*store, "cats");
    FSML_RETURN_IF_ERROR(store->Exec(
        "INSERT INTO labels (project_id, position, name) VALUES (?, 0, 'cat')", {project}));
    // Violates UNIQUE (project_id, name).
    FSML_RETURN_IF_ERROR(store->Exec(
        "INSERT INTO labels (project_id, position, name) VALUES (?, 1, 'cat')", {project}));
    return Internal("not reached");
  });
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("UNIQUE constraint failed"));
  EXPECT_EQ(Count(*store, "projects"), 0);
  EXPECT_EQ(Count(*store, "labels"), 0);
}

TEST_F(MetaStoreTest, ConcurrentExecFromManyThreads) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE v (t INTEGER, i INTEGER)").has_value());
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int64_t i = 0; i < 50; ++i) {
        auto r = store->Exec("INSERT INTO v (t, i) VALUES (?, ?)", {t, i});
        EXPECT_TRUE(r.has_value()) << r.error().ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(Count(*store, "v"), 200);
  auto distinct = store->QueryInt("SELECT COUNT(*) FROM (SELECT DISTINCT t, i FROM v)");
  ASSERT_TRUE(distinct.has_value());
  EXPECT_EQ(*distinct, 200);
}

TEST_F(MetaStoreTest, CheckIntegrityOkOnFreshDatabase) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = store->CheckIntegrity();
  EXPECT_TRUE(s.ok()) << s.ToString();
  AddProject(*store, "cats");
  s = store->CheckIntegrity();
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(MetaStoreTest, CheckIntegrityReportsDanglingForeignKey) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
  }
  // Another writer with foreign keys off (SQLite's default) leaves an orphan.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, "INSERT INTO labels (project_id, position, name) VALUES (7, 0, 'cat')",
                        nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);

  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = store->CheckIntegrity();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.message(), DbPath() + ": labels row 1 references a missing projects");
}

class MetaStoreDamageTest : public MetaStoreTest {
 protected:
  // Fills a table so that the middle of the file holds its b-tree leaf pages,
  // away from the schema and schema_migrations pages at the start; closes the
  // store, writes `bytes` at `offset_in_page` of the middle page, reopens and
  // runs CheckIntegrity. Returns the error of the open (SQLite may refuse a
  // damaged file: that must read as corruption too) or of the check.
  Status DamageMiddlePageAndCheck(uint64_t offset_in_page, const std::string& bytes) {
    {
      auto store = MustOpen();
      if (store == nullptr) return Internal("open failed");
      EXPECT_TRUE(store->Exec("CREATE TABLE big (i INTEGER PRIMARY KEY, t TEXT)").has_value());
      Status filled = store->Transaction([&]() -> Status {
        for (int64_t i = 0; i < 4000; ++i) {
          FSML_RETURN_IF_ERROR(store->Exec("INSERT INTO big (i, t) VALUES (?, ?)",
                                           {i, std::string(200, static_cast<char>('a' + i % 26))}));
        }
        return Status::Ok();
      });
      EXPECT_TRUE(filled.ok()) << filled.ToString();
      Status before = store->CheckIntegrity();
      EXPECT_TRUE(before.ok()) << before.ToString();
    }
    // Closing the last connection checkpoints the WAL into the main file, so
    // the damage below is what SQLite reads.
    std::error_code ec;
    EXPECT_FALSE(fs::exists(DbPath() + "-wal", ec) && fs::file_size(DbPath() + "-wal") > 0);
    const uint64_t size = fs::file_size(DbPath());
    EXPECT_GT(size, 64u * 4096);
    {
      std::fstream f(DbPath(), std::ios::in | std::ios::out | std::ios::binary);
      EXPECT_TRUE(f.is_open());
      f.seekp(static_cast<std::streamoff>((size / 2) / 4096 * 4096 + offset_in_page));
      f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      EXPECT_TRUE(f.good());
    }
    auto reopened = OpenDefault();
    if (!reopened.has_value()) return reopened.error();
    return (*reopened)->CheckIntegrity();
  }
};

TEST_F(MetaStoreDamageTest, CheckIntegrityReportsOverwrittenPage) {
  Status s = DamageMiddlePageAndCheck(0, std::string(4096, '\x5a'));
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_THAT(s.message(), StartsWith(DbPath() + ": "));
}

TEST_F(MetaStoreDamageTest, CheckIntegrityReportsWhatQuickCheckFound) {
  // The page header's cell count (offset 3, 2 bytes) set to 1: the b-tree
  // page is still readable, so quick_check returns its findings as rows.
  Status s = DamageMiddlePageAndCheck(3, std::string("\x00\x01", 2));
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_THAT(s.message(), StartsWith(DbPath() + ": integrity check: "));
  EXPECT_THAT(s.message(), Not(HasSubstr(": ok")));
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << "a message is one line: " << s.message();
}

TEST_F(MetaStoreTest, NestedTransactionIsAnInternalCheckFailure) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_DEATH(store->Transaction([&]() -> Status {
                       return store->Transaction([] { return Status::Ok(); });
                     }).IgnoreError(),
               "internal check failed: !in_transaction_");
}

}  // namespace
}  // namespace fsml
