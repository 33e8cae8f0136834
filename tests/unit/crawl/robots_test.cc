// robots.txt against RFC 9309's examples and the matching examples Google
// documents ("How Google interprets the robots.txt specification"), and
// against files written to hurt.
#include "crawl/robots.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace fsml::crawl {
namespace {

constexpr char kAgent[] = "FsmlBot/0.3 (+https://fsml.example/bot)";

struct Case {
  std::string target;
  bool allowed;
};

void ExpectAll(const RobotsRules& rules, const std::vector<Case>& cases, std::string_view what) {
  for (const Case& c : cases) EXPECT_EQ(rules.Allowed(c.target), c.allowed) << what << ": " << c.target;
}

// Whether `pattern` (a Disallow line for everyone) matches `target`.
bool PatternMatches(const std::string& pattern, const std::string& target) {
  return !RobotsRules::Parse("user-agent: *\ndisallow: " + pattern + "\n", kAgent).Allowed(target);
}

TEST(RobotsTest, Rfc9309SimpleExample) {
  // RFC 9309 §5.1.
  const std::string text =
      "User-Agent: *\n"
      "Disallow: *.gif$\n"
      "Disallow: /example/\n"
      "Allow: /publications/\n"
      "\n"
      "User-Agent: foobot\n"
      "Disallow:/\n"
      "Allow:/example/page.html\n"
      "Allow:/example/allowed.gif\n"
      "\n"
      "User-Agent: barbot\n"
      "User-Agent: bazbot\n"
      "Disallow: /example/page.html\n"
      "\n"
      "User-Agent: quxbot\n"
      "\n"
      "EOF\n";
  ExpectAll(RobotsRules::Parse(text, "foobot"),
            {{"/example/page.html", true},
             {"/example/allowed.gif", true},
             {"/", false},
             {"/publications/", false},
             {"/example/other.html", false}},
            "foobot");
  for (const char* agent : {"barbot/1.0", "BazBot"}) {
    ExpectAll(RobotsRules::Parse(text, agent),
              {{"/example/page.html", false}, {"/example/other.html", true}, {"/x.gif", true}, {"/", true}}, agent);
  }
  ExpectAll(RobotsRules::Parse(text, "quxbot"), {{"/", true}, {"/example/page.html", true}, {"/a.gif", true}},
            "quxbot");
  ExpectAll(RobotsRules::Parse(text, kAgent),
            {{"/a.gif", false},
             {"/a.gif?x", true},
             {"/example/", false},
             {"/example/x", false},
             {"/publications/", true},
             {"/publications/a.gif", true},
             {"/", true}},
            "other");
}

TEST(RobotsTest, Rfc9309LongestMatch) {
  // RFC 9309 §5.2.
  RobotsRules rules = RobotsRules::Parse(
      "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n", "foobot");
  ExpectAll(rules, {{"/example/page/", true}, {"/example/page/x.html", true}, {"/example/page/disallowed.gif", false}},
            "foobot");
}

TEST(RobotsTest, Rfc9309PercentEncoding) {
  // RFC 9309 §2.2.2's table (rows 1, 3, 4 and 5) and §2.2.3.
  EXPECT_TRUE(PatternMatches("/foo/bar?baz=quz", "/foo/bar?baz=quz"));
  EXPECT_TRUE(PatternMatches("/foo/bar/\xE3\x83\x84", "/foo/bar/%E3%83%84"));
  EXPECT_TRUE(PatternMatches("/foo/bar/\xE3\x83\x84", "/foo/bar/\xE3\x83\x84"));
  EXPECT_TRUE(PatternMatches("/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"));
  EXPECT_TRUE(PatternMatches("/foo/bar/%e3%83%84", "/foo/bar/%E3%83%84"));
  EXPECT_TRUE(PatternMatches("/foo/bar/%E3%83%84", "/foo/bar/\xE3\x83\x84"));
  EXPECT_TRUE(PatternMatches("/foo/bar/%62%61%7A", "/foo/bar/baz"));
  EXPECT_TRUE(PatternMatches("/foo/bar/baz", "/foo/bar/%62%61%7A"));
  EXPECT_TRUE(PatternMatches("/path/file-with-a-%2A.html", "/path/file-with-a-*.html"));
  EXPECT_TRUE(PatternMatches("/path/file-with-a-%2A.html", "/path/file-with-a-%2a.html"));
  EXPECT_TRUE(PatternMatches("/path/foo-%24", "/path/foo-$"));
  EXPECT_FALSE(PatternMatches("/path/foo-%24", "/path/foo-"));
  // A reserved character and its escape are different octets.
  EXPECT_FALSE(PatternMatches("/a%2Fb", "/a/b"));
  EXPECT_FALSE(PatternMatches("/a/b", "/a%2Fb"));
  // A '%' that starts no escape is the octet '%' on both sides.
  EXPECT_TRUE(PatternMatches("/100%", "/100%25"));
  EXPECT_TRUE(PatternMatches("/100%zz", "/100%zz"));
}

TEST(RobotsTest, GooglePathMatchingExamples) {
  struct Row {
    std::string pattern;
    std::vector<std::string> matches, not_matches;
  };
  const std::vector<Row> rows = {
      {"/", {"/", "/fish", "/a/b?c"}, {}},
      {"/*", {"/", "/fish", "/a/b?c"}, {}},
      {"/$", {"/"}, {"/fish", "/?x"}},
      {"/fish",
       {"/fish", "/fish.html", "/fish/salmon.html", "/fishheads", "/fishheads/yummy.html", "/fish.php?id=anything"},
       {"/Fish.asp", "/catfish", "/?id=fish", "/desert/fish"}},
      {"/fish*",
       {"/fish", "/fish.html", "/fish/salmon.html", "/fishheads", "/fishheads/yummy.html", "/fish.php?id=anything"},
       {"/Fish.asp", "/catfish", "/?id=fish", "/desert/fish"}},
      {"/fish/",
       {"/fish/", "/fish/?id=anything", "/fish/salmon.htm"},
       {"/fish", "/fish.html", "/animals/fish/", "/Fish/Salmon.asp"}},
      {"/*.php",
       {"/index.php", "/filename.php", "/folder/filename.php", "/folder/filename.php?parameters",
        "/folder/any.php.file.html", "/filename.php/"},
       {"/", "/windows.PHP"}},
      {"/*.php$",
       {"/filename.php", "/folder/filename.php"},
       {"/filename.php?parameters", "/filename.php/", "/filename.php5", "/windows.PHP"}},
      {"/fish*.php", {"/fish.php", "/fishheads/catfish.php?parameters"}, {"/Fish.PHP"}},
  };
  for (const Row& row : rows) {
    for (const std::string& t : row.matches) EXPECT_TRUE(PatternMatches(row.pattern, t)) << row.pattern << " " << t;
    for (const std::string& t : row.not_matches)
      EXPECT_FALSE(PatternMatches(row.pattern, t)) << row.pattern << " " << t;
  }
}

TEST(RobotsTest, GoogleOrderOfPrecedenceExamples) {
  struct Row {
    std::string rules, target;
    bool allowed;
  };
  const std::vector<Row> rows = {
      {"allow: /p\ndisallow: /", "/page", true},
      {"allow: /folder\ndisallow: /folder", "/folder/page", true},
      {"allow: /page\ndisallow: /*.htm", "/page.htm", false},
      {"allow: /page\ndisallow: /*.ph", "/page.php", true},
      {"allow: /$\ndisallow: /", "/", true},
      {"allow: /$\ndisallow: /", "/page.htm", false},
  };
  for (const Row& row : rows)
    EXPECT_EQ(RobotsRules::Parse("user-agent: *\n" + row.rules, kAgent).Allowed(row.target), row.allowed)
        << row.rules << " " << row.target;
}

TEST(RobotsTest, PatternsWithStarsAndDollars) {
  EXPECT_TRUE(PatternMatches("*", "/anything"));
  EXPECT_TRUE(PatternMatches("*.gif$", "/a/b.gif"));
  EXPECT_TRUE(PatternMatches("/a**b", "/axxb"));
  EXPECT_TRUE(PatternMatches("/a*b*c$", "/abbbc"));
  EXPECT_FALSE(PatternMatches("/a*b*c$", "/abbbcd"));
  EXPECT_TRUE(PatternMatches("/a*b*c$", "/a-c-b-c"));
  EXPECT_TRUE(PatternMatches("/*/*/x", "/1/2/x"));
  EXPECT_FALSE(PatternMatches("/*/*/x", "/1/x"));
  EXPECT_TRUE(PatternMatches("/a*aab$", "/aaab"));
  EXPECT_TRUE(PatternMatches("/*abab$", "/ababab"));
  EXPECT_TRUE(PatternMatches("/*abab$", "/abab"));  // '*' matches nothing too
  EXPECT_FALSE(PatternMatches("/*abab$", "/bab"));
  EXPECT_TRUE(PatternMatches("/*x$", "/x"));
  EXPECT_TRUE(PatternMatches("/a$b", "/a$b"));  // a '$' before the end is literal
  EXPECT_TRUE(PatternMatches("/a$b", "/a%24b"));
  EXPECT_FALSE(PatternMatches("/a$b", "/a"));
  EXPECT_TRUE(PatternMatches("/*?q=1", "/x?q=1"));
  EXPECT_FALSE(PatternMatches("/x$", "/x?q=1"));
  EXPECT_FALSE(PatternMatches("private", "/private"));  // patterns start at the target's start
  EXPECT_TRUE(PatternMatches("/a b", "/a%20b"));
}

TEST(RobotsTest, GroupsForTheProductToken) {
  const std::string text =
      "user-agent: googlebot-news\n"
      "disallow: /fish\n"
      "\n"
      "user-agent: *\n"
      "disallow: /carrots\n"
      "\n"
      "user-agent: googlebot-news\n"
      "disallow: /shrimp\n";
  // Google's merging example: both googlebot-news groups apply, '*' does not.
  ExpectAll(RobotsRules::Parse(text, "Googlebot-News"), {{"/fish", false}, {"/shrimp", false}, {"/carrots", true}},
            "googlebot-news");
  ExpectAll(RobotsRules::Parse(text, "Googlebot/2.1 (+http://www.google.com/bot.html)"),
            {{"/fish", true}, {"/shrimp", true}, {"/carrots", false}}, "googlebot");
}

TEST(RobotsTest, UserAgentLinesAndGroups) {
  const std::string text =
      "Disallow: /before-any-group\n"
      "user-agent: a\n"
      "disallow: /c\n"
      "\n"
      "user-agent: b\n"
      "disallow: /d\n"
      "\n"
      "user-agent: e\n"
      "user-agent: f\n"
      "disallow: /g\n"
      "\n"
      "user-agent: h\n";
  ExpectAll(RobotsRules::Parse(text, "a"), {{"/c", false}, {"/d", true}, {"/before-any-group", true}}, "a");
  ExpectAll(RobotsRules::Parse(text, "b"), {{"/c", true}, {"/d", false}}, "b");
  ExpectAll(RobotsRules::Parse(text, "e"), {{"/g", false}}, "e");
  ExpectAll(RobotsRules::Parse(text, "f"), {{"/g", false}}, "f");
  ExpectAll(RobotsRules::Parse(text, "h"), {{"/c", true}, {"/g", true}}, "h");
  ExpectAll(RobotsRules::Parse(text, "zed"), {{"/c", true}, {"/before-any-group", true}}, "no group");
  // The UA line's product token, case-insensitively; a longer name is another agent.
  EXPECT_FALSE(RobotsRules::Parse("User-agent: FSMLBOT/9.9 extra\nDisallow: /\n", kAgent).Allowed("/x"));
  EXPECT_TRUE(RobotsRules::Parse("User-agent: FsmlBot-Images\nDisallow: /\n", kAgent).Allowed("/x"));
  EXPECT_TRUE(RobotsRules::Parse("User-agent: Fsml\nDisallow: /\n", kAgent).Allowed("/x"));
  // A group for both the token and '*'.
  EXPECT_FALSE(RobotsRules::Parse("User-agent: other\nUser-agent: *\nDisallow: /\n", kAgent).Allowed("/x"));
  // An empty Disallow allows all; an empty group for the token beats '*'.
  EXPECT_TRUE(RobotsRules::Parse("User-agent: *\nDisallow:\n", kAgent).Allowed("/x"));
  EXPECT_TRUE(RobotsRules::Parse("User-agent: *\nDisallow: /\n\nUser-agent: fsmlbot\n", kAgent).Allowed("/x"));
  // A rule line ends a run of User-agent lines, even an empty one.
  ExpectAll(RobotsRules::Parse("User-agent: fsmlbot\nAllow:\nUser-agent: other\nDisallow: /\n", kAgent), {{"/x", true}},
            "empty allow ends the run");
}

TEST(RobotsTest, FileSyntax) {
  // BOM, CRLF, lone CR, comments, spaces, key case, unknown lines.
  std::string text =
      "\xEF\xBB\xBF# robots for shop.example\r\n"
      "USER-AGENT :  *   # everyone\r\n"
      "Foo: bar\r\n"
      "no colon here\r\n"
      "DISALLOW:/private   # keep out\r"
      "Disallow : /tmp/\n"
      "allow:/private/open";
  ExpectAll(RobotsRules::Parse(text, kAgent),
            {{"/private", false},
             {"/private/x", false},
             {"/private/open", true},
             {"/tmp/a", false},
             {"/tmp", true},
             {"/", true}},
            "syntax");
}

TEST(RobotsTest, CrawlDelay) {
  struct Row {
    std::string text;
    std::optional<double> want;
  };
  const std::vector<Row> rows = {
      {"user-agent: *\ncrawl-delay: 10\n", 10.0},
      {"user-agent: *\nCrawl-Delay: 0.5\n", 0.5},
      {"user-agent: *\ncrawl-delay: 0\n", 0.0},
      {"user-agent: *\ncrawl-delay: -1\n", std::nullopt},
      {"user-agent: *\ncrawl-delay: ten\n", std::nullopt},
      {"user-agent: *\ncrawl-delay: 5s\n", std::nullopt},
      {"user-agent: *\ncrawl-delay: nan\n", std::nullopt},
      {"user-agent: *\ncrawl-delay: abc\ncrawl-delay: 3\n", 3.0},
      {"user-agent: *\ncrawl-delay: 2\ncrawl-delay: 3\n", 2.0},
      {"user-agent: *\ncrawl-delay: 2\n\nuser-agent: fsmlbot\ncrawl-delay: 7\n", 7.0},
      {"user-agent: *\ncrawl-delay: 2\n\nuser-agent: fsmlbot\ndisallow: /x\n", std::nullopt},
      {"crawl-delay: 4\nuser-agent: *\n", std::nullopt},
      {"user-agent: other\ncrawl-delay: 4\n", std::nullopt},
  };
  for (const Row& row : rows)
    EXPECT_EQ(RobotsRules::Parse(row.text, kAgent).crawl_delay_seconds(), row.want) << row.text;
}

TEST(RobotsTest, Sitemaps) {
  RobotsRules rules = RobotsRules::Parse(
      "Sitemap: https://shop.example/sitemap.xml\n"
      "user-agent: other\n"
      "sitemap:http://SHOP.example:80/news.xml   # any group\n"
      "Sitemap: /relative.xml\n"
      "Sitemap: ftp://shop.example/s.xml\n"
      "Sitemap: https://shop.example/sitemap.xml\n"
      "Sitemap:\n",
      kAgent);
  EXPECT_EQ(rules.sitemaps(),
            (std::vector<std::string>{"https://shop.example/sitemap.xml", "http://shop.example/news.xml"}));
}

TEST(RobotsTest, AllowAllAndDisallowAll) {
  RobotsRules all = RobotsRules::AllowAll();
  RobotsRules none = RobotsRules::DisallowAll();
  for (const char* t : {"/", "/a", "/a?b", "", "?q"}) {
    EXPECT_TRUE(all.Allowed(t)) << t;
    EXPECT_FALSE(none.Allowed(t)) << t;
  }
  EXPECT_TRUE(none.Allowed("/robots.txt"));
  EXPECT_TRUE(none.Allowed("/robots.txt?x=1"));
  EXPECT_FALSE(none.Allowed("/robots.txt.bak"));
  EXPECT_FALSE(all.crawl_delay_seconds());
  EXPECT_TRUE(none.sitemaps().empty());
  EXPECT_TRUE(RobotsRules::Parse("", kAgent).Allowed("/x"));
  EXPECT_TRUE(RobotsRules::Parse("user-agent: *\ndisallow: /\n", kAgent).Allowed("/robots.txt"));
}

TEST(RobotsTest, OnlyTheFirst500KiBAreRead) {
  std::string text = "user-agent: *\ndisallow: /a\n";
  text += std::string(kMaxRobotsBytes - text.size() - 5, '#') + "\n";
  std::string cut = text + "disallow: /b\n";  // "disa" is the last byte read
  RobotsRules rules = RobotsRules::Parse(cut, kAgent);
  EXPECT_FALSE(rules.Allowed("/a"));
  EXPECT_TRUE(rules.Allowed("/b"));
  std::string fits = "user-agent: *\ndisallow: /a\n#\ndisallow: /b\n";
  EXPECT_FALSE(RobotsRules::Parse(fits, kAgent).Allowed("/b"));
}

TEST(RobotsTest, BinaryGarbageGivesSomeRules) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 131 + 7) % 256);
  RobotsRules rules = RobotsRules::Parse(garbage, kAgent);
  EXPECT_TRUE(rules.Allowed("/robots.txt"));
  rules.Allowed(garbage);
}

TEST(RobotsTest, HostilePatternsStayFast) {
  auto start = std::chrono::steady_clock::now();
  std::string target = "/" + std::string(8000, 'a');
  // One pattern of 100,000 stars, which backtracking would never finish.
  std::string stars = "user-agent: *\ndisallow: /";
  for (int i = 0; i < 100'000; ++i) stars += "*a";
  stars += "b\n";
  RobotsRules one = RobotsRules::Parse(stars, kAgent);
  EXPECT_TRUE(one.Allowed(target));
  EXPECT_FALSE(one.Allowed(target + std::string(200'000, 'a') + "b"));
  // A full file of rules that each scan the whole target.
  std::string many = "user-agent: *\n";
  const std::string line = "disallow: /*" + std::string(30, 'a') + "b*a$\n";
  while (many.size() + line.size() <= kMaxRobotsBytes) many += line;
  RobotsRules rules = RobotsRules::Parse(many, kAgent);
  EXPECT_TRUE(rules.Allowed(target));
  EXPECT_FALSE(rules.Allowed(target + "b" + "a"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace fsml::crawl
