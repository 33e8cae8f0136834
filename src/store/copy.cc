#include "store/copy.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/parallel.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "store/schema.h"

namespace fsml {
namespace {

constexpr size_t kRowsPerInsert = 100;   // rows per multi-row INSERT
constexpr size_t kObjectsPerBatch = 64;  // objects read, then written, together

// One value in a form that is the same on every backend: a type tag and the
// value as text (doubles with all 17 significant digits).
void AppendCanonical(std::string& out, const SqlValue& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    out += "N;";
  } else if (auto* i = std::get_if<int64_t>(&v)) {
    out += "I" + std::to_string(*i) + ";";
  } else if (auto* d = std::get_if<double>(&v)) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "R%.17g;", *d);
    out += buf;
  } else {
    const auto& t = std::get<std::string>(v);
    out += "T" + std::to_string(t.size()) + ":" + t + ";";
  }
}

Status CopyObjects(BlobStore& from, BlobStore& to, StoreCopyReport& report) {
  std::vector<std::pair<std::string, uint64_t>> source;
  FSML_RETURN_IF_ERROR(from.ForEach([&](std::string_view key, uint64_t size) {
    source.emplace_back(std::string(key), size);
    return Status::Ok();
  }));
  std::unordered_set<std::string> present;
  FSML_RETURN_IF_ERROR(to.ForEach([&](std::string_view key, uint64_t) {
    present.emplace(key);
    return Status::Ok();
  }));
  report.objects = static_cast<int64_t>(source.size());
  std::vector<std::pair<std::string, uint64_t>> missing;
  for (auto& o : source)
    if (!present.contains(o.first)) missing.push_back(o);
  uint64_t total_bytes = 0;
  for (auto& o : missing) total_bytes += o.second;

  Progress progress("copy objects", missing.size(), "objects");
  std::mutex mu;
  // Batches in parallel: each reads its objects (verified against their
  // keys) and writes them with one PutMany.
  Status st = ParallelFor(missing.size(), kObjectsPerBatch, 4, [&](size_t begin, size_t end) -> Status {
    std::vector<std::string> bytes;
    bytes.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      FSML_ASSIGN_OR_RETURN(std::string b, from.Get(missing[i].first, /*verify=*/true));
      bytes.push_back(std::move(b));
    }
    std::vector<std::string_view> views(bytes.begin(), bytes.end());
    FSML_ASSIGN_OR_RETURN(std::vector<std::string> keys, to.PutMany(views));
    for (size_t i = begin; i < end; ++i) {
      if (keys[i - begin] != missing[i].first)
        return Corruption("object " + missing[i].first + " was stored in " + to.Describe() + " as " + keys[i - begin]);
    }
    progress.Add(end - begin);
    std::lock_guard lock(mu);
    report.objects_copied += static_cast<int64_t>(end - begin);
    return Status::Ok();
  });
  FSML_RETURN_IF_ERROR(st);
  progress.Finish();
  report.bytes_copied = total_bytes;

  // Every source object is in the target with its size.
  std::unordered_map<std::string, uint64_t> target;
  FSML_RETURN_IF_ERROR(to.ForEach([&](std::string_view key, uint64_t size) {
    target.emplace(std::string(key), size);
    return Status::Ok();
  }));
  for (auto& [key, size] : source) {
    auto it = target.find(key);
    if (it == target.end()) return Corruption("verification: object " + key + " is missing from " + to.Describe());
    if (it->second != size)
      return Corruption("verification: object " + key + " has " + std::to_string(it->second) + " bytes in " +
                        to.Describe() + ", " + std::to_string(size) + " in " + from.Describe());
  }
  return Status::Ok();
}

// Inserts `rows` (each with `columns` values) into `table` with multi-row
// INSERTs.
Status InsertRows(MetaStore& to, const std::string& table, const std::vector<std::string>& columns,
                  std::vector<SqlValue>& values, size_t rows) {
  std::string cols, one = "(";
  for (size_t c = 0; c < columns.size(); ++c) {
    cols += (c ? ", " : "") + columns[c];
    one += c ? ", ?" : "?";
  }
  one += ")";
  std::string sql = "INSERT INTO " + table + " (" + cols + ") VALUES ";
  for (size_t r = 0; r < rows; ++r) sql += (r ? ", " : "") + one;
  FSML_RETURN_IF_ERROR(StatusOf(to.Exec(sql, values)));
  values.clear();
  return Status::Ok();
}

