#include "serve/http.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsml::http {
namespace {

using ::testing::HasSubstr;

Route R(std::string method, std::string pattern) {
  return Route{std::move(method), std::move(pattern), Dispatch::kInline, Role::kViewer, [](Request&, Reply) {}};
}

TEST(RouterTest, MatchesParamsAndPrefersLiterals) {
  Router r;
  r.Add(R("GET", "/api/v1/jobs/{id}"));
  r.Add(R("GET", "/api/v1/jobs/stats"));
  r.Add(R("POST", "/api/v1/models/{ref}/predict"));
  r.Add(R("POST", "/api/v1/models/{name}/{version}/predict"));
  auto m = r.Find("GET", "/api/v1/jobs/job_1");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/jobs/{id}");
  EXPECT_EQ(m.params["id"], "job_1");
  EXPECT_EQ(r.Find("GET", "/api/v1/jobs/stats").route->pattern, "/api/v1/jobs/stats");
  m = r.Find("POST", "/api/v1/models/fashion@production/predict");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params["ref"], "fashion@production");
  m = r.Find("POST", "/api/v1/models/fashion/3/predict");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params["name"], "fashion");
  EXPECT_EQ(m.params["version"], "3");
}

TEST(RouterTest, DistinguishesNotFoundFromMethodNotAllowed) {
  Router r;
  r.Add(R("GET", "/api/v1/jobs"));
  auto m = r.Find("DELETE", "/api/v1/jobs");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.method_not_allowed);
  m = r.Find("GET", "/api/v1/nope");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_FALSE(m.method_not_allowed);
  EXPECT_EQ(r.Find("GET", "/api/v1/jobs/extra").route, nullptr);
  EXPECT_EQ(r.Find("GET", "/").route, nullptr);
}

TEST(QueryTest, DecodesPairs) {
  auto q = ParseQuery("top_k=3&state=queued&name=a%20b+c&flag");
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)["top_k"], "3");
  EXPECT_EQ((*q)["name"], "a b c");
  EXPECT_EQ((*q)["flag"], "");
  EXPECT_TRUE(ParseQuery("")->empty());
}

TEST(QueryTest, RejectsBadEscapes) {
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "%g0=1"}) {
    auto q = ParseQuery(bad);
    ASSERT_FALSE(q) << bad;
    EXPECT_THAT(q.error().message(), HasSubstr("%-escape"));
  }
}

TEST(Base64Test, RoundTripsEveryLength) {
  std::mt19937 rng(1);
  for (size_t n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string text = Base64Encode(bytes);
    EXPECT_EQ(text.size() % 4, 0u);
    auto back = Base64Decode(text);
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(Base64Encode("fsml"), "ZnNtbA==");
  EXPECT_EQ(*Base64Decode("ZnNtbA"), "fsml");  // padding optional
}

TEST(Base64Test, RejectsBadText) {
  EXPECT_THAT(Base64Decode("ab$d").error().message(), HasSubstr("bad character at offset 2"));
  EXPECT_THAT(Base64Decode("abcde").error().message(), HasSubstr("impossible length"));
  EXPECT_FALSE(Base64Decode("ab cd"));
}

TEST(MultipartTest, ParsesPartsWithHeaders) {
  std::string body =
      "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\nhello\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
      "\x89PNG\r\n--not-the-boundary\r\n--XyZ--\r\n";
  auto parts = ParseMultipart("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(parts) << parts.error().message();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "meta");
  EXPECT_EQ((*parts)[0].body, "hello");
  EXPECT_EQ((*parts)[1].filename, "a.png");
  EXPECT_EQ((*parts)[1].content_type, "image/png");
  EXPECT_EQ((*parts)[1].body, "\x89PNG\r\n--not-the-boundary");
  // A quoted boundary works too.
  EXPECT_TRUE(ParseMultipart("multipart/form-data; boundary=\"XyZ\"", body));
}

TEST(MultipartTest, RejectsMalformedBodies) {
  struct Case {
    std::string type, body, error;
  } cases[] = {
      {"multipart/form-data", "--a\r\n\r\nx\r\n--a--", "boundary parameter"},
      {"text/plain; boundary=a", "", "expected multipart/form-data"},
      {"multipart/form-data; boundary=a", "no delimiter", "does not contain its boundary"},
      {"multipart/form-data; boundary=a", "--a\r\nContent-Type: x\r\n\r\nbody never closed", "no closing boundary"},
      {"multipart/form-data; boundary=a", "--a junk", "not followed by CRLF"},
      {"multipart/form-data; boundary=a", "--a\r\nbad header line\r\n\r\nx\r\n--a--", "header without ':'"},
  };
  for (const auto& c : cases) {
    auto r = ParseMultipart(c.type, c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_THAT(r.error().message(), HasSubstr(c.error)) << c.body;
  }
  std::string many;
  for (int i = 0; i < 70; ++i) many += "--b\r\n\r\nx\r\n";
  many += "--b--";
  EXPECT_THAT(ParseMultipart("multipart/form-data; boundary=b", many).error().message(), HasSubstr("more than 64 parts"));
}

TEST(JsonBodyTest, AcceptsObjectsOnly) {
  EXPECT_TRUE(ParseJsonObject(R"({"a": [1, {"b": "}"}]})"));
  EXPECT_THAT(ParseJsonObject("[1]").error().message(), HasSubstr("must be a JSON object"));
  EXPECT_THAT(ParseJsonObject("{\"a\":").error().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseJsonObject(std::string(100000, '[')).error().message(), HasSubstr("nests deeper than 32"));
  // Brackets inside strings do not count as nesting.
  EXPECT_TRUE(ParseJsonObject("{\"a\": \"" + std::string(1000, '[') + "\"}"));
}

TEST(ResponseTest, MapsStatusesToHttp) {
  EXPECT_EQ(Response::FromStatus(NotFound("x")).status, 404);
  EXPECT_EQ(Response::FromStatus(InvalidArgument("x")).status, 400);
  EXPECT_EQ(Response::FromStatus(Unauthenticated("x")).status, 401);
  EXPECT_EQ(Response::FromStatus(Unavailable("x")).status, 503);
  EXPECT_EQ(Response::FromStatus(ResourceExhausted("x")).status, 429);
  auto r = Response::FromStatus(NotFound("no model 'x'"));
  EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no model 'x'"}})");
  EXPECT_EQ(MediaType(" Image/PNG ; q=1"), "image/png");
}

}  // namespace
}  // namespace fsml::http
