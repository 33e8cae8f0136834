#include "store/sqlite_db.h"

#include <algorithm>

namespace fsml::store_internal {

SqliteDb::~SqliteDb() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Err(IoError("open database " + path + ": " + msg));
  }
  auto out = std::unique_ptr<SqliteDb>(new SqliteDb(db, path));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 10000);
  FSML_RETURN_IF_ERROR(out->ExecScript(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
      "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;"));
  return out;
}

Status SqliteDb::SetCacheBytes(int64_t bytes) {
  return ExecScript("PRAGMA cache_size=-" + std::to_string(std::max<int64_t>(bytes >> 10, 64)) + ";");
}

Result<sqlite3_stmt*> SqliteDb::Prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end()) {
    sqlite3_reset(it->second.get());
    sqlite3_clear_bindings(it->second.get());
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Err(Error("prepare '" + std::string(sql.substr(0, 60)) + "'"));
  cache_.emplace(std::string(sql), StmtPtr(stmt));
  return stmt;
}

Status SqliteDb::ExecScript(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return IoError(path_ + ": " + msg);
  }
  return Status::Ok();
}

Status SqliteDb::Error(std::string_view what) const {
  int code = sqlite3_extended_errcode(db_);
  std::string msg = path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_);
  if ((code & 0xff) == SQLITE_CONSTRAINT) return FailedPrecondition(msg);
  if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB) return Corruption(msg);
  return IoError(msg);
}

}  // namespace fsml::store_internal
