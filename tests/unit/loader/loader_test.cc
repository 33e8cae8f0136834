// Loader: every row once per epoch, determinism for a seed whatever the
// thread count, augmentation and normalization, cache, and bad input.
#include "data/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/progress.h"
#include "data/image.h"
#include "data/import.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Progress::SetEnabled(false);
    dir_ = fs::path(::testing::TempDir()) / ("loader-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto ws = Workspace::Init(dir_);
    ASSERT_TRUE(ws) << ws.error().message();
    ws_ = std::move(*ws);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `n` 6x5 gray images whose pixel (y, x) is (i * 7 + y * 5 + x) % 256, labels i % 3,
  // imported as JSONL with an explicit split, then committed.
  DatasetVersion MakeVersion(int n, const char* split = "train") {
    auto p = CreateProject(ws_->meta(), {"p", TaskType::kImageClassification, {"a", "b", "c"}, "", {}}, "t");
    EXPECT_TRUE(p) << p.error().message();
    project_ = *p;
    std::string jsonl;
    for (int i = 0; i < n; ++i) {
      std::vector<uint8_t> px(30);
      for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 6; ++x) px[y * 6 + x] = static_cast<uint8_t>((i * 7 + y * 5 + x) % 256);
      std::string name = "img" + std::to_string(i) + ".png";
      EXPECT_TRUE(WriteFileAtomic(dir_ / name, EncodeGrayPng(px.data(), 6, 5)).ok());
      jsonl += "{\"image\": \"" + name + "\", \"label\": \"" + std::string(1, static_cast<char>('a' + i % 3)) +
               "\", \"split\": \"" + split + "\"}\n";
    }
    EXPECT_TRUE(WriteFileAtomic(dir_ / "data.jsonl", jsonl).ok());
    ImportOptions opt;
    opt.format = ImportFormat::kJsonl;
    auto imported = ImportItems(*ws_, project_, dir_ / "data.jsonl", opt);
    EXPECT_TRUE(imported) << imported.error().message();
    auto v = CommitVersion(*ws_, project_, {"v1", "t", false});
    EXPECT_TRUE(v) << v.error().message();
    return *v;
  }

  std::vector<Batch> Epoch(Loader& l, int epoch) {
    std::vector<Batch> out;
    l.StartEpoch(epoch);
    while (true) {
      auto b = l.Next();
      EXPECT_TRUE(b) << b.error().message();
      if (!b || !*b) break;
      out.push_back(std::move(**b));
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Workspace> ws_;
  Project project_;
};

TEST_F(LoaderTest, EveryRowOncePerEpochWithGeometryAndLabels) {
  DatasetVersion v = MakeVersion(50);
  LoaderOptions opt;
  opt.batch_size = 8;
  auto l = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ((*l)->size(), 50u);
  EXPECT_EQ((*l)->num_batches(), 7u);
  EXPECT_EQ((*l)->channels(), 1);
  EXPECT_EQ((*l)->height(), 5);
  EXPECT_EQ((*l)->width(), 6);
  auto batches = Epoch(**l, 0);
  ASSERT_EQ(batches.size(), 7u);
  EXPECT_EQ(batches.back().size, 2u);
  std::set<uint32_t> seen;
  for (const auto& b : batches) {
    ASSERT_EQ(b.pixels.size(), b.size * 30);
    for (size_t i = 0; i < b.size; ++i) {
      EXPECT_TRUE(seen.insert(b.rows[i]).second) << "row twice";
      // Pixel (0, 0) identifies the image: i * 7 % 256 / 255; its label is i % 3.
      int image = -1;
      for (int k = 0; k < 50; ++k)
        if (std::abs(b.pixels[i * 30] - (k * 7 % 256) / 255.f) < 1e-6 &&
            std::abs(b.pixels[i * 30 + 1] - ((k * 7 + 1) % 256) / 255.f) < 1e-6)
          image = k;
      ASSERT_GE(image, 0);
      EXPECT_EQ(b.labels[i], image % 3);
    }
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST_F(LoaderTest, SameSeedSameBatchesWhateverTheThreads) {
  DatasetVersion v = MakeVersion(40);
  LoaderOptions opt;
  opt.batch_size = 6;
  opt.seed = 42;
  opt.augment = {2, true, 0.5f};
  opt.mean = {0.5f};
  opt.std = {0.25f};
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 3}) {
    opt.threads = threads;
    auto l = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
    ASSERT_TRUE(l);
    std::vector<float> all;
    for (int epoch = 0; epoch < 2; ++epoch)
      for (const auto& b : Epoch(**l, epoch)) all.insert(all.end(), b.pixels.begin(), b.pixels.end());
    runs.push_back(all);
  }
  EXPECT_EQ(runs[0], runs[1]);
}

TEST_F(LoaderTest, EpochsShuffleDifferentlyAndSeedsDiffer) {
  DatasetVersion v = MakeVersion(40);
  LoaderOptions opt;
  opt.batch_size = 40;
  auto order = [&](uint64_t seed, int epoch) {
    opt.seed = seed;
    auto l = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
    return Epoch(**l, epoch)[0].rows;
  };
  EXPECT_NE(order(1, 0), order(1, 1));
  EXPECT_NE(order(1, 0), order(2, 0));
  EXPECT_EQ(order(1, 0), order(1, 0));
  opt.shuffle = false;
  std::vector<uint32_t> ordered(40);
  std::iota(ordered.begin(), ordered.end(), 0);
  EXPECT_EQ(order(1, 0), ordered);
}

TEST_F(LoaderTest, NormalizationAndFlipAreExact) {
  DatasetVersion v = MakeVersion(3);
  LoaderOptions opt;
  opt.shuffle = false;
  opt.batch_size = 3;
  opt.mean = {0.5f};
  opt.std = {0.5f};
  auto plain = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  Batch a = Epoch(**plain, 0)[0];
  uint32_t row = a.rows[0];
  // x' = (v / 255 - 0.5) / 0.5 for pixel (0, 0).
  float v00 = a.pixels[0] * 0.5f + 0.5f;
  EXPECT_NEAR(v00 * 255.f, std::round(v00 * 255.f), 1e-3);
  // With flips, some epoch flips the image: pixel (y, x) becomes (y, 5 - x).
  opt.augment.horizontal_flip = true;
  auto flipping = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  bool saw_flip = false;
  for (int epoch = 0; epoch < 20 && !saw_flip; ++epoch) {
    Batch b = Epoch(**flipping, epoch)[0];
    ASSERT_EQ(b.rows[0], row);
    bool flipped = true;
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 6; ++x) flipped &= b.pixels[y * 6 + x] == a.pixels[y * 6 + (5 - x)];
    saw_flip |= flipped;
  }
  EXPECT_TRUE(saw_flip);
}

