// `fsml doctor`: verifies a workspace end to end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/workspace.h"

namespace fsml {

struct DoctorReport {
  uint64_t objects = 0;          // objects whose hash was verified
  uint64_t object_bytes = 0;
  uint64_t items = 0;            // item records checked for their object
  uint64_t versions = 0;         // manifests parsed and checked
  uint64_t unreferenced = 0;     // objects nothing points to (left by an interrupted import or commit)
  std::vector<std::string> errors;    // damage: each names the object, item or version
  std::vector<std::string> warnings;
  bool ok() const { return errors.empty(); }
};

// Checks the metadata database's integrity and foreign keys, every object's
// hash, that every item and manifest has its object, and that every
// manifest's rows name items of its project with labels and annotations that
// exist. Only I/O failures that stop the check come back as an error Status;
// damage found goes into the report.
Result<DoctorReport> RunDoctor(Workspace& ws);

}  // namespace fsml
