// ParseUrl's normal form and its refusals, and ResolveUrl against RFC 3986
// §5.4's examples and the links pages really hold.
#include "crawl/url.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace fsml::crawl {
namespace {

struct Case {
  std::string in;
  std::string want;  // the normal form, or the error message
};

std::string Normal(std::string_view in) {
  Result<Url> u = ParseUrl(in);
  return u ? u->ToString() : "error: " + u.error().message();
}

std::string Resolved(const Url& base, std::string_view ref) {
  Result<Url> u = ResolveUrl(base, ref);
  return u ? u->ToString() : "error: " + u.error().message();
}

Url MustParse(std::string_view in) {
  Result<Url> u = ParseUrl(in);
  EXPECT_TRUE(u) << in << ": " << u.error().message();
  return u ? *u : Url();
}

TEST(UrlTest, ParseSplitsTheParts) {
  Url u = MustParse("https://Shop.Example:8443/a/b?x=1#frag");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "shop.example");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.target, "/a/b?x=1");
  EXPECT_EQ(u.Path(), "/a/b");
  EXPECT_EQ(u.Origin(), "https://shop.example:8443");
  EXPECT_EQ(u.ToString(), "https://shop.example:8443/a/b?x=1");

  Url d = MustParse("http://example.com");
  EXPECT_EQ(d.port, 80);
  EXPECT_EQ(d.target, "/");
  EXPECT_EQ(d.Path(), "/");
  EXPECT_EQ(d.Origin(), "http://example.com");
  EXPECT_EQ(MustParse("https://example.com").port, 443);
}

TEST(UrlTest, ParseNormalizes) {
  const std::vector<Case> cases = {
      // Scheme and host lowercased, default port dropped, empty path -> "/".
      {"HTTP://WWW.Example.COM", "http://www.example.com/"},
      {"http://example.com:80/", "http://example.com/"},
      {"https://example.com:443/", "https://example.com/"},
      {"https://example.com:80/", "https://example.com:80/"},
      {"http://example.com:443/", "http://example.com:443/"},
      {"http://example.com:08080/", "http://example.com:8080/"},
      {"http://example.com:/", "http://example.com/"},
      // Fragment and empty query dropped.
      {"http://example.com/a#top", "http://example.com/a"},
      {"http://example.com/a?#top", "http://example.com/a"},
      {"http://example.com?", "http://example.com/"},
      {"http://example.com#", "http://example.com/"},
      // Dot segments, also once escapes are decoded.
      {"http://example.com/a/./b/../c", "http://example.com/a/c"},
      {"http://example.com/../../a", "http://example.com/a"},
      {"http://example.com/a/b/..", "http://example.com/a/"},
      {"http://example.com/a/%2e%2E/b", "http://example.com/b"},
      {"http://example.com/a/.%2e", "http://example.com/"},
      {"http://example.com//a//b/", "http://example.com//a//b/"},
      // Escapes: unreserved decoded, others' hex uppercased, "%2F" kept.
      {"http://example.com/%7euser/%41%62%2d%5F%2e%7E", "http://example.com/~user/Ab-_.~"},
      {"http://example.com/a%2fb%3a%c3%a9", "http://example.com/a%2Fb%3A%C3%A9"},
      {"http://example.com/?q=%7e%2f%26%3d", "http://example.com/?q=~%2F%26%3D"},
      // Bytes a path or query may not hold are escaped.
      {"http://example.com/\xC3\xA9t\xC3\xA9?q=\xC3\xBC", "http://example.com/%C3%A9t%C3%A9?q=%C3%BC"},
      {"http://example.com/a\"<>\\^`{|}[]", "http://example.com/a%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D"},
      {"http://example.com/?a[]=1&b={x}", "http://example.com/?a%5B%5D=1&b=%7Bx%7D"},
      {"http://example.com/!$&'()*+,;=:@", "http://example.com/!$&'()*+,;=:@"},
      {"http://example.com/?a=b?c/d", "http://example.com/?a=b?c/d"},
      // Query parameters sorted by name, stable for repeated names.
      {"http://example.com/?b=2&a=1", "http://example.com/?a=1&b=2"},
      {"http://example.com/?b=2&a=9&b=1&a&a=3", "http://example.com/?a=9&a&a=3&b=2&b=1"},
      {"http://example.com/?z&y=&x=1", "http://example.com/?x=1&y=&z"},
      {"http://example.com/?a=1&&b=2", "http://example.com/?&a=1&b=2"},
      // Hosts: IPv6 literals, IPv4 in curl's normal form, percent-decoded.
      {"http://[::1]:8080/x", "http://[::1]:8080/x"},
      {"http://[0:0::1]/", "http://[::1]/"},
      {"http://[::FFFF:1.2.3.4]/", "http://[::ffff:1.2.3.4]/"},
      {"http://0x7f.1/", "http://127.0.0.1/"},
      {"http://ex%41mple.com/", "http://example.com/"},
      // An escaped host is read as an IPv4 address once decoded, as the
      // decoded spelling is: the normal form stays a fixed point.
      {"http://%32", "http://0.0.0.2/"},
      {"http://%31%32%37.0.0.1/", "http://127.0.0.1/"},
      {"http://0x%31/", "http://0.0.0.1/"},
      {"http://my_host.example./", "http://my_host.example./"},
      {"http://xn--bcher-kva.example/", "http://xn--bcher-kva.example/"},
  };
  for (const Case& c : cases) EXPECT_EQ(Normal(c.in), c.want) << c.in;
}

