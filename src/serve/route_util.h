// What the web API's route handlers share: answering from a Result, reading
// a JSON body and its fields, and integer parameters of a query string.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "core/status.h"
#include "serve/http.h"

namespace fsml::route {

// Runs `fn` (returning Result<http::Response>) and answers with its
// response, or with the error response of a failed Status.
template <typename Fn>
void Answer(http::Reply& reply, Fn&& fn) {
  Result<http::Response> r = fn();
  reply(r ? std::move(*r) : http::Response::FromStatus(r.error()));
}

// The request's JSON object body, or the response that says what is wrong
// with it (415 for another media type, 400 for bad JSON or not an object).
tl::expected<nlohmann::json, http::Response> JsonBody(const http::Request& req);

// A string field of a JSON body: InvalidArgument when missing (if
// `required`; otherwise "") or not a string.
Result<std::string> StringField(const nlohmann::json& body, const char* name, bool required = true);

// A decimal integer from lo to hi making up all of `text` (no sign "+", no
// spaces): InvalidArgument naming `name` otherwise.
Result<int64_t> IntText(std::string_view text, const std::string& name, int64_t lo, int64_t hi);

// Query parameter `name` as IntText; `fallback` when absent or empty.
Result<int64_t> IntParam(const std::map<std::string, std::string>& q, const char* name, int64_t fallback, int64_t lo,
                         int64_t hi);

}  // namespace fsml::route
