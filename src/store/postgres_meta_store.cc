// The scale-out MetaStore: PostgreSQL through libpq.
//
// Same SQL as SQLite: `?` placeholders are rewritten to `$n`, every statement
// is prepared once per connection (PQprepare, text parameters whose types the
// server infers from context) and run with PQexecPrepared.
//
// Concurrency and isolation:
//  - A pool of connections (up to kMaxConnections) serves Exec and Query from
//    any thread; reads run in parallel.
//  - Transaction() runs its body on one connection bound to the calling
//    thread, in READ COMMITTED, after taking one transaction-scoped advisory
//    lock shared by every fsml process on the database. Write transactions
//    therefore run one at a time across all hosts, exactly as SQLite's single
//    writer does, and each statement in one sees every earlier commit: a
//    version number read with MAX() and the queue lease taken from a SELECT
//    cannot be taken twice. Single statements outside a transaction are
//    atomic on their own (row locks).
//  - A connection found broken (server restarted) is reset and a statement
//    outside a transaction is retried once on the new connection; inside a
//    transaction the error is returned (the server has rolled it back), and
//    a failed COMMIT is reported as kUnavailable with the outcome unknown:
//    PostgreSQL commits whole or not at all.
#include <libpq-fe.h>

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/fs.h"
#include "core/log.h"
#include "store/meta_store.h"
#include "store/postgres_meta_store.h"
#include "store/schema.h"

namespace fsml {
namespace {

constexpr int kMaxConnections = 8;
// The advisory lock key that serializes write transactions ("fsml" in ASCII).
constexpr int64_t kWriteLockKey = 0x6673'6d6c;

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// A statement prepared on a connection.
struct PreparedStatement {
  std::string name;
  int params = 0;
};

// One connection and the statements prepared on it.
struct PgConnection {
  PGconn* conn = nullptr;
  std::unordered_map<std::string, PreparedStatement> prepared;  // fsml's SQL (with ?) -> statement
  ~PgConnection() {
    if (conn != nullptr) PQfinish(conn);
  }
};

class PgRow final : public SqlRow {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  int columns() const override { return PQnfields(r_); }
  bool IsNull(int c) const override { return PQgetisnull(r_, row_, c) != 0; }
  int64_t Int(int c) const override {
    std::string_view t = Text(c);
    if (t == "t") return 1;  // booleans read as 1/0, as in SQLite
    if (t == "f") return 0;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size()) return static_cast<int64_t>(Real(c));
    return v;
  }
  double Real(int c) const override {
    std::string s(Text(c));
    return s.empty() ? 0.0 : std::strtod(s.c_str(), nullptr);
  }
  std::string_view Text(int c) const override {
    if (PQgetisnull(r_, row_, c)) return {};
    return {PQgetvalue(r_, row_, c), static_cast<size_t>(PQgetlength(r_, row_, c))};
  }
  std::string_view ColumnName(int c) const override { return PQfname(r_, c); }
  SqlValue Value(int c) const override {
    if (IsNull(c)) return std::monostate{};
    switch (PQftype(r_, c)) {
      case 16:                      // bool
      case 20: case 21: case 23:    // int8, int2, int4
        return Int(c);
      case 700: case 701: case 1700:  // float4, float8, numeric
        return Real(c);
      default:
        return std::string(Text(c));
    }
  }

