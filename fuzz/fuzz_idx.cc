// Fuzzes the IDX import path: MaybeGunzip/Gunzip, then ParseIdx, as
// ImportFashionMnist reads (possibly gzipped) MNIST files.
//
// Invariants:
// - Gunzip never returns more than max_out bytes; MaybeGunzip copies input
//   without the gzip magic unchanged.
// - On success ParseIdx has rank 1..4, its data is the input's tail right
//   after the 4 + 4 * rank header, and its size is the exact product of dims.
// - Errors name the source.
#include <cstdint>
#include <string>
#include <string_view>

#include "data/parsers.h"
#include "fuzz_util.h"

namespace {

constexpr uint64_t kMaxOut = 1 << 20;  // 1 MiB, far below the input sizes that would reach it

void CheckIdx(std::string_view bytes) {
  auto r = fsml::ParseIdx(bytes, "fuzz.idx");
  if (!r) {
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(r.error().message(), "fuzz.idx: "));
    return;
  }
  const fsml::IdxArray& a = *r;
  FSML_FUZZ_CHECK(a.dims.size() >= 1 && a.dims.size() <= 4);
  size_t header = 4 + 4 * a.dims.size();
  FSML_FUZZ_CHECK(bytes.size() >= header);
  FSML_FUZZ_CHECK(a.data.data() == bytes.data() + header);
  FSML_FUZZ_CHECK(a.data.size() == bytes.size() - header);
  // Four 32-bit factors cannot overflow 128 bits, so this product is exact.
  unsigned __int128 product = 1;
  for (uint32_t d : a.dims) product *= d;
  FSML_FUZZ_CHECK(product == a.data.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  bool gz_magic = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;

  auto maybe = fsml::MaybeGunzip(in, "fuzz.idx", kMaxOut);
  if (maybe) {
    FSML_FUZZ_CHECK(maybe->size() <= kMaxOut);
    if (!gz_magic) FSML_FUZZ_CHECK(*maybe == in);
  } else {
    FSML_FUZZ_CHECK(gz_magic);  // a plain copy cannot fail
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(maybe.error().message(), "fuzz.idx: gzip: "));
  }

  // A tight limit exercises the "decompresses to more than" path.
  constexpr uint64_t kSmall = 64;
  auto small = fsml::Gunzip(in, "fuzz.idx", kSmall);
  if (small) {
    FSML_FUZZ_CHECK(small->size() <= kSmall);
    FSML_FUZZ_CHECK(maybe && *small == *maybe);  // the limit changes nothing below it
  } else if (maybe && gz_magic && maybe->size() <= kSmall) {
    FSML_FUZZ_CHECK(false);  // fits the small limit, so it must have succeeded under it
  }

  CheckIdx(in);
  if (maybe && gz_magic) CheckIdx(*maybe);
  return 0;
}
