// Fuzzes ReadSafetensors (model weights and evaluation predictions read back
// from the store or from a file a user hands over).
//
// Invariants, on success:
// - Every tensor's bytes match its shape and dtype.
// - Writing the parsed file and reading it again gives the same tensors and
//   metadata (the writer's canonical layout round-trips).
// On failure the error is a Corruption that names the file.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "registry/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto r = fsml::ReadSafetensors(bytes, "fuzz.safetensors");
  if (!r) {
    FSML_FUZZ_CHECK(r.error().code() == fsml::Code::kCorruption);
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(r.error().message(), "fuzz.safetensors: "));
    return 0;
  }
  for (const auto& [name, t] : r->tensors) FSML_FUZZ_CHECK(t.numel() * fsml::DTypeSize(t.dtype) == t.data.size());
  auto written = fsml::WriteSafetensors(*r);
  FSML_FUZZ_CHECK(written.has_value());
  auto again = fsml::ReadSafetensors(*written, "again");
  FSML_FUZZ_CHECK(again.has_value());
  FSML_FUZZ_CHECK(again->metadata == r->metadata);
  FSML_FUZZ_CHECK(again->tensors.size() == r->tensors.size());
  for (const auto& [name, t] : r->tensors) {
    auto it = again->tensors.find(name);
    FSML_FUZZ_CHECK(it != again->tensors.end() && it->second.data == t.data && it->second.shape == t.shape &&
                    it->second.dtype == t.dtype);
  }
  return 0;
}
