// The embedded MetaStore: one SQLite database in WAL mode.
#include <mutex>

#include "core/fs.h"
#include "store/meta_store.h"
#include "store/postgres_meta_store.h"
#include "store/schema.h"
#include "store/sqlite_db.h"

namespace fsml {
namespace {

using store_internal::SqliteDb;

class SqliteRow final : public SqlRow {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  int columns() const override { return sqlite3_column_count(s_); }
  bool IsNull(int c) const override { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  int64_t Int(int c) const override { return sqlite3_column_int64(s_, c); }
  double Real(int c) const override { return sqlite3_column_double(s_, c); }
  std::string_view Text(int c) const override {
    const unsigned char* p = sqlite3_column_text(s_, c);
    if (p == nullptr) return {};
    return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, c))};
  }
  std::string_view ColumnName(int c) const override {
    const char* n = sqlite3_column_name(s_, c);
    return n == nullptr ? std::string_view{} : std::string_view{n};
  }
  SqlValue Value(int c) const override {
    switch (sqlite3_column_type(s_, c)) {
      case SQLITE_NULL: return std::monostate{};
      case SQLITE_INTEGER: return Int(c);
      case SQLITE_FLOAT: return Real(c);
      default: return std::string(Text(c));
    }
  }

 private:
  sqlite3_stmt* s_;
};

class SqliteMetaStore final : public MetaStore {
 public:
  explicit SqliteMetaStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  std::string_view dialect() const override { return "sqlite"; }
  int64_t schema_version() const override { return schema_version_; }
  Status SetCacheBytes(int64_t bytes) override {
    std::lock_guard lock(mu_);
    return db_->SetCacheBytes(bytes);
  }

  Result<int64_t> Exec(std::string_view sql, const SqlParams& params) override {
    std::lock_guard lock(mu_);
    FSML_ASSIGN_OR_RETURN(sqlite3_stmt * s, PrepareAndBind(sql, params));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return Err(db_->Error("run '" + std::string(sql.substr(0, 60)) + "'"));
    int64_t changes = sqlite3_changes64(db_->raw());
    sqlite3_reset(s);
    return changes;
  }

  Status Query(std::string_view sql, const SqlParams& params, const RowFn& on_row) override {
    std::lock_guard lock(mu_);
    FSML_ASSIGN_OR_RETURN(sqlite3_stmt * s, PrepareAndBind(sql, params));
    SqliteRow row(s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      Status st = on_row(row);
      if (!st.ok()) {
        sqlite3_reset(s);
        return st;
      }
    }
    if (rc != SQLITE_DONE) {
      Status err = db_->Error("query '" + std::string(sql.substr(0, 60)) + "'");
      sqlite3_reset(s);
      return err;
    }
    sqlite3_reset(s);
    return Status::Ok();
  }

  Status Transaction(const std::function<Status()>& body) override {
    std::lock_guard lock(mu_);
    FSML_DCHECK(!in_transaction_);  // transactions do not nest (contract above)
    FSML_RETURN_IF_ERROR(db_->ExecScript("BEGIN IMMEDIATE"));
    in_transaction_ = true;
    Status s = body();
    in_transaction_ = false;
    if (!s.ok()) {
      db_->ExecScript("ROLLBACK").IgnoreError();  // the body's error is the one to report
      return s;
    }
    Status c = db_->ExecScript("COMMIT");
    if (!c.ok()) db_->ExecScript("ROLLBACK").IgnoreError();
    return c;
  }

  Status SyncGeneratedIds(std::string_view) override { return Status::Ok(); }

  Status CheckIntegrity() override {
    std::string result;
    FSML_RETURN_IF_ERROR(Query("PRAGMA quick_check", {}, [&](const SqlRow& r) {
      if (!result.empty()) result += "; ";
      // Findings span lines ("*** in database main ***\n..."); a message is one line.
      for (char c : r.Text(0)) result.push_back(c == '\n' ? ' ' : c);
      return Status::Ok();
    }));
    if (result != "ok") return Corruption(db_->path() + ": integrity check: " + result);
    std::string fk;
    FSML_RETURN_IF_ERROR(Query("PRAGMA foreign_key_check", {}, [&](const SqlRow& r) {
      fk = std::string(r.Text(0)) + " row " + std::to_string(r.Int(1)) + " references a missing " +
           std::string(r.Text(2));
      return Status::Ok();
    }));
    if (!fk.empty()) return Corruption(db_->path() + ": " + fk);
    return Status::Ok();
  }

