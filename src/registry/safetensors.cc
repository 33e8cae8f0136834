#include "registry/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

namespace fsml {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeInfo {
  DType type;
  std::string_view name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4}, {DType::kF64, "F64", 8}, {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4}, {DType::kU8, "U8", 1},
};

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// numel of `shape`, or nullopt on a negative dimension or overflow.
std::optional<uint64_t> Numel(const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) return std::nullopt;
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

}  // namespace

std::string_view DTypeName(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

size_t DTypeSize(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.size;
  return 0;
}

uint64_t Tensor::numel() const { return Numel(shape).value_or(0); }

Result<std::string> WriteSafetensors(const TensorFile& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    if (name.empty() || name == "__metadata__") return Err(InvalidArgument("safetensors: bad tensor name '" + name + "'"));
    auto n = Numel(t.shape);
    if (!n || *n * DTypeSize(t.dtype) != t.data.size())
      return Err(InvalidArgument("safetensors: tensor '" + name + "' has " + std::to_string(t.data.size()) +
                                 " bytes, which does not match its shape"));
    header[name] = {{"dtype", DTypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + json.size() + offset);
  PutU64(out, json.size());
  out += json;
  for (const auto& [name, t] : file.tensors) out += t.data;
  return out;
}

Result<TensorFile> ReadSafetensors(std::string_view bytes, std::string_view name) {
  auto bad = [&](const std::string& why) { return Err(Corruption(std::string(name) + ": not a valid safetensors file: " + why)); };
  if (bytes.size() < 8) return bad("shorter than its 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  if (n > kMaxHeaderBytes) return bad("header length " + std::to_string(n) + " is over 100 MiB");
  if (n > bytes.size() - 8) return bad("header length " + std::to_string(n) + " runs past the end of the file");
  auto header = nlohmann::json::parse(bytes.substr(8, n), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) return bad("the header is not a JSON object");
  std::string_view data = bytes.substr(8 + n);

  TensorFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [key, v] : header.items()) {
    if (key == "__metadata__") {
      if (!v.is_object()) return bad("__metadata__ is not an object");
      for (const auto& [mk, mv] : v.items()) {
        if (!mv.is_string()) return bad("metadata value '" + mk + "' is not a string");
        file.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    if (key.empty()) return bad("a tensor has an empty name");
    std::string where = "tensor '" + key.substr(0, 100) + "'";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      return bad(where + " lacks dtype, shape or data_offsets");
    const auto& dt = v["dtype"];
    const DTypeInfo* info = nullptr;
    if (dt.is_string())
      for (const auto& d : kDTypes)
        if (d.name == dt.get_ref<const std::string&>()) info = &d;
    if (!info) return bad(where + " has an unsupported dtype " + dt.dump().substr(0, 20) + " (supported: F32, F64, I64, I32, U8)");
    Tensor t;
    t.dtype = info->type;
    if (!v["shape"].is_array() || v["shape"].size() > 16) return bad(where + " has a bad shape");
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) return bad(where + " has a bad shape");
      if (d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return bad(where + " has a bad shape");
      t.shape.push_back(d.get<int64_t>());
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      return bad(where + " has bad data_offsets");
    uint64_t b = off[0], e = off[1];
    if (b > e || e > data.size()) return bad(where + " has data_offsets outside the data");
    auto numel = Numel(t.shape);
    if (!numel || *numel > (e - b) || *numel * info->size != e - b) return bad(where + "'s shape does not match its data size");
    t.data.assign(data.substr(b, e - b));
    ranges.emplace_back(b, e);
    file.tensors.emplace(key, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [b, e] : ranges) {
    if (b != covered) return bad(b < covered ? "tensors overlap" : "the data has a gap");
    covered = e;
  }
  if (covered != data.size()) return bad("the data has " + std::to_string(data.size() - covered) + " bytes no tensor covers");
  return file;
}

}  // namespace fsml
