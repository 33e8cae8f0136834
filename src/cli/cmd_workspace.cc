// fsml init | quickstart | doctor
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/common.h"
#include "core/fs.h"
#include "data/doctor.h"
#include "data/import.h"
#include "data/versions.h"
#include "ml/inference.h"
#include "ml/train.h"
#include "registry/evaluations.h"
#include "registry/models.h"
#include "registry/runs.h"
#include "serve/auth.h"

namespace fsml::cli {

namespace {

constexpr const char* kQuickstartModel = "fashion";

struct QuickstartFlags {
  std::string dir = "fsml-quickstart";
  std::string listen = "127.0.0.1:8080";
  int epochs = 5;
  bool no_serve = false;
};

// The newest version of the quickstart's model trained on `data` by a
// cnn-small run, if any: what a second quickstart reuses.
Result<std::optional<ModelVersion>> TrainedOn(MetaStore& meta, const DatasetVersion& data) {
  FSML_ASSIGN_OR_RETURN(auto models, ListModels(meta));
  bool known = std::any_of(models.begin(), models.end(), [](const ModelSummary& m) { return m.name == kQuickstartModel; });
  if (!known) return std::optional<ModelVersion>();
  FSML_ASSIGN_OR_RETURN(auto versions, ListModelVersions(meta, kQuickstartModel));
  for (auto it = versions.begin(); it != versions.end(); ++it) {  // newest first
    if (it->architecture != "cnn-small") continue;
    FSML_ASSIGN_OR_RETURN(::fsml::Run run, GetRun(meta, it->run_id));
    if (run.version_number == data.number) return std::optional<ModelVersion>(*it);
  }
  return std::optional<ModelVersion>();
}

// The newest evaluation of `v` on the test split of `data`, if any.
Result<std::optional<Evaluation>> EvaluatedOn(MetaStore& meta, const ModelVersion& v, const Project& project,
                                              const DatasetVersion& data) {
  FSML_ASSIGN_OR_RETURN(auto list, ListEvaluations(meta, v.name, 1000, project.name));
  for (auto& e : list)
    if (e.model_number == v.number && e.project_id == project.id && e.version_number == data.number && e.split == "test")
      return std::optional<Evaluation>(std::move(e));
  return std::optional<Evaluation>();
}

Status Quickstart(Context& ctx, const QuickstartFlags& f) {
  if (f.epochs < 1 || f.epochs > 1000) return InvalidArgument("--epochs must be 1 to 1000");
  std::cout << std::unitbuf;  // each step's line shows at once, in order with the progress on stderr
  std::error_code ec;
  std::unique_ptr<Workspace> ws;
  if (fs::exists(fs::path(f.dir) / kConfigFileName, ec)) {
    FSML_ASSIGN_OR_RETURN(ws, Workspace::Open(f.dir));
    std::cout << "[1/7] using the workspace in " << ws->root().string() << "\n";
  } else {
    FSML_ASSIGN_OR_RETURN(ws, Workspace::Init(f.dir));
    std::cout << "[1/7] initialized a workspace in " << ws->root().string() << "\n";
  }
  std::cout << "[2/7] importing Fashion-MNIST from " << kFashionMnistDir << "\n";
  FSML_RETURN_IF_ERROR(ImportAndReport(*ws, {"fashion", "", "fashion-mnist", "", false}));
  FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), "fashion"));
  std::cout << "[3/7] committing a dataset version\n";
  auto v = CommitVersion(*ws, p, {"Fashion-MNIST, official train/test split", ws->user(), false});
  if (!v && v.error().code() == Code::kFailedPrecondition) {
    FSML_ASSIGN_OR_RETURN(DatasetVersion latest, ResolveVersion(ws->meta(), p, ""));
    std::cout << "      nothing changed since fashion@v" << latest.number << "; keeping it\n";
    v = latest;
  }
  FSML_RETURN_IF_ERROR(internal::ToStatus(v));
  std::string ref = "fashion@v" + std::to_string(v->number);
  std::cout << "      " << ref << ": " << WithThousands(v->item_count) << " items, train " << v->stats["splits"]["train"]
            << ", val " << v->stats["splits"]["val"] << ", test " << v->stats["splits"]["test"] << "\n";

  FSML_ASSIGN_OR_RETURN(std::optional<ModelVersion> model, TrainedOn(ws->meta(), *v));
  if (model) {
    std::cout << "[4/7] cnn-small was trained on " << ref << " already (run " << model->run_id << "); keeping it\n"
              << "[5/7] registered as " << model->name << "/" << model->number << "\n";
  } else {
    std::cout << "[4/7] training cnn-small on " << ref << " for " << f.epochs << " epoch" << (f.epochs == 1 ? "" : "s")
              << " (fsml train " << ref << " --model cnn-small --epochs " << f.epochs << ")\n";
    FSML_ASSIGN_OR_RETURN(MlModule * ml, LoadMlModule());
    TrainOptions opt;
    opt.model = "cnn-small";
    opt.epochs = f.epochs;
    opt.quiet = ctx.quiet;
    FSML_ASSIGN_OR_RETURN(TrainResult trained, ml->Train(*ws, p, *v, opt));
    if (trained.stopped_early && trained.epochs.empty()) return Aborted("training was stopped before its first epoch ended");
    FSML_ASSIGN_OR_RETURN(ModelVersion registered,
                          RegisterRunCheckpoint(*ws, {trained.run_id, 0, kQuickstartModel,
                                                      "cnn-small on " + ref + " (quickstart, run " + std::to_string(trained.run_id) + ")",
                                                      ws->user()}));
    model = registered;
    std::cout << "[5/7] registered run " << trained.run_id << " as " << model->name << "/" << model->number << "\n";
  }
  std::string model_ref = model->name + "/" + std::to_string(model->number);

  FSML_ASSIGN_OR_RETURN(std::optional<Evaluation> evaluation, EvaluatedOn(ws->meta(), *model, p, *v));
  if (evaluation) {
    std::cout << "[6/7] evaluated on " << ref << " test already (evaluation " << evaluation->id << "); keeping it\n";
  } else {
    std::cout << "[6/7] evaluating " << model_ref << " on " << ref << " test (fsml eval " << model_ref << " " << ref << ")\n";
    ModelCache cache;
    FSML_ASSIGN_OR_RETURN(auto loaded, cache.Get(*ws, ModelRef{model->name, model->number, "", ""}));
    FSML_ASSIGN_OR_RETURN(SplitEvaluation se, EvaluateSplit(*ws, *loaded, p, *v, Split::kTest, 0));
    FSML_ASSIGN_OR_RETURN(int64_t id, StoreEvaluation(*ws, *loaded, p, *v, Split::kTest, se, ws->user()));
    FSML_ASSIGN_OR_RETURN(Evaluation stored, GetEvaluation(ws->meta(), id));
    evaluation = std::move(stored);
  }
  std::cout << "      accuracy " << Fixed(evaluation->metrics.accuracy, 4) << ", macro F1 " << Fixed(evaluation->metrics.macro_f1, 4)
            << " on " << WithThousands(evaluation->metrics.items) << " test images\n";

  bool is_production = std::find(model->aliases.begin(), model->aliases.end(), "production") != model->aliases.end();
  if (is_production) {
    std::cout << "[7/7] " << model_ref << " is fashion@production already\n";
  } else {
    FSML_RETURN_IF_ERROR(
        internal::ToStatus(MoveAlias(*ws, {model->name, model->number, "production", ws->user(), false, "quickstart"})));
    std::cout << "[7/7] " << model->name << "@production -> " << model_ref << "\n";
  }

  std::cout << "\nTry next (in " << ws->root().string() << "):\n"
            << "  fsml runs show " << model->run_id << "\n"
            << "  fsml eval show " << evaluation->id << " --html report.html\n"
            << "  fsml models lineage fashion@production\n"
            << "  fsml data export " << ref << " /tmp/fashion-export --format imagefolder\n";
  if (f.no_serve) return Status::Ok();

  // Serving replaces this process with `fsml serve`: a server that starts
  // with its own signal handling and threads, and prints the admin's
  // one-time password on the workspace's first serve.
  FSML_ASSIGN_OR_RETURN(auto users, ListUsers(ws->meta()));
  bool has_admin = std::any_of(users.begin(), users.end(), [](const User& u) { return u.role == http::Role::kAdmin; });
  std::cout << "\nServing the web app at http://" << f.listen << " (Ctrl-C stops; later: fsml -w " << ws->root().string()
            << " serve)\n";
  if (has_admin)
    std::cout << "Log in as an admin; the one-time password of 'admin' was printed when it was made. A new one: fsml -w "
              << ws->root().string() << " user passwd admin\n";
  std::cout << std::flush;
  std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Internal("cannot find this program to start fsml serve: " + ec.message());
  std::string root = ws->root().string();
  ws.reset();  // closes the database before the exec
  std::vector<std::string> args = {"fsml", "-w", root, "serve", "--listen", f.listen};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(self.c_str(), argv.data());
  return Internal(std::string("cannot start fsml serve: ") + std::strerror(errno));
}

}  // namespace

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
    auto f = std::make_shared<QuickstartFlags>();
    auto* cmd = app.add_subcommand(
        "quickstart",
        "run the main job on the embedded defaults: Fashion-MNIST imported and committed, cnn-small trained, registered, "
        "evaluated and aliased production, then the web app served");
    cmd->add_option("DIR", f->dir, "workspace folder, made or reused (default fsml-quickstart)");
    cmd->add_option("--epochs", f->epochs, "training epochs of cnn-small (default 5; the full recipe is 30)");
    cmd->add_option("--listen", f->listen, "where the web app is served (default 127.0.0.1:8080)");
    cmd->add_flag("--no-serve", f->no_serve, "stop after the evaluation instead of serving the web app");
    cmd->callback([&ctx, f] {
      Run(ctx, [&]() -> Status { return Quickstart(ctx, *f); });
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
