// The MetaStore contract, run on every backend: the embedded SQLite store and
// PostgreSQL. What fsml's code relies on must hold on both, with the same
// results and the same error codes. PostgreSQL cases run when
// FSML_TEST_PG_URL names a server's maintenance database (the integration
// tests start one with scripts/services.sh); each test gets a database of its
// own, dropped afterwards.
#include <atomic>
#include <chrono>
#include <map>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../pg_test_database.h"
#include "../temp_dir_test.h"

#include "store/meta_store.h"
#include "store/schema.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MetaStoreContract : public test::TempDirTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    if (GetParam() == "sqlite") {
      url_ = "sqlite://meta.db";
      return;
    }
    if (test::PgTestDatabase::AdminUrl().empty())
      GTEST_SKIP() << "FSML_TEST_PG_URL is not set (scripts/services.sh start postgresql)";
    db_ = std::make_unique<test::PgTestDatabase>(test::PgTestDatabase::AdminUrl());
    ASSERT_EQ(db_->error(), "") << "create a test database";
    url_ = db_->url();
  }
  void TearDown() override {
    db_.reset();
    TempDirTest::TearDown();
  }

  std::unique_ptr<MetaStore> MustOpen() {
    auto r = OpenMetaStore(url_, dir_.string());
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? std::move(*r) : nullptr;
  }

  static int64_t Count(MetaStore& store, const std::string& table) {
    auto r = store.QueryInt("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r && *r ? **r : -1;
  }

  static Result<std::optional<int64_t>> AddProject(MetaStore& store, const std::string& name) {
    return store.QueryInt(
        "INSERT INTO projects (name, task_type, split_salt, train_permille, val_permille, "
        "test_permille, created_at, created_by) VALUES (?, 'classification', 'salt', 800, 100, "
        "100, '2026-01-01T00:00:00.000Z', 'test') RETURNING id",
        {name});
  }

  std::string url_;
  std::unique_ptr<test::PgTestDatabase> db_;
};

TEST_P(MetaStoreContract, OpenRunsEveryMigrationOnceAndReopenKeepsData) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->dialect(), GetParam());
    EXPECT_EQ(store->schema_version(), SchemaMigrations().back().version);
    EXPECT_EQ(Count(*store, "schema_migrations"), static_cast<int64_t>(SchemaMigrations().size()));
    for (const char* t : {"projects", "labels", "items", "imports", "annotations", "project_items", "dataset_versions",
                          "version_tags", "runs", "run_epochs", "models", "model_versions", "model_aliases",
                          "model_alias_history", "requirements", "evaluations", "api_tokens", "jobs",
                          "queue_messages", "model_serving"}) {
      EXPECT_EQ(Count(*store, t), 0) << t;
    }
    auto id = AddProject(*store, "cats");
    ASSERT_TRUE(id.has_value()) << id.error().ToString();
    EXPECT_EQ(**id, 1);
  }
  auto again = MustOpen();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Count(*again, "schema_migrations"), static_cast<int64_t>(SchemaMigrations().size()));
  auto name = again->QueryText("SELECT name FROM projects WHERE id = ?", {int64_t{1}});
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(*name, "cats");
  // Generated ids go on after a reopen.
  auto id = AddProject(*again, "dogs");
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  EXPECT_EQ(**id, 2);
}

TEST_P(MetaStoreContract, SchemaColumnsHold64BitIntegersAndDoubles) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  const int64_t big = 5'000'000'000'123;
  ASSERT_TRUE(store->Exec("INSERT INTO items (id, media_type, size_bytes) VALUES (?, 'image/png', ?)",
                          {std::string("k1"), big})
                  .has_value());
  auto got = store->QueryInt("SELECT size_bytes FROM items WHERE id = ?", {std::string("k1")});
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, big);
  ASSERT_TRUE(store->Exec("INSERT INTO queue_messages (queue, message_id, body, deliveries, visible_at_ms) "
                          "VALUES ('q', 'm', 'b', 0, ?)",
                          {int64_t{1'800'000'000'000}})
                  .has_value());
  // A double keeps all its digits (PostgreSQL's REAL would keep 6).
  ASSERT_TRUE(AddProject(*store, "p").has_value());
  ASSERT_TRUE(store->Exec("INSERT INTO requirements (project_id, position, text, created_at, created_by) "
                          "VALUES (1, 0, 'x', 'now', 'me')")
                  .has_value());
  double precise = 0.123456789012345;
  double seen = 0;
  ASSERT_TRUE(store->Exec("CREATE TABLE v (d DOUBLE PRECISION)").has_value());
  ASSERT_TRUE(store->Exec("INSERT INTO v (d) VALUES (?)", {precise}).has_value());
  ASSERT_TRUE(store->Query("SELECT d FROM v", {}, [&](const SqlRow& r) {
    seen = r.Real(0);
    return Status::Ok();
  }).ok());
  EXPECT_EQ(seen, precise);
}

