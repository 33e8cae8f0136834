// HTML parsing and XPath extraction, on well-formed, malformed and hostile pages.
#include "crawl/extract.h"

#include <gtest/gtest.h>

namespace fsml::crawl {
namespace {

XPath X(const char* text) {
  auto x = XPath::Compile(text);
  EXPECT_TRUE(x) << text << ": " << x.error().message();
  return std::move(*x);
}

TEST(ExtractTest, FieldsAreTextWithWhitespaceCollapsedAndAttributesTrimmed) {
  auto page = HtmlPage::Parse(
      "<html><head><title>t</title></head><body><h1>\n  Ankle   boot\tno. 7 </h1>"
      "<img id='product' src=' /images/7.png '><a href='/a'>A</a><a href='/b'>B</a><a>no href</a></body></html>");
  ASSERT_TRUE(page) << page.error().message();
  EXPECT_EQ(page->First(X("//h1")), "Ankle boot no. 7");
  EXPECT_EQ(page->First(X("//img[@id='product']/@src")), "/images/7.png");
  EXPECT_EQ(page->Strings(X("//a/@href")), (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(page->Strings(X("//a/@href"), 1), (std::vector<std::string>{"/a"}));
  EXPECT_EQ(page->First(X("count(//a)")), "3");
  EXPECT_EQ(page->First(X("//missing")), "");
  EXPECT_TRUE(page->Test(X("//img[@id='product']")));
  EXPECT_FALSE(page->Test(X("//div[@class='product']")));
  EXPECT_EQ(page->BaseHref(), "");
}

TEST(ExtractTest, MalformedHtmlIsRecoveredAsBrowsersShowIt) {
  auto page = HtmlPage::Parse(
      "<html><body><div class=description>Soft <b>cotton</div></div><span class='price'>$9.50"
      "<h1>Shirt no. 3<img id=product src=/images/3.png></body>");
  ASSERT_TRUE(page) << page.error().message();
  EXPECT_EQ(page->First(X("//div[@class='description']")), "Soft cotton");
  EXPECT_EQ(page->First(X("//img[@id='product']/@src")), "/images/3.png");
  EXPECT_NE(page->First(X("//h1")).find("Shirt no. 3"), std::string::npos);
}

TEST(ExtractTest, BaseHrefIsRead) {
  auto page = HtmlPage::Parse("<html><head><base href='https://cdn.example/'></head><body></body></html>");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->BaseHref(), "https://cdn.example/");
}

TEST(ExtractTest, EntitiesAreDecodedButNeverLoaded) {
  auto page = HtmlPage::Parse(
      "<!DOCTYPE html [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><html><body><h1>a &amp; b &x;</h1></body></html>");
  ASSERT_TRUE(page);
  std::string h1 = page->First(X("//h1"));
  EXPECT_EQ(h1.find("root:"), std::string::npos) << h1;
  EXPECT_EQ(h1.substr(0, 5), "a & b");
}

TEST(ExtractTest, DeepNestingAndBinaryInputDoNotCrash) {
  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "<div>";
  deep += "x";
  auto page = HtmlPage::Parse(deep);
  if (page) (void)page->Strings(X("//div"), 10);
  EXPECT_FALSE(HtmlPage::Parse(""));
  auto binary = HtmlPage::Parse(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  if (binary) {
    EXPECT_EQ(binary->First(X("//h1")), "");
  }
}

TEST(ExtractTest, InvalidXPathIsRejectedWithTheReason) {
  for (const char* bad : {"//h1[", "//a/@@href", "))", "//*[", "1 +"}) {
    auto x = XPath::Compile(bad);
    ASSERT_FALSE(x) << bad;
    EXPECT_EQ(x.error().message().rfind(std::string("invalid XPath '") + bad + "'", 0), 0u) << x.error().message();
  }
  EXPECT_FALSE(XPath::Compile(""));
  EXPECT_FALSE(XPath::Compile(std::string(5000, '/')));
}

TEST(ExtractTest, HtmlIsRecognizedByContentTypeOrSniffed) {
  EXPECT_TRUE(LooksLikeHtml("text/html; charset=utf-8", ""));
  EXPECT_TRUE(LooksLikeHtml("Text/HTML", ""));
  EXPECT_TRUE(LooksLikeHtml("application/xhtml+xml", ""));
  EXPECT_FALSE(LooksLikeHtml("text/plain; charset=utf-8", "<html><body>x</body></html>"));
  EXPECT_FALSE(LooksLikeHtml("application/json", "{}"));
  EXPECT_TRUE(LooksLikeHtml("", "\xEF\xBB\xBF  <!DOCTYPE html><html>"));
  EXPECT_TRUE(LooksLikeHtml("", "<html lang=en>"));
  EXPECT_FALSE(LooksLikeHtml("", "just text"));
  EXPECT_FALSE(LooksLikeHtml("", std::string("\x89PNG\r\n", 6)));
}

}  // namespace
}  // namespace fsml::crawl
