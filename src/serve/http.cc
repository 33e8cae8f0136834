#include "serve/http.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/text.h"

namespace fsml::http {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kPublic: return "public";
    case Role::kViewer: return "viewer";
    case Role::kAnnotator: return "annotator";
    case Role::kReviewer: return "reviewer";
    case Role::kAdmin: return "admin";
  }
  return "public";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kViewer, Role::kAnnotator, Role::kReviewer, Role::kAdmin})
    if (RoleName(r) == name) return r;
  return Err(InvalidArgument("unknown role '" + std::string(name.substr(0, 40)) + "' (expected admin, reviewer, annotator or viewer)"));
}

std::string Request::Header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::Error(int status, std::string_view code, std::string_view message) {
  return Json(status, {{"error", {{"code", code}, {"message", message}}}});
}

std::string_view ErrorCode(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kFailedPrecondition: return "failed_precondition";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kResourceExhausted: return "resource_exhausted";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kUnavailable: return "unavailable";
    case Code::kAborted: return "aborted";
    case Code::kCorruption: return "corruption";
    case Code::kIoError: return "io_error";
    case Code::kInternal: break;
  }
  return "internal";
}

static int HttpStatus(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition: return 409;
    case Code::kResourceExhausted: return 429;
    case Code::kPermissionDenied: return 403;
    case Code::kUnavailable:
    case Code::kAborted: return 503;
    case Code::kCorruption:
    case Code::kIoError:
    case Code::kInternal: break;
  }
  return 500;
}

// Internal errors keep their message: they carry no secrets (logs hold the details).
Response Response::FromStatus(const Status& s) {
  if (s.ok()) return Json(200, nlohmann::json::object());
  return Error(HttpStatus(s.code()), ErrorCode(s.code()), s.message());
}

// ---- Router --------------------------------------------------------------

static std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

void Router::Add(Route route) { routes_.push_back(std::move(route)); }

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  auto segs = Segments(path);
  Match best;
  int best_literals = -1;
  bool path_matched = false;
  for (const auto& r : routes_) {
    auto pat = Segments(r.pattern);
    if (pat.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    int literals = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < pat.size(); ++i) {
      if (pat[i].size() > 2 && pat[i].front() == '{' && pat[i].back() == '}') {
        params[std::string(pat[i].substr(1, pat[i].size() - 2))] = std::string(segs[i]);
      } else if (pat[i] == segs[i]) {
        // Literal segments count with their position's weight, so /jobs/stats beats /jobs/{id}.
        literals += 1 << (pat.size() - i);
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    path_matched = true;
    if (r.method != method) continue;
    if (literals > best_literals) {
      best_literals = literals;
      best.route = &r;
      best.params = std::move(params);
    }
  }
  best.method_not_allowed = !best.route && path_matched;
  return best;
}

// ---- Parsers -------------------------------------------------------------

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return Err(InvalidArgument("truncated %-escape in '" + std::string(s.substr(0, 200)) + "'"));
      int hi = HexDigitValue(s[i + 1]), lo = HexDigitValue(s[i + 2]);
      if (hi < 0 || lo < 0) return Err(InvalidArgument("bad %-escape in '" + std::string(s.substr(0, 200)) + "'"));
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= query.size() && !query.empty()) {
    size_t amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(i, amp - i);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      FSML_ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq), true));
      std::string value;
      if (eq != std::string_view::npos) {
        FSML_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
      }
      out[key] = std::move(value);
    }
    if (amp == query.size()) break;
    i = amp + 1;
  }
  return out;
}

