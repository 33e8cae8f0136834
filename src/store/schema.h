// The versioned schema of the metadata database. Migrations are applied in
// order at open; each runs in its own transaction with its version record.
#pragma once

#include <string>
#include <vector>

namespace fsml {

struct Migration {
  int version;
  std::string description;
  std::string sql;  // portable SQL with {id}, {without_rowid} placeholders
};

const std::vector<Migration>& SchemaMigrations();

// Replaces the dialect placeholders for "sqlite" or "postgresql".
std::string RenderMigrationSql(const std::string& sql, const std::string& dialect);

}  // namespace fsml
