#include "web/web_assets.h"

#include <algorithm>
#include <cstddef>

namespace fsml::web {
namespace internal {
// Defined by the generated web_assets_data.cc, sorted by path (it checks so
// at compile time).
extern const Asset* const kAssets;
extern const std::size_t kAssetCount;
}  // namespace internal

std::span<const Asset> Assets() { return {internal::kAssets, internal::kAssetCount}; }

const Asset* FindAsset(std::string_view path) {
  auto all = Assets();
  auto it =
      std::lower_bound(all.begin(), all.end(), path, [](const Asset& a, std::string_view p) { return a.path < p; });
  return it != all.end() && it->path == path ? &*it : nullptr;
}

}  // namespace fsml::web
