#include "serve/route_util.h"

#include <string>

namespace fsml::route {

tl::expected<nlohmann::json, http::Response> JsonBody(const http::Request& req) {
  if (http::MediaType(req.Header("content-type")) != "application/json")
    return tl::unexpected(http::Response::Error(415, "unsupported_media_type", "send the body as application/json"));
  auto body = http::ParseJsonObject(req.body);
  if (!body) return tl::unexpected(http::Response::FromStatus(body.error()));
  return std::move(*body);
}

Result<std::string> StringField(const nlohmann::json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return Err(InvalidArgument(std::string("\"") + name + "\" is required"));
    return std::string();
  }
  if (!it->is_string()) return Err(InvalidArgument(std::string("\"") + name + "\" must be a string"));
  return it->get<std::string>();
}

Result<int64_t> IntText(std::string_view text, const std::string& name, int64_t lo, int64_t hi) {
  std::string s(text);
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used == s.size() && !s.empty() && s[0] != '+' && s[0] != ' ' && v >= lo && v <= hi) return static_cast<int64_t>(v);
  } catch (...) {
  }
  if (lo == 1 && hi == INT64_MAX) return Err(InvalidArgument(name + " must be a positive integer, not '" + s.substr(0, 32) + "'"));
  return Err(InvalidArgument(name + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi)));
}

Result<int64_t> IntParam(const std::map<std::string, std::string>& q, const char* name, int64_t fallback, int64_t lo,
                         int64_t hi) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) return fallback;
  return IntText(it->second, name, lo, hi);
}

}  // namespace fsml::route
