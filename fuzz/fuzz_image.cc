// Fuzzes InspectImage (every imported image goes through it) and, as a round
// trip, EncodeGrayPng.
//
// Invariants:
// - InspectImage never crashes; on success the type is PNG or JPEG, each side
//   is 1..16384 pixels and there are 1..4 channels; errors name the source.
// - A grayscale PNG made by EncodeGrayPng from the input's bytes inspects
//   as image/png with the same size and one channel.
// stb_image comes from Debian's shared libstb, which is not instrumented:
// crashes inside it are found, but coverage does not steer into it.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "data/image.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  auto r = fsml::InspectImage(in, "fuzz.img");
  if (r) {
    FSML_FUZZ_CHECK(r->media_type == "image/png" || r->media_type == "image/jpeg");
    FSML_FUZZ_CHECK(r->width >= 1 && r->width <= 16384);
    FSML_FUZZ_CHECK(r->height >= 1 && r->height <= 16384);
    FSML_FUZZ_CHECK(r->channels >= 1 && r->channels <= 4);
  } else {
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(r.error().message(), "fuzz.img: "));
  }

  if (size >= 2) {
    int width = 1 + data[0] % 64;
    int height = static_cast<int>(std::min<size_t>((size - 1) / static_cast<size_t>(width), 64));
    if (height >= 1) {
      std::string png = fsml::EncodeGrayPng(data + 1, width, height);
      auto p = fsml::InspectImage(png, "encoded.png");
      FSML_FUZZ_CHECK(p.has_value());
      FSML_FUZZ_CHECK(p->media_type == "image/png");
      FSML_FUZZ_CHECK(p->width == width && p->height == height && p->channels == 1);
    }
  }
  return 0;
}
