// The local content-addressed store.
//
// Layout under the root folder:
//   packed.db       SQLite (WAL, synchronous=FULL): objects(key BLOB(32), data)
//                   for objects up to the small-object size. One transaction
//                   per PutMany batch, so 70k small objects cost one fsync,
//                   not 70k files and 140k fsyncs.
//   ab/cdef...      larger objects, one file each (key = "ab" + "cdef...").
//   tmp/            files being written; renamed into place after fsync.
// An object is visible only when complete: a database commit or a rename
// after fsync. A crash leaves at most stray files in tmp/, removed at open.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <unordered_set>

#include "core/sha256.h"
#include "store/blob_store.h"
#include "store/local_blob_store.h"
#include "store/sqlite_db.h"

namespace fsml {
namespace {

using store_internal::SqliteDb;

class LocalBlobStore final : public BlobStore {
 public:
  LocalBlobStore(fs::path root, std::unique_ptr<SqliteDb> db, uint64_t small)
      : root_(std::move(root)), db_(std::move(db)), small_(small) {}

  Result<std::string> Put(std::string_view bytes) override {
    std::string_view one[] = {bytes};
    FSML_ASSIGN_OR_RETURN(auto keys, PutMany(one));
    return keys[0];
  }

  Result<std::vector<std::string>> PutMany(std::span<const std::string_view> blobs) override {
    std::vector<std::string> keys;
    keys.reserve(blobs.size());
    std::vector<size_t> packed;
    for (size_t i = 0; i < blobs.size(); ++i) {
      keys.push_back(Sha256Hex(blobs[i]));
      if (blobs[i].size() <= small_) packed.push_back(i);
      else FSML_RETURN_IF_ERROR(PutLoose(keys.back(), blobs[i]));
    }
    if (packed.empty()) return keys;
    std::lock_guard lock(mu_);
    FSML_RETURN_IF_ERROR(db_->ExecScript("BEGIN IMMEDIATE"));
    Status s = [&]() -> Status {
      for (size_t i : packed) {
        FSML_ASSIGN_OR_RETURN(sqlite3_stmt * st,
                              db_->Prepare("INSERT OR IGNORE INTO objects (key, data) VALUES (?, ?)"));
        FSML_ASSIGN_OR_RETURN(Digest d, DigestFromHex(keys[i]));
        sqlite3_bind_blob(st, 1, d.data(), 32, SQLITE_TRANSIENT);
        // An empty std::string_view{} has a null data(), which would bind NULL,
        // and INSERT OR IGNORE drops a NOT NULL violation silently.
        if (blobs[i].empty()) sqlite3_bind_zeroblob(st, 2, 0);
        else sqlite3_bind_blob64(st, 2, blobs[i].data(), blobs[i].size(), SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) return db_->Error("store object " + keys[i]);
        sqlite3_reset(st);
      }
      return db_->ExecScript("COMMIT");
    }();
    if (!s.ok()) db_->ExecScript("ROLLBACK").IgnoreError();  // report the first error
    FSML_RETURN_IF_ERROR(s);
    return keys;
  }