TEST_P(MetaStoreContract, ParamsOfEveryTypeRoundTripWithTypedValuesAndColumnNames) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE v (n BIGINT, i BIGINT, r DOUBLE PRECISION, t TEXT)").has_value());
  const int64_t min = std::numeric_limits<int64_t>::min();
  const std::string text = "caf\xc3\xa9 'quoted' \"dq\" ? $1 \\ end";
  ASSERT_TRUE(store->Exec("INSERT INTO v (n, i, r, t) VALUES (?, ?, ?, ?)", {std::monostate{}, min, 2.5, text})
                  .has_value());
  int rows = 0;
  Status s = store->Query("SELECT n, i, r, t FROM v", {}, [&](const SqlRow& row) {
    ++rows;
    EXPECT_EQ(row.columns(), 4);
    EXPECT_TRUE(row.IsNull(0));
    EXPECT_EQ(row.Int(1), min);
    EXPECT_DOUBLE_EQ(row.Real(2), 2.5);
    EXPECT_EQ(row.Text(3), text);
    EXPECT_EQ(row.ColumnName(0), "n");
    EXPECT_EQ(row.ColumnName(3), "t");
    EXPECT_TRUE(std::holds_alternative<std::monostate>(row.Value(0)));
    EXPECT_EQ(row.Value(1), SqlValue(min));
    EXPECT_EQ(row.Value(2), SqlValue(2.5));
    EXPECT_EQ(row.Value(3), SqlValue(text));
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, 1);
  // A '?' inside a string literal is text, not a parameter.
  auto q = store->QueryText("SELECT '?' || ?", {std::string("!")});
  ASSERT_TRUE(q.has_value()) << q.error().ToString();
  EXPECT_EQ(*q, "?!");
}

TEST_P(MetaStoreContract, QueryIntAndTextGiveNulloptForNoRowOrNull) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto none = store->QueryInt("SELECT id FROM projects");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, std::nullopt);
  auto max = store->QueryInt("SELECT MAX(id) FROM projects");
  ASSERT_TRUE(max.has_value());
  EXPECT_EQ(*max, std::nullopt);
  auto empty = store->QueryText("SELECT ''");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");
  auto sum = store->QueryInt("SELECT ? + 1", {int64_t{41}});
  ASSERT_TRUE(sum.has_value()) << sum.error().ToString();
  EXPECT_EQ(*sum, 42);
}

TEST_P(MetaStoreContract, RowsInOrderAndCallbackErrorStopsTheQuery) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  for (const char* n : {"c", "a", "b"}) ASSERT_TRUE(AddProject(*store, n).has_value());
  std::vector<std::string> seen;
  ASSERT_TRUE(store->Query("SELECT name FROM projects ORDER BY name", {}, [&](const SqlRow& r) {
    seen.emplace_back(r.Text(0));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  int calls = 0;
  Status s = store->Query("SELECT name FROM projects ORDER BY name", {}, [&](const SqlRow&) {
    ++calls;
    return Aborted("enough");
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST_P(MetaStoreContract, WrongParameterCountIsInternalWithTheSameMessage) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto r = store->Exec("SELECT ? + ?", {int64_t{1}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInternal);
  EXPECT_EQ(r.error().message(), "'SELECT ? + ?' takes 2 parameters, got 1");
}

TEST_P(MetaStoreContract, BadSqlIsIoErrorNamingTheStatement) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto r = store->Exec("SELECT * FROM no_such_table");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kIoError);
  EXPECT_THAT(r.error().message(), HasSubstr("'SELECT * FROM no_such_table'"));
  EXPECT_THAT(r.error().message(), HasSubstr("no_such_table"));
}

TEST_P(MetaStoreContract, ConstraintViolationsAreFailedPreconditionAndChangeNothing) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AddProject(*store, "cats").has_value());
  auto dup = AddProject(*store, "cats");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code(), Code::kFailedPrecondition);
  auto fk = store->Exec("INSERT INTO labels (project_id, position, name) VALUES (?, 0, 'cat')", {int64_t{999}});
  ASSERT_FALSE(fk.has_value());
  EXPECT_EQ(fk.error().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store->Exec("INSERT INTO labels (project_id, position, name) VALUES (1, 0, 'cat')").has_value());
  auto del = store->Exec("DELETE FROM projects WHERE id = 1");
  ASSERT_FALSE(del.has_value());
  EXPECT_EQ(del.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Count(*store, "projects"), 1);
  EXPECT_EQ(Count(*store, "labels"), 1);
  // ON CONFLICT DO NOTHING and DO UPDATE behave alike.
  ASSERT_TRUE(store->Exec("INSERT INTO items (id, media_type, size_bytes) VALUES ('k', 'x', 1) "
                          "ON CONFLICT (id) DO NOTHING").has_value());
  auto again = store->Exec("INSERT INTO items (id, media_type, size_bytes) VALUES ('k', 'x', 2) "
                           "ON CONFLICT (id) DO NOTHING");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, 0);
  ASSERT_TRUE(store->Exec("INSERT INTO items (id, media_type, size_bytes) VALUES ('k', 'x', 3) "
                          "ON CONFLICT (id) DO UPDATE SET size_bytes = excluded.size_bytes").has_value());
  auto size = store->QueryInt("SELECT size_bytes FROM items WHERE id = 'k'");
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(*size, 3);
}

