// A thin RAII layer over the SQLite C API, shared by the SQLite MetaStore
// and the local BlobStore's small-object database. Internal to src/store.
//
// Not thread-safe: owners serialize access.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include "core/status.h"

namespace fsml::store_internal {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

class SqliteDb {
 public:
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Opens (creating if missing) with WAL, synchronous=FULL, foreign keys on
  // and a busy timeout, so committed transactions survive kill -9 and power loss.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);

  // Returns a cached prepared statement, reset and with bindings cleared.
  Result<sqlite3_stmt*> Prepare(std::string_view sql);
  // Runs SQL text with no parameters and no rows (PRAGMAs, DDL, BEGIN).
  Status ExecScript(const std::string& sql);
  // The connection's page cache limit (PRAGMA cache_size; Open sets 64 MiB).
  Status SetCacheBytes(int64_t bytes);
  // An error from the last call on this connection, naming `what`.
  Status Error(std::string_view what) const;

  sqlite3* raw() { return db_; }
  const std::string& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, StmtPtr> cache_;
};

}  // namespace fsml::store_internal
