// fsml init | quickstart | doctor
#include <iostream>

#include "cli/common.h"
#include "core/fs.h"
#include "data/doctor.h"
#include "data/import.h"
#include "data/versions.h"

namespace fsml::cli {

void RegisterWorkspaceCommands(CLI::App& app, Context& ctx) {
  {
    auto* cmd = app.add_subcommand("init", "make a folder an fsml workspace (fsml.toml + .fsml/)");
    auto dir = std::make_shared<std::string>(".");
    auto meta = std::make_shared<std::string>(), blobs = std::make_shared<std::string>(),
         queue = std::make_shared<std::string>();
    cmd->add_option("DIR", *dir, "folder, made if missing (default: the current folder)");
    cmd->add_option("--meta", *meta, "metadata database URL (default sqlite://.fsml/meta.db; or postgresql://...)");
    cmd->add_option("--blobs", *blobs, "object store URL (default file://.fsml/objects; or s3://BUCKET/PREFIX?...)");
    cmd->add_option("--queue", *queue, "job queue (default embedded; or amqp://...)");
    cmd->callback([&ctx, dir, meta, blobs, queue] {
      Run(ctx, [&]() -> Status {
        std::map<std::string, std::string> config;
        if (!meta->empty()) config["store.meta"] = *meta;
        if (!blobs->empty()) config["store.blobs"] = *blobs;
        if (!queue->empty()) config["queue.url"] = *queue;
        FSML_ASSIGN_OR_RETURN(auto ws, Workspace::Init(*dir, config));
        std::cout << "initialized fsml workspace in " << ws->root().string() << " (metadata "
                  << ws->meta().dialect() << ", objects " << ws->blobs().Describe() << ")\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = app.add_subcommand("quickstart", "run the main job on the embedded defaults: workspace, Fashion-MNIST, fashion@v1");
    auto dir = std::make_shared<std::string>("fsml-quickstart");
    cmd->add_option("DIR", *dir, "workspace folder, made or reused (default fsml-quickstart)");
    cmd->callback([&ctx, dir] {
      Run(ctx, [&]() -> Status {
        std::error_code ec;
        std::unique_ptr<Workspace> ws;
        if (fs::exists(fs::path(*dir) / kConfigFileName, ec)) {
          FSML_ASSIGN_OR_RETURN(ws, Workspace::Open(*dir));
          std::cout << "[1/3] using the workspace in " << ws->root().string() << "\n";
        } else {
          FSML_ASSIGN_OR_RETURN(ws, Workspace::Init(*dir));
          std::cout << "[1/3] initialized a workspace in " << ws->root().string() << "\n";
        }
        std::cout << "[2/3] importing Fashion-MNIST from " << kFashionMnistDir << "\n";
        FSML_RETURN_IF_ERROR(ImportAndReport(*ws, {"fashion", "", "fashion-mnist", "", false}));
        FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), "fashion"));
        std::cout << "[3/3] committing a dataset version\n";
        auto v = CommitVersion(*ws, p, {"Fashion-MNIST, official train/test split", ws->user(), false});
        if (!v && v.error().code() == Code::kFailedPrecondition) {
          FSML_ASSIGN_OR_RETURN(DatasetVersion latest, ResolveVersion(ws->meta(), p, ""));
          std::cout << "nothing changed since fashion@v" << latest.number << "; keeping it\n";
          v = latest;
        }
        FSML_RETURN_IF_ERROR(internal::ToStatus(v));
        std::string ref = "fashion@v" + std::to_string(v->number);
        std::cout << "\n" << ref << ": " << WithThousands(v->item_count) << " items, train "
                  << v->stats["splits"]["train"] << ", val " << v->stats["splits"]["val"] << ", test "
                  << v->stats["splits"]["test"] << "\n\n"
                  << "Try next (in " << ws->root().string() << "):\n"
                  << "  fsml project show fashion\n"
                  << "  fsml data show " << ref << "\n"
                  << "  fsml data log fashion\n"
                  << "  fsml data export " << ref << " /tmp/fashion-export --format imagefolder\n"
                  << "  fsml doctor\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = app.add_subcommand("doctor", "verify every object's hash and every reference in the workspace");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(DoctorReport r, RunDoctor(*ws));
        if (*json) {
          PrintJson({{"ok", r.ok()},
                     {"objects", r.objects},
                     {"object_bytes", r.object_bytes},
                     {"items", r.items},
                     {"versions", r.versions},
                     {"unreferenced_objects", r.unreferenced},
                     {"errors", r.errors},
                     {"warnings", r.warnings}});
        } else {
          std::cout << "checked " << WithThousands(r.objects) << " objects (" << HumanBytes(r.object_bytes) << "), "
                    << WithThousands(r.items) << " items, " << r.versions << " versions\n";
          for (const auto& w : r.warnings) std::cout << "warning: " << w << "\n";
          for (const auto& e : r.errors) std::cout << "error: " << e << "\n";
          std::cout << (r.ok() ? "workspace is healthy\n" : "workspace has errors\n");
        }
        if (!r.ok()) return Corruption(std::to_string(r.errors.size()) + " problems found");
        return Status::Ok();
      });
    });
  }
}

}  // namespace fsml::cli