TEST_P(MetaStoreContract, TransactionCommitsWholeOrNotAtAll) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status ok = store->Transaction([&]() -> Status {
    FSML_RETURN_IF_ERROR(StatusOf(AddProject(*store, "a")));
    return StatusOf(AddProject(*store, "b"));
  });
  ASSERT_TRUE(ok.ok()) << ok.ToString();
  Status failed = store->Transaction([&]() -> Status {
    FSML_RETURN_IF_ERROR(StatusOf(AddProject(*store, "c")));
    return StatusOf(AddProject(*store, "a"));  // unique violation
  });
  EXPECT_EQ(failed.code(), Code::kFailedPrecondition);
  Status aborted = store->Transaction([&]() -> Status {
    FSML_RETURN_IF_ERROR(StatusOf(AddProject(*store, "d")));
    return Aborted("user pressed ctrl-c");
  });
  EXPECT_EQ(aborted.code(), Code::kAborted);
  EXPECT_EQ(aborted.message(), "user pressed ctrl-c");
  EXPECT_EQ(Count(*store, "projects"), 2);
  // Usable afterwards.
  ASSERT_TRUE(store->Transaction([&] { return StatusOf(AddProject(*store, "e")); }).ok());
  EXPECT_EQ(Count(*store, "projects"), 3);
}

// A read-then-write transaction (the next version number from MAX) run from
// several threads and two store instances (two processes' view) never hands
// out a number twice and loses no write.
TEST_P(MetaStoreContract, ReadThenWriteTransactionsAreSerializedAcrossStores) {
  auto first = MustOpen();
  auto second = MustOpen();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(first->Exec("CREATE TABLE numbers (n BIGINT NOT NULL UNIQUE, by_thread BIGINT NOT NULL)").has_value());
  constexpr int kThreads = 4, kEach = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      MetaStore& store = t % 2 == 0 ? *first : *second;
      for (int i = 0; i < kEach; ++i) {
        Status s = store.Transaction([&]() -> Status {
          FSML_ASSIGN_OR_RETURN(auto last, store.QueryInt("SELECT MAX(n) FROM numbers"));
          return StatusOf(store.Exec("INSERT INTO numbers (n, by_thread) VALUES (?, ?)",
                                     {last.value_or(0) + 1, int64_t{t}}));
        });
        if (!s.ok()) {
          ++failures;
          ADD_FAILURE() << s.ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count(*first, "numbers"), kThreads * kEach);
  auto max = first->QueryInt("SELECT MAX(n) FROM numbers");
  ASSERT_TRUE(max.has_value());
  EXPECT_EQ(*max, kThreads * kEach);
}

TEST_P(MetaStoreContract, ReadsOutsideATransactionRunFromManyThreads) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AddProject(*store, "cats").has_value());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto n = store->QueryText("SELECT name FROM projects WHERE id = ?", {int64_t{1}});
        if (n && *n == "cats") ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 400);
}

TEST_P(MetaStoreContract, CheckIntegrityOkOnAFreshStore) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = store->CheckIntegrity();
  EXPECT_TRUE(s.ok()) << s.ToString();
}

