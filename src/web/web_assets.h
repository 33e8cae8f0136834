// The web app (web/, built by Vite), compiled into the program so that
// `fsml serve` serves it at / without files next to the binary.
//
// The build runs `npm run build` in web/ and embeds every file of its output
// (src/web/CMakeLists.txt, cmake/EmbedWebAssets.cmake). The data is static
// and read-only: everything here is safe to use from any thread.
#pragma once

#include <span>
#include <string_view>

namespace fsml::web {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/index-BpW7O9cL.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
  std::string_view etag;          // quoted: "\"<first 16 hex digits of the body's SHA-256>\""
  bool immutable;                 // under /assets/: Vite put a content hash in the name
};

// Every embedded file, in path order.
std::span<const Asset> Assets();

// The asset at `path` (starting with '/'), or nullptr. "/" is not an alias of
// "/index.html": the caller decides which paths fall back to the app.
const Asset* FindAsset(std::string_view path);

}  // namespace fsml::web