  Result<std::string> PutFile(const fs::path& path) override {
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) return Err(IoError(path.string() + ": " + ec.message()));
    if (size <= small_) {
      FSML_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
      return Put(bytes);
    }
    // Stream: copy into tmp/ while hashing, then rename to the key's place.
    int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return Err(ErrnoError(path.string(), errno));
    fs::path tmp = TempPath();
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
      ::close(in);
      return Err(ErrnoError("create " + tmp.string(), errno));
    }
    Sha256Hasher hasher;
    std::string buf(1 << 20, '\0');
    Status s;
    while (s.ok()) {
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) s = ErrnoError(path.string(), errno);
      if (n <= 0) break;
      std::string_view chunk(buf.data(), static_cast<size_t>(n));
      hasher.Update(chunk);
      s = WriteAll(out, chunk, tmp.string());
    }
    if (s.ok() && ::fsync(out) != 0) s = ErrnoError("fsync " + tmp.string(), errno);
    ::close(in);
    ::close(out);
    std::string key = ToHex(hasher.Finish());
    if (s.ok()) s = MoveIntoPlace(tmp, key);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return Err(s);
    }
    return key;
  }

  Result<std::string> Get(std::string_view key, bool verify) override {
    FSML_ASSIGN_OR_RETURN(Digest d, DigestFromHex(key));
    std::string bytes;
    bool found = false;
    {
      std::lock_guard lock(mu_);
      FSML_ASSIGN_OR_RETURN(sqlite3_stmt * st, db_->Prepare("SELECT data FROM objects WHERE key = ?"));
      sqlite3_bind_blob(st, 1, d.data(), 32, SQLITE_STATIC);
      int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW) {
        found = true;
        const char* p = static_cast<const char*>(sqlite3_column_blob(st, 0));
        bytes.assign(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(st, 0)));
      } else if (rc != SQLITE_DONE) {
        return Err(db_->Error("read object " + std::string(key)));
      }
      sqlite3_reset(st);
    }
    if (!found) {
      auto file = ReadFile(LoosePath(ToHex(d)));  // files are named in lowercase
      if (!file) {
        if (file.error().code() == Code::kNotFound)
          return Err(NotFound("object " + std::string(key) + " is not in " + Describe()));
        return Err(file.error());
      }
      bytes = std::move(*file);
    }
    if (verify && Sha256(bytes) != d) {
      return Err(Corruption("object " + std::string(key) + " in " + Describe() +
                            " does not match its hash (damaged on disk)"));
    }
    return bytes;
  }

  Result<bool> Exists(std::string_view key) override {
    FSML_ASSIGN_OR_RETURN(Digest d, DigestFromHex(key));
    {
      std::lock_guard lock(mu_);
      FSML_ASSIGN_OR_RETURN(sqlite3_stmt * st, db_->Prepare("SELECT 1 FROM objects WHERE key = ?"));
      sqlite3_bind_blob(st, 1, d.data(), 32, SQLITE_STATIC);
      int rc = sqlite3_step(st);
      sqlite3_reset(st);
      if (rc == SQLITE_ROW) return true;
      if (rc != SQLITE_DONE) return Err(db_->Error("look up object " + std::string(key)));
    }
    std::error_code ec;
    return fs::exists(LoosePath(ToHex(d)), ec);  // files are named in lowercase
  }

  Status ForEach(const std::function<Status(std::string_view, uint64_t)>& fn) override {
    // Collect packed keys first so `fn` may call Get() without deadlocking.
    std::vector<std::pair<std::string, uint64_t>> packed;
    {
      std::lock_guard lock(mu_);
      FSML_ASSIGN_OR_RETURN(sqlite3_stmt * st, db_->Prepare("SELECT key, length(data) FROM objects"));
      int rc;
      while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        Digest d{};
        if (sqlite3_column_bytes(st, 0) != 32) {
          sqlite3_reset(st);
          return Corruption(db_->path() + ": an object key is not 32 bytes");
        }
        std::memcpy(d.data(), sqlite3_column_blob(st, 0), 32);
        packed.emplace_back(ToHex(d), static_cast<uint64_t>(sqlite3_column_int64(st, 1)));
      }
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) return db_->Error("list objects");
    }
    for (const auto& [key, size] : packed) FSML_RETURN_IF_ERROR(fn(key, size));
    // An object can be both packed and a file when small_object_bytes changed
    // between runs; list it once.
    std::unordered_set<std::string> packed_keys;
    packed_keys.reserve(packed.size());
    for (auto& [key, size] : packed) packed_keys.insert(std::move(key));
    std::error_code ec;
    for (const auto& shard : fs::directory_iterator(root_, ec)) {
      std::string prefix = shard.path().filename().string();
      if (!shard.is_directory() || prefix.size() != 2) continue;
      for (const auto& f : fs::directory_iterator(shard.path(), ec)) {
        std::string key = prefix + f.path().filename().string();
        if (!IsSha256Hex(key) || packed_keys.count(key)) continue;
        std::error_code size_ec;
        uint64_t size = f.file_size(size_ec);
        if (size_ec) continue;  // removed while listing
        FSML_RETURN_IF_ERROR(fn(key, size));
      }
    }
    if (ec) return IoError("list " + root_.string() + ": " + ec.message());
    return Status::Ok();
  }

  std::string Describe() const override { return "file://" + root_.string(); }
  Status SetCacheBytes(int64_t bytes) override {
    std::lock_guard lock(mu_);
    return db_->SetCacheBytes(bytes);
  }

  Status RemoveStaleTemporaries() {
    // Another process may be writing right now: only files an hour old are stale.
    std::error_code ec;
    auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& f : fs::directory_iterator(root_ / "tmp", ec)) {
      if (f.last_write_time(ec) < cutoff) fs::remove(f.path(), ec);
    }
    return Status::Ok();
  }

 private:
  fs::path LoosePath(std::string_view key) const {
    return root_ / std::string(key.substr(0, 2)) / std::string(key.substr(2));
  }

  fs::path TempPath() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return root_ / "tmp" / std::to_string(rng());
  }

  Status PutLoose(const std::string& key, std::string_view bytes) {
    std::error_code ec;
    if (fs::exists(LoosePath(key), ec)) return Status::Ok();
    fs::path tmp = TempPath();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError("create " + tmp.string(), errno);
    Status s = WriteAll(fd, bytes, tmp.string());
    if (s.ok() && ::fsync(fd) != 0) s = ErrnoError("fsync " + tmp.string(), errno);
    ::close(fd);
    if (s.ok()) s = MoveIntoPlace(tmp, key);
    if (!s.ok()) ::unlink(tmp.c_str());
    return s;
  }

  Status MoveIntoPlace(const fs::path& tmp, const std::string& key) {
    fs::path dest = LoosePath(key);
    FSML_RETURN_IF_ERROR(MakeDirs(dest.parent_path()));
    if (::rename(tmp.c_str(), dest.c_str()) != 0)
      return ErrnoError("rename " + tmp.string() + " to " + dest.string(), errno);
    return FsyncPath(dest.parent_path());
  }

  fs::path root_;
  std::mutex mu_;  // guards db_
  std::unique_ptr<SqliteDb> db_;
  uint64_t small_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> OpenLocalBlobStore(std::string_view url, const std::string& base_dir,
                                                      uint64_t small_object_bytes) {
  constexpr std::string_view kFile = "file://";
  FSML_DCHECK(url.starts_with(kFile));  // OpenBlobStore dispatches on the scheme
  fs::path root(std::string(url.substr(kFile.size())));
  if (root.empty()) return Err(InvalidArgument("store.blobs '" + std::string(url) + "': no path"));
  if (root.is_relative()) root = fs::path(base_dir) / root;
  FSML_RETURN_IF_ERROR(MakeDirs(root / "tmp"));
  FSML_ASSIGN_OR_RETURN(auto db, store_internal::SqliteDb::Open((root / "packed.db").string()));
  FSML_RETURN_IF_ERROR(db->ExecScript(
      "CREATE TABLE IF NOT EXISTS objects (key BLOB NOT NULL PRIMARY KEY, data BLOB NOT NULL)"));
  auto store = std::make_unique<LocalBlobStore>(root, std::move(db), small_object_bytes);
  FSML_RETURN_IF_ERROR(store->RemoveStaleTemporaries());
  return std::unique_ptr<BlobStore>(std::move(store));
}

}  // namespace fsml
