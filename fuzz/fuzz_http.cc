// Fuzzes the request-parsing layer that is ours (the HTTP framing itself is
// Boost.Beast's): query strings, percent-decoding, base64, multipart
// bodies, JSON bodies and job requests, and routing.
//
// Invariants:
// - Every failure is InvalidArgument.
// - Base64: what decodes re-encodes to text that decodes to the same bytes.
// - Multipart: at most 64 parts, each body no longer than the input.
// - Job requests that validate have 1 to 10000 inputs and a top_k of 1 to 1000.
// - Routing a path gives a route whose params are non-empty path segments.
#include <string>

#include "fuzz_util.h"
#include "serve/http.h"
#include "serve/jobs.h"

namespace {

const fsml::http::Router& Routes() {
  static const fsml::http::Router router = [] {
    fsml::http::Router r;
    auto noop = [](fsml::http::Request&, fsml::http::Reply) {};
    for (const char* p : {"/api/v1/models/{ref}/predict", "/api/v1/models/{name}/{version}/predict", "/api/v1/jobs",
                          "/api/v1/jobs/{id}", "/healthz"})
      r.Add({"POST", p, fsml::http::Dispatch::kInline, fsml::http::Role::kViewer, noop});
    return r;
  }();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);

  auto q = fsml::http::ParseQuery(in);
  if (!q) FSML_FUZZ_CHECK(q.error().code() == fsml::Code::kInvalidArgument);

  auto b = fsml::http::Base64Decode(in);
  if (b) {
    auto again = fsml::http::Base64Decode(fsml::http::Base64Encode(*b));
    FSML_FUZZ_CHECK(again && *again == *b);
  } else {
    FSML_FUZZ_CHECK(b.error().code() == fsml::Code::kInvalidArgument);
  }

  auto parts = fsml::http::ParseMultipart("multipart/form-data; boundary=b", in);
  if (parts) {
    FSML_FUZZ_CHECK(parts->size() <= 64);
    for (const auto& p : *parts) FSML_FUZZ_CHECK(p.body.size() <= size);
  } else {
    FSML_FUZZ_CHECK(parts.error().code() == fsml::Code::kInvalidArgument);
  }

  auto j = fsml::http::ParseJsonObject(in);
  if (j) {
    auto job = fsml::ParseJobRequest(*j);
    if (job) {
      FSML_FUZZ_CHECK(!job->inputs.empty() && job->inputs.size() <= 10000);
      FSML_FUZZ_CHECK(job->top_k >= 1 && job->top_k <= 1000);
    } else {
      FSML_FUZZ_CHECK(job.error().code() == fsml::Code::kInvalidArgument);
    }
  } else {
    FSML_FUZZ_CHECK(j.error().code() == fsml::Code::kInvalidArgument);
  }

  auto path = fsml::http::PercentDecode(in, false);
  if (path) {
    auto m = Routes().Find("POST", *path);
    if (m.route)
      for (const auto& [k, v] : m.params) FSML_FUZZ_CHECK(!v.empty() && v.find('/') == std::string::npos);
  }
  return 0;
}
