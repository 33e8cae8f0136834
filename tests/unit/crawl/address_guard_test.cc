// The SSRF guard's address table.
#include "crawl/address_guard.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace fsml::crawl {
namespace {

std::string Reason(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    ss.ss_family = AF_INET6;
  } else {
    ADD_FAILURE() << "not an address: " << text;
  }
  return NonPublicReason(reinterpret_cast<const sockaddr*>(&ss));
}

TEST(AddressGuardTest, PublicAddressesPass) {
  for (const char* a : {"8.8.8.8", "93.184.216.34", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.15.255.255",
                        "172.32.0.0", "192.167.255.255", "2606:4700:4700::1111", "2a00:1450:4001:81b::200e",
                        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"})
    EXPECT_EQ(Reason(a), "") << a;
}

TEST(AddressGuardTest, NonPublicAddressesAreRefusedWithTheRange) {
  const std::pair<const char*, const char*> cases[] = {
      {"127.0.0.1", "loopback (127.0.0.0/8)"},
      {"127.255.0.9", "loopback (127.0.0.0/8)"},
      {"0.0.0.0", "unspecified (0.0.0.0/8)"},
      {"10.1.2.3", "private (10.0.0.0/8)"},
      {"172.16.0.1", "private (172.16.0.0/12)"},
      {"172.31.255.255", "private (172.16.0.0/12)"},
      {"192.168.1.1", "private (192.168.0.0/16)"},
      {"169.254.169.254", "link-local (169.254.0.0/16)"},
      {"100.64.0.1", "shared address space (100.64.0.0/10)"},
      {"198.18.0.1", "benchmarking (198.18.0.0/15)"},
      {"192.0.2.1", "documentation (192.0.2.0/24)"},
      {"224.0.0.1", "multicast (224.0.0.0/4)"},
      {"240.0.0.1", "reserved (240.0.0.0/4)"},
      {"255.255.255.255", "broadcast (255.255.255.255)"},
      {"::", "unspecified (::)"},
      {"::1", "loopback (::1)"},
      {"fe80::1", "link-local (fe80::/10)"},
      {"fc00::1", "unique local (fc00::/7)"},
      {"fd12:3456::1", "unique local (fc00::/7)"},
      {"ff02::1", "multicast (ff00::/8)"},
      {"2001:db8::1", "documentation (2001:db8::/32)"},
      {"::ffff:127.0.0.1", "IPv4 in IPv6, loopback (127.0.0.0/8)"},
      {"::ffff:169.254.169.254", "IPv4 in IPv6, link-local (169.254.0.0/16)"},
      {"::10.0.0.1", "IPv4 in IPv6, private (10.0.0.0/8)"},
      {"64:ff9b::7f00:1", "IPv4 in IPv6, loopback (127.0.0.0/8)"},
      {"2002:7f00:1::", "6to4, loopback (127.0.0.0/8)"},
  };
  for (const auto& [address, reason] : cases) EXPECT_EQ(Reason(address), reason) << address;
}

TEST(AddressGuardTest, OtherFamiliesAndNullAreRefused) {
  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  EXPECT_EQ(NonPublicReason(&unix_address), "not an internet address");
  EXPECT_EQ(NonPublicReason(nullptr), "no address");
}

TEST(AddressGuardTest, AddressTextHasNoPort) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(8080);
  inet_pton(AF_INET, "203.0.113.7", &in.sin_addr);
  EXPECT_EQ(AddressText(reinterpret_cast<const sockaddr*>(&in)), "203.0.113.7");
}

}  // namespace
}  // namespace fsml::crawl
