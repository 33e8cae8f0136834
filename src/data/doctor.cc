#include "data/doctor.h"

#include <mutex>
#include <unordered_set>

#include "core/parallel.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "data/versions.h"

namespace fsml {

Result<DoctorReport> RunDoctor(Workspace& ws) {
  DoctorReport rep;
  MetaStore& meta = ws.meta();
  Status integrity = meta.CheckIntegrity();
  if (!integrity.ok()) rep.errors.push_back(integrity.message());

  // 1. Every object hashes to its key.
  std::vector<std::pair<std::string, uint64_t>> objects;
  FSML_RETURN_IF_ERROR(ws.blobs().ForEach([&](std::string_view key, uint64_t size) {
    objects.emplace_back(std::string(key), size);
    return Status::Ok();
  }));
  std::mutex mu;
  {
    Progress progress("verify objects", objects.size(), "objects");
    FSML_RETURN_IF_ERROR(ParallelFor(objects.size(), 512, DefaultThreads(), [&](size_t b, size_t e) -> Status {
      for (size_t i = b; i < e; ++i) {
        auto got = ws.blobs().Get(objects[i].first, /*verify=*/true);
        std::lock_guard lock(mu);
        if (!got) rep.errors.push_back(got.error().message());
        else rep.object_bytes += got->size();
      }
      progress.Add(e - b);
      return Status::Ok();
    }));
  }
  rep.objects = objects.size();
  std::unordered_set<std::string> present;
  present.reserve(objects.size());
  for (auto& o : objects) present.insert(std::move(o.first));
  std::unordered_set<std::string> referenced;

  // 2. Every item has its object.
  FSML_RETURN_IF_ERROR(meta.Query("SELECT id, size_bytes FROM items", {}, [&](const SqlRow& r) {
    std::string id(r.Text(0));
    ++rep.items;
    if (!present.count(id)) rep.errors.push_back("item " + id + ": its object is missing from " + ws.blobs().Describe());
    referenced.insert(std::move(id));
    return Status::Ok();
  }));

  // 3. Every version's manifest exists, parses, and names known items.
  FSML_ASSIGN_OR_RETURN(auto projects, ListProjects(meta));
  for (const auto& p : projects) {
    std::unordered_set<std::string> project_items;
    FSML_RETURN_IF_ERROR(meta.Query("SELECT item_id FROM project_items WHERE project_id = ?", {p.id}, [&](const SqlRow& r) {
      project_items.emplace(r.Text(0));
      return Status::Ok();
    }));
    FSML_ASSIGN_OR_RETURN(auto versions, ListVersions(meta, p));
    for (const auto& v : versions) {
      ++rep.versions;
      std::string ref = p.name + "@v" + std::to_string(v.number);
      referenced.insert(v.manifest_key);
      auto m = LoadManifest(ws.blobs(), v);
      if (!m) {
        rep.errors.push_back(ref + ": " + m.error().message());
        continue;
      }
      if (m->rows.size() != v.item_count)
        rep.errors.push_back(ref + ": manifest has " + std::to_string(m->rows.size()) + " rows, the record says " +
                             std::to_string(v.item_count));
      uint64_t missing = 0;
      for (const auto& row : m->rows)
        if (!project_items.count(ToHex(row.item))) ++missing;
      if (missing) rep.errors.push_back(ref + ": " + std::to_string(missing) + " items are not in the project");
    }
  }
  for (const auto& key : present)
    if (!referenced.count(key)) ++rep.unreferenced;
  if (rep.unreferenced)
    rep.warnings.push_back(std::to_string(rep.unreferenced) +
                           " objects are not referenced (left by an interrupted import or commit; harmless)");
  return rep;
}

}  // namespace fsml
