// fsml data commit|log|show|diff|tag|export
#include <iostream>

#include "cli/common.h"
#include "core/fs.h"
#include "data/versions.h"

namespace fsml::cli {
namespace {

struct Resolved {
  Project project;
  DatasetVersion version;
};

Result<Resolved> Resolve(Workspace& ws, const std::string& text) {
  FSML_ASSIGN_OR_RETURN(VersionRef ref, ParseVersionRef(text));
  FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws.meta(), ref.project));
  FSML_ASSIGN_OR_RETURN(DatasetVersion v, ResolveVersion(ws.meta(), p, ref.ref));
  return Resolved{std::move(p), std::move(v)};
}

std::string Ref(const Project& p, const DatasetVersion& v) { return p.name + "@v" + std::to_string(v.number); }

uint64_t Count(const nlohmann::json& j, const char* a, const char* b) {
  if (!j.is_object() || !j.contains(a) || !j[a].contains(b)) return 0;
  return j[a][b].get<uint64_t>();
}

void PrintVersionSummary(const Project& p, const DatasetVersion& v) {
  std::cout << "version   " << Ref(p, v);
  for (const auto& t : v.tags) std::cout << "  [" << t << "]";
  std::cout << "\nparent    " << (v.parent ? p.name + "@v" + std::to_string(*v.parent) : "(none)") << "\n"
            << "author    " << v.author << "\n"
            << "date      " << v.created_at << "\n"
            << "message   " << v.message << "\n"
            << "items     " << WithThousands(v.item_count) << " (train " << WithThousands(Count(v.stats, "splits", "train"))
            << ", val " << WithThousands(Count(v.stats, "splits", "val")) << ", test "
            << WithThousands(Count(v.stats, "splits", "test")) << ")\n"
            << "manifest  " << v.manifest_key << "\n";
}

}  // namespace

