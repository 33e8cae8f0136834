// Sitemaps as sites write them (sitemaps.org examples, namespaces, text
// sitemaps) and as an attacker would: entities, oversize, malformed XML.
#include "crawl/sitemap.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace fsml::crawl {
namespace {

using Strings = std::vector<std::string>;

Sitemap MustParse(std::string_view body) {
  Result<Sitemap> s = ParseSitemap(body);
  EXPECT_TRUE(s) << s.error().message();
  return s ? *s : Sitemap();
}

std::string ErrorOf(std::string_view body) {
  Result<Sitemap> s = ParseSitemap(body);
  if (s) return "parsed";
  EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
  return s.error().message();
}

TEST(SitemapTest, UrlsetFromTheProtocolPage) {
  Sitemap s = MustParse(R"(<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
   <url>
      <loc>http://www.example.com/</loc>
      <lastmod>2005-01-01</lastmod>
      <changefreq>monthly</changefreq>
      <priority>0.8</priority>
   </url>
   <url>
      <loc>http://www.example.com/catalog?item=12&amp;desc=vacation_hawaii</loc>
      <changefreq>weekly</changefreq>
   </url>
   <url>
      <loc><![CDATA[http://www.example.com/catalog?item=73&desc=vacation_new_zealand]]></loc>
   </url>
</urlset>
)");
  EXPECT_EQ(s.urls, (Strings{"http://www.example.com/", "http://www.example.com/catalog?item=12&desc=vacation_hawaii",
                             "http://www.example.com/catalog?item=73&desc=vacation_new_zealand"}));
  EXPECT_TRUE(s.sitemaps.empty());
}

TEST(SitemapTest, SitemapIndex) {
  Sitemap s = MustParse(R"(<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
   <sitemap>
      <loc>http://www.example.com/sitemap1.xml.gz</loc>
      <lastmod>2004-10-01T18:23:17+00:00</lastmod>
   </sitemap>
   <sitemap><loc> http://www.example.com/sitemap2.xml.gz
   </loc></sitemap>
</sitemapindex>)");
  EXPECT_EQ(s.sitemaps, (Strings{"http://www.example.com/sitemap1.xml.gz", "http://www.example.com/sitemap2.xml.gz"}));
  EXPECT_TRUE(s.urls.empty());
}

TEST(SitemapTest, NamespacesAndOddShapes) {
  // A prefixed namespace, no namespace, extension elements, entries without
  // a usable <loc>, several <loc>s, a <loc> outside an entry.
  EXPECT_EQ(MustParse("<sm:urlset xmlns:sm=\"http://www.sitemaps.org/schemas/sitemap/0.9\" "
                      "xmlns:image=\"http://www.google.com/schemas/sitemap-image/1.1\">"
                      "<sm:url><sm:loc>https://a.example/1</sm:loc>"
                      "<image:image><image:loc>https://a.example/1.jpg</image:loc></image:image></sm:url>"
                      "</sm:urlset>")
                .urls,
            (Strings{"https://a.example/1"}));
  EXPECT_EQ(MustParse("<urlset><url><loc>/relative</loc></url><url><lastmod>2020</lastmod></url>"
                      "<url><loc>   </loc></url><url><loc>https://a.example/2</loc><loc>https://a.example/3</loc></url>"
                      "<loc>https://a.example/stray</loc><!-- c --><url><loc>x&lt;y</loc></url></urlset>")
                .urls,
            (Strings{"/relative", "https://a.example/2", "x<y"}));
  EXPECT_TRUE(MustParse("<urlset/>").urls.empty());
  EXPECT_EQ(MustParse("\xEF\xBB\xBF\n\n  <?xml version=\"1.0\"?><urlset><url><loc>u</loc></url></urlset>").urls,
            (Strings{"u"}));
  EXPECT_EQ(MustParse("<urlset><url><loc>&#x68;ttp://a.example/&#233;</loc></url></urlset>").urls,
            (Strings{"http://a.example/\xC3\xA9"}));
}

TEST(SitemapTest, OtherEncodings) {
  std::string latin1 =
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><urlset><url><loc>http://a.example/\xE9</loc>"
      "</url></urlset>";
  EXPECT_EQ(MustParse(latin1).urls, (Strings{"http://a.example/\xC3\xA9"}));
}

TEST(SitemapTest, TextSitemap) {
  Sitemap s = MustParse(
      "http://www.example.com/a\r\n\r\n  http://www.example.com/b  \nhttp://www.example.com/c\r"
      "http://www.example.com/d");
  EXPECT_EQ(s.urls, (Strings{"http://www.example.com/a", "http://www.example.com/b", "http://www.example.com/c",
                             "http://www.example.com/d"}));
  EXPECT_TRUE(s.sitemaps.empty());
  EXPECT_EQ(MustParse("\xEF\xBB\xBFhttp://x.example/\n").urls, (Strings{"http://x.example/"}));
  EXPECT_TRUE(MustParse("").urls.empty());
  EXPECT_TRUE(MustParse(" \n\t\r\n").urls.empty());
}

TEST(SitemapTest, Errors) {
  EXPECT_EQ(ErrorOf("<urlset><url><loc>a</url></urlset>"),
            "sitemap: malformed XML at line 1: Opening and ending tag mismatch: loc line 1 and url");
  EXPECT_EQ(ErrorOf("\n\n<urlset>\n<url>\n"),
            "sitemap: malformed XML at line 5: Premature end of data in tag url line 4");
  EXPECT_EQ(ErrorOf("<?xml version=\"1.0\"?>\n<urlset>\n<url><loc>a &bogus; b</loc></url></urlset>"),
            "sitemap: malformed XML at line 3: Entity 'bogus' not defined");
  EXPECT_EQ(ErrorOf("<html><body>Not found</body></html>"),
            "sitemap: the root element is <html>, not <urlset> or <sitemapindex>");
  EXPECT_EQ(ErrorOf("<rss version=\"2.0\"><channel/></rss>"),
            "sitemap: the root element is <rss>, not <urlset> or <sitemapindex>");
  EXPECT_EQ(ErrorOf(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8)),
            "sitemap: the body is gzip-compressed (decompress it first)");
  EXPECT_EQ(ErrorOf(std::string("http://a.example/\n\0http://b.example/", 36)),
            "sitemap: a text sitemap with a control byte at offset 18 (expected one URL per line)");
}

TEST(SitemapTest, RefusesEntitiesAndExternalReferences) {
  // XXE: an external entity naming a local file.
  EXPECT_EQ(ErrorOf("<?xml version=\"1.0\"?>\n<!DOCTYPE urlset [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
                    "<urlset><url><loc>&xxe;</loc></url></urlset>"),
            "sitemap: a DOCTYPE is not allowed (sitemaps have none)");
  // An external DTD over the network.
  EXPECT_EQ(ErrorOf("<!DOCTYPE urlset SYSTEM \"http://127.0.0.1:9/x.dtd\"><urlset/>"),
            "sitemap: a DOCTYPE is not allowed (sitemaps have none)");
  // Billion laughs: 10 levels of 10 references.
  std::string laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE urlset [\n<!ENTITY l0 \"lol\">\n";
  for (int i = 1; i <= 10; ++i) {
    laughs += "<!ENTITY l" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) laughs += "&l" + std::to_string(i - 1) + ";";
    laughs += "\">\n";
  }
  laughs += "]>\n<urlset><url><loc>&l10;</loc></url></urlset>";
  auto start = std::chrono::steady_clock::now();
  Result<Sitemap> s = ParseSitemap(laughs);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
}

TEST(SitemapTest, Limits) {
  auto urlset = [](size_t n) {
    std::string body = "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
    for (size_t i = 0; i < n; ++i) body += "<url><loc>https://a.example/" + std::to_string(i) + "</loc></url>\n";
    return body + "</urlset>\n";
  };
  Sitemap full = MustParse(urlset(kMaxSitemapLocs));
  ASSERT_EQ(full.urls.size(), kMaxSitemapLocs);
  EXPECT_EQ(full.urls.back(), "https://a.example/49999");
  EXPECT_EQ(ErrorOf(urlset(kMaxSitemapLocs + 1)), "sitemap: more than 50,000 URLs, the protocol's limit per sitemap");

  std::string lines;
  for (size_t i = 0; i <= kMaxSitemapLocs; ++i) lines += "https://a.example/" + std::to_string(i) + "\n";
  EXPECT_EQ(ErrorOf(lines), "sitemap: more than 50,000 URLs, the protocol's limit per sitemap");

  std::string big(kMaxSitemapBytes + 1, ' ');
  EXPECT_EQ(ErrorOf(big), "sitemap: 52,428,801 bytes, over the protocol's limit of 52,428,800 bytes (50 MiB)");
  // At the limit: padded with comments, parsed.
  std::string at_limit = "<urlset><url><loc>u</loc></url>\n";
  const std::string comment = "<!--" + std::string(1000, 'x') + "-->\n";
  while (at_limit.size() + comment.size() + 10 <= kMaxSitemapBytes) at_limit += comment;
  at_limit += std::string(kMaxSitemapBytes - at_limit.size() - 10, '\n') + "</urlset>\n";
  ASSERT_EQ(at_limit.size(), kMaxSitemapBytes);
  EXPECT_EQ(MustParse(at_limit).urls, (Strings{"u"}));
}

TEST(SitemapTest, DeepNestingIsRefusedNotRecursedInto) {
  std::string deep = "<urlset>";
  for (int i = 0; i < 100'000; ++i) deep += "<a>";
  EXPECT_EQ(ErrorOf(deep).substr(0, 38), "sitemap: malformed XML at line 1: Exce");
}

}  // namespace
}  // namespace fsml::crawl
