// crawl.toml: defaults, every key's checks, and messages that name the line.
#include "crawl/crawl_config.h"

#include <gtest/gtest.h>

namespace fsml::crawl {
namespace {

const std::string kMinimal = R"(
[crawl]
seeds = ["HTTPS://Shop.Example:443/a/../index.html#top"]

[extract]
item_url = "/product/"
media = "image"

[extract.fields]
image = "//img[@id='product']/@src"
)";

std::string Error(const std::string& text) {
  auto c = ParseCrawlConfig(text, "crawl.toml");
  return c ? "" : c.error().message();
}

TEST(CrawlConfigTest, MinimalConfigGetsTheDocumentedDefaults) {
  auto c = ParseCrawlConfig(kMinimal, "crawl.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->crawl.seeds, std::vector<std::string>{"https://shop.example/index.html"});
  EXPECT_TRUE(c->crawl.urls.sort_query);
  EXPECT_EQ(c->seed_origins, std::vector<std::string>{"https://shop.example"});
  EXPECT_EQ(c->crawl.max_depth, 10);
  EXPECT_EQ(c->crawl.max_pages, 100000u);
  EXPECT_FALSE(c->crawl.max_pages_set);
  EXPECT_EQ(c->crawl.concurrency_per_host, 8);
  EXPECT_EQ(c->crawl.delay_ms, 250);
  EXPECT_TRUE(c->crawl.respect_robots);
  EXPECT_TRUE(c->crawl.sitemaps);
  EXPECT_FALSE(c->crawl.allow_private);
  EXPECT_EQ(c->crawl.timeout_s, 30);
  EXPECT_EQ(c->crawl.max_bytes, 10u << 20);
  EXPECT_EQ(c->crawl.retries, 3);
  EXPECT_EQ(c->extract.follow, "//a/@href");
  EXPECT_EQ(c->extract.label_as, LabelMode::kSuggestion);
}

TEST(CrawlConfigTest, ScopeIsTheSeedsOriginsUnlessAllowSaysOtherwise) {
  auto c = ParseCrawlConfig(kMinimal, "crawl.toml");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->InScope("https://shop.example/product/1"));
  EXPECT_FALSE(c->InScope("http://shop.example/product/1")) << "another scheme is another origin";
  EXPECT_FALSE(c->InScope("https://cdn.shop.example/x.png"));
  std::string with_rules = kMinimal;
  with_rules.replace(with_rules.find("[extract]"), 0,
                     "allow = [\"^https://(www|cdn)\\\\.shop\\\\.example/\"]\ndeny = [\"/cart\", \"\\\\?sort=\"]\n\n");
  c = ParseCrawlConfig(with_rules, "crawl.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->InScope("https://cdn.shop.example/x.png"));
  EXPECT_FALSE(c->InScope("https://shop.example/product/1"));
  EXPECT_FALSE(c->InScope("https://www.shop.example/cart/add"));
  EXPECT_FALSE(c->InScope("https://www.shop.example/list?sort=price"));
}

TEST(CrawlConfigTest, EveryKeyIsRead) {
  auto c = ParseCrawlConfig(R"toml(
[crawl]
seeds = ["http://a.example/", "http://b.example/x?b=2&a=1"]
sort_query = false
max_depth = 3
max_pages = 50
concurrency_per_host = 2
delay_ms = 0
respect_robots = false
sitemaps = false
allow_private = true
timeout_s = 7
max_bytes = 2048
retries = 0
max_redirects = 4
user_agent = "bot/1.0 (+mailto:ops@example.org)"
[extract]
item_xpath = "//div[@class='product']"
follow = "//a[@rel='next']/@href"
follow_url = ["/page/"]
text = "body"
label = "tag"
label_as = "label"
[extract.fields]
body = "//p"
tag = "string(//meta[@name='tag']/@content)"
)toml",
                            "c.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->crawl.seeds.size(), 2u);
  EXPECT_EQ(c->crawl.seeds[1], "http://b.example/x?b=2&a=1") << "sort_query = false keeps the order";
  EXPECT_FALSE(c->crawl.urls.sort_query);
  EXPECT_EQ(c->seed_origins.size(), 2u);
  EXPECT_EQ(c->crawl.max_depth, 3);
  EXPECT_EQ(c->crawl.max_pages, 50u);
  EXPECT_TRUE(c->crawl.max_pages_set);
  EXPECT_EQ(c->crawl.concurrency_per_host, 2);
  EXPECT_EQ(c->crawl.delay_ms, 0);
  EXPECT_FALSE(c->crawl.respect_robots);
  EXPECT_FALSE(c->crawl.sitemaps);
  EXPECT_TRUE(c->crawl.allow_private);
  EXPECT_EQ(c->crawl.timeout_s, 7);
  EXPECT_EQ(c->crawl.max_bytes, 2048u);
  EXPECT_EQ(c->crawl.retries, 0);
  EXPECT_EQ(c->crawl.max_redirects, 4);
  EXPECT_EQ(c->crawl.user_agent, "bot/1.0 (+mailto:ops@example.org)");
  EXPECT_EQ(c->extract.item_xpath, "//div[@class='product']");
  EXPECT_FALSE(c->extract.item_url);
  EXPECT_EQ(c->extract.follow_url.size(), 1u);
  EXPECT_EQ(c->extract.text, "body");
  EXPECT_EQ(c->extract.label_as, LabelMode::kLabel);
  EXPECT_EQ(c->extract.fields.size(), 2u);
}

struct BadCase {
  const char* what;
  std::string text;
  std::string message;
};

TEST(CrawlConfigTest, BadConfigsNameTheFileTheLineAndTheFix) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string s = kMinimal;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const BadCase cases[] = {
      {"unknown key in [crawl]", with("[crawl]\n", "[crawl]\ncolour = 1\n"),
       "crawl.toml: line 3: unknown key 'colour' in [crawl] (see docs/crawl.md)"},
      {"unknown key in [extract]", with("media = \"image\"\n", "media = \"image\"\nmedai = \"x\"\n"),
       "crawl.toml: line 8: unknown key 'medai' in [extract] (see docs/crawl.md)"},
      {"unknown section", kMinimal + "[output]\nx = 1\n", "crawl.toml: line 11: unknown section or key 'output'"},
      {"invalid XPath", with("//img[@id='product']/@src", "//img[@id='product'"),
       "crawl.toml: line 10: [extract.fields] image: invalid XPath '//img[@id='product''"},
      {"invalid follow XPath", with("media = \"image\"\n", "media = \"image\"\nfollow = \"//a/@@href\"\n"),
       "crawl.toml: line 8: [extract] follow: invalid XPath '//a/@@href'"},
      {"invalid regex", with("item_url = \"/product/\"", "item_url = \"/product/(\""),
       "crawl.toml: line 6: [extract] item_url: invalid regular expression '/product/('"},
      {"backreference (RE2 has none; std::regex overflowed on a long one)",
       with("item_url = \"/product/\"", "item_url = \"a\\\\99999999999999999999999\""),
       "crawl.toml: line 6: [extract] item_url: invalid regular expression"},
      {"wrong type", with("[crawl]\n", "[crawl]\ndelay_ms = \"250\"\n"),
       "crawl.toml: line 3: [crawl] delay_ms: must be a whole number"},
      {"boolean as number", with("[crawl]\n", "[crawl]\nrespect_robots = 1\n"),
       "crawl.toml: line 3: [crawl] respect_robots: must be true or false"},
      {"out of range", with("[crawl]\n", "[crawl]\nconcurrency_per_host = 0\n"),
       "crawl.toml: line 3: [crawl] concurrency_per_host: 0 is out of range [1, 256]"},
      {"bad seed", with("HTTPS://Shop.Example:443/a/../index.html#top", "ftp://shop.example/"),
       "crawl.toml: line 3: [crawl] seeds: unsupported scheme"},
      {"no seeds", with("seeds = [\"HTTPS://Shop.Example:443/a/../index.html#top\"]", "seeds = []"),
       "crawl.toml: [crawl] seeds is missing or empty"},
      {"media names no field", with("media = \"image\"", "media = \"picture\""),
       "crawl.toml: [extract] media = \"picture\" names no field of [extract.fields]"},
      {"no item rule", with("item_url = \"/product/\"\n", ""), "crawl.toml: [extract] needs item_url"},
      {"bad label_as", with("media = \"image\"\n", "media = \"image\"\nlabel_as = \"maybe\"\n"),
       "[extract] label_as: must be \"suggestion\" or \"label\", not 'maybe'"},
      {"user agent on two lines", with("[crawl]\n", "[crawl]\nuser_agent = \"a\\nb\"\n"),
       "[crawl] user_agent: must be 1-512 characters on one line"},
      {"syntax", "[crawl\nseeds = [", "crawl.toml: line 1: "},
  };
  for (const auto& c : cases) {
    std::string message = Error(c.text);
    EXPECT_NE(message.find(c.message), std::string::npos) << c.what << ": got '" << message << "'";
  }
}

TEST(CrawlConfigTest, HugeAndBinaryInputIsRejectedCleanly) {
  EXPECT_NE(Error(std::string(2 << 20, 'x')).find("larger than 1 MiB"), std::string::npos);
  EXPECT_FALSE(Error(std::string("\0\xff\xfe[crawl]", 10)).empty());
  EXPECT_FALSE(Error("").empty());
}

}  // namespace
}  // namespace fsml::crawl
