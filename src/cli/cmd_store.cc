// fsml store copy
#include <iostream>

#include "cli/common.h"
#include "core/fs.h"
#include "store/copy.h"

namespace fsml::cli {

void RegisterStoreCommands(CLI::App& app, Context& ctx) {
  auto* store = app.add_subcommand("store", "the workspace's metadata database and object store");
  store->require_subcommand(1);
  auto* cmd = store->add_subcommand(
      "copy", "copy every object and metadata row to the stores another config names (e.g. PostgreSQL + S3), verified");
  auto to = std::make_shared<std::string>();
  auto switch_to = std::make_shared<bool>(false);
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--to", *to, "a TOML file whose [store] section names the target (meta, blobs, ...)")->required();
  cmd->add_flag("--switch", *switch_to, "afterwards, point this workspace's fsml.toml at the target stores");
  cmd->add_flag("--json", *json, "print the report as JSON");
  cmd->callback([&ctx, to, switch_to, json] {
    Run(ctx, [&]() -> Status {
      FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
      // The target's file alone: FSML_STORE_* in the environment describe
      // this workspace, not the target.
      FSML_ASSIGN_OR_RETURN(Config target_config, Config::Load(*to, /*apply_environment=*/false));
      fs::path base = fs::absolute(fs::path(*to)).parent_path();
      FSML_ASSIGN_OR_RETURN(Workspace::Stores target, Workspace::OpenStores(target_config, base));
      std::cerr << "copying " << ws->meta().dialect() << " + " << ws->blobs().Describe() << " to "
                << target.meta->dialect() << " + " << target.blobs->Describe() << "\n";
      FSML_ASSIGN_OR_RETURN(StoreCopyReport report,
                            CopyStores(ws->meta(), ws->blobs(), *target.meta, *target.blobs));
      int64_t rows = 0;
      for (auto& t : report.tables) rows += t.rows;
      if (*switch_to) {
        // The [store] keys become the target's; every other key set in
        // fsml.toml keeps its value.
        fs::path path = ws->root() / kConfigFileName;
        FSML_ASSIGN_OR_RETURN(Config current, Config::Load(path.string(), /*apply_environment=*/false));
        std::map<std::string, std::string> values;
        for (const auto& [key, value] : current.values())
          if (current.Origin(key) != "default" && !key.starts_with("store.")) values[key] = value;
        for (const auto& [key, value] : target_config.values())
          if (target_config.Origin(key) != "default" && key.starts_with("store.")) values[key] = value;
        FSML_RETURN_IF_ERROR(WriteFileAtomic(path, Config::DefaultToml(values)));
      }
      if (*json) {
        nlohmann::json j = {{"objects", report.objects},
                            {"objects_copied", report.objects_copied},
                            {"bytes_copied", report.bytes_copied},
                            {"rows", rows},
                            {"seconds", report.seconds},
                            {"switched", *switch_to},
                            {"tables", nlohmann::json::array()}};
        for (auto& t : report.tables) j["tables"].push_back({{"table", t.table}, {"rows", t.rows}, {"digest", t.digest}});
        PrintJson(j);
        return Status::Ok();
      }
      std::cout << "copied " << report.objects_copied << " of " << report.objects << " objects ("
                << report.bytes_copied << " bytes) and " << rows << " rows in " << report.tables.size()
                << " tables in " << Duration(report.seconds) << "; verified: every table's rows and every object match\n";
      if (*switch_to)
        std::cout << "fsml.toml now uses the target stores\n";
      else
        std::cout << "to use them, set the [store] keys of fsml.toml to those in " << *to << " (or rerun with --switch)\n";
      return Status::Ok();
    });
  });
}

}  // namespace fsml::cli
