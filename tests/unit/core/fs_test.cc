#include "core/fs.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../temp_dir_test.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Each test gets a fresh folder under the gtest temp dir, removed afterwards.
class FsTest : public test::TempDirTest {
 protected:

  void WriteRaw(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out << bytes;
    ASSERT_TRUE(out.good());
  }

  std::vector<std::string> ListNames() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    return names;
  }

};

TEST_F(FsTest, ReadFileReturnsWholeContent) {
  std::string content(200000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i % 251);
  WriteRaw(dir_ / "f.bin", content);
  Result<std::string> r = ReadFile(dir_ / "f.bin");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, content);
}

TEST_F(FsTest, ReadFileOfEmptyFile) {
  WriteRaw(dir_ / "empty", "");
  Result<std::string> r = ReadFile(dir_ / "empty");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, "");
}

TEST_F(FsTest, ReadFileOfMissingFileIsNotFound) {
  fs::path p = dir_ / "missing.txt";
  Result<std::string> r = ReadFile(p);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_EQ(r.error().message(), p.string() + ": no such file");
}

TEST_F(FsTest, ReadFileOverLimitIsInvalidArgumentNamingTheLimit) {
  fs::path p = dir_ / "big.txt";
  WriteRaw(p, std::string(2500, 'x'));
  Result<std::string> r = ReadFile(p, 2000);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.error().message(), p.string() + ": larger than the limit of 2.0 KB");
}

TEST_F(FsTest, ReadFileAtExactlyTheLimitSucceeds) {
  fs::path p = dir_ / "exact.txt";
  WriteRaw(p, std::string(10, 'x'));
  Result<std::string> r = ReadFile(p, 10);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->size(), 10u);
  Result<std::string> over = ReadFile(p, 9);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().message(), p.string() + ": larger than the limit of 9 B");
}

TEST_F(FsTest, ReadFileOfFolderIsIoError) {
  Result<std::string> r = ReadFile(dir_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kIoError);
  EXPECT_THAT(r.error().message(), StartsWith(dir_.string() + ": "));
}

TEST_F(FsTest, WriteFileAtomicCreatesFile) {
  fs::path p = dir_ / "out.txt";
  ASSERT_TRUE(WriteFileAtomic(p, "hello").ok());
  Result<std::string> r = ReadFile(p);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "hello");
}

TEST_F(FsTest, WriteFileAtomicReplacesContentAndLeavesNoTempFiles) {
  fs::path p = dir_ / "out.txt";
  ASSERT_TRUE(WriteFileAtomic(p, std::string(5000, 'a')).ok());
  ASSERT_TRUE(WriteFileAtomic(p, "short").ok());
  Result<std::string> r = ReadFile(p);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "short");
  EXPECT_THAT(ListNames(), ::testing::ElementsAre("out.txt"));
}

TEST_F(FsTest, WriteFileAtomicIntoMissingFolderFailsWithoutLeftovers) {
  fs::path p = dir_ / "no-such-dir" / "out.txt";
  Status s = WriteFileAtomic(p, "x");
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_THAT(s.message(), StartsWith("create " + (dir_ / "no-such-dir").string() + "/.tmp-out.txt-"));
  EXPECT_TRUE(ListNames().empty());
}

TEST_F(FsTest, WriteNewFileRefusesToOverwrite) {
  fs::path p = dir_ / "new.txt";
  ASSERT_TRUE(WriteNewFile(p, "first").ok());
  Status s = WriteNewFile(p, "second");
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_THAT(s.message(), StartsWith("create " + p.string() + ": "));
  EXPECT_EQ(*ReadFile(p), "first");
}

TEST_F(FsTest, MakeDirsCreatesNestedFoldersAndIsIdempotent) {
  fs::path p = dir_ / "a" / "b" / "c";
  ASSERT_TRUE(MakeDirs(p).ok());
  EXPECT_TRUE(fs::is_directory(p));
  EXPECT_TRUE(MakeDirs(p).ok());
}

TEST_F(FsTest, MakeDirsOverAFileIsIoError) {
  WriteRaw(dir_ / "file", "x");
  Status s = MakeDirs(dir_ / "file" / "sub");
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_THAT(s.message(), StartsWith("create folder " + (dir_ / "file" / "sub").string() + ": "));
}

TEST_F(FsTest, FsyncPathWorksOnFilesAndFoldersAndNamesMissingPath) {
  WriteRaw(dir_ / "f", "x");
  EXPECT_TRUE(FsyncPath(dir_ / "f").ok());
  EXPECT_TRUE(FsyncPath(dir_).ok());
  Status s = FsyncPath(dir_ / "missing");
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_THAT(s.message(), StartsWith("open " + (dir_ / "missing").string() + ": "));
}

TEST(FormatTest, WithThousands) {
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(7), "7");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(1000), "1,000");
  EXPECT_EQ(WithThousands(70000), "70,000");
  EXPECT_EQ(WithThousands(123456), "123,456");
  EXPECT_EQ(WithThousands(1234567), "1,234,567");
  EXPECT_EQ(WithThousands(std::numeric_limits<uint64_t>::max()), "18,446,744,073,709,551,615");
}

TEST(FormatTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1), "1 B");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1000), "1.0 KB");
  EXPECT_EQ(HumanBytes(1500), "1.5 KB");
  EXPECT_EQ(HumanBytes(1048576), "1.0 MB");
  EXPECT_EQ(HumanBytes(12345678), "12.3 MB");
  EXPECT_EQ(HumanBytes(uint64_t{5} * 1000 * 1000 * 1000), "5.0 GB");
  EXPECT_EQ(HumanBytes(uint64_t{2500} * 1000 * 1000 * 1000), "2.5 TB");
  // TB is the largest unit.
  EXPECT_EQ(HumanBytes(uint64_t{1000} * 1000 * 1000 * 1000 * 1000), "1000.0 TB");
}

TEST(FormatTest, HumanBytesMovesToNextUnitWhenRoundingReaches1000) {
  EXPECT_EQ(HumanBytes(999949), "999.9 KB");
  EXPECT_EQ(HumanBytes(999999), "1.0 MB");
  EXPECT_EQ(HumanBytes(999999999), "1.0 GB");
}

TEST(FormatTest, NowRfc3339HasMillisecondsAndZ) {
  std::string now = NowRfc3339();
  EXPECT_THAT(now, ::testing::MatchesRegex(
                       "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
}

// Saves an environment variable and restores it when the scope ends.
class ScopedEnv {
 public:
  explicit ScopedEnv(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(CurrentUserTest, PrefersFsmlUserThenUser) {
  ScopedEnv fsml_user("FSML_USER"), user("USER"), logname("LOGNAME");
  ::setenv("FSML_USER", "ada", 1);
  ::setenv("USER", "bob", 1);
  EXPECT_EQ(CurrentUser(), "ada");
  ::setenv("FSML_USER", "", 1);  // empty counts as unset
  EXPECT_EQ(CurrentUser(), "bob");
  ::unsetenv("FSML_USER");
  ::unsetenv("USER");
  ::setenv("LOGNAME", "carol", 1);
  EXPECT_EQ(CurrentUser(), "carol");
  ::unsetenv("LOGNAME");
  EXPECT_FALSE(CurrentUser().empty());  // the account name, or "unknown"
}

}  // namespace
}  // namespace fsml
