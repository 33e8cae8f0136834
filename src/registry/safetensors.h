// The safetensors format (https://github.com/huggingface/safetensors), written
// and read here: an 8-byte little-endian header length N, N bytes of JSON
// header, then the raw little-endian tensor bytes. The header maps each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the start of the data), plus an optional "__metadata__" object
// of string values. See docs/formats/model.md.
//
// fsml writes the header padded with spaces to a multiple of 8 bytes and the
// tensors in name order, contiguous, so the same tensors always give the same
// bytes (the artifact's checksum is stable).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fsml {

enum class DType { kF32, kF64, kI64, kI32, kU8 };
std::string_view DTypeName(DType t);  // "F32", "F64", "I64", "I32", "U8"
size_t DTypeSize(DType t);

struct Tensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::string data;  // little-endian, numel * DTypeSize(dtype) bytes

  uint64_t numel() const;
};

struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// InvalidArgument when a tensor's data size does not match its shape, a name
// is empty or "__metadata__", or a shape has a negative dimension.
Result<std::string> WriteSafetensors(const TensorFile& file);

// Corruption naming `name` and what is wrong: a header length past the end
// or over 100 MiB, an empty tensor name, header JSON that does not parse or is not an object, an
// unknown dtype, a shape whose bytes differ from its offsets, offsets out of
// range, overlapping, or leaving gaps (the format requires the data to be
// covered exactly), a non-string metadata value. Never throws.
Result<TensorFile> ReadSafetensors(std::string_view bytes, std::string_view name);

}  // namespace fsml