static constexpr char kBase64Chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Result<std::string> Base64Decode(std::string_view text) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kBase64Chars[i])] = static_cast<int8_t>(i);
    return t;
  }();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return Err(InvalidArgument("base64 text has an impossible length"));
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    int v = table[static_cast<unsigned char>(text[i])];
    if (v < 0) return Err(InvalidArgument("base64 text has a bad character at offset " + std::to_string(i)));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kBase64Chars[(v >> s) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out.push_back(kBase64Chars[(v >> 18) & 63]);
    out.push_back(kBase64Chars[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Chars[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string MediaType(std::string_view content_type) {
  return AsciiLower(TrimSpace(content_type.substr(0, content_type.find(';'))));
}

// The value of parameter `name` in a header like `multipart/form-data; boundary="x"`.
static std::optional<std::string> HeaderParam(std::string_view header, std::string_view name) {
  size_t pos = header.find(';');
  while (pos != std::string_view::npos) {
    size_t next = header.find(';', pos + 1);
    std::string_view p = TrimSpace(header.substr(pos + 1, next == std::string_view::npos ? std::string_view::npos : next - pos - 1));
    size_t eq = p.find('=');
    if (eq != std::string_view::npos && AsciiLower(TrimSpace(p.substr(0, eq))) == name) {
      std::string_view v = TrimSpace(p.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    pos = next;
  }
  return std::nullopt;
}

Result<std::vector<Part>> ParseMultipart(std::string_view content_type, std::string_view body, size_t max_parts) {
  if (MediaType(content_type) != "multipart/form-data")
    return Err(InvalidArgument("expected multipart/form-data, got '" + MediaType(content_type) + "'"));
  auto boundary = HeaderParam(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70)
    return Err(InvalidArgument("multipart/form-data without a valid boundary parameter"));
  const std::string delim = "--" + *boundary;
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) return Err(InvalidArgument("multipart body does not contain its boundary"));
  pos += delim.size();
  std::vector<Part> parts;
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return Err(InvalidArgument("multipart boundary not followed by CRLF"));
    pos += 2;
    size_t headers_end = body.find("\r\n\r\n", pos);
    size_t next = body.find("\r\n" + delim, pos);
    if (next == std::string_view::npos) return Err(InvalidArgument("multipart body has no closing boundary"));
    Part part;
    std::string_view headers;
    size_t body_start;
    if (body.substr(pos, 2) == "\r\n") {  // a part with no headers
      body_start = pos + 2;
    } else if (headers_end != std::string_view::npos && headers_end < next) {
      headers = body.substr(pos, headers_end - pos);
      body_start = headers_end + 4;
    } else {
      return Err(InvalidArgument("multipart part without the empty line that ends its headers"));
    }
    size_t line_start = 0;
    while (line_start < headers.size()) {
      size_t line_end = headers.find("\r\n", line_start);
      if (line_end == std::string_view::npos) line_end = headers.size();
      std::string_view line = headers.substr(line_start, line_end - line_start);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) return Err(InvalidArgument("multipart part header without ':'"));
      std::string name = AsciiLower(TrimSpace(line.substr(0, colon)));
      std::string_view value = TrimSpace(line.substr(colon + 1));
      if (name == "content-disposition") {
        part.name = HeaderParam(value, "name").value_or("");
        part.filename = HeaderParam(value, "filename").value_or("");
      } else if (name == "content-type") {
        part.content_type = MediaType(value);
      }
      line_start = line_end + 2;
    }
    if (body_start > next) return Err(InvalidArgument("multipart part overlaps its boundary"));
    part.body = std::string(body.substr(body_start, next - body_start));
    parts.push_back(std::move(part));
    if (parts.size() > max_parts) return Err(InvalidArgument("multipart body has more than " + std::to_string(max_parts) + " parts"));
    pos = next + 2 + delim.size();
  }
}

Result<nlohmann::json> ParseJsonObject(std::string_view body) {
  constexpr int kMaxDepth = 32;
  // A cheap bound before parsing, so hostile nesting cannot exhaust the stack.
  int depth = 0, max_depth = 0;
  bool in_string = false, escape = false;
  for (char c : body) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  if (max_depth > kMaxDepth) return Err(InvalidArgument("request body nests deeper than " + std::to_string(kMaxDepth) + " levels"));
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return Err(InvalidArgument("request body is not valid JSON"));
  if (!j.is_object()) return Err(InvalidArgument("request body must be a JSON object"));
  return j;
}

}  // namespace fsml::http
