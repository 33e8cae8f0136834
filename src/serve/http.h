// HTTP requests and responses as fsml's API sees them, the router, and the
// request-body parsers that are ours (query strings, base64, multipart).
// No networking here: http_server.h carries these over sockets, and the
// fuzzers and unit tests drive the parsers and the router directly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace fsml::http {

// Who may call a route, lowest first; each role may do what the roles
// before it may (an admin reviews, a reviewer labels, an annotator reads).
enum class Role { kPublic = 0, kViewer, kAnnotator, kReviewer, kAdmin };
std::string_view RoleName(Role role);  // "public", "viewer", ..., "admin"
// "viewer" | "annotator" | "reviewer" | "admin"; InvalidArgument otherwise.
Result<Role> ParseRole(std::string_view name);

// Who a request is authenticated as.
struct Principal {
  std::string name;  // the user's name, or the API token's for a service token
  Role role = Role::kPublic;
  bool session = false;  // by the browser's session cookie (not a bearer token)
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path, no query
  std::string query;   // raw query string, without '?'
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;  // "ip:port"
  // Filled by the router: {name} segments of the matched pattern, and who
  // the request is authenticated as (set by the auth check).
  std::map<std::string, std::string> params;
  std::string principal;
  Role role = Role::kPublic;
  bool session = false;

  std::string Header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response Json(int status, const nlohmann::json& body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // {"error": {"code": code, "message": message}}.
  static Response Error(int status, std::string_view code, std::string_view message);
  // The HTTP status and error code for a failed Status: NotFound → 404
  // not_found, InvalidArgument → 400 invalid_argument, ... Internal errors
  // keep their message (they carry no secrets; logs hold the details).
  static Response FromStatus(const Status& s);
};

// The API's error code for a Status code ("not_found", "invalid_argument",
// ...), used in HTTP errors and in job results alike.
std::string_view ErrorCode(Code code);

// Called exactly once, from any thread, with the answer.
using Reply = std::function<void(Response)>;
// A handler answers through `reply`, now or later (after a batch ran).
using Handler = std::function<void(Request&, Reply)>;

// How a route runs: kInline handlers must not block (they run on the
// server's network threads); kBlocking ones (database work) run on the
// server's bounded pool.
enum class Dispatch { kInline, kBlocking };

struct Route {
  std::string method;
  std::string pattern;  // "/api/v1/jobs/{id}": {name} matches one non-empty segment
  Dispatch dispatch = Dispatch::kBlocking;
  Role role = Role::kViewer;  // the least role that may call it; kPublic needs no credentials
  Handler handler;
};

// Matches (method, path) against registered patterns; literal segments win
// over {params} at each position. Thread-safe after setup.
class Router {
 public:
  void Add(Route route);
  struct Match {
    const Route* route = nullptr;         // null: no route for the path (or method, see below)
    bool method_not_allowed = false;      // the path has routes, none for this method
    std::map<std::string, std::string> params;
  };
  Match Find(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }
  // The route for GET and HEAD requests that match no pattern (the web
  // app's pages, which it routes itself).
  void SetFallback(Route route) { fallback_ = std::move(route); }
  const std::optional<Route>& fallback() const { return fallback_; }

 private:
  std::vector<Route> routes_;
  std::optional<Route> fallback_;
};

// Splits "a=1&b=x%20y" into decoded pairs; InvalidArgument on bad escapes.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);
// Percent-decodes a path or query component ('+' is a space only in queries).
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// Standard base64 (RFC 4648), padding optional, whitespace not allowed.
Result<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view bytes);

// One part of a multipart/form-data body.
struct Part {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string body;
};
// Parses a multipart/form-data body given the request's Content-Type
// header. InvalidArgument naming what is wrong (no boundary, no closing
// delimiter, a part without headers end, more than `max_parts` parts).
Result<std::vector<Part>> ParseMultipart(std::string_view content_type, std::string_view body, size_t max_parts = 64);

// The media type of a Content-Type header, lower case, without parameters.
std::string MediaType(std::string_view content_type);

// Parses a JSON request body: InvalidArgument "request body is not valid
// JSON: ..." or "... must be a JSON object" on failure. Depth-limited.
Result<nlohmann::json> ParseJsonObject(std::string_view body);

}  // namespace fsml::http
