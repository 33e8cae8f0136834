// The crawler's SSRF guard: which network addresses a crawl may connect to.
//
// By default a crawl talks only to public unicast addresses. The check runs on
// the address a connection is about to use (after DNS resolution, for every
// connection, redirects included), so a hostname that resolves to a private
// address, or re-resolves to one later, is refused too.
#pragma once

#include <sys/socket.h>

#include <string>

namespace fsml::crawl {

// Why an address is not public, or "" when it is. Covers IPv4 and IPv6:
// unspecified, loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
// link-local (169.254/16, fe80::/10), shared CGNAT space (100.64/10),
// benchmarking, documentation and reserved ranges, multicast and broadcast,
// and IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4).
std::string NonPublicReason(const sockaddr* address);

// "203.0.113.7" or "2001:db8::1" (no port); "?" for other families.
std::string AddressText(const sockaddr* address);

}  // namespace fsml::crawl
