#include "data/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

namespace fsml {

static constexpr int kMaxSide = 16384;
// A complete JPEG spends at least one bit on every 8x8 block (its DC code), so
// it has a byte per 512 pixels or more. stb_image allocates the whole image
// up front and decodes missing data as zeros, so without this bound a
// 150-byte file claiming 16384x16384 pixels takes seconds and over 2 GiB.
static constexpr uint64_t kMaxJpegPixelsPerByte = 512;

Result<ImageInfo> InspectImage(std::string_view b, std::string_view name) {
  ImageInfo info;
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) info.media_type = "image/png";
  else if (b.size() >= 3 && b.substr(0, 3) == std::string_view("\xFF\xD8\xFF", 3)) info.media_type = "image/jpeg";
  else return Err(InvalidArgument(std::string(name) + ": not a PNG or JPEG image"));
  if (b.size() > INT32_MAX) return Err(InvalidArgument(std::string(name) + ": image larger than 2 GiB"));
  const auto* data = reinterpret_cast<const stbi_uc*>(b.data());
  int len = static_cast<int>(b.size());
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &c))
    return Err(InvalidArgument(std::string(name) + ": unreadable image header (" + stbi_failure_reason() + ")"));
  if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide)
    return Err(InvalidArgument(std::string(name) + ": " + std::to_string(w) + "x" + std::to_string(h) +
                               " pixels is outside 1 to 16384 per side"));
  if (info.media_type == "image/jpeg" &&
      static_cast<uint64_t>(w) * static_cast<uint64_t>(h) > kMaxJpegPixelsPerByte * b.size())
    return Err(InvalidArgument(std::string(name) + ": truncated or corrupt JPEG (" + std::to_string(w) + "x" +
                               std::to_string(h) + " pixels in " + std::to_string(b.size()) + " bytes)"));
  stbi_uc* pixels = stbi_load_from_memory(data, len, &w, &h, &c, 0);
  if (pixels == nullptr)
    return Err(InvalidArgument(std::string(name) + ": corrupt or truncated image (" + stbi_failure_reason() + ")"));
  stbi_image_free(pixels);
  info.width = w;
  info.height = h;
  info.channels = c;
  return info;
}

static void AppendToString(void* ctx, void* data, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string EncodeGrayPng(const uint8_t* pixels, int width, int height) {
  std::string out;
  stbi_write_png_to_func(AppendToString, &out, width, height, 1, pixels, width);
  return out;
}

std::string_view ExtensionFor(std::string_view media_type) {
  if (media_type == "image/png") return "png";
  if (media_type == "image/jpeg") return "jpg";
  return "txt";
}

}  // namespace fsml