TEST_F(LoaderTest, CropPadsWithZeroAndErasingZeroesARectangle) {
  DatasetVersion v = MakeVersion(1);
  LoaderOptions opt;
  opt.shuffle = false;
  opt.augment.crop_padding = 3;
  auto l = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  int shifted = 0;
  for (int epoch = 0; epoch < 10; ++epoch) {
    Batch b = Epoch(**l, epoch)[0];
    int zeros = static_cast<int>(std::count(b.pixels.begin(), b.pixels.end(), 0.f));
    shifted += zeros > 1;  // padding shows as zeros (image 0 has one zero pixel itself)
  }
  EXPECT_GT(shifted, 0);
  opt.augment = {};
  opt.augment.erase_probability = 1.0f;
  opt.mean = {0.9f};  // every real pixel becomes negative, so erased ones (0) stand out
  opt.std = {1.f};
  auto e = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  Batch b = Epoch(**e, 0)[0];
  EXPECT_GT(std::count(b.pixels.begin(), b.pixels.end(), 0.f), 0);
}

TEST_F(LoaderTest, ResizesAndConvertsChannels) {
  DatasetVersion v = MakeVersion(4);
  LoaderOptions opt;
  opt.channels = 3;
  opt.height = 10;
  opt.width = 12;
  auto l = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  ASSERT_TRUE(l);
  Batch b = Epoch(**l, 0)[0];
  EXPECT_EQ(b.pixels.size(), 4u * 3 * 10 * 12);
  EXPECT_EQ(b.channels, 3);
}