TEST(UrlTest, ParseRejects) {
  const std::vector<Case> cases = {
      {"ftp://example.com/", "unsupported scheme 'ftp' in 'ftp://example.com/' (only http and https are crawled)"},
      {"javascript:alert(1)",
       "unsupported scheme 'javascript' in 'javascript:alert(1)' (only http and https are crawled)"},
      {"example.com/a", "no scheme in 'example.com/a' (expected an absolute URL: http://HOST/...)"},
      {"/a/b", "no scheme in '/a/b' (expected an absolute URL: http://HOST/...)"},
      {"", "no scheme in '' (expected an absolute URL: http://HOST/...)"},
      {"http:example.com", "no host in 'http:example.com' (expected http://HOST/...)"},
      {"http:/example.com", "no host in 'http:/example.com' (expected http://HOST/...)"},
      {"http:///example.com", "no host in 'http:///example.com' (expected http://HOST/...)"},
      {"http://", "malformed URL in 'http://' (curl: No host part in the URL)"},
      {"http://:80/", "malformed URL in 'http://:80/' (curl: No host part in the URL)"},
      {"http://user:pass@example.com/", "userinfo (user:password@) is not allowed in 'http://user:pass@example.com/'"},
      {"http://user@example.com/", "userinfo (user:password@) is not allowed in 'http://user@example.com/'"},
      {"http://@example.com/", "userinfo (user:password@) is not allowed in 'http://@example.com/'"},
      {"http://b\xC3\xBC"
       "cher.example/",
       "non-ASCII host in 'http://b\\xc3\\xbccher.example/' (IDN is not supported: give its xn-- form)"},
      {"http://[fe80::1%25eth0]/", "an IPv6 zone id in 'http://[fe80::1%25eth0]/' (not supported)"},
      {"http://%/", "invalid host '%' in 'http://%/'"},
      {"http://a*b/", "malformed URL in 'http://a*b/' (curl: Bad hostname)"},
      {"http://[::1/", "malformed URL in 'http://[::1/' (curl: Bad IPv6 address)"},
      {"http://example.com:0/", "bad port '0' in 'http://example.com:0/' (expected 1 to 65535)"},
      {"http://example.com:65536/",
       "malformed URL in 'http://example.com:65536/' (curl: Port number was not a decimal number between 0 and "
       "65535)"},
      {"http://example.com:8o/",
       "malformed URL in 'http://example.com:8o/' (curl: Port number was not a decimal number between 0 and 65535)"},
      {"http://example.com/a b", "a space or control character at offset 20 in 'http://example.com/a b'"},
      {"http://example.com/a\tb", "a space or control character at offset 20 in 'http://example.com/a\\x09b'"},
      {" http://example.com/", "a space or control character at offset 0 in ' http://example.com/'"},
      {std::string("http://example.com/\0", 20),
       "a space or control character at offset 19 in 'http://example.com/\\x00'"},
      {"http://example.com/\x7f", "a space or control character at offset 19 in 'http://example.com/\\x7f'"},
      {"http://example.com/%zz", "bad percent-escape '%zz' in 'http://example.com/%zz'"},
      {"http://example.com/%4", "bad percent-escape '%4' in 'http://example.com/%4'"},
      {"http://example.com/?q=100%", "bad percent-escape '%' in 'http://example.com/?q=100%'"},
  };
  for (const Case& c : cases) {
    Result<Url> u = ParseUrl(c.in);
    ASSERT_FALSE(u) << c.in << " parsed as " << u->ToString();
    EXPECT_EQ(u.error().code(), Code::kInvalidArgument) << c.in;
    EXPECT_EQ(u.error().message(), c.want) << c.in;
  }
}

