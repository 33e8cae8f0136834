#include "core/progress.h"

#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsml {
namespace {

using ::testing::HasSubstr;

// Progress's enabled flag is process-wide: restore it after each test.
class ProgressTest : public ::testing::Test {
 protected:
  void TearDown() override { Progress::SetEnabled(true); }
};

TEST_F(ProgressTest, DisabledPrintsNothingWithManyThreadsAdding) {
  Progress::SetEnabled(false);
  ::testing::internal::CaptureStderr();
  {
    Progress p("import", 8 * 100000);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&p] {
        for (int i = 0; i < 100000; ++i) p.Add();
        p.Add(5000);  // large steps take the clock-check path too
      });
    }
    for (auto& t : threads) t.join();
    p.Finish();
    p.Finish();  // a second Finish is a no-op
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(ProgressTest, DisabledDestructorPrintsNothing) {
  Progress::SetEnabled(false);
  ::testing::internal::CaptureStderr();
  {
    Progress p("hash", 0, "files");
    p.Add(3);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(ProgressTest, FinishPrintsClosingLineWithCountAndUnit) {
  Progress::SetEnabled(true);
  ::testing::internal::CaptureStderr();
  {
    Progress p("import", 0, "files");
    for (int i = 0; i < 1234; ++i) p.Add();
    p.Finish();
  }
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, HasSubstr("import: 1,234 files in "));
  EXPECT_THAT(out, HasSubstr(" files/s)"));
}

TEST_F(ProgressTest, DestructorFinishesExactlyOnce) {
  Progress::SetEnabled(true);
  ::testing::internal::CaptureStderr();
  {
    Progress p("scan", 10);
    p.Add(10);
  }
  std::string out = ::testing::internal::GetCapturedStderr();
  size_t first = out.find("scan: 10 items in ");
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_EQ(out.find("scan: 10 items in ", first + 1), std::string::npos) << out;
}

}  // namespace
}  // namespace fsml
