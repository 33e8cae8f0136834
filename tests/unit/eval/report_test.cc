#include "eval/report.h"

#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsml::eval {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A valid 4x4 8-bit grayscale PNG and its base64 (from Python's base64 module).
constexpr char kPngBytes[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04\x08\x00"
    "\x00\x00\x00\x8c\x9a\xc1\xa2\x00\x00\x00\x1d\x49\x44\x41\x54\x78\xda\x63\x60\x70\x68\x38\xc0\x20\x10\x30"
    "\xe1\x02\x83\x42\xc2\x82\x07\x0c\x06\x05\x1b\x3e\x00\x00\x3f\xd4\x07\x81\xad\x67\xe1\x88\x00\x00\x00\x00"
    "\x49\x45\x4e\x44\xae\x42\x60\x82";
constexpr std::string_view kPng(kPngBytes, sizeof kPngBytes - 1);
constexpr char kPngBase64[] =
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAAAAACMmsGiAAAAHUlEQVR42mNgcGg4wCAQMOECg0LCggcMBgUbPgAAP9QHga1n"
    "4YgAAAAASUVORK5CYII=";

constexpr char kNastyLabel[] = "<b>&\"x\"";

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// k classes with a diagonal-heavy confusion matrix; the metrics are made up
// but consistent enough to render.
Metrics MakeMetrics(const std::vector<std::string>& labels) {
  const size_t k = labels.size();
  Metrics m;
  m.labels = labels;
  m.confusion.assign(k, std::vector<uint64_t>(k, 0));
  for (size_t i = 0; i < k; ++i) {
    m.confusion[i][i] = 8;
    m.confusion[i][(i + 1) % k] += 2;
    m.items += 10;
    m.per_class.push_back({labels[i], 0.8, 0.8, 0.8, 10, 10});
  }
  m.accuracy = 0.923144;
  m.macro_precision = m.macro_recall = m.macro_f1 = 0.8;
  m.weighted_f1 = 0.8;
  m.log_loss = 0.312345678;
  m.ece = 0.04321;
  m.top_k = {{1, 0.923144}, {3, 0.99}};
  for (int b = 0; b < 15; ++b) {
    const double lower = b / 15.0, upper = (b + 1) / 15.0;
    m.calibration.push_back({lower, upper, b < 5 ? 0u : 3u, b < 5 ? 0.0 : (lower + upper) / 2,
                             b < 5 ? 0.0 : lower});
  }
  return m;
}

ReportItem ImageItem(std::string given, std::string predicted) {
  return {"0123456789abcdef", "image/png", std::string(kPng), std::move(given), std::move(predicted), 0.97, 0.0};
}

ReportInput MakeInput() {
  ReportInput in;
  in.evaluation_id = 7;
  in.model = "fashion/2";
  in.dataset = "fashion@v1";
  in.split = "test";
  in.created_at = "2026-01-02T03:04:05.678Z";
  in.seconds = 1.5;
  in.metrics = MakeMetrics({"T-shirt/top", kNastyLabel, "Sandal"});
  RequirementResult pass{{"accuracy >= 0.9", "accuracy", "", ">=", 0.9}, 0.923144, true};
  RequirementResult fail{{"recall[Sandal] >= 0.95", "recall", "Sandal", ">=", 0.95}, 0.8, false};
  in.requirements = {pass, fail};
  in.worst_errors = {ImageItem(kNastyLabel, "Sandal"), ImageItem("Sandal", "T-shirt/top")};
  return in;
}

TEST(ReportTest, IsOneHtmlDocument) {
  const std::string html = RenderReport(MakeInput());
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_THAT(html, HasSubstr("</html>\n"));
  EXPECT_EQ(Count(html, "<body>"), 1u);
}

TEST(ReportTest, EscapesLabelsAndNames) {
  ReportInput in = MakeInput();
  in.model = "<script>alert(1)</script>";
  in.dataset = "a&b";
  const std::string html = RenderReport(in);
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
  EXPECT_THAT(html, Not(HasSubstr("\"x\"")));
  EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;&amp;&quot;x&quot;"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("a&amp;b"));
  EXPECT_THAT(html, HasSubstr("T-shirt/top"));
}

TEST(ReportTest, HasTheChartsById) {
  const std::string html = RenderReport(MakeInput());
  EXPECT_THAT(html, HasSubstr("<svg id=\"confusion\""));
  EXPECT_THAT(html, HasSubstr("<svg id=\"reliability\""));
  EXPECT_THAT(html, HasSubstr("<svg id=\"per-class\""));
  EXPECT_THAT(html, HasSubstr("<section class=\"card\" id=\"worst-errors\""));
}

TEST(ReportTest, DrawsOneRectPerConfusionCellWithCountsAndTitles) {
  const std::string html = RenderReport(MakeInput());
  EXPECT_EQ(Count(html, "<rect class=\"cell\""), 9u);
  EXPECT_EQ(Count(html, "class=\"count\""), 6u);  // the non-zero cells
  // The title of the T-shirt/top -> <b>... cell: 2 of the row's 10 items.
  EXPECT_THAT(html, HasSubstr("<title>true T-shirt/top &#8594; predicted &lt;b&gt;&amp;&quot;x&quot;: 2 (20.0 % of 10)"
                              "</title>"));
}

TEST(ReportTest, HundredClassesRenderWithoutInCellNumbers) {
  std::vector<std::string> labels;
  for (int i = 0; i < 100; ++i) labels.push_back("class number " + std::to_string(i));
  ReportInput in = MakeInput();
  in.metrics = MakeMetrics(labels);
  const std::string html = RenderReport(in);
  EXPECT_EQ(Count(html, "<rect class=\"cell\""), 10000u);
  EXPECT_EQ(Count(html, "class=\"count\""), 0u);
  EXPECT_EQ(Count(html, "<title>true class number 99 &#8594; predicted"), 100u);
}

TEST(ReportTest, EmbedsPngAsBase64DataUri) {
  const std::string html = RenderReport(MakeInput());
  EXPECT_EQ(Count(html, std::string("src=\"data:image/png;base64,") + kPngBase64 + "\""), 2u);
  EXPECT_EQ(Count(html, "<img class=\"thumb"), 2u);
  EXPECT_THAT(html, HasSubstr("pixelated"));  // 4x4 pixels get crisp upscaling
}

TEST(ReportTest, EmbedsJpegAndUpscalesOnlySmallImagesPixelated) {
  // Just the start of a baseline JPEG: SOI, then SOF0 with height and width.
  auto jpeg = [](int height, int width) {
    return std::string{'\xff', '\xd8', '\xff', '\xc0', 0, 11, 8, static_cast<char>(height >> 8),
                       static_cast<char>(height & 255), static_cast<char>(width >> 8),
                       static_cast<char>(width & 255), 1, 1, 0x11, 0};
  };
  ReportInput in = MakeInput();
  ReportItem small = ImageItem("Sandal", "T-shirt/top");
  small.media_type = "image/jpeg";
  small.content = jpeg(28, 28);
  ReportItem large = small;
  large.content = jpeg(480, 640) + '\0';
  in.worst_errors = {small, large};
  const std::string html = RenderReport(in);
  EXPECT_THAT(html, HasSubstr("<img class=\"thumb pixelated\""));
  EXPECT_THAT(html, HasSubstr("<img class=\"thumb\""));
  // 15 bytes need no base64 padding, 16 need "=="; the 86-byte PNG needs "=".
  EXPECT_THAT(html, HasSubstr("src=\"data:image/jpeg;base64,/9j/wAALCAAcABwBAREA\""));
  EXPECT_THAT(html, HasSubstr("src=\"data:image/jpeg;base64,/9j/wAALCAHgAoABAREAAA==\""));
}

TEST(ReportTest, EmbedsOnlyPngAndJpeg) {
  ReportInput in = MakeInput();
  ReportItem evil = ImageItem("Sandal", "T-shirt/top");
  evil.media_type = "application/x-evil";
  evil.content = "<svg onload=alert(1)>";
  ReportItem svg = evil;
  svg.media_type = "image/svg+xml";
  in.worst_errors = {evil, svg};
  const std::string html = RenderReport(in);
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("data:application")));
  EXPECT_THAT(html, Not(HasSubstr("data:image/svg")));
  EXPECT_THAT(html, Not(HasSubstr("onload")));
  EXPECT_THAT(html, HasSubstr("application/x-evil is not shown"));
}