TEST(UrlTest, ParseLimitsTheSize) {
  std::string prefix = "http://example.com/";
  std::string at_limit = prefix + std::string(kMaxUrlBytes - prefix.size(), 'a');
  EXPECT_EQ(Normal(at_limit), at_limit);
  std::string over = at_limit + "a";
  EXPECT_EQ(Normal(over),
            "error: 8193 bytes in 'http://example.com/" + std::string(181, 'a') + "...' (the limit is 8192)");
  // Within the limit as given, over it once each byte is escaped.
  std::string grows = prefix + std::string(3000, '\xFF');
  EXPECT_EQ(Normal(grows).substr(0, 45), "error: 9019 bytes once normalized in 'http://");
  std::string huge(1 << 20, 'a');
  EXPECT_FALSE(ParseUrl("http://example.com/" + huge));
}

TEST(UrlTest, NormalFormIsAFixedPoint) {
  const std::vector<std::string> inputs = {
      "HTTP://Example.COM:80/%7Ea/./b/../c%2f?z=1&a=%41&a=2#f",
      "https://[::1]:443/\xC3\xA9?\xC3\xA9=1",
      "http://example.com/a/.%2E/%2e/b?",
      "http://example.com/?b&a&&c=%3d",
      "http://example.com/{}|^`\"<>[]\\",
  };
  for (const std::string& in : inputs) {
    Url once = MustParse(in);
    Url twice = MustParse(once.ToString());
    EXPECT_EQ(twice, once) << in;
    EXPECT_EQ(twice.ToString(), once.ToString()) << in;
  }
}

TEST(UrlTest, EquivalentSpellingsCompareEqual) {
  const std::vector<std::string> spellings = {
      "http://example.com/~a/b?x=1&y=2",
      "HTTP://EXAMPLE.COM:80/%7Ea/b?y=2&x=1#top",
      "http://example.com/c/../%7ea/b?x=1&y=2",
      "http://example.com/~a/./b?x=%31&y=2",
  };
  for (const std::string& s : spellings) EXPECT_EQ(Normal(s), "http://example.com/~a/b?x=1&y=2") << s;
}

// RFC 3986 §5.4.1: the normal examples, base "http://a/b/c/d;p?q".
TEST(UrlTest, ResolveRfc3986NormalExamples) {
  Url base = MustParse("http://a/b/c/d;p?q");
  const std::vector<Case> cases = {
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g/"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q"},  // the fragment is dropped
      {"g#s", "http://a/b/c/g"},
      {"g?y#s", "http://a/b/c/g?y"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
  };
  for (const Case& c : cases) EXPECT_EQ(Resolved(base, c.in), c.want) << c.in;
  // "g:h" is an absolute URI of scheme "g", which the crawler does not follow;
  // "" is the base itself by the RFC, and no link for a crawler.
  EXPECT_EQ(Resolved(base, "g:h"), "error: unsupported scheme 'g' in 'g:h' (only http and https are crawled)");
  EXPECT_EQ(Resolved(base, ""), "error: an empty link");
}

// RFC 3986 §5.4.2: the abnormal examples.
TEST(UrlTest, ResolveRfc3986AbnormalExamples) {
  Url base = MustParse("http://a/b/c/d;p?q");
  const std::vector<Case> cases = {
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g"},
      {"g#s/../x", "http://a/b/c/g"},
      // The backward-compatible reading, as browsers do.
      {"http:g", "http://a/b/c/g"},
  };
  for (const Case& c : cases) EXPECT_EQ(Resolved(base, c.in), c.want) << c.in;
}

TEST(UrlTest, ResolveLinksAsPagesWriteThem) {
  Url base = MustParse("https://shop.example/catalog/shoes/index.html?page=2");
  const std::vector<Case> cases = {
      {"  boots.html\n", "https://shop.example/catalog/shoes/boots.html"},
      {"\t/cart ", "https://shop.example/cart"},
      {"//cdn.example/img/a.png", "https://cdn.example/img/a.png"},
      {"http://other.example/x", "http://other.example/x"},
      {"HTTPS://SHOP.EXAMPLE:443/%7Ea", "https://shop.example/~a"},
      {"my boots.html", "https://shop.example/catalog/shoes/my%20boots.html"},
      {"bo\not\ts.html", "https://shop.example/catalog/shoes/boots.html"},
      {"?sort=price&page=1", "https://shop.example/catalog/shoes/index.html?page=1&sort=price"},
      {"?", "https://shop.example/catalog/shoes/index.html"},
      {"#reviews", "https://shop.example/catalog/shoes/index.html?page=2"},
      {"   #x", "https://shop.example/catalog/shoes/index.html?page=2"},
      {"https:", "https://shop.example/catalog/shoes/index.html?page=2"},
      {"https:/top", "https://shop.example/top"},
      {"../../../../../..", "https://shop.example/"},
      {"%2e%2e/sandals", "https://shop.example/catalog/sandals"},
      {"caf\xC3\xA9.html", "https://shop.example/catalog/shoes/caf%C3%A9.html"},
      {"a\"quoted\".html", "https://shop.example/catalog/shoes/a%22quoted%22.html"},
  };
  for (const Case& c : cases) EXPECT_EQ(Resolved(base, c.in), c.want) << c.in;
}

