// Shared helpers for the src/data unit tests: a temp folder per test, a
// workspace per test, and builders for synthetic inputs (IDX, gzip, PNG,
// text files). Header-only; every test binary includes what it uses.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/fs.h"
#include "core/progress.h"
#include "core/status.h"
#include "data/image.h"
#include "data/project.h"
#include "data/workspace.h"

namespace fsml {
// Prints "kNotFound"-style names in assertion failures instead of bytes.
inline void PrintTo(Code code, std::ostream* os) { *os << CodeName(code); }
}  // namespace fsml

namespace fsml::test {

// Asserts that a Status or Result is OK, printing the error otherwise.
#define FSML_ASSERT_OK(expr)                                            \
  do {                                                                  \
    const ::fsml::Status fsml_test_s_ = ::fsml::test::StatusOf((expr)); \
    ASSERT_TRUE(fsml_test_s_.ok()) << fsml_test_s_.ToString();          \
  } while (0)
#define FSML_EXPECT_OK(expr)                                            \
  do {                                                                  \
    const ::fsml::Status fsml_test_s_ = ::fsml::test::StatusOf((expr)); \
    EXPECT_TRUE(fsml_test_s_.ok()) << fsml_test_s_.ToString();          \
  } while (0)

inline Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r ? Status::Ok() : r.error();
}

// A unique, empty folder under ::testing::TempDir(), removed by the caller.
inline fs::path MakeUniqueTempDir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "fsml_data_";
  if (info != nullptr) name += std::string(info->test_suite_name()) + "_" + info->name();
  for (char& c : name)
    if (c == '/') c = '_';
  name += "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  fs::path dir = fs::path(::testing::TempDir()) / name;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  return dir;
}

inline void WriteBytes(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "write " << path;
}

inline std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An IDX file: magic 00 00 <type> <rank>, big-endian u32 dims, then `data`.
inline std::string IdxBytes(uint8_t type, const std::vector<uint32_t>& dims, std::string_view data) {
  std::string out;
  out.push_back('\0');
  out.push_back('\0');
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(dims.size()));
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xff));
  out.append(data);
  return out;
}

// Writes `bytes` gzip-compressed with zlib's gzFile interface.
inline void WriteGzipFile(const fs::path& path, std::string_view bytes) {
  fs::create_directories(path.parent_path());
  gzFile f = gzopen(path.c_str(), "wb9");
  ASSERT_NE(f, nullptr) << "gzopen " << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

// Deterministic pseudo-random-looking pixels; `seed` makes images distinct.
inline std::vector<uint8_t> TestPixels(int width, int height, int seed) {
  std::vector<uint8_t> px(static_cast<size_t>(width) * height);
  uint32_t x = 2166136261u ^ (static_cast<uint32_t>(seed) * 16777619u);
  for (auto& p : px) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p = static_cast<uint8_t>(x);
  }
  return px;
}

inline std::string TestPng(int width, int height, int seed) {
  std::vector<uint8_t> px = TestPixels(width, height, seed);
  return EncodeGrayPng(px.data(), width, height);
}

// A unique temp folder per test, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Progress::SetEnabled(false);
    dir_ = MakeUniqueTempDir();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

// A fresh workspace in the test's temp folder.
class WorkspaceTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto ws = Workspace::Init(dir_ / "ws");
    ASSERT_TRUE(ws.has_value()) << ws.error().ToString();
    ws_ = std::move(*ws);
  }
  void TearDown() override {
    ws_.reset();
    TempDirTest::TearDown();
  }

  MetaStore& meta() { return ws_->meta(); }

  // Creates a project or fails the test.
  Project MakeProject(const std::string& name, TaskType type, std::vector<std::string> labels,
                      SplitRatios ratios = {}) {
    ProjectSpec spec;
    spec.name = name;
    spec.type = type;
    spec.labels = std::move(labels);
    spec.ratios = ratios;
    auto p = CreateProject(meta(), spec, "tester");
    EXPECT_TRUE(p.has_value()) << p.error().ToString();
    return p ? *p : Project{};
  }

  int64_t Count(const std::string& sql, const SqlParams& params = {}) {
    auto n = meta().QueryInt(sql, params);
    EXPECT_TRUE(n.has_value()) << n.error().ToString();
    return n && *n ? **n : -1;
  }

  std::unique_ptr<Workspace> ws_;
};

}  // namespace fsml::test
