#include "data/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <cstdint>
#include <string>
#include <vector>

#include <zlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string_view kPngMagic("\x89PNG\r\n\x1a\n", 8);

void AppendTo(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string GrayJpeg(int width, int height) {
  std::vector<uint8_t> px = test::TestPixels(width, height, 7);
  std::string out;
  EXPECT_NE(stbi_write_jpg_to_func(AppendTo, &out, width, height, 1, px.data(), 90), 0);
  return out;
}

TEST(InspectImageTest, ReadsEncodedGrayPng) {
  std::string png = test::TestPng(5, 3, 1);
  auto info = InspectImage(png, "a.png");
  ASSERT_TRUE(info.has_value()) << info.error().message();
  EXPECT_EQ(info->media_type, "image/png");
  EXPECT_EQ(info->width, 5);
  EXPECT_EQ(info->height, 3);
  EXPECT_EQ(info->channels, 1);
}

TEST(InspectImageTest, ReadsJpeg) {
  std::string jpg = GrayJpeg(16, 8);
  auto info = InspectImage(jpg, "a.jpg");
  ASSERT_TRUE(info.has_value()) << info.error().message();
  EXPECT_EQ(info->media_type, "image/jpeg");
  EXPECT_EQ(info->width, 16);
  EXPECT_EQ(info->height, 8);
  EXPECT_EQ(info->channels, 3);  // stb_image_write always writes three YCbCr components
}

TEST(InspectImageTest, RejectsNonImageBytesNamingTheFile) {
  for (std::string bytes : {std::string(), std::string("hello, world"), std::string("GIF89a......"),
                            std::string(kPngMagic.substr(0, 7)), std::string("\xFF\xD8", 2)}) {
    auto info = InspectImage(bytes, "notes/readme.png");
    ASSERT_FALSE(info.has_value());
    EXPECT_EQ(info.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(info.error().message(), "notes/readme.png: not a PNG or JPEG image");
  }
}

TEST(InspectImageTest, RejectsTruncatedPng) {
  std::string png = test::TestPng(32, 32, 2);
  ASSERT_GT(png.size(), 100u);
  // Header intact, pixel data cut short.
  auto info = InspectImage(png.substr(0, png.size() - 40), "cut.png");
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(info.error().message(), StartsWith("cut.png: corrupt or truncated "));
}

TEST(InspectImageTest, RejectsPngCutAtAnyPoint) {
  std::string png = test::TestPng(8, 8, 3);
  for (size_t n = kPngMagic.size(); n < png.size() - 12; ++n) {  // the last 12 bytes are IEND
    auto info = InspectImage(png.substr(0, n), "cut.png");
    EXPECT_FALSE(info.has_value()) << "cut at " << n << " of " << png.size();
    if (!info) {
      EXPECT_THAT(info.error().message(), StartsWith("cut.png: "));
    }
  }
}

TEST(InspectImageTest, RejectsPngWithDamagedHeader) {
  std::string bad = std::string(kPngMagic) + std::string(40, '\0');
  auto info = InspectImage(bad, "bad.png");
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().message(), "bad.png: corrupt or truncated PNG (it does not start with IHDR)");
}

// Found by fuzz_image: a chunk length past the end made stb_image ask for 2 GiB.
TEST(InspectImageTest, RejectsChunkLengthPastTheEnd) {
  const unsigned char bytes[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
      0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00,
      0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x00, 0x00, 0x02, 0x00, 0x01, 0xe5, 0x27, 0xde, 0xfc, 0x00, 0x00, 0x00,
      0xda, 0x63, 0x60, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00,
      0x01, 0xe5, 0x27, 0xde, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x01, 0x01, 0x01,
      0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x60, 0x82};
  auto info = InspectImage(std::string(reinterpret_cast<const char*>(bytes), sizeof bytes), "oom.png");
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().message(), "oom.png: corrupt or truncated PNG (a chunk runs past the end of the file)");
}

// A 1x1 image whose data inflates to a megabyte (a decompression bomb).
TEST(InspectImageTest, RejectsImageDataLargerThanTheImage) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& body) {
    return be32(static_cast<uint32_t>(body.size())) + type + body + be32(0);
  };
  std::string zeros(1 << 20, '\0');
  uLongf len = compressBound(zeros.size());
  std::string z(len, '\0');
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(z.data()), &len, reinterpret_cast<const Bytef*>(zeros.data()),
                      zeros.size(), 9), Z_OK);
  z.resize(len);
  std::string png = std::string(kPngMagic) + chunk("IHDR", be32(1) + be32(1) + std::string("\x08\0\0\0\0", 5)) +
                    chunk("IDAT", z) + chunk("IEND", "");
  auto info = InspectImage(png, "bomb.png");
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().message(), "bomb.png: corrupt or truncated PNG (more image data than a 1x1 image holds)");
}

TEST(InspectImageTest, RejectsCorruptPixelData) {
  std::string png = test::TestPng(32, 32, 5);
  // Overwrite the middle of the IDAT payload; zlib's checks catch it.
  for (size_t i = png.size() / 2; i < png.size() / 2 + 16; ++i) png[i] = static_cast<char>(~png[i]);
  auto info = InspectImage(png, "damaged.png");
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message(), HasSubstr("damaged.png: "));
}

TEST(InspectImageTest, RejectsImagesWiderThan16384Pixels) {
  std::vector<uint8_t> row(16385, 0x80);
  std::string png = EncodeGrayPng(row.data(), 16385, 1);
  auto info = InspectImage(png, "wide.png");
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().message(), "wide.png: 16385x1 pixels is outside 1 to 16384 per side");
  std::vector<uint8_t> edge(16384, 0x80);
  auto ok = InspectImage(EncodeGrayPng(edge.data(), 16384, 1), "edge.png");
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(ok->width, 16384);
}

TEST(EncodeGrayPngTest, IsDeterministic) {
  std::vector<uint8_t> px = test::TestPixels(28, 28, 9);
  std::string a = EncodeGrayPng(px.data(), 28, 28);
  std::string b = EncodeGrayPng(std::vector<uint8_t>(px).data(), 28, 28);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.substr(0, 8), kPngMagic);
}

TEST(EncodeGrayPngTest, DifferentPixelsOrShapesGiveDifferentBytes) {
  std::vector<uint8_t> px = test::TestPixels(4, 6, 1);
  std::string a = EncodeGrayPng(px.data(), 4, 6);
  std::string b = EncodeGrayPng(px.data(), 6, 4);
  px[5] ^= 1;
  std::string c = EncodeGrayPng(px.data(), 4, 6);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
}

TEST(EncodeGrayPngTest, RoundTripsPixelsThroughTheDecoder) {
  std::vector<uint8_t> px = test::TestPixels(7, 5, 11);
  std::string png = EncodeGrayPng(px.data(), 7, 5);
  int w = 0, h = 0, c = 0;
  stbi_uc* back =
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(png.data()), static_cast<int>(png.size()), &w, &h, &c, 0);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(w, 7);
  EXPECT_EQ(h, 5);
  EXPECT_EQ(c, 1);
  EXPECT_EQ(std::vector<uint8_t>(back, back + px.size()), px);
  stbi_image_free(back);
}

TEST(ExtensionForTest, MapsMediaTypes) {
  EXPECT_EQ(ExtensionFor("image/png"), "png");
  EXPECT_EQ(ExtensionFor("image/jpeg"), "jpg");
  EXPECT_EQ(ExtensionFor("text/plain"), "txt");
}

}  // namespace
}  // namespace fsml
