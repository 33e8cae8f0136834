#include "core/sha256.h"

#include <openssl/evp.h>

namespace fsml {

Digest Sha256(std::string_view bytes) {
  Digest d{};
  unsigned int len = 0;
  // EVP_Digest with the built-in SHA-256 cannot fail for in-memory input.
  EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

std::string HexEncode(const uint8_t* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

std::string ToHex(const Digest& d) { return HexEncode(d.data(), d.size()); }

std::string Sha256Hex(std::string_view bytes) { return ToHex(Sha256(bytes)); }

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (HexValue(c) < 0) return false;
  return true;
}

Result<Digest> DigestFromHex(std::string_view hex) {
  if (!IsSha256Hex(hex)) {
    return Err(InvalidArgument("'" + std::string(hex.substr(0, 80)) +
                               "' is not a SHA-256 hex digest (64 hex characters)"));
  }
  Digest d{};
  for (size_t i = 0; i < 32; ++i)
    d[i] = static_cast<uint8_t>(HexValue(hex[2 * i]) << 4 | HexValue(hex[2 * i + 1]));
  return d;
}

struct Sha256Hasher::Impl {
  Impl() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Impl() { EVP_MD_CTX_free(ctx); }
  EVP_MD_CTX* ctx;
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {}
Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::Update(std::string_view bytes) {
  EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
}

Digest Sha256Hasher::Finish() {
  Digest d{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, d.data(), &len);
  return d;
}

}  // namespace fsml

#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace fsml {
std::string SecureRandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : buf) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}
}  // namespace fsml