void RegisterDataCommands(CLI::App& app, Context& ctx) {
  CLI::App* data = app.add_subcommand("data", "dataset versions: commit, log, show, diff, tag, export");
  data->require_subcommand(1);

  {
    auto* cmd = data->add_subcommand("commit", "freeze the project's labeled items as the next version");
    auto name = std::make_shared<std::string>();
    auto message = std::make_shared<std::string>();
    auto allow_empty = std::make_shared<bool>(false);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "project name")->required();
    cmd->add_option("-m,--message", *message, "what changed")->required();
    cmd->add_flag("--allow-empty", *allow_empty, "commit even if nothing changed since the latest version");
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, name, message, allow_empty, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), *name));
        FSML_ASSIGN_OR_RETURN(DatasetVersion v, CommitVersion(*ws, p, {*message, ws->user(), *allow_empty}));
        if (*json) PrintJson(VersionToJson(p, v));
        else std::cout << "committed " << Ref(p, v) << ": " << WithThousands(v.item_count) << " items (train "
                       << WithThousands(Count(v.stats, "splits", "train")) << ", val "
                       << WithThousands(Count(v.stats, "splits", "val")) << ", test "
                       << WithThousands(Count(v.stats, "splits", "test")) << ")\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = data->add_subcommand("log", "list a project's versions, newest first");
    auto name = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "project name")->required();
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, name, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), *name));
        FSML_ASSIGN_OR_RETURN(auto versions, ListVersions(ws->meta(), p));
        if (*json) {
          nlohmann::json out = nlohmann::json::array();
          for (const auto& v : versions) out.push_back(VersionToJson(p, v));
          PrintJson(out);
          return Status::Ok();
        }
        if (versions.empty()) std::cout << "no versions yet; fsml data commit " << p.name << " -m MESSAGE\n";
        std::vector<std::vector<std::string>> rows = {{"VERSION", "DATE", "AUTHOR", "ITEMS", "TAGS", "MESSAGE"}};
        for (const auto& v : versions) {
          std::string tags;
          for (const auto& t : v.tags) tags += (tags.empty() ? "" : ",") + t;
          rows.push_back({Ref(p, v), v.created_at.substr(0, 19), v.author, WithThousands(v.item_count), tags, v.message});
        }
        if (!versions.empty()) PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = data->add_subcommand("show", "show a version: counts per label and split");
    auto ref = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("REF", *ref, "NAME@vN, NAME@TAG or NAME (latest)")->required();
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, ref, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(Resolved r, Resolve(*ws, *ref));
        if (*json) {
          PrintJson(VersionToJson(r.project, r.version));
          return Status::Ok();
        }
        PrintVersionSummary(r.project, r.version);
        std::cout << "\n";
        std::vector<std::vector<std::string>> rows = {{"LABEL", "TOTAL", "TRAIN", "VAL", "TEST"}};
        if (r.version.stats.contains("labels")) {
          // Project label order first, then labels the project no longer has.
          std::vector<std::string> order;
          for (const auto& l : r.project.labels)
            if (r.version.stats["labels"].contains(l.name)) order.push_back(l.name);
          for (const auto& [label, c] : r.version.stats["labels"].items())
            if (!r.project.FindLabel(label)) order.push_back(label);
          for (const auto& label : order) {
            const auto& c = r.version.stats["labels"][label];
            rows.push_back({label, WithThousands(c.value("total", uint64_t{0})), WithThousands(c.value("train", uint64_t{0})),
                            WithThousands(c.value("val", uint64_t{0})), WithThousands(c.value("test", uint64_t{0}))});
          }
        }
        PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = data->add_subcommand("diff", "what changed between two versions: added, removed, relabeled");
    auto a = std::make_shared<std::string>();
    auto b = std::make_shared<std::string>();
    auto limit = std::make_shared<size_t>(10);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("A", *a, "older version, NAME@vN")->required();
    cmd->add_option("B", *b, "newer version, NAME@vN")->required();
    cmd->add_option("--limit", *limit, "items to list per kind of change (default 10)");
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, a, b, limit, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(Resolved ra, Resolve(*ws, *a));
        FSML_ASSIGN_OR_RETURN(Resolved rb, Resolve(*ws, *b));
        FSML_ASSIGN_OR_RETURN(Manifest ma, LoadManifest(ws->blobs(), ra.version));
        FSML_ASSIGN_OR_RETURN(Manifest mb, LoadManifest(ws->blobs(), rb.version));
        ManifestDiff d = DiffManifests(ma, mb);
        std::string name_a = Ref(ra.project, ra.version), name_b = Ref(rb.project, rb.version);
        if (*json) {
          nlohmann::json out = {{"a", name_a}, {"b", name_b}};
          out.update(DiffToJson(ma, mb, d, *limit));
          PrintJson(out);
          return Status::Ok();
        }
        std::cout << name_a << " -> " << name_b << ": " << WithThousands(d.added.size()) << " added, "
                  << WithThousands(d.removed.size()) << " removed, " << WithThousands(d.relabeled.size())
                  << " relabeled, " << WithThousands(d.unchanged) << " unchanged\n";
        for (size_t i = 0; i < d.added.size() && i < *limit; ++i)
          std::cout << "+ " << ToHex(d.added[i].item) << "  " << mb.labels[d.added[i].label] << " ("
                    << SplitName(d.added[i].split) << ")\n";
        for (size_t i = 0; i < d.removed.size() && i < *limit; ++i)
          std::cout << "- " << ToHex(d.removed[i].item) << "  " << ma.labels[d.removed[i].label] << " ("
                    << SplitName(d.removed[i].split) << ")\n";
        for (size_t i = 0; i < d.relabeled.size() && i < *limit; ++i)
          std::cout << "~ " << ToHex(d.relabeled[i].item) << "  " << d.relabeled[i].from << " -> " << d.relabeled[i].to << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = data->add_subcommand("tag", "name a version (NAME@TAG then refers to it)");
    auto ref = std::make_shared<std::string>();
    auto tag = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    cmd->add_option("REF", *ref, "NAME@vN")->required();
    cmd->add_option("TAG", *tag, "tag name, e.g. gold")->required();
    cmd->add_flag("--force", *force, "move the tag if it names another version");
    cmd->callback([&ctx, ref, tag, force] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(Resolved r, Resolve(*ws, *ref));
        FSML_RETURN_IF_ERROR(TagVersion(ws->meta(), r.project, r.version.number, *tag, ws->user(), *force));
        std::cout << r.project.name << "@" << *tag << " -> " << Ref(r.project, r.version) << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = data->add_subcommand("export", "write a version to a folder as an image folder or JSONL");
    auto ref = std::make_shared<std::string>();
    auto dir = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("jsonl");
    cmd->add_option("REF", *ref, "NAME@vN")->required();
    cmd->add_option("DIR", *dir, "new (or empty) folder to write")->required();
    cmd->add_option("--format", *format, "imagefolder or jsonl (default)");
    cmd->callback([&ctx, ref, dir, format] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(ExportFormat f, ParseExportFormat(*format));
        FSML_ASSIGN_OR_RETURN(Resolved r, Resolve(*ws, *ref));
        FSML_ASSIGN_OR_RETURN(ExportSummary s, ExportVersion(*ws, r.project, r.version, *dir, f));
        std::cout << "exported " << Ref(r.project, r.version) << " to " << *dir << ": " << WithThousands(s.items)
                  << " items, " << HumanBytes(s.bytes) << "\n";
        return Status::Ok();
      });
    });
  }
}

}  // namespace fsml::cli
