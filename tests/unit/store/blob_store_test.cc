#include "store/blob_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/sha256.h"

namespace fsml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr uint64_t kSmall = 1024;  // objects up to this size are packed in packed.db

// Deterministic bytes: same (size, seed), same content.
std::string Bytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// Each test gets its own folder; the store is "file://objects" relative to it.
class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("fsml_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_));
    root_ = dir_ / "objects";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Opens the store or fails the test (callers ASSERT_NE(store, nullptr)).
  std::unique_ptr<BlobStore> MustOpen(uint64_t small = kSmall) {
    auto r = OpenBlobStore("file://objects", dir_.string(), small);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? std::move(*r) : nullptr;
  }
  std::string MustPut(BlobStore& store, std::string_view bytes) {
    auto r = store.Put(bytes);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? *r : std::string();
  }
  fs::path LoosePath(const std::string& key) const { return root_ / key.substr(0, 2) / key.substr(2); }
  std::map<std::string, uint64_t> ListAll(BlobStore& store) {
    std::map<std::string, uint64_t> seen;
    Status s = store.ForEach([&](std::string_view key, uint64_t size) {
      EXPECT_TRUE(seen.emplace(std::string(key), size).second) << "listed twice: " << key;
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  }
  std::vector<std::string> TmpFiles() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root_ / "tmp")) names.push_back(e.path().filename().string());
    return names;
  }
  void WriteRaw(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
    ASSERT_TRUE(out.good());
  }
  // Runs one statement on packed.db through a separate SQLite connection.
  void ExecOnPackedDb(const std::string& sql, const Digest& key, const std::string& blob) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((root_ / "packed.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_bind_blob(st, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  fs::path dir_;
  fs::path root_;
};

TEST_F(BlobStoreTest, OpenCreatesLayout) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::is_directory(root_ / "tmp"));
  EXPECT_TRUE(fs::exists(root_ / "packed.db"));
}

TEST_F(BlobStoreTest, DescribeNamesThePath) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Describe(), "file://" + root_.string());
}

TEST_F(BlobStoreTest, AbsolutePathIgnoresBaseDir) {
  fs::path abs = dir_ / "abs-objects";
  auto r = OpenBlobStore("file://" + abs.string(), (dir_ / "elsewhere").string(), kSmall);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ((*r)->Describe(), "file://" + abs.string());
  EXPECT_TRUE(fs::is_directory(abs / "tmp"));
  EXPECT_FALSE(fs::exists(dir_ / "elsewhere"));
}

TEST_F(BlobStoreTest, UnsupportedUrlIsInvalidArgumentNamingTheUrl) {
  auto r = OpenBlobStore("gs://bucket/objects", dir_.string(), kSmall);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.error().message(),
            "store.blobs 'gs://bucket/objects': unsupported URL (expected file://PATH or s3://BUCKET[/PREFIX])");
  auto empty = OpenBlobStore("file://", dir_.string(), kSmall);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(empty.error().message(), "store.blobs 'file://': no path");
}

TEST_F(BlobStoreTest, RootThatIsAFileFailsToOpen) {
  WriteRaw(root_, "not a folder");
  auto r = OpenBlobStore("file://objects", dir_.string(), kSmall);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kIoError);
  EXPECT_THAT(r.error().message(), HasSubstr(root_.string()));
}

TEST_F(BlobStoreTest, KeyIsSha256HexOfTheBytes) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustPut(*store, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string large = Bytes(5000, 1);
  EXPECT_EQ(MustPut(*store, large), Sha256Hex(large));
}

TEST_F(BlobStoreTest, SmallObjectRoundTripsPackedInDatabase) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string small = Bytes(kSmall, 2);  // exactly the threshold: packed
  std::string key = MustPut(*store, small);
  EXPECT_FALSE(fs::exists(LoosePath(key)));
  auto got = store->Get(key);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, small);
}

TEST_F(BlobStoreTest, LargeObjectRoundTripsAsLooseFile) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string large = Bytes(kSmall + 1, 3);  // one byte over: a file
  std::string key = MustPut(*store, large);
  ASSERT_TRUE(fs::exists(LoosePath(key)));
  EXPECT_EQ(fs::file_size(LoosePath(key)), large.size());
  auto got = store->Get(key);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, large);
  EXPECT_TRUE(TmpFiles().empty());
}