TEST(UrlTest, ResolveRejects) {
  Url base = MustParse("https://shop.example/a/b");
  const std::vector<Case> cases = {
      {"javascript:void(0)",
       "unsupported scheme 'javascript' in 'javascript:void(0)' (only http and https are crawled)"},
      {" JavaScript:alert(1)",
       "unsupported scheme 'javascript' in ' JavaScript:alert(1)' (only http and https are crawled)"},
      {"mailto:sales@shop.example",
       "unsupported scheme 'mailto' in 'mailto:sales@shop.example' (only http and https are crawled)"},
      {"data:text/html,<p>hi", "unsupported scheme 'data' in 'data:text/html,<p>hi' (only http and https are crawled)"},
      {"tel:+15551234", "unsupported scheme 'tel' in 'tel:+15551234' (only http and https are crawled)"},
      {"ftp://files.example/x",
       "unsupported scheme 'ftp' in 'ftp://files.example/x' (only http and https are crawled)"},
      {"", "an empty link"},
      {" \t\r\n ", "an empty link"},
      {"http:g", "no host in 'http:g' (expected http://HOST/...)"},  // another scheme than the base's
      {"//user:pw@evil.example/", "userinfo (user:password@) is not allowed in '//user:pw@evil.example/'"},
      {"//b\xC3\xBC"
       "cher.example/",
       "non-ASCII host in '//b\\xc3\\xbccher.example/' (IDN is not supported: give its xn-- form)"},
      {"a\x01"
       "b",
       "a control character in 'a\\x01b'"},
      {"100%.html", "bad percent-escape '%.h' in '100%.html'"},
      {"//", "malformed URL in '//' (curl: No host part in the URL)"},
      {"http://:8080/", "malformed URL in 'http://:8080/' (curl: No host part in the URL)"},
  };
  for (const Case& c : cases) {
    Result<Url> u = ResolveUrl(base, c.in);
    ASSERT_FALSE(u) << c.in << " resolved to " << u->ToString();
    EXPECT_EQ(u.error().code(), Code::kInvalidArgument) << c.in;
    EXPECT_EQ(u.error().message(), c.want) << c.in;
  }
  EXPECT_FALSE(ResolveUrl(base, std::string(kMaxUrlBytes + 1, 'a')));
  EXPECT_FALSE(ResolveUrl(base, std::string(kMaxUrlBytes - 10, '\xFF')));  // too long once escaped
}

TEST(UrlTest, ResolvedUrlsAreNormal) {
  Url base = MustParse("http://example.com/dir/page");
  const std::vector<std::string> refs = {"x/../%7Ey?b=1&a=2", "//EXAMPLE.com:80/a/./b", "sub/caf\xC3\xA9?q=\xC3\xA9#f",
                                         "..", "?z&a"};
  for (const std::string& ref : refs) {
    Result<Url> u = ResolveUrl(base, ref);
    ASSERT_TRUE(u) << ref << ": " << u.error().message();
    EXPECT_EQ(MustParse(u->ToString()), *u) << ref;
  }
}

TEST(UrlTest, HostileInputsStayFast) {
  auto start = std::chrono::steady_clock::now();
  std::string dots = "http://example.com";
  while (dots.size() + 3 <= kMaxUrlBytes) dots += "/..";
  EXPECT_EQ(Normal(dots), "http://example.com/");
  std::string params = "http://example.com/?";
  for (int i = 0; params.size() + 8 < kMaxUrlBytes; ++i) params += "k" + std::to_string(i % 97) + "=v&";
  EXPECT_TRUE(ParseUrl(params));
  Url base = MustParse("http://example.com/a/b/c");
  std::string ups;
  while (ups.size() + 3 <= kMaxUrlBytes) ups += "../";
  EXPECT_EQ(Resolved(base, ups), "http://example.com/");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace fsml::crawl
