// A PostgreSQL database of a test's own: created on a server named by
// FSML_TEST_PG_URL (its maintenance database URL) and dropped afterwards.
// Shared by the backend-parameterized contract suites.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

namespace fsml::test {

class PgTestDatabase {
 public:
  // The admin URL from FSML_TEST_PG_URL, or "" when it is not set.
  static std::string AdminUrl() {
    const char* u = std::getenv("FSML_TEST_PG_URL");
    return u == nullptr ? "" : u;
  }

  // Runs one statement on the maintenance database; returns libpq's error or "".
  static std::string AdminExec(const std::string& admin_url, const std::string& sql) {
    PGconn* c = PQconnectdb(admin_url.c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK) err = PQerrorMessage(c);
      PQclear(r);
    }
    PQfinish(c);
    return err;
  }

  // Creates a fresh database named after the process and a counter; error()
  // says why when that failed.
  explicit PgTestDatabase(const std::string& admin_url) : admin_(admin_url) {
    static std::atomic<int> counter{0};
    name_ = "fsml_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    AdminExec(admin_, "DROP DATABASE IF EXISTS " + name_);
    error_ = AdminExec(admin_, "CREATE DATABASE " + name_);
  }
  ~PgTestDatabase() { AdminExec(admin_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& error() const { return error_; }
  // The admin URL with the database name replaced by this database's.
  std::string url() const {
    size_t scheme = admin_.find("://");
    size_t slash = admin_.find('/', scheme + 3);
    size_t query = admin_.find('?');
    std::string base = admin_.substr(0, slash == std::string::npos ? std::min(query, admin_.size()) : slash);
    return base + "/" + name_ + (query == std::string::npos ? "" : admin_.substr(query));
  }

 private:
  std::string admin_, name_, error_;
};

}  // namespace fsml::test
