#include "core/parallel.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fsml {
namespace {

// Runs ParallelFor and counts how often each index was visited.
std::vector<int> VisitCounts(size_t n, size_t chunk, int threads) {
  std::unique_ptr<std::atomic<int>[]> counts(new std::atomic<int>[n]);
  for (size_t i = 0; i < n; ++i) counts[i] = 0;
  Status s = ParallelFor(n, chunk, threads, [&](size_t begin, size_t end) {
    EXPECT_LT(begin, end);
    EXPECT_LE(end, n);
    for (size_t i = begin; i < end; ++i) counts[i].fetch_add(1);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<int> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = counts[i].load();
  return out;
}

TEST(ParallelForTest, VisitsEveryIndexExactlyOnce) {
  struct Case {
    size_t n, chunk;
    int threads;
  };
  const Case cases[] = {{1000, 7, 4}, {1000, 1, 8}, {1000, 1000, 4}, {1000, 5000, 4},
                        {1, 1, 16},   {999, 10, 1}, {64, 0, 3},      {100000, 64, 4}};
  for (const Case& c : cases) {
    SCOPED_TRACE("n=" + std::to_string(c.n) + " chunk=" + std::to_string(c.chunk) +
                 " threads=" + std::to_string(c.threads));
    std::vector<int> counts = VisitCounts(c.n, c.chunk, c.threads);
    for (size_t i = 0; i < c.n; ++i) ASSERT_EQ(counts[i], 1) << "index " << i;
  }
}

TEST(ParallelForTest, ChunksHaveTheRequestedSizeExceptTheLast) {
  std::mutex mu;
  std::vector<std::pair<size_t, size_t>> ranges;
  Status s = ParallelFor(25, 10, 1, [&](size_t begin, size_t end) {
    std::lock_guard lock(mu);
    ranges.emplace_back(begin, end);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok());
  std::vector<std::pair<size_t, size_t>> expected = {{0, 10}, {10, 20}, {20, 25}};
  EXPECT_EQ(ranges, expected);
}

TEST(ParallelForTest, ZeroItemsNeverCallsFn) {
  std::atomic<int> calls{0};
  Status s = ParallelFor(0, 10, 4, [&](size_t, size_t) {
    ++calls;
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls.load(), 0);
}

TEST(ParallelForTest, NonPositiveThreadCountRunsOnCaller) {
  for (int threads : {0, -3}) {
    std::vector<int> counts = VisitCounts(50, 3, threads);
    for (int c : counts) EXPECT_EQ(c, 1);
  }
}

TEST(ParallelForTest, ReturnsTheErrorOfAFailingChunk) {
  Status s = ParallelFor(1000, 10, 4, [&](size_t begin, size_t) {
    if (begin == 500) return InvalidArgument("chunk 500 failed");
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "chunk 500 failed");
}

TEST(ParallelForTest, ReturnsFirstErrorAndSkipsLaterChunksOnOneThread) {
  std::vector<size_t> started;
  Status s = ParallelFor(100, 10, 1, [&](size_t begin, size_t) {
    started.push_back(begin);
    if (begin >= 30) return NotFound("chunk " + std::to_string(begin));
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "chunk 30");
  EXPECT_EQ(started, (std::vector<size_t>{0, 10, 20, 30}));
}

TEST(ParallelForTest, ErrorFromEveryChunkReturnsOneOfThem) {
  Status s = ParallelFor(1000, 1, 8, [&](size_t begin, size_t) {
    return Aborted("chunk " + std::to_string(begin));
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(s.message().rfind("chunk ", 0), 0u) << s.message();
}

TEST(ParallelForTest, ExceptionIsRethrownOnTheCaller) {
  std::atomic<int> calls{0};
  try {
    Status s = ParallelFor(1000, 10, 4, [&](size_t begin, size_t) -> Status {
      ++calls;
      if (begin == 200) throw std::runtime_error("boom at 200");
      return Status::Ok();
    });
    ADD_FAILURE() << "no exception; status " << s.ToString();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom at 200");
  }
  EXPECT_GE(calls.load(), 1);
  EXPECT_LE(calls.load(), 100);
}

TEST(ParallelForTest, ExceptionTakesPrecedenceOverStatusErrors) {
  // Chunk 0 is always claimed first, so it always runs and throws, whatever
  // the other chunks' errors do to the loop.
  EXPECT_THROW(ParallelFor(100, 1, 4,
                           [&](size_t begin, size_t) -> Status {
                             if (begin == 0) throw std::logic_error("first");
                             return Internal("chunk failed");
                           })
                   .IgnoreError(),
               std::logic_error);
}

TEST(DefaultThreadsTest, IsAtLeastOne) { EXPECT_GE(DefaultThreads(), 1); }

}  // namespace
}  // namespace fsml
