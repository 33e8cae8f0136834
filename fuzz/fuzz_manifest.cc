// Fuzzes ParseManifest (dataset version manifests read back from the store).
//
// Each input is parsed twice: as is (the checksum guards it, so this mostly
// exercises rejection), and with its last 32 bytes replaced by the SHA-256 of
// the rest, so mutations reach the label table and row checks behind the
// checksum.
//
// Invariants, on success:
// - The format is canonical: SerializeManifest(parsed) == the parsed bytes.
// - Label indexes are in range and rows are strictly increasing by item id.
// - DiffManifests(m, m) finds every row unchanged.
// On failure the error is a Corruption that names the manifest.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/sha256.h"
#include "data/manifest.h"
#include "fuzz_util.h"

namespace {

void Check(std::string_view bytes) {
  auto r = fsml::ParseManifest(bytes);
  if (!r) {
    FSML_FUZZ_CHECK(r.error().code() == fsml::Code::kCorruption);
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(r.error().message(), "manifest: "));
    return;
  }
  const fsml::Manifest& m = *r;
  for (size_t i = 0; i < m.rows.size(); ++i) {
    FSML_FUZZ_CHECK(m.rows[i].label < m.labels.size());
    FSML_FUZZ_CHECK(static_cast<uint8_t>(m.rows[i].split) <= 2);
    if (i > 0) FSML_FUZZ_CHECK(m.rows[i - 1].item < m.rows[i].item);
  }
  FSML_FUZZ_CHECK(fsml::SerializeManifest(m) == bytes);
  fsml::ManifestDiff d = fsml::DiffManifests(m, m);
  FSML_FUZZ_CHECK(d.unchanged == m.rows.size());
  FSML_FUZZ_CHECK(d.added.empty() && d.removed.empty() && d.relabeled.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fsml::fuzz::AsView(data, size);
  Check(in);
  if (size >= 32) {
    std::string fixed(in.substr(0, size - 32));
    fsml::Digest sum = fsml::Sha256(fixed);
    fixed.append(reinterpret_cast<const char*>(sum.data()), sum.size());
    Check(fixed);
  }
  return 0;
}
