// WorkspaceHandle, DatasetView and BatchStream: reading a version, closing
// while datasets and loaders live on, and a loader's one-thread-at-a-time rule.
#include "handles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../temp_dir_test.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "data/image.h"
#include "data/import.h"

namespace fsml::python {
namespace {

using ::testing::HasSubstr;

class HandlesTest : public test::TempDirTest {
 protected:
  // Project "p" (labels a, b, c) at p@v1: `n` 4x4 gray images, the first
  // `test` of them in the test split, the rest in train.
  void SetUp() override {
    TempDirTest::SetUp();
    Progress::SetEnabled(false);
    auto ws = Workspace::Init(dir_ / "ws");
    ASSERT_TRUE(ws) << ws.error().message();
    auto p = CreateProject((*ws)->meta(), {"p", TaskType::kImageClassification, {"a", "b", "c"}, "", {}}, "t");
    ASSERT_TRUE(p);
    std::string jsonl;
    for (int i = 0; i < kItems; ++i) {
      std::vector<uint8_t> px(16, static_cast<uint8_t>(i));
      std::string name = "img" + std::to_string(i) + ".png";
      ASSERT_TRUE(WriteFileAtomic(dir_ / name, EncodeGrayPng(px.data(), 4, 4)).ok());
      jsonl += "{\"image\": \"" + name + "\", \"label\": \"" + std::string(1, static_cast<char>('a' + i % 3)) +
               "\", \"split\": \"" + (i < kTest ? "test" : "train") + "\"}\n";
    }
    ASSERT_TRUE(WriteFileAtomic(dir_ / "data.jsonl", jsonl).ok());
    ImportOptions opt;
    opt.format = ImportFormat::kJsonl;
    ASSERT_TRUE(ImportItems(**ws, *p, dir_ / "data.jsonl", opt));
    ASSERT_TRUE(CommitVersion(**ws, *p, {"v1", "t", false}));
  }

  std::shared_ptr<WorkspaceHandle> OpenHandle() {
    auto h = WorkspaceHandle::Open(dir_ / "ws");
    EXPECT_TRUE(h) << h.error().message();
    return *h;
  }
  std::shared_ptr<BatchStream> Stream(const std::shared_ptr<WorkspaceHandle>& h, size_t batch_size = 4) {
    auto view = DatasetView::Open(h, "p@v1");
    EXPECT_TRUE(view);
    LoaderOptions opt;
    opt.batch_size = batch_size;
    opt.threads = 2;
    opt.prefetch = 2;
    auto s = view->OnlySplit(Split::kTrain).MakeStream(opt);
    EXPECT_TRUE(s) << s.error().message();
    return *s;
  }