Status CopyTable(MetaStore& from, MetaStore& to, const SchemaTable& t, Progress& progress) {
  std::vector<std::string> columns;
  std::vector<SqlValue> batch;
  size_t in_batch = 0;
  Status st = from.Query(std::string("SELECT * FROM ") + t.name + " ORDER BY " + t.order_by, {},
                         [&](const SqlRow& row) -> Status {
                           if (columns.empty())
                             for (int c = 0; c < row.columns(); ++c) columns.emplace_back(row.ColumnName(c));
                           for (int c = 0; c < row.columns(); ++c) batch.push_back(row.Value(c));
                           if (++in_batch == kRowsPerInsert) {
                             FSML_RETURN_IF_ERROR(InsertRows(to, t.name, columns, batch, in_batch));
                             progress.Add(in_batch);
                             in_batch = 0;
                           }
                           return Status::Ok();
                         });
  FSML_RETURN_IF_ERROR(st);
  if (in_batch > 0) {
    FSML_RETURN_IF_ERROR(InsertRows(to, t.name, columns, batch, in_batch));
    progress.Add(in_batch);
  }
  if (t.generated_id) FSML_RETURN_IF_ERROR(to.SyncGeneratedIds(t.name));
  return Status::Ok();
}

}  // namespace

Result<TableCopy> DigestTable(MetaStore& meta, const std::string& table) {
  TableCopy out{table, 0, ""};
  std::vector<std::string> row_hashes;
  std::string canonical;
  FSML_RETURN_IF_ERROR(meta.Query("SELECT * FROM " + table, {}, [&](const SqlRow& row) {
    canonical.clear();
    for (int c = 0; c < row.columns(); ++c) {
      canonical += std::string(row.ColumnName(c)) + "=";
      AppendCanonical(canonical, row.Value(c));
    }
    row_hashes.push_back(Sha256Hex(canonical));
    return Status::Ok();
  }));
  // Sorted, so that the digest does not depend on the order rows come in
  // (backends sort text differently).
  std::sort(row_hashes.begin(), row_hashes.end());
  std::string all;
  all.reserve(row_hashes.size() * 64);
  for (auto& h : row_hashes) all += h;
  out.rows = static_cast<int64_t>(row_hashes.size());
  out.digest = Sha256Hex(all);
  return out;
}

Result<StoreCopyReport> CopyStores(MetaStore& from_meta, BlobStore& from_blobs, MetaStore& to_meta,
                                   BlobStore& to_blobs) {
  auto start = std::chrono::steady_clock::now();
  StoreCopyReport report;
  // The target must be empty: a copy never merges into or overwrites data.
  int64_t total_rows = 0;
  for (const SchemaTable& t : SchemaTables()) {
    FSML_ASSIGN_OR_RETURN(auto n, to_meta.QueryInt(std::string("SELECT COUNT(*) FROM ") + t.name));
    if (n.value_or(0) > 0)
      return Err(AlreadyExists("the target metadata store already holds data (" + std::to_string(*n) + " rows in " +
                               t.name + "); copy into a new, empty database"));
    FSML_ASSIGN_OR_RETURN(auto m, from_meta.QueryInt(std::string("SELECT COUNT(*) FROM ") + t.name));
    total_rows += m.value_or(0);
  }
  if (from_meta.schema_version() != to_meta.schema_version())
    return Err(FailedPrecondition("schema versions differ: source " + std::to_string(from_meta.schema_version()) +
                                  ", target " + std::to_string(to_meta.schema_version())));

  // Objects first: metadata in the target never points at a missing object.
  FSML_RETURN_IF_ERROR(CopyObjects(from_blobs, to_blobs, report));

  Progress progress("copy metadata", static_cast<uint64_t>(total_rows), "rows");
  FSML_RETURN_IF_ERROR(to_meta.Transaction([&]() -> Status {
    for (const SchemaTable& t : SchemaTables()) FSML_RETURN_IF_ERROR(CopyTable(from_meta, to_meta, t, progress));
    return Status::Ok();
  }));
  progress.Finish();

  for (const SchemaTable& t : SchemaTables()) {
    FSML_ASSIGN_OR_RETURN(TableCopy src, DigestTable(from_meta, t.name));
    FSML_ASSIGN_OR_RETURN(TableCopy dst, DigestTable(to_meta, t.name));
    if (src.rows != dst.rows || src.digest != dst.digest)
      return Err(Corruption("verification: table " + std::string(t.name) + " differs after the copy (" +
                            std::to_string(src.rows) + " rows in the source, " + std::to_string(dst.rows) +
                            " in the target)"));
    report.tables.push_back(src);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace fsml