TEST(ReportTest, TextItemsAreEscapedAndCut) {
  ReportInput in = MakeInput();
  ReportItem text = ImageItem("Sandal", "T-shirt/top");
  text.media_type = "";
  // 299 'a's, then "<é" straddles the limit: the cut keeps '<' and drops the
  // two-byte 'é' whole.
  text.content = std::string(299, 'a') + "<\xc3\xa9" + std::string(50, 'z');
  in.worst_errors = {text};
  const std::string html = RenderReport(in);
  EXPECT_THAT(html, HasSubstr(std::string(299, 'a') + "&lt;&#8230;</blockquote>"));
  EXPECT_THAT(html, Not(HasSubstr("zzz")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
}

TEST(ReportTest, ShortTextIsShownWhole) {
  ReportInput in = MakeInput();
  ReportItem text = ImageItem("Sandal", "T-shirt/top");
  text.media_type = "";
  text.content = "great \"shoes\" & socks";
  in.worst_errors = {text};
  EXPECT_THAT(RenderReport(in), HasSubstr(">great &quot;shoes&quot; &amp; socks</blockquote>"));
}

TEST(ReportTest, OmitsLabelIssuesWhenEmpty) {
  ReportInput in = MakeInput();
  const std::string without = RenderReport(in);
  EXPECT_THAT(without, Not(HasSubstr("id=\"label-issues\"")));
  EXPECT_THAT(without, Not(HasSubstr("href=\"#label-issues\"")));

  ReportItem issue = ImageItem("Sandal", kNastyLabel);
  issue.score = 0.875;
  in.label_issues = {issue};
  const std::string with = RenderReport(in);
  EXPECT_THAT(with, HasSubstr("<section class=\"card\" id=\"label-issues\""));
  EXPECT_THAT(with, HasSubstr("score <strong>0.875</strong>"));
  EXPECT_THAT(with, HasSubstr("suggested label: &lt;b&gt;&amp;&quot;x&quot;"));
}

TEST(ReportTest, RequirementsShowPassAndFail) {
  const std::string html = RenderReport(MakeInput());
  EXPECT_THAT(html, HasSubstr("<span class=\"badge pass\">PASS</span></td><td><code>accuracy &gt;= 0.9</code>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"badge fail\">FAIL</span></td><td><code>recall[Sandal] &gt;= 0.95</code>"));
  EXPECT_THAT(html, HasSubstr("1 of 2 requirements fail"));
  EXPECT_THAT(html, HasSubstr("-0.1500"));  // recall 0.80 against 0.95
}

TEST(ReportTest, MissingRequirementValueFails) {
  ReportInput in = MakeInput();
  in.requirements = {{{"top5_accuracy >= 0.9", "top5_accuracy", "", ">=", 0.9}, std::nullopt, false}};
  const std::string html = RenderReport(in);
  EXPECT_THAT(html, HasSubstr("FAIL"));
  EXPECT_THAT(html, HasSubstr("missing"));
}

TEST(ReportTest, OmitsRequirementsWhenEmpty) {
  ReportInput in = MakeInput();
  in.requirements.clear();
  const std::string html = RenderReport(in);
  EXPECT_THAT(html, Not(HasSubstr("id=\"requirements\"")));
  EXPECT_THAT(html, Not(HasSubstr("PASS")));
}

TEST(ReportTest, FormatsHeadlineNumbers) {
  const std::string html = RenderReport(MakeInput());
  EXPECT_THAT(html, HasSubstr(">92.31 %<"));    // accuracy
  EXPECT_THAT(html, HasSubstr(">99.00 %<"));    // top-3 accuracy
  EXPECT_THAT(html, HasSubstr(">0.3123<"));     // log loss
  EXPECT_THAT(html, HasSubstr(">0.0432<"));     // ECE
  EXPECT_THAT(html, HasSubstr(">1.5 s (50.00 ms per item)<"));
  EXPECT_THAT(html, HasSubstr(">2026-01-02T03:04:05.678Z<"));
  EXPECT_THAT(html, HasSubstr(">#7<"));
}

TEST(ReportTest, FetchesNothingFromTheNetwork) {
  ReportInput in = MakeInput();
  ReportItem text = ImageItem("Sandal", "T-shirt/top");
  text.media_type = "";
  text.content = "see https://example.com";  // user text is shown, not fetched
  in.worst_errors.push_back(text);
  in.label_issues = {ImageItem("Sandal", "T-shirt/top")};
  std::string html = RenderReport(in);
  const size_t text_at = html.find("see https://example.com");
  ASSERT_NE(text_at, std::string::npos);
  html.erase(text_at, 23);
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("src=\"//")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, HasSubstr("default-src 'none'"));
}

TEST(ReportTest, RendersWithNoItemsAndNoClasses) {
  ReportInput in;
  const std::string html = RenderReport(in);
  EXPECT_THAT(html, HasSubstr("No classes."));
  EXPECT_THAT(html, HasSubstr("No mistakes"));
  EXPECT_THAT(html, HasSubstr("<svg id=\"reliability\""));
  EXPECT_THAT(html, HasSubstr("<svg id=\"per-class\""));
}

}  // namespace
}  // namespace fsml::eval