 private:
  const PGresult* r_;
  int row_;
};

// Rewrites `?` placeholders to `$1..$n`, leaving quoted strings and
// identifiers alone; returns the count in `n`.
std::string TranslatePlaceholders(std::string_view sql, int& n) {
  std::string out;
  out.reserve(sql.size() + 16);
  n = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote != 0) {
      if (c == quote) quote = 0;
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

class PostgresMetaStore final : public MetaStore {
 public:
  PostgresMetaStore(std::string url, std::string where) : url_(std::move(url)), where_(std::move(where)) {}

  ~PostgresMetaStore() override = default;

  std::string_view dialect() const override { return "postgresql"; }
  int64_t schema_version() const override { return schema_version_; }
  Status SetCacheBytes(int64_t) override { return Status::Ok(); }  // the server's shared_buffers cache

  Result<int64_t> Exec(std::string_view sql, const SqlParams& params) override {
    FSML_ASSIGN_OR_RETURN(PgResultPtr r, Run(sql, params));
    const char* n = PQcmdTuples(r.get());
    return (n == nullptr || *n == '\0') ? int64_t{0} : std::stoll(n);
  }

  Status Query(std::string_view sql, const SqlParams& params, const RowFn& on_row) override {
    FSML_ASSIGN_OR_RETURN(PgResultPtr r, Run(sql, params));
    const int rows = PQntuples(r.get());
    for (int i = 0; i < rows; ++i) {
      PgRow row(r.get(), i);
      FSML_RETURN_IF_ERROR(on_row(row));
    }
    return Status::Ok();
  }

  Status Transaction(const std::function<Status()>& body) override {
    FSML_DCHECK(Bound() == nullptr);  // transactions do not nest (contract in meta_store.h)
    FSML_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> c, Acquire());
    // BEGIN and the lock: nothing is done yet, so a broken connection is reset and tried again.
    Status begun = Simple(*c, "BEGIN");
    if (!begun.ok() && PQstatus(c->conn) == CONNECTION_BAD) {
      FSML_RETURN_IF_ERROR(Reset(*c));
      begun = Simple(*c, "BEGIN");
    }
    FSML_RETURN_IF_ERROR(begun);
    Status locked = Simple(*c, "SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLockKey) + ")");
    if (!locked.ok()) {
      Release(std::move(c), /*rollback=*/true);
      return locked;
    }
    Bind(c.get());
    Status s = body();
    Bind(nullptr);
    if (!s.ok()) {
      Release(std::move(c), /*rollback=*/true);
      return s;
    }
    Status committed = Simple(*c, "COMMIT");
    if (!committed.ok() && PQstatus(c->conn) == CONNECTION_BAD) {
      committed = Unavailable(where_ + ": the connection broke during COMMIT; the transaction was committed "
                              "whole or not at all (" + committed.message() + ")");
    }
    Release(std::move(c), /*rollback=*/!committed.ok());
    return committed;
  }

  Status SyncGeneratedIds(std::string_view table) override {
    // `table` comes from SchemaTables(), never from input; setval's argument
    // is a parameter anyway.
    return StatusOf(QueryInt("SELECT setval(pg_get_serial_sequence(?, 'id'), COALESCE((SELECT MAX(id) FROM " +
                                 std::string(table) + "), 0) + 1, false)",
                             {std::string(table)}));
  }

  Status CheckIntegrity() override {
    // PostgreSQL enforces foreign keys itself; what can be checked from a
    // client is that the schema is the one this fsml expects and readable.
    FSML_ASSIGN_OR_RETURN(auto version, QueryInt("SELECT MAX(version) FROM schema_migrations"));
    if (version.value_or(0) != schema_version_)
      return Corruption(where_ + ": schema_migrations says version " + std::to_string(version.value_or(0)) +
                        ", expected " + std::to_string(schema_version_));
    for (const char* table : {"projects", "items", "project_items", "dataset_versions", "runs", "models", "jobs"}) {
      FSML_RETURN_IF_ERROR(StatusOf(QueryInt(std::string("SELECT COUNT(*) FROM ") + table)));
    }
    return Status::Ok();
  }

  Status Connect() {
    FSML_ASSIGN_OR_RETURN(auto c, Acquire());
    Release(std::move(c), false);
    return Status::Ok();
  }

  // All pending migrations, in one transaction under the write lock, so that
  // processes on several hosts opening a new database at once migrate it once.
  Status Migrate() {
    const auto& all = SchemaMigrations();
    return Transaction([&]() -> Status {
      PgConnection& c = *Bound();
      FSML_RETURN_IF_ERROR(Simple(c, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
                                     "description TEXT NOT NULL, applied_at TEXT NOT NULL)"));
      FSML_ASSIGN_OR_RETURN(auto current, QueryInt("SELECT MAX(version) FROM schema_migrations"));
      schema_version_ = current.value_or(0);
      if (!all.empty() && schema_version_ > all.back().version) {
        return FailedPrecondition(where_ + ": schema version " + std::to_string(schema_version_) +
                                  " is newer than this fsml understands (" + std::to_string(all.back().version) +
                                  "); upgrade fsml");
      }
      for (const Migration& m : all) {
        if (m.version <= schema_version_) continue;
        FSML_RETURN_IF_ERROR(
            Simple(c, RenderMigrationSql(m.sql, "postgresql")).WithContext("migration " + std::to_string(m.version)));
        FSML_RETURN_IF_ERROR(StatusOf(Exec("INSERT INTO schema_migrations (version, description, applied_at) "
                                           "VALUES (?, ?, ?)", {int64_t{m.version}, m.description, NowRfc3339()})));
        schema_version_ = m.version;
      }
      return Status::Ok();
    });
  }

 private:
  // The connection of the calling thread's transaction, if any.
  PgConnection* Bound() {
    std::lock_guard lock(mu_);
    auto it = bound_.find(std::this_thread::get_id());
    return it == bound_.end() ? nullptr : it->second;
  }
  void Bind(PgConnection* c) {
    std::lock_guard lock(mu_);
    if (c == nullptr) bound_.erase(std::this_thread::get_id());
    else bound_[std::this_thread::get_id()] = c;
  }

  Status ConnectionError(PGconn* conn, std::string_view what) const {
    std::string msg = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    return Unavailable(where_ + ": " + std::string(what) + ": " + msg);
  }

  // A pooled connection, or a new one while fewer than kMaxConnections exist.
  Result<std::unique_ptr<PgConnection>> Acquire() {
    {
      std::unique_lock lock(mu_);
      pool_cv_.wait(lock, [&] { return !idle_.empty() || open_ < kMaxConnections; });
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
      ++open_;
    }
    auto c = std::make_unique<PgConnection>();
    c->conn = PQconnectdb(url_.c_str());
    if (c->conn == nullptr || PQstatus(c->conn) != CONNECTION_OK) {
      Status err = ConnectionError(c->conn, "connect");
      Forget();
      return Err(err);
    }
    // Quiet NOTICEs (e.g. "relation already exists, skipping").
    PQsetNoticeProcessor(c->conn, [](void*, const char*) {}, nullptr);
    return c;
  }

  void Forget() {
    std::lock_guard lock(mu_);
    --open_;
    pool_cv_.notify_one();
  }

  void Release(std::unique_ptr<PgConnection> c, bool rollback) {
    if (rollback && PQstatus(c->conn) == CONNECTION_OK) Simple(*c, "ROLLBACK").IgnoreError();
    if (PQstatus(c->conn) != CONNECTION_OK || PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
      c.reset();  // a broken or confused connection is not reused
      Forget();
      return;
    }
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
    pool_cv_.notify_one();
  }

  Status Reset(PgConnection& c) {
    c.prepared.clear();
    PQreset(c.conn);
    if (PQstatus(c.conn) != CONNECTION_OK) return ConnectionError(c.conn, "reconnect");
    log::Info("{}: reconnected", where_);
    return Status::Ok();
  }

  // Runs SQL without parameters (BEGIN, COMMIT, migration scripts).
  Status Simple(PgConnection& c, const std::string& sql) {
    PgResultPtr r(PQexec(c.conn, sql.c_str()));
    return CheckResult(c, r.get(), sql);
  }

  Status CheckResult(PgConnection& c, const PGresult* r, std::string_view sql) const {
    ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
    if (PQstatus(c.conn) == CONNECTION_BAD) return ConnectionError(c.conn, "run '" + std::string(sql.substr(0, 60)) + "'");
    std::string state = r ? (PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "") : "";
    std::string msg = r ? (PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : "") : "";
    if (msg.empty()) msg = PQerrorMessage(c.conn);
    std::string text = where_ + ": run '" + std::string(sql.substr(0, 60)) + "': " + msg;
    if (const char* detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : nullptr) text += " (" + std::string(detail) + ")";
    if (state.starts_with("23")) return FailedPrecondition(text);  // integrity constraint violation
    if (state == "40001" || state == "40P01") return Aborted(text);  // serialization failure, deadlock
    if (state.starts_with("08") || state.starts_with("57P")) return Unavailable(text);  // connection, shutdown
    return IoError(text);
  }

  Result<PgResultPtr> RunOn(PgConnection& c, std::string_view sql, const SqlParams& params) {
    // Placeholders are rewritten once, when the statement is first prepared
    // on this connection; later calls only look it up.
    auto count_error = [&](int n) {
      return Internal("'" + std::string(sql.substr(0, 60)) + "' takes " + std::to_string(n) + " parameters, got " +
                      std::to_string(params.size()));
    };
    auto it = c.prepared.find(std::string(sql));
    if (it == c.prepared.end()) {
      PreparedStatement st;
      std::string translated = TranslatePlaceholders(sql, st.params);
      if (st.params != static_cast<int>(params.size())) return Err(count_error(st.params));
      st.name = "s" + std::to_string(c.prepared.size());
      PgResultPtr p(PQprepare(c.conn, st.name.c_str(), translated.c_str(), st.params, nullptr));
      FSML_RETURN_IF_ERROR(CheckResult(c, p.get(), sql));
      it = c.prepared.emplace(std::string(sql), std::move(st)).first;
    }
    const int n = it->second.params;
    if (n != static_cast<int>(params.size())) return Err(count_error(n));
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      const SqlValue& v = params[i];
      if (std::holds_alternative<std::monostate>(v)) continue;
      if (auto* k = std::get_if<int64_t>(&v)) storage[i] = std::to_string(*k);
      else if (auto* d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", *d);
        storage[i] = buf;
      } else {
        storage[i] = std::get<std::string>(v);
      }
      values[i] = storage[i].c_str();
      lengths[i] = static_cast<int>(storage[i].size());
    }
    PgResultPtr r(PQexecPrepared(c.conn, it->second.name.c_str(), n, values.data(), lengths.data(), nullptr, 0));
    FSML_RETURN_IF_ERROR(CheckResult(c, r.get(), sql));
    return r;
  }

