#include "data/image.h"

#include <stb_image.h>
#include <stb_image_write.h>
#include <zlib.h>

namespace fsml {

static constexpr int kMaxSide = 16384;
// A complete JPEG spends at least one bit on every 8x8 block (its DC code), so
// it has a byte per 512 pixels or more. stb_image allocates the whole image
// up front and decodes missing data as zeros, so without this bound a
// 150-byte file claiming 16384x16384 pixels takes seconds and over 2 GiB.
static constexpr uint64_t kMaxJpegPixelsPerByte = 512;

static uint32_t Be32(std::string_view b, size_t pos) {
  const auto* p = reinterpret_cast<const uint8_t*>(b.data() + pos);
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Walks a PNG's chunks and inflates its image data against the size the header
// implies, before stb_image sees the file: stb trusts chunk lengths and grows
// its buffers without bound (a 103-byte file made it ask for 2 GiB), and a
// small file can inflate to gigabytes.
static Status CheckPngStructure(std::string_view b, std::string_view name) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument(std::string(name) + ": corrupt or truncated PNG (" + why + ")");
  };
  size_t pos = 8;
  bool have_header = false, have_end = false;
  uint32_t w = 0, h = 0;
  int depth = 0, color = 0, interlace = 0;
  std::string data;
  while (pos + 12 <= b.size()) {
    uint32_t len = Be32(b, pos);
    std::string_view type = b.substr(pos + 4, 4);
    if (len > b.size() - pos - 12) return bad("a chunk runs past the end of the file");
    std::string_view body = b.substr(pos + 8, len);
    if (!have_header && type != "IHDR") return bad("it does not start with IHDR");
    if (type == "IHDR") {
      if (have_header || len != 13) return bad("bad IHDR");
      w = Be32(body, 0);
      h = Be32(body, 4);
      depth = static_cast<uint8_t>(body[8]);
      color = static_cast<uint8_t>(body[9]);
      interlace = static_cast<uint8_t>(body[12]);
      have_header = true;
    } else if (type == "IDAT") {
      data.append(body);
    } else if (type == "IEND") {
      have_end = true;
      break;
    }
    pos += 12 + static_cast<size_t>(len);
  }
  if (!have_header) return bad("no IHDR");
  if (!have_end) return bad("no IEND");
  if (data.empty()) return bad("no image data");
  if (w == 0 || h == 0 || w > static_cast<uint32_t>(kMaxSide) || h > static_cast<uint32_t>(kMaxSide))
    return InvalidArgument(std::string(name) + ": " + std::to_string(w) + "x" + std::to_string(h) +
                           " pixels is outside 1 to 16384 per side");
  int samples = color == 0 ? 1 : color == 2 ? 3 : color == 3 ? 1 : color == 4 ? 2 : color == 6 ? 4 : 0;
  if (samples == 0 || depth < 1 || depth > 16) return bad("unknown color type or bit depth");
  uint64_t row = (uint64_t{w} * samples * depth + 7) / 8 + 1;  // with its filter byte
  // Adam7 adds at most one filter byte and one partial byte per row per pass.
  uint64_t limit = row * h + (interlace ? 14 * uint64_t{h} + 64 : 0);
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Internal("zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  uint64_t produced = 0;
  char buf[1 << 15];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    produced += sizeof buf - zs.avail_out;
    if (produced > limit) {
      inflateEnd(&zs);
      return bad("more image data than a " + std::to_string(w) + "x" + std::to_string(h) + " image holds");
    }
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return bad("bad compressed data");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return bad("compressed data ends early");
    }
  }
  inflateEnd(&zs);
  return Status::Ok();
}

Result<ImageInfo> InspectImage(std::string_view b, std::string_view name) {
  ImageInfo info;
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) info.media_type = "image/png";
  else if (b.size() >= 3 && b.substr(0, 3) == std::string_view("\xFF\xD8\xFF", 3)) info.media_type = "image/jpeg";
  else return Err(InvalidArgument(std::string(name) + ": not a PNG or JPEG image"));
  if (b.size() > INT32_MAX) return Err(InvalidArgument(std::string(name) + ": image larger than 2 GiB"));
  if (info.media_type == "image/png") FSML_RETURN_IF_ERROR(CheckPngStructure(b, name));
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