TEST_F(BlobStoreTest, EmptyObjectRoundTrips) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string key = MustPut(*store, std::string());
  EXPECT_EQ(key, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto got = store->Get(key);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, "");
  EXPECT_EQ(ListAll(*store), (std::map<std::string, uint64_t>{{key, 0}}));
}

TEST_F(BlobStoreTest, DefaultConstructedViewIsAnEmptyObject) {
  // std::string_view{} has a null data(); it must still store as zero bytes.
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto key = store->Put(std::string_view());
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(*key, Sha256Hex(""));
  auto got = store->Get(*key);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, "");
}

TEST_F(BlobStoreTest, PutOfSameBytesTwiceIsIdempotent) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string small = "hello";
  std::string large = Bytes(4000, 4);
  std::string k1 = MustPut(*store, small);
  std::string k2 = MustPut(*store, large);
  EXPECT_EQ(MustPut(*store, small), k1);
  EXPECT_EQ(MustPut(*store, large), k2);
  EXPECT_EQ(ListAll(*store), (std::map<std::string, uint64_t>{{k1, 5}, {k2, 4000}}));
  EXPECT_EQ(*store->Get(k1), small);
  EXPECT_EQ(*store->Get(k2), large);
}

TEST_F(BlobStoreTest, PutManyReturnsKeysInOrder) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::vector<std::string> blobs = {Bytes(10, 1), Bytes(5000, 2), Bytes(1, 3), Bytes(2000, 4),
                                    Bytes(10, 1) /* duplicate of the first */, Bytes(kSmall, 5)};
  std::vector<std::string_view> views(blobs.begin(), blobs.end());
  auto keys = store->PutMany(views);
  ASSERT_TRUE(keys.has_value()) << keys.error().ToString();
  ASSERT_EQ(keys->size(), blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) {
    EXPECT_EQ((*keys)[i], Sha256Hex(blobs[i])) << i;
    auto got = store->Get((*keys)[i]);
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    EXPECT_EQ(*got, blobs[i]) << i;
  }
  EXPECT_EQ((*keys)[0], (*keys)[4]);
  EXPECT_EQ(ListAll(*store).size(), 5u);
}

TEST_F(BlobStoreTest, PutManyOfNothingReturnsNoKeys) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto keys = store->PutMany({});
  ASSERT_TRUE(keys.has_value()) << keys.error().ToString();
  EXPECT_TRUE(keys->empty());
}

TEST_F(BlobStoreTest, PutFileStreamsLargeFileWithSameKeyAsPut) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  // Over the 1 MiB read buffer, so the copy takes several reads.
  std::string content = Bytes((3 << 20) + 123, 6);
  fs::path src = dir_ / "input.bin";
  WriteRaw(src, content);
  auto key = store->PutFile(src);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(*key, Sha256Hex(content));
  EXPECT_TRUE(fs::exists(LoosePath(*key)));
  EXPECT_TRUE(TmpFiles().empty());
  auto got = store->Get(*key);
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, content);
  EXPECT_EQ(MustPut(*store, content), *key);
  EXPECT_EQ(ListAll(*store).size(), 1u);
}

TEST_F(BlobStoreTest, PutFileOfSmallFileIsPacked) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string content = Bytes(100, 7);
  fs::path src = dir_ / "small.bin";
  WriteRaw(src, content);
  auto key = store->PutFile(src);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(*key, Sha256Hex(content));
  EXPECT_FALSE(fs::exists(LoosePath(*key)));
  EXPECT_EQ(*store->Get(*key), content);
}

TEST_F(BlobStoreTest, PutFileOfMissingFileIsErrorNamingIt) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  fs::path src = dir_ / "missing.bin";
  auto key = store->PutFile(src);
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code(), Code::kIoError);
  EXPECT_THAT(key.error().message(), StartsWith(src.string() + ": "));
}

