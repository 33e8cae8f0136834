// SHA-256 over OpenSSL's EVP interface. Item ids and object keys are SHA-256.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fsml {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::string_view bytes);
std::string ToHex(const Digest& d);
// Lower-case hex of any bytes.
std::string HexEncode(const uint8_t* bytes, size_t n);
std::string Sha256Hex(std::string_view bytes);
// Parses 64 lowercase or uppercase hex characters.
Result<Digest> DigestFromHex(std::string_view hex);
bool IsSha256Hex(std::string_view s);

// Incremental hashing for streams. Not thread-safe; one per stream.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::string_view bytes);
  Digest Finish();  // the hasher may not be used afterwards

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // holds the EVP_MD_CTX
};

}  // namespace fsml

namespace fsml {
// `bytes` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes), as
// lower-case hex. For secrets (API tokens) and ids that must not collide.
std::string SecureRandomHex(size_t bytes);
}  // namespace fsml
