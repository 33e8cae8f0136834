#include "registry/safetensors.h"

#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsml {
namespace {

using ::testing::HasSubstr;

Tensor F32(std::vector<int64_t> shape, std::vector<float> values) {
  Tensor t{DType::kF32, std::move(shape), {}};
  t.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return t;
}

std::string Header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json + data;
}

std::string ErrorOf(const std::string& bytes) {
  auto r = ReadSafetensors(bytes, "w.safetensors");
  return r ? "" : r.error().message();
}

TEST(Safetensors, RoundTripsTensorsAndMetadata) {
  TensorFile f;
  f.tensors["b.weight"] = F32({2, 3}, {1, 2, 3, 4, 5, 6});
  f.tensors["a.bias"] = F32({3}, {-1.5f, 0, 1e-30f});
  Tensor steps{DType::kI64, {}, std::string(8, '\0')};
  steps.data[0] = 7;
  f.tensors["bn.num_batches_tracked"] = steps;
  f.metadata["format"] = "pt";
  auto bytes = WriteSafetensors(f);
  ASSERT_TRUE(bytes) << bytes.error().message();
  uint64_t n = 0;
  std::memcpy(&n, bytes->data(), 8);
  EXPECT_EQ(n % 8, 0u) << "header padded to 8 bytes";
  auto back = ReadSafetensors(*bytes, "w");
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->tensors.size(), 3u);
  EXPECT_EQ(back->tensors["b.weight"].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(back->tensors["b.weight"].data, f.tensors["b.weight"].data);
  EXPECT_EQ(back->tensors["a.bias"].data, f.tensors["a.bias"].data);
  EXPECT_EQ(back->tensors["bn.num_batches_tracked"].dtype, DType::kI64);
  EXPECT_EQ(back->tensors["bn.num_batches_tracked"].numel(), 1u);
  EXPECT_EQ(back->metadata["format"], "pt");
  // Deterministic: the same tensors give the same bytes.
  EXPECT_EQ(*WriteSafetensors(*back), *bytes);
}

TEST(Safetensors, ReadsTheReferenceLayout) {
  // As the reference implementation writes it: offsets relative to the data.
  std::string data(12, '\0');
  float v[3] = {1, 2, 3};
  std::memcpy(data.data(), v, 12);
  auto f = ReadSafetensors(Header(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", data), "ref");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->tensors["x"].numel(), 3u);
}

TEST(Safetensors, WriteRejectsMismatchedData) {
  TensorFile f;
  f.tensors["x"] = F32({2, 2}, {1, 2, 3});
  auto r = WriteSafetensors(f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "safetensors: tensor 'x' has 12 bytes, which does not match its shape");
  TensorFile g;
  g.tensors["__metadata__"] = F32({1}, {1});
  EXPECT_FALSE(WriteSafetensors(g));
}

TEST(Safetensors, RejectsDamagedFiles) {
  std::string four(4, '\0');
  EXPECT_THAT(ErrorOf(""), HasSubstr("shorter than its 8-byte header length"));
  EXPECT_THAT(ErrorOf(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8)), HasSubstr("is over 100 MiB"));
  EXPECT_THAT(ErrorOf(Header("{}", "").substr(0, 9)), HasSubstr("runs past the end of the file"));
  EXPECT_THAT(ErrorOf(Header("[1]", "")), HasSubstr("the header is not a JSON object"));
  EXPECT_THAT(ErrorOf(Header("{\"x\":", "")), HasSubstr("the header is not a JSON object"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", four)),
              HasSubstr("tensor 'x' has an unsupported dtype \"BF16\""));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four)),
              HasSubstr("tensor 'x''s shape does not match its data size"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", four)),
              HasSubstr("data_offsets outside the data"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four)),
              HasSubstr("data_offsets outside the data"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four)), HasSubstr("bad shape"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", four)),
              HasSubstr("shape does not match"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"F32","shape":[1]}})", four)), HasSubstr("lacks dtype, shape or data_offsets"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"y":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", four)),
              HasSubstr("tensors overlap"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", four)), HasSubstr("the data has a gap"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", four)),
              HasSubstr("the data has 2 bytes no tensor covers"));
  EXPECT_THAT(ErrorOf(Header(R"({"__metadata__":{"a":1}})", "")), HasSubstr("metadata value 'a' is not a string"));
  EXPECT_THAT(ErrorOf(Header(R"({"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", four)), ::testing::IsEmpty());
}

TEST(Safetensors, EveryTruncationIsAnErrorNotACrash) {
  TensorFile f;
  f.tensors["w"] = F32({4, 4}, std::vector<float>(16, 0.5f));
  std::string bytes = *WriteSafetensors(f);
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(ReadSafetensors(bytes.substr(0, n), "t")) << n;
  EXPECT_TRUE(ReadSafetensors(bytes, "t"));
}

}  // namespace
}  // namespace fsml
