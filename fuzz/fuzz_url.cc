// Fuzzes crawl/url.h: ParseUrl on the whole input, and ResolveUrl of the
// input against a fixed base (or, when the first line parses as a URL,
// of the rest against it). URLs and links come from pages anyone can write.
//
// Invariants:
// - Every failure is InvalidArgument with a message.
// - A URL is http or https with a non-empty lower-case host, a port of 1 to
//   65535, a target that starts with '/', printable ASCII only, no dot
//   segment, no fragment, no empty query, at most kMaxUrlBytes.
// - The normal form is a fixed point: ParseUrl(u.ToString()) == u, and an
//   absolute link to u resolves to u.
// - "#x" resolves to the base itself.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "crawl/url.h"
#include "fuzz_util.h"

namespace {

using fsml::crawl::Url;

void CheckError(const fsml::Result<Url>& r) {
  FSML_FUZZ_CHECK(r.error().code() == fsml::Code::kInvalidArgument);
  FSML_FUZZ_CHECK(!r.error().message().empty());
}

void CheckNormal(const Url& u) {
  FSML_FUZZ_CHECK(u.scheme == "http" || u.scheme == "https");
  FSML_FUZZ_CHECK(!u.host.empty());
  FSML_FUZZ_CHECK(std::none_of(u.host.begin(), u.host.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  FSML_FUZZ_CHECK(u.port >= 1 && u.port <= 65535);
  FSML_FUZZ_CHECK(!u.target.empty() && u.target.front() == '/');
  std::string s = u.ToString();
  FSML_FUZZ_CHECK(s.size() <= fsml::crawl::kMaxUrlBytes);
  FSML_FUZZ_CHECK(std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; }));
  FSML_FUZZ_CHECK(s.find('#') == std::string::npos);
  std::string path = "/" + u.Path() + "/";
  FSML_FUZZ_CHECK(path.find("/./") == std::string::npos && path.find("/../") == std::string::npos);
  size_t query = u.target.find('?');
  FSML_FUZZ_CHECK(query == std::string::npos || query + 1 < u.target.size());  // no empty query

  auto again = fsml::crawl::ParseUrl(s);
  FSML_FUZZ_CHECK(again && *again == u && again->ToString() == s);
  auto self = fsml::crawl::ResolveUrl(u, s);
  FSML_FUZZ_CHECK(self && *self == u);
  auto fragment = fsml::crawl::ResolveUrl(u, "#x");
  FSML_FUZZ_CHECK(fragment && *fragment == u);
}

void CheckResolve(const Url& base, std::string_view ref) {
  auto r = fsml::crawl::ResolveUrl(base, ref);
  if (!r) return CheckError(r);
  CheckNormal(*r);
}

const Url& FixedBase() {
  static const Url base = *fsml::crawl::ParseUrl("http://a.example/b/c/d;p?q");
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  auto u = fsml::crawl::ParseUrl(in);
  if (u) {
    CheckNormal(*u);
  } else {
    CheckError(u);
  }
  CheckResolve(FixedBase(), in);
  size_t nl = in.find('\n');
  if (nl != std::string_view::npos) {
    if (auto base = fsml::crawl::ParseUrl(in.substr(0, nl))) CheckResolve(*base, in.substr(nl + 1));
  }
  return 0;
}