INSTANTIATE_TEST_SUITE_P(Backends, MetaStoreContract, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ---------------------------------------------------------------- PostgreSQL only

TEST(PostgresMetaStoreTest, UnparsableUrlIsInvalidArgument) {
  auto r = OpenMetaStore("postgresql://[nope", "/tmp");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.error().message(), HasSubstr("store.meta"));
}

TEST(PostgresMetaStoreTest, UnreachableServerIsUnavailableNamingItWithoutThePassword) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto r = OpenMetaStore("postgresql://fsml:s3cret-pw@127.0.0.1:1/fsml?connect_timeout=2", "/tmp");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_THAT(r.error().message(), HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(r.error().message(), Not(HasSubstr("s3cret-pw")));
}

// Server restarts, with FSML_TEST_PG_RESTART_CMD (a shell command that
// restarts the server FSML_TEST_PG_URL names; the integration tests pass
// scripts/services.sh restart postgresql).
class PostgresRestartTest : public MetaStoreContract {
 protected:
  void SetUp() override {
    MetaStoreContract::SetUp();
    if (IsSkipped()) return;
    const char* cmd = std::getenv("FSML_TEST_PG_RESTART_CMD");
    if (cmd == nullptr || *cmd == '\0') GTEST_SKIP() << "FSML_TEST_PG_RESTART_CMD is not set";
    restart_ = cmd;
  }
  void Restart() { ASSERT_EQ(std::system((restart_ + " > /dev/null 2>&1").c_str()), 0) << restart_; }
  std::string restart_;
};

TEST_P(PostgresRestartTest, StatementsAfterAServerRestartReconnect) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AddProject(*store, "before").has_value());
  Restart();
  // Every pooled connection is broken now; each call reconnects.
  for (int i = 0; i < 3; ++i) {
    auto n = store->QueryInt("SELECT COUNT(*) FROM projects");
    ASSERT_TRUE(n.has_value()) << n.error().ToString();
    EXPECT_EQ(*n, 1);
  }
  ASSERT_TRUE(store->Transaction([&] { return StatusOf(AddProject(*store, "after")); }).ok());
  EXPECT_EQ(Count(*store, "projects"), 2);
}

TEST_P(PostgresRestartTest, ARestartInsideATransactionLeavesNoneOfIt) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = store->Transaction([&]() -> Status {
    for (int i = 0; i < 20; ++i) FSML_RETURN_IF_ERROR(StatusOf(AddProject(*store, "p" + std::to_string(i))));
    Restart();  // the server goes away between statements of one transaction
    for (int i = 20; i < 40; ++i) FSML_RETURN_IF_ERROR(StatusOf(AddProject(*store, "p" + std::to_string(i))));
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_EQ(Count(*store, "projects"), 0);  // none of it, never half
  ASSERT_TRUE(store->Transaction([&] { return StatusOf(AddProject(*store, "again")); }).ok());
  EXPECT_EQ(Count(*store, "projects"), 1);
}

// Transactions of 10 rows each committed in a loop while the server restarts
// underneath: each group is all there or absent, and every group reported
// committed is there.
TEST_P(PostgresRestartTest, TransactionsDuringARestartAreWholeOrAbsent) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Exec("CREATE TABLE grouped (g BIGINT NOT NULL, i BIGINT NOT NULL)").has_value());
  std::atomic<bool> stop{false};
  std::set<int64_t> committed;
  std::thread writer([&] {
    for (int64_t g = 0; !stop && g < 100000; ++g) {
      Status s = store->Transaction([&]() -> Status {
        for (int64_t i = 0; i < 10; ++i)
          FSML_RETURN_IF_ERROR(StatusOf(store->Exec("INSERT INTO grouped (g, i) VALUES (?, ?)", {g, i})));
        return Status::Ok();
      });
      if (s.ok()) committed.insert(g);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  std::map<int64_t, int64_t> rows_per_group;
  ASSERT_TRUE(store->Query("SELECT g, COUNT(*) FROM grouped GROUP BY g", {}, [&](const SqlRow& r) {
    rows_per_group[r.Int(0)] = r.Int(1);
    return Status::Ok();
  }).ok());
  for (auto [g, n] : rows_per_group) EXPECT_EQ(n, 10) << "group " << g << " is partial";
  for (int64_t g : committed) EXPECT_TRUE(rows_per_group.contains(g)) << "committed group " << g << " is missing";
  EXPECT_GT(committed.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, PostgresRestartTest, ::testing::Values("postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace fsml