TEST_F(BlobStoreTest, GetOfMissingKeyIsNotFoundNamingTheKey) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string key = Sha256Hex("never stored");
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kNotFound);
  EXPECT_EQ(got.error().message(), "object " + key + " is not in file://" + root_.string());
}

TEST_F(BlobStoreTest, GetOfMalformedKeyIsInvalidArgument) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  for (std::string key : {std::string("abc"), std::string("../../etc/passwd"), std::string(64, 'g'),
                          std::string()}) {
    SCOPED_TRACE(key);
    auto got = store->Get(key);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(got.error().message(),
              "'" + key + "' is not a SHA-256 hex digest (64 hex characters)");
    auto exists = store->Exists(key);
    ASSERT_FALSE(exists.has_value());
    EXPECT_EQ(exists.error().code(), Code::kInvalidArgument);
  }
}

TEST_F(BlobStoreTest, UppercaseKeyFindsSmallAndLargeObjects) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  for (size_t size : {size_t{10}, size_t{5000}}) {
    SCOPED_TRACE(size);
    std::string bytes = Bytes(size, 8);
    std::string key = MustPut(*store, bytes);
    std::string upper = key;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto got = store->Get(upper);
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    EXPECT_EQ(*got, bytes);
    auto exists = store->Exists(upper);
    ASSERT_TRUE(exists.has_value());
    EXPECT_TRUE(*exists);
  }
}

TEST_F(BlobStoreTest, ExistsForSmallLargeAndMissing) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string small = MustPut(*store, "tiny");
  std::string large = MustPut(*store, Bytes(3000, 9));
  for (const std::string& key : {small, large}) {
    auto e = store->Exists(key);
    ASSERT_TRUE(e.has_value()) << e.error().ToString();
    EXPECT_TRUE(*e) << key;
  }
  auto missing = store->Exists(Sha256Hex("absent"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(*missing);
}

TEST_F(BlobStoreTest, ForEachListsEveryObjectOnceWithItsSize) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::map<std::string, uint64_t> expected;
  for (uint32_t i = 0; i < 20; ++i) {
    std::string bytes = Bytes(i % 2 == 0 ? 50 + i : 2000 + i, 100 + i);
    expected[MustPut(*store, bytes)] = bytes.size();
  }
  // A stray file in tmp/ and a non-object in a shard folder are not objects.
  WriteRaw(root_ / "tmp" / "123", "partial");
  WriteRaw(root_ / "zz-not-a-shard", "x");
  EXPECT_EQ(ListAll(*store), expected);
}

TEST_F(BlobStoreTest, ForEachStopsAtCallbackErrorAndReturnsIt) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  MustPut(*store, "a");
  MustPut(*store, "b");
  MustPut(*store, Bytes(3000, 10));
  int calls = 0;
  Status s = store->ForEach([&](std::string_view, uint64_t) {
    ++calls;
    return Aborted("enough");
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(s.message(), "enough");
  EXPECT_EQ(calls, 1);
}

TEST_F(BlobStoreTest, ForEachCallbackMayCallGet) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  MustPut(*store, "small one");
  MustPut(*store, Bytes(3000, 11));
  int checked = 0;
  Status s = store->ForEach([&](std::string_view key, uint64_t size) -> Status {
    FSML_ASSIGN_OR_RETURN(std::string bytes, store->Get(key));
    EXPECT_EQ(bytes.size(), size);
    ++checked;
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(checked, 2);
}

TEST_F(BlobStoreTest, ObjectStoredLooseThenPackedAfterThresholdChangeIsListedOnce) {
  std::string bytes = Bytes(600, 12);
  std::string key;
  {
    auto store = MustOpen(/*small=*/512);  // 600 bytes: a loose file
    ASSERT_NE(store, nullptr);
    key = MustPut(*store, bytes);
    ASSERT_TRUE(fs::exists(LoosePath(key)));
  }
  auto store = MustOpen(/*small=*/1024);  // now 600 bytes would be packed
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MustPut(*store, bytes), key);
  EXPECT_EQ(ListAll(*store), (std::map<std::string, uint64_t>{{key, 600}}));
  EXPECT_EQ(*store->Get(key), bytes);
}

TEST_F(BlobStoreTest, DamagedLooseObjectIsCorruptionUnlessVerifyIsOff) {
  std::string key;
  std::string damaged;
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    std::string bytes = Bytes(5000, 13);
    key = MustPut(*store, bytes);
    damaged = bytes;
    damaged[2500] = static_cast<char>(damaged[2500] ^ 0x01);
  }
  WriteRaw(LoosePath(key), damaged);

  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
  EXPECT_EQ(got.error().message(), "object " + key + " in file://" + root_.string() +
                                       " does not match its hash (damaged on disk)");
  auto unverified = store->Get(key, /*verify=*/false);
  ASSERT_TRUE(unverified.has_value()) << unverified.error().ToString();
  EXPECT_EQ(*unverified, damaged);
}