  Status Migrate() {
    FSML_RETURN_IF_ERROR(db_->ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "description TEXT NOT NULL, applied_at TEXT NOT NULL)"));
    FSML_ASSIGN_OR_RETURN(auto current, QueryInt("SELECT MAX(version) FROM schema_migrations"));
    schema_version_ = current.value_or(0);
    const auto& all = SchemaMigrations();
    if (!all.empty() && schema_version_ > all.back().version) {
      return FailedPrecondition(db_->path() + ": schema version " + std::to_string(schema_version_) +
                                " is newer than this fsml understands (" +
                                std::to_string(all.back().version) + "); upgrade fsml");
    }
    for (const Migration& m : all) {
      if (m.version <= schema_version_) continue;
      FSML_RETURN_IF_ERROR(Transaction([&]() -> Status {
        FSML_RETURN_IF_ERROR(db_->ExecScript(RenderMigrationSql(m.sql, "sqlite")));
        return Exec("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    {int64_t{m.version}, m.description, NowRfc3339()});
      }).WithContext("migration " + std::to_string(m.version)));
      schema_version_ = m.version;
    }
    return Status::Ok();
  }

 private:
  Result<sqlite3_stmt*> PrepareAndBind(std::string_view sql, const SqlParams& params) {
    FSML_ASSIGN_OR_RETURN(sqlite3_stmt * s, db_->Prepare(sql));
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(s)) {
      return Err(Internal("'" + std::string(sql.substr(0, 60)) + "' takes " +
                          std::to_string(sqlite3_bind_parameter_count(s)) + " parameters, got " +
                          std::to_string(params.size())));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      const SqlValue& v = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(v)) rc = sqlite3_bind_null(s, idx);
      else if (auto* n = std::get_if<int64_t>(&v)) rc = sqlite3_bind_int64(s, idx, *n);
      else if (auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(s, idx, *d);
      else {
        const auto& t = std::get<std::string>(v);
        rc = sqlite3_bind_text64(s, idx, t.data(), t.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
      if (rc != SQLITE_OK) return Err(db_->Error("bind parameter " + std::to_string(idx)));
    }
    return s;
  }

  std::recursive_mutex mu_;  // serializes all use of db_; recursive for Transaction bodies
  std::unique_ptr<SqliteDb> db_;
  bool in_transaction_ = false;
  int64_t schema_version_ = 0;
};

}  // namespace

Result<std::optional<int64_t>> MetaStore::QueryInt(std::string_view sql, const SqlParams& params) {
  std::optional<int64_t> out;
  FSML_RETURN_IF_ERROR(Query(sql, params, [&](const SqlRow& r) {
    if (!r.IsNull(0)) out = r.Int(0);
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<std::string>> MetaStore::QueryText(std::string_view sql, const SqlParams& params) {
  std::optional<std::string> out;
  FSML_RETURN_IF_ERROR(Query(sql, params, [&](const SqlRow& r) {
    if (!r.IsNull(0)) out = std::string(r.Text(0));
    return Status::Ok();
  }));
  return out;
}

Result<std::unique_ptr<MetaStore>> OpenMetaStore(std::string_view url, const std::string& base_dir) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.substr(0, kSqlite.size()) == kSqlite) {
    fs::path path(std::string(url.substr(kSqlite.size())));
    if (path.empty()) return Err(InvalidArgument("store.meta '" + std::string(url) + "': no path"));
    if (path.is_relative()) path = fs::path(base_dir) / path;
    if (path.has_parent_path()) FSML_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
    FSML_ASSIGN_OR_RETURN(auto db, store_internal::SqliteDb::Open(path.string()));
    auto store = std::make_unique<SqliteMetaStore>(std::move(db));
    FSML_RETURN_IF_ERROR(store->Migrate());
    return std::unique_ptr<MetaStore>(std::move(store));
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return OpenPostgresMetaStore(url);
  return Err(InvalidArgument("store.meta '" + std::string(url) +
                             "': unsupported URL (expected sqlite://PATH or postgresql://...)"));
}

}  // namespace fsml
