// Image checks and encoding through stb_image. Items keep their original
// bytes; decoding here only validates them and reads their dimensions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fsml {

struct ImageInfo {
  std::string media_type;  // "image/png" or "image/jpeg"
  int width = 0;
  int height = 0;
  int channels = 0;
};

// Decodes the whole image to prove it is intact. Errors name `name`: a
// format that is neither PNG nor JPEG, a truncated or corrupt file, or one
// larger than 16384 pixels on a side.
Result<ImageInfo> InspectImage(std::string_view bytes, std::string_view name);

// Encodes 8-bit grayscale pixels (row-major) as PNG. Deterministic: the same
// pixels always give the same bytes, so item ids are stable across imports.
std::string EncodeGrayPng(const uint8_t* pixels, int width, int height);

// "png" or "jpg" for a media type; "txt" for text/plain.
std::string_view ExtensionFor(std::string_view media_type);

}  // namespace fsml
