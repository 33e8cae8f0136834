#include "serve/jobs.h"

#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../data/test_util.h"
#include "serve/api.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

TEST(JobRequestTest, AcceptsTheDocumentedShape) {
  auto r = ParseJobRequest(json::parse(R"({"model": "fashion@production", "inputs": [{"image_base64": "iVBORw0KGgo="},
      {"text": "hi"}, {"item": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}],
      "idempotency_key": "k1", "top_k": 3})"));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->model, "fashion@production");
  EXPECT_EQ(r->inputs.size(), 3u);
  EXPECT_EQ(r->top_k, 3);
  EXPECT_EQ(*r->idempotency_key, "k1");
}

TEST(JobRequestTest, NamesTheWrongField) {
  struct Case {
    const char* body;
    const char* error;
  } cases[] = {
      {R"({"inputs": [{"text": "x"}]})", "'model' must be"},
      {R"({"model": "bad name!", "inputs": [{"text": "x"}]})", "model"},
      {R"({"model": "m", "inputs": []})", "non-empty array"},
      {R"({"model": "m", "inputs": [{"image_base64": "!!"}]})", "inputs[0].image_base64"},
      {R"({"model": "m", "inputs": [{"text": "a"}, {"item": "abc"}]})", "inputs[1].item"},
      {R"({"model": "m", "inputs": [{"text": "a", "item": "b"}]})", "inputs[0] must be an object with one of"},
      {R"({"model": "m", "inputs": [{"video": "x"}]})", "inputs[0] must have one of"},
      {R"({"model": "m", "inputs": [{"text": 3}]})", "inputs[0].text must be a string"},
      {R"({"model": "m", "inputs": [{"text": "x"}], "top_k": 0})", "'top_k'"},
      {R"({"model": "m", "inputs": [{"text": "x"}], "idempotency_key": ""})", "'idempotency_key'"},
      {R"({"model": "m", "inputs": [{"text": "x"}], "priority": 1})", "unknown field 'priority'"},
  };
  for (const auto& c : cases) {
    auto r = ParseJobRequest(json::parse(c.body));
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(c.error)) << c.body;
  }
  json many = {{"model", "m"}, {"inputs", json::array()}};
  for (int i = 0; i < 11; ++i) many["inputs"].push_back({{"text", "x"}});
  EXPECT_THAT(ParseJobRequest(many, 10).error().message(), HasSubstr("at most 10 per job"));
}

// The OpenAPI document and the server's routes describe the same API.
class OpenApiTest : public test::WorkspaceTest {};

TEST_F(OpenApiTest, DocumentsExactlyTheRoutesServed) {
  ServeApp app(*ws_, ServeOptions{});
  json doc = json::parse(OpenApiDocument());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  std::set<std::string> documented, served;
  for (auto& [path, ops] : doc["paths"].items())
    for (auto& [method, op] : ops.items()) {
      std::string m = method;
      for (char& c : m) c = static_cast<char>(std::toupper(c));
      documented.insert(m + " " + path);
      EXPECT_TRUE(op.contains("responses")) << m << " " << path;
    }
  for (const auto& r : app.router().routes()) {
    served.insert(r.method + " " + r.pattern);
    // Open routes are marked open in the document, and only they.
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    const json& op = doc["paths"][r.pattern][method];
    bool open = op.contains("security") && op["security"].empty();
    EXPECT_EQ(open, r.role == http::Role::kPublic) << r.method << " " << r.pattern;
    // The document names each route's least role, as the server enforces it.
    EXPECT_EQ(op.value("x-fsml-role", ""), http::RoleName(r.role)) << r.method << " " << r.pattern;
  }
  EXPECT_EQ(documented, served);
}

}  // namespace
}  // namespace fsml
