#include "crawl/address_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

namespace fsml::crawl {
namespace {

struct V4Range {
  uint32_t network;
  int prefix;
  const char* reason;
};

// IANA's IPv4 special-purpose registry, minus the globally reachable entries.
constexpr V4Range kV4Ranges[] = {
    {0x00000000, 8, "unspecified (0.0.0.0/8)"},
    {0x0A000000, 8, "private (10.0.0.0/8)"},
    {0x64400000, 10, "shared address space (100.64.0.0/10)"},
    {0x7F000000, 8, "loopback (127.0.0.0/8)"},
    {0xA9FE0000, 16, "link-local (169.254.0.0/16)"},
    {0xAC100000, 12, "private (172.16.0.0/12)"},
    {0xC0000000, 24, "IETF protocol assignments (192.0.0.0/24)"},
    {0xC0000200, 24, "documentation (192.0.2.0/24)"},
    {0xC0586300, 24, "6to4 relay anycast (192.88.99.0/24)"},
    {0xC0A80000, 16, "private (192.168.0.0/16)"},
    {0xC6120000, 15, "benchmarking (198.18.0.0/15)"},
    {0xC6336400, 24, "documentation (198.51.100.0/24)"},
    {0xCB007100, 24, "documentation (203.0.113.0/24)"},
    {0xE0000000, 4, "multicast (224.0.0.0/4)"},
    {0xF0000000, 4, "reserved (240.0.0.0/4)"},
};

const char* V4Reason(uint32_t host_order) {
  for (const V4Range& r : kV4Ranges) {
    uint32_t mask = r.prefix == 0 ? 0 : ~uint32_t{0} << (32 - r.prefix);
    if ((host_order & mask) == r.network) return r.reason;
  }
  return nullptr;
}

uint32_t V4At(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string V6Reason(const uint8_t* a) {
  static const uint8_t kZero[16] = {};
  if (std::memcmp(a, kZero, 16) == 0) return "unspecified (::)";
  if (std::memcmp(a, kZero, 15) == 0 && a[15] == 1) return "loopback (::1)";
  // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d
  bool mapped = std::memcmp(a, kZero, 10) == 0 && a[10] == 0xFF && a[11] == 0xFF;
  bool compatible = std::memcmp(a, kZero, 12) == 0;
  // NAT64 64:ff9b::/96 and 64:ff9b:1::/48 carry an IPv4 address in the low bits.
  bool nat64 = a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B;
  if (mapped || compatible || nat64) {
    if (const char* r = V4Reason(V4At(a + 12))) return std::string("IPv4 in IPv6, ") + r;
    if (compatible) return "deprecated IPv4-compatible IPv6 (::/96)";
    return "";
  }
  // 6to4 2002::/16 embeds an IPv4 address in bits 16..47.
  if (a[0] == 0x20 && a[1] == 0x02) {
    if (const char* r = V4Reason(V4At(a + 2))) return std::string("6to4, ") + r;
    return "";
  }
  if ((a[0] & 0xFE) == 0xFC) return "unique local (fc00::/7)";
  if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) return "link-local (fe80::/10)";
  if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0) return "site-local (fec0::/10)";
  if (a[0] == 0xFF) return "multicast (ff00::/8)";
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8) return "documentation (2001:db8::/32)";
  if (a[0] == 0x01 && std::memcmp(a + 1, kZero, 7) == 0) return "discard-only (100::/64)";
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x00 && a[3] < 0x02) return "IETF protocol assignments (2001::/23)";
  return "";
}

}  // namespace

std::string NonPublicReason(const sockaddr* address) {
  if (address == nullptr) return "no address";
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    uint32_t host_order = ntohl(in->sin_addr.s_addr);
    if (host_order == 0xFFFFFFFF) return "broadcast (255.255.255.255)";
    const char* r = V4Reason(host_order);
    return r ? r : "";
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    return V6Reason(in6->sin6_addr.s6_addr);
  }
  return "not an internet address";
}

std::string AddressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (address == nullptr) return text;
  if (address->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
  else if (address->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof text);
  return text;
}

}  // namespace fsml::crawl