  Result<PgResultPtr> Run(std::string_view sql, const SqlParams& params) {
    if (PgConnection* bound = Bound()) return RunOn(*bound, sql, params);
    FSML_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> c, Acquire());
    auto r = RunOn(*c, sql, params);
    if (!r && PQstatus(c->conn) == CONNECTION_BAD) {
      // The server went away (restart): one statement on its own is retried
      // once on a fresh connection; it either ran before the break or not at all.
      Status reset = Reset(*c);
      if (reset.ok()) r = RunOn(*c, sql, params);
    }
    Release(std::move(c), /*rollback=*/false);
    return r;
  }

  const std::string url_;    // the libpq connection URL
  const std::string where_;  // the URL for messages, password masked
  int64_t schema_version_ = 0;

  std::mutex mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;
  std::unordered_map<std::thread::id, PgConnection*> bound_;
};

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenPostgresMetaStore(std::string_view url) {
  std::string where = MaskUrl(url);
  // libpq understands postgresql:// and postgres:// URLs; check it parses
  // before connecting, so a typo is a clear InvalidArgument.
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(url).c_str(), &err);
  if (opts == nullptr) {
    std::string msg = err ? err : "unparsable";
    PQfreemem(err);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Err(InvalidArgument("store.meta '" + where + "': " + msg));
  }
  PQconninfoFree(opts);
  auto store = std::make_unique<PostgresMetaStore>(std::string(url), "PostgreSQL " + where);
  FSML_RETURN_IF_ERROR(store->Connect());
  FSML_RETURN_IF_ERROR(store->Migrate());
  return std::unique_ptr<MetaStore>(std::move(store));
}

}  // namespace fsml