TEST_F(BlobStoreTest, TruncatedLooseObjectIsCorruption) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string key = MustPut(*store, Bytes(5000, 14));
  fs::resize_file(LoosePath(key), 100);
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
}

TEST_F(BlobStoreTest, DamagedPackedObjectIsCorruptionUnlessVerifyIsOff) {
  std::string key;
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    key = MustPut(*store, "packed bytes");
  }
  ExecOnPackedDb("UPDATE objects SET data = ? WHERE key = ?", *DigestFromHex(key), "packed bytez");

  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
  EXPECT_EQ(got.error().message(), "object " + key + " in file://" + root_.string() +
                                       " does not match its hash (damaged on disk)");
  auto unverified = store->Get(key, /*verify=*/false);
  ASSERT_TRUE(unverified.has_value()) << unverified.error().ToString();
  EXPECT_EQ(*unverified, "packed bytez");
}

TEST_F(BlobStoreTest, DamagedPackedObjectSeenByOpenStore) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::string key = MustPut(*store, "packed bytes");
  ExecOnPackedDb("UPDATE objects SET data = ? WHERE key = ?", *DigestFromHex(key), "");
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
}

TEST_F(BlobStoreTest, OpenRemovesStaleTempFilesAndKeepsFreshOnes) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
  }
  const auto now = fs::file_time_type::clock::now();
  WriteRaw(root_ / "tmp" / "stale", "left by a crash");
  fs::last_write_time(root_ / "tmp" / "stale", now - std::chrono::hours(2));
  WriteRaw(root_ / "tmp" / "almost-stale", "another writer, 50 minutes in");
  fs::last_write_time(root_ / "tmp" / "almost-stale", now - std::chrono::minutes(50));
  WriteRaw(root_ / "tmp" / "fresh", "another writer, right now");

  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(fs::exists(root_ / "tmp" / "stale"));
  EXPECT_TRUE(fs::exists(root_ / "tmp" / "almost-stale"));
  EXPECT_TRUE(fs::exists(root_ / "tmp" / "fresh"));
}

TEST_F(BlobStoreTest, ObjectsSurviveReopening) {
  std::map<std::string, std::string> stored;
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    for (uint32_t i = 0; i < 6; ++i) {
      std::string bytes = Bytes(i < 3 ? 100 : 3000, 200 + i);
      stored[MustPut(*store, bytes)] = bytes;
    }
  }
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  for (const auto& [key, bytes] : stored) {
    auto got = store->Get(key);
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    EXPECT_EQ(*got, bytes);
  }
  EXPECT_EQ(ListAll(*store).size(), stored.size());
}

TEST_F(BlobStoreTest, ConcurrentPutsAndGets) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (uint32_t i = 0; i < 25; ++i) {
        // Every thread writes the same objects, so puts also race each other.
        std::string bytes = Bytes(i % 2 == 0 ? 64 : 2048, i);
        auto key = store->Put(bytes);
        ASSERT_TRUE(key.has_value()) << key.error().ToString();
        auto got = store->Get(*key);
        ASSERT_TRUE(got.has_value()) << got.error().ToString() << " thread " << t;
        EXPECT_EQ(*got, bytes);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ListAll(*store).size(), 25u);
  EXPECT_TRUE(TmpFiles().empty());
}

}  // namespace
}  // namespace fsml