TEST_F(LoaderTest, ChannelStatsMatchThePixels) {
  DatasetVersion v = MakeVersion(20);
  auto st = ComputeChannelStats(*ws_, project_, v, Split::kTrain, {});
  ASSERT_TRUE(st) << st.error().message();
  double sum = 0, sq = 0;
  for (int i = 0; i < 20; ++i)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 6; ++x) {
        double p = ((i * 7 + y * 5 + x) % 256) / 255.0;
        sum += p;
        sq += p * p;
      }
  double mean = sum / 600, sd = std::sqrt(sq / 600 - mean * mean);
  EXPECT_NEAR(st->mean[0], mean, 1e-5);
  EXPECT_NEAR(st->std[0], sd, 1e-5);
}

TEST_F(LoaderTest, StopEndsTheEpochAndTheNextEpochIsWhole) {
  DatasetVersion v = MakeVersion(40);
  LoaderOptions opt;
  opt.batch_size = 4;
  opt.threads = 3;
  opt.prefetch = 2;
  auto l = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  ASSERT_TRUE(l);
  (*l)->StartEpoch(0);
  auto first = (*l)->Next();
  ASSERT_TRUE(first && *first);
  (*l)->Stop();
  auto after = (*l)->Next();
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after) << "a stopped epoch has no more batches";
  (*l)->Stop();  // twice is harmless
  EXPECT_EQ(Epoch(**l, 1).size(), 10u);
  // Stopped before any epoch: nothing until StartEpoch().
  auto fresh = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  ASSERT_TRUE(fresh);
  (*fresh)->Stop();
  auto none = (*fresh)->Next();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_F(LoaderTest, BadInputIsRefused) {
  DatasetVersion v = MakeVersion(5);
  LoaderOptions opt;
  auto empty = Loader::Open(*ws_, project_, v, Split::kTest, opt);
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message(), HasSubstr("p@v1 has no items in the test split"));
  opt.batch_size = 0;
  auto zero = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  ASSERT_FALSE(zero);
  EXPECT_THAT(zero.error().message(), HasSubstr("batch size 0"));
  opt.batch_size = 4;
  opt.mean = {0.5f, 0.5f};
  opt.std = {1.f, 1.f};
  auto mismatch = Loader::Open(*ws_, project_, v, Split::kTrain, opt);
  ASSERT_FALSE(mismatch);
  EXPECT_THAT(mismatch.error().message(), HasSubstr("one mean and one std per channel (1)"));
  auto aug = ParseAugmentation("crop,spin");
  ASSERT_FALSE(aug);
  EXPECT_THAT(aug.error().message(), HasSubstr("unknown augmentation 'spin'"));
  auto good = ParseAugmentation("crop=2,flip,erase");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->crop_padding, 2);
  EXPECT_TRUE(good->horizontal_flip);
  EXPECT_FLOAT_EQ(good->erase_probability, 0.5f);
}

TEST_F(LoaderTest, TextProjectsAreRefused) {
  auto p = CreateProject(ws_->meta(), {"t", TaskType::kTextClassification, {"x"}, "", {}}, "t");
  ASSERT_TRUE(p);
  DatasetVersion v;
  auto l = Loader::Open(*ws_, *p, v, Split::kTrain, {});
  ASSERT_FALSE(l);
  EXPECT_THAT(l.error().message(), HasSubstr("the loader reads images"));
}

}  // namespace
}  // namespace fsml
