// MetaStore: fsml's metadata database behind one SQL interface.
//
// SQL is written once, portable to SQLite and PostgreSQL: `?` placeholders
// (an implementation rewrites them if its server wants `$n`), no
// engine-specific functions, `INSERT ... RETURNING` for generated ids.
// Schema migrations run at Open and are versioned (schema.cc).
//
// Thread safety: every method may be called from any thread; calls are
// serialized. A Transaction() body runs with the store held by its thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace fsml {

// NULL, integer, real or text. Text is also how ids and JSON are stored.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;
using SqlParams = std::vector<SqlValue>;

// One result row. Views returned by Text() are valid only inside the callback.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual int columns() const = 0;
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Real(int col) const = 0;
  virtual std::string_view Text(int col) const = 0;
  // The column's name as the query gives it.
  virtual std::string_view ColumnName(int col) const = 0;
  // The value with the type the database holds (integer, real, text, NULL);
  // used to copy rows between stores without knowing their columns.
  virtual SqlValue Value(int col) const = 0;
};

class MetaStore {
 public:
  using RowFn = std::function<Status(const SqlRow&)>;
  virtual ~MetaStore() = default;

  // "sqlite" or "postgresql".
  virtual std::string_view dialect() const = 0;

  // Runs a statement; returns the number of rows it changed.
  virtual Result<int64_t> Exec(std::string_view sql, const SqlParams& params = {}) = 0;
  // Runs a query and calls `on_row` for each row; an error from `on_row`
  // stops the query and is returned.
  virtual Status Query(std::string_view sql, const SqlParams& params, const RowFn& on_row) = 0;
  // Runs `body` in one write transaction: committed if it returns OK, rolled
  // back otherwise (and on a crash). Transactions do not nest.
  virtual Status Transaction(const std::function<Status()>& body) = 0;
  // Checks the database's own structures (SQLite: PRAGMA quick_check).
  virtual Status CheckIntegrity() = 0;
  // After rows were inserted into `table` with explicit ids (a copy), makes
  // the next generated id follow the largest one. PostgreSQL's identity
  // sequences do not follow explicit inserts; SQLite needs nothing.
  virtual Status SyncGeneratedIds(std::string_view table) = 0;
  // The schema version after migrations.
  virtual int64_t schema_version() const = 0;
  // How much memory the store may keep as a client-side page cache. SQLite's
  // default is 64 MiB per connection (imports and commits of large projects
  // gain from it); a long-running process with small writes, such as a
  // crawl, asks for less. PostgreSQL caches on the server: no effect.
  virtual Status SetCacheBytes(int64_t bytes) = 0;

  // Conveniences over Query for a single value; nullopt when there is no row
  // or the value is NULL.
  Result<std::optional<int64_t>> QueryInt(std::string_view sql, const SqlParams& params = {});
  Result<std::optional<std::string>> QueryText(std::string_view sql, const SqlParams& params = {});
};

// Opens the store a URL names and runs pending migrations:
//   sqlite://PATH                  (PATH relative to `base_dir` unless absolute)
//   postgresql://USER@HOST:PORT/DB (any libpq URL; also postgres://)
// Errors name the URL and what is wrong with it.
Result<std::unique_ptr<MetaStore>> OpenMetaStore(std::string_view url, const std::string& base_dir);

}  // namespace fsml