  static constexpr int kItems = 40, kTest = 8;
};

TEST_F(HandlesTest, ReadsAVersionAndItsSplits) {
  auto h = OpenHandle();
  auto v = DatasetView::Open(h, "p");
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->size(), size_t{kItems});
  EXPECT_EQ(v->ref(), "p@v1");
  auto items = v->Read(0, v->size(), 3);
  ASSERT_TRUE(items);
  for (const auto& it : *items) EXPECT_EQ(ToHex(Sha256(it.content)), it.id);
  DatasetView test = v->OnlySplit(Split::kTest);
  EXPECT_EQ(test.size(), size_t{kTest});
  EXPECT_EQ(test.ref(), "p@v1 (test)");
  EXPECT_EQ(v->DiffTo(*v).unchanged, uint64_t{kItems});
  EXPECT_EQ(test.DiffTo(*v).added.size(), size_t{kItems - kTest});
  auto whole = v->MakeStream({});
  ASSERT_FALSE(whole);
  EXPECT_THAT(whole.error().message(), HasSubstr("p@v1 is a whole version: pick one first"));
  auto missing = DatasetView::Open(h, "p@v2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  auto nowhere = WorkspaceHandle::Open(dir_ / "nowhere");
  ASSERT_FALSE(nowhere);
  EXPECT_THAT(nowhere.error().message(), HasSubstr("is not an fsml workspace"));
}

TEST_F(HandlesTest, ClosingStopsStreamsAndLaterCallsFail) {
  auto h = OpenHandle();
  auto v = DatasetView::Open(h, "p@v1");
  ASSERT_TRUE(v);
  auto stream = Stream(h);
  auto gen = stream->StartEpoch(0);
  ASSERT_TRUE(gen);
  ASSERT_TRUE(stream->Next(*gen));
  h->Close();
  h->Close();
  EXPECT_TRUE(h->closed());
  EXPECT_TRUE(stream->shut_down());
  auto next = stream->Next(*gen);
  ASSERT_FALSE(next);
  EXPECT_THAT(next.error().message(), HasSubstr("is closed"));
  EXPECT_FALSE(stream->StartEpoch(1));
  auto read = v->Read(0, 1, 1);
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message(), HasSubstr("is closed; open it again"));
  EXPECT_FALSE(DatasetView::Open(h, "p@v1"));
  EXPECT_FALSE(v->OnlySplit(Split::kTrain).MakeStream({}));
}

TEST_F(HandlesTest, AnEpochBelongsToTheThreadThatStartedIt) {
  auto h = OpenHandle();
  auto stream = Stream(h);
  auto gen = stream->StartEpoch(0);
  ASSERT_TRUE(gen);
  ASSERT_TRUE(stream->Next(*gen));
  std::thread other([&] {
    auto next = stream->Next(*gen);
    ASSERT_FALSE(next);
    EXPECT_THAT(next.error().message(), HasSubstr("is being iterated by another thread"));
    auto start = stream->StartEpoch(1);
    ASSERT_FALSE(start);
    EXPECT_THAT(start.error().message(), HasSubstr("a loader serves one thread at a time"));
  });
  other.join();
  size_t batches = 1;
  while (true) {
    auto next = stream->Next(*gen);
    ASSERT_TRUE(next) << next.error().message();
    if (!*next) break;
    ++batches;
  }
  EXPECT_EQ(batches, stream->num_batches());
  // The epoch ended: another thread may start the next one.
  std::thread later([&] { EXPECT_TRUE(stream->StartEpoch(1)); });
  later.join();
}

TEST_F(HandlesTest, ANewEpochReplacesTheOldAndStopIsPerGeneration) {
  auto h = OpenHandle();
  auto stream = Stream(h);
  auto first = stream->StartEpoch(0);
  ASSERT_TRUE(first);
  auto second = stream->StartEpoch(1);
  ASSERT_TRUE(second);
  auto stale = stream->Next(*first);
  ASSERT_FALSE(stale);
  EXPECT_THAT(stale.error().message(), HasSubstr("replaced by a newer one"));
  stream->Stop(*first);  // not the current generation: nothing happens
  auto next = stream->Next(*second);
  ASSERT_TRUE(next && *next);
  stream->Stop(*second);
  auto after = stream->Next(*second);
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after);
}

// Closing from one thread while another iterates as fast as it can: the
// iterating thread sees the close as an error, never a crash (the sanitizer
// tier runs this too).
TEST_F(HandlesTest, CloseWhileAnotherThreadIterates) {
  for (int round = 0; round < 5; ++round) {
    auto h = OpenHandle();
    auto stream = Stream(h, 2);
    std::atomic<int> batches{0};
    std::string error;
    std::thread iterate([&] {
      for (int epoch = 0;; ++epoch) {
        auto gen = stream->StartEpoch(epoch);
        if (!gen) {
          error = gen.error().message();
          return;
        }
        while (true) {
          auto next = stream->Next(*gen);
          if (!next) {
            error = next.error().message();
            return;
          }
          if (!*next) break;
          ++batches;
        }
      }
    });
    while (batches < 3 * (round + 1)) std::this_thread::yield();
    h->Close();
    iterate.join();
    EXPECT_THAT(error, HasSubstr("closed"));
  }
}

}  // namespace
}  // namespace fsml::python
