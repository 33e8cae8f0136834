// fsml models register|list|show|alias|unalias|history|lineage|delete|export
#include <iostream>

#include "cli/common.h"
#include "serve/model_server.h"
#include "core/fs.h"
#include "data/project.h"
#include "ml/train.h"
#include "registry/evaluations.h"
#include "registry/models.h"
#include "registry/runs.h"

namespace fsml::cli {
namespace {


std::string AliasList(const std::vector<std::string>& aliases) {
  std::string s;
  for (const auto& a : aliases) s += (s.empty() ? "" : ",") + a;
  return s.empty() ? "-" : s;
}

std::string MetricOr(const nlohmann::json& m, const char* key) {
  return m.is_object() && m.contains(key) && m[key].is_number() ? Fixed(m[key].get<double>(), 4) : "-";
}

struct RegisterFlags {
  int64_t run = 0;
  std::string name, description;
  int64_t epoch = 0;
  bool json = false;
};

Result<ModelVersion> Register(Workspace& ws, const RegisterFlags& f) {
  return RegisterRunCheckpoint(ws, {f.run, f.epoch, f.name, f.description, ws.user()});
}

void PrintVersion(const ModelVersion& v) {
  std::cout << "model     " << v.name << "/" << v.number << (v.aliases.empty() ? "" : " (" + AliasList(v.aliases) + ")") << "\n"
            << "project   " << v.project << "\n"
            << "network   " << v.architecture << ", " << WithThousands(v.parameters) << " parameters, weights "
            << HumanBytes(v.weights_bytes) << "\n"
            << "from      run " << v.run_id << ", epoch " << v.epoch << "\n"
            << "sha256    " << v.weights_key << "\n"
            << "metrics   val accuracy " << MetricOr(v.metrics, "val_accuracy")
            << (v.metrics.contains("test") ? ", test accuracy " + MetricOr(v.metrics["test"], "accuracy") : "") << "\n"
            << "created   " << v.created_at << " by " << v.created_by << "\n";
  if (!v.description.empty()) std::cout << "about     " << v.description << "\n";
}

}  // namespace

void RegisterModelCommands(CLI::App& app, Context& ctx) {
  CLI::App* models = app.add_subcommand("models", "the model registry: register, list, show, alias, lineage, delete, export");
  models->require_subcommand(1);
  {
    auto* cmd = models->add_subcommand("register", "register a run's weights as the next version of a model");
    auto f = std::make_shared<RegisterFlags>();
    cmd->add_option("RUN", f->run, "run id")->required();
    cmd->add_option("--name", f->name, "model name (default: the run's project)");
    cmd->add_option("--epoch", f->epoch, "this epoch's checkpoint (default: the best validation epoch)");
    cmd->add_option("--description", f->description, "a note kept with the version");
    cmd->add_flag("--json", f->json, "print JSON");
    cmd->callback([&ctx, f] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(ModelVersion v, Register(*ws, *f));
        if (f->json) {
          PrintJson(ModelVersionToJson(v));
          return Status::Ok();
        }
        std::cout << "registered " << v.name << "/" << v.number << " from run " << v.run_id << " epoch " << v.epoch << " ("
                  << v.architecture << ", " << WithThousands(v.parameters) << " parameters, sha256 " << v.weights_key.substr(0, 12)
                  << ")\n  fsml eval " << v.name << "/" << v.number << " " << v.project << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = models->add_subcommand("list", "list models, or one model's versions");
    auto name = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "list this model's versions");
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, name, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        if (name->empty()) {
          FSML_ASSIGN_OR_RETURN(auto all, ListModels(ws->meta()));
          nlohmann::json out = nlohmann::json::array();
          std::vector<std::vector<std::string>> rows = {{"MODEL", "PROJECT", "VERSIONS", "LATEST", "ALIASES", "UPDATED"}};
          for (const auto& m : all) {
            std::string aliases;
            nlohmann::json aj = nlohmann::json::object();
            for (const auto& [a, n] : m.aliases) {
              aliases += (aliases.empty() ? "" : ", ") + a + "->" + std::to_string(n);
              aj[a] = n;
            }
            out.push_back({{"name", m.name}, {"project", m.project}, {"versions", m.versions}, {"latest", m.latest},
                           {"aliases", aj}, {"updated_at", m.updated_at}});
            rows.push_back({m.name, m.project, std::to_string(m.versions), std::to_string(m.latest),
                            aliases.empty() ? "-" : aliases, m.updated_at.substr(0, 19)});
          }
          if (*json) PrintJson(out);
          else if (all.empty()) std::cout << "no models yet; fsml models register RUN --name NAME\n";
          else PrintTable(rows);
          return Status::Ok();
        }
        FSML_ASSIGN_OR_RETURN(auto versions, ListModelVersions(ws->meta(), *name));
        nlohmann::json out = nlohmann::json::array();
        std::vector<std::vector<std::string>> rows = {{"VERSION", "ALIASES", "NETWORK", "PARAMS", "RUN", "EPOCH", "VAL ACC", "CREATED"}};
        for (const auto& v : versions) {
          out.push_back(ModelVersionToJson(v));
          rows.push_back({v.name + "/" + std::to_string(v.number), AliasList(v.aliases), v.architecture, WithThousands(v.parameters),
                          std::to_string(v.run_id), std::to_string(v.epoch), MetricOr(v.metrics, "val_accuracy"),
                          v.created_at.substr(0, 19)});
        }
        if (*json) PrintJson(out);
        else PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = models->add_subcommand("show", "a model version: network, origin, checksum, evaluations");
    auto ref = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("REF", *ref, "NAME/N, NAME@ALIAS or NAME (latest)")->required();
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, ref, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(ModelVersion v, ResolveModel(ws->meta(), *ref));
        FSML_ASSIGN_OR_RETURN(auto evals, ListEvaluations(ws->meta(), v.name, 1000));
        nlohmann::json ej = nlohmann::json::array();
        std::vector<std::vector<std::string>> rows = {{"EVAL", "DATASET", "SPLIT", "ACCURACY", "MACRO F1", "ECE", "CREATED"}};
        for (const auto& e : evals) {
          if (e.model_number != v.number) continue;
          ej.push_back({{"id", e.id}, {"dataset", e.project + "@v" + std::to_string(e.version_number)}, {"split", e.split},
                        {"accuracy", e.metrics.accuracy}, {"macro_f1", e.metrics.macro_f1}, {"ece", e.metrics.ece}});
          rows.push_back({std::to_string(e.id), e.project + "@v" + std::to_string(e.version_number), e.split,
                          Fixed(e.metrics.accuracy, 4), Fixed(e.metrics.macro_f1, 4), Fixed(e.metrics.ece, 4),
                          e.created_at.substr(0, 19)});
        }
        if (*json) {
          nlohmann::json out = ModelVersionToJson(v);
          out["evaluations"] = ej;
          PrintJson(out);
          return Status::Ok();
        }
        PrintVersion(v);
        if (rows.size() > 1) {
          std::cout << "\n";
          PrintTable(rows);
        } else {
          std::cout << "\nno evaluations yet: fsml eval " << v.name << "/" << v.number << " " << v.project << "\n";
        }
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = models->add_subcommand("alias", "point an alias (e.g. production) at a version; history is kept");
    auto name = std::make_shared<std::string>();
    auto number = std::make_shared<int64_t>(0);
    auto alias = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    auto note = std::make_shared<std::string>();
    cmd->add_option("NAME", *name, "model name")->required();
    cmd->add_option("N", *number, "version number")->required();
    cmd->add_option("ALIAS", *alias, "alias, e.g. production or staging")->required();
    cmd->add_flag("--force", *force, "move 'production' even when the version fails the project's requirements (recorded)");
    cmd->add_option("--note", *note, "why, kept in the alias history");
    cmd->callback([&ctx, name, number, alias, force, note] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(AliasMoveResult moved, MoveAlias(*ws, {*name, *number, *alias, ws->user(), *force, *note}));
        if (moved.forced)
          std::cerr << "fsml: warning: " << moved.gate->reason << "; moving the alias anyway (--force, recorded)\n";
        std::cout << *name << "@" << *alias << " -> " << *name << "/" << *number << (moved.forced ? " (forced)" : "") << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto cfg = std::make_shared<ModelServingConfig>();
    auto* cmd = models->add_subcommand("serving", "show or set a model's dynamic batching limits for fsml serve");
    cmd->add_option("NAME", *name, "model name")->required();
    cmd->add_option("--max-batch", cfg->max_batch, "most requests per forward pass (0: the server's default)");
    cmd->add_option("--max-delay-ms", cfg->max_delay_ms, "longest wait for a batch to fill (-1: the server's default)");
    cmd->callback([&ctx, name, cfg, cmd] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        if (cmd->count("--max-batch") || cmd->count("--max-delay-ms")) {
          FSML_ASSIGN_OR_RETURN(ModelServingConfig now, GetModelServingConfig(ws->meta(), *name));
          if (cmd->count("--max-batch")) now.max_batch = cfg->max_batch;
          if (cmd->count("--max-delay-ms")) now.max_delay_ms = cfg->max_delay_ms;
          FSML_RETURN_IF_ERROR(SetModelServingConfig(ws->meta(), *name, now));
        }
        FSML_ASSIGN_OR_RETURN(ModelServingConfig c, GetModelServingConfig(ws->meta(), *name));
        std::cout << *name << ": max_batch " << (c.max_batch > 0 ? std::to_string(c.max_batch) : "server default")
                  << ", max_delay_ms " << (c.max_delay_ms >= 0 ? std::to_string(c.max_delay_ms) : "server default")
                  << " (running servers pick changes up within a second)\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = models->add_subcommand("unalias", "remove an alias (recorded in its history)");
    auto name = std::make_shared<std::string>();
    auto alias = std::make_shared<std::string>();
    cmd->add_option("NAME", *name, "model name")->required();
    cmd->add_option("ALIAS", *alias, "alias")->required();
    cmd->callback([&ctx, name, alias] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_RETURN_IF_ERROR(RemoveAlias(ws->meta(), *name, *alias, ws->user()));
        std::cout << "removed " << *name << "@" << *alias << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = models->add_subcommand("history", "every move of a model's aliases, oldest first");
    auto name = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "model name")->required();
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, name, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(auto events, AliasHistory(ws->meta(), *name));
        nlohmann::json out = nlohmann::json::array();
        std::vector<std::vector<std::string>> rows = {{"WHEN", "ALIAS", "FROM", "TO", "BY", "FORCED", "NOTE"}};
        for (const auto& e : events) {
          out.push_back({{"alias", e.alias}, {"number", e.number ? nlohmann::json(*e.number) : nlohmann::json()},
                         {"previous", e.previous ? nlohmann::json(*e.previous) : nlohmann::json()}, {"at", e.at},
                         {"by", e.by}, {"forced", e.forced}, {"note", e.note}});
          rows.push_back({e.at.substr(0, 19), e.alias, e.previous ? std::to_string(*e.previous) : "-",
                          e.number ? std::to_string(*e.number) : "(removed)", e.by, e.forced ? "yes" : "", e.note});
        }
        if (*json) PrintJson(out);
        else if (events.empty()) std::cout << "no alias was ever set on " << *name << "\n";
        else PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = models->add_subcommand("lineage", "where a model came from: run, dataset version, labels, annotators");
    auto ref = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("REF", *ref, "NAME/N, NAME@ALIAS or NAME")->required();
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, ref, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(ModelVersion v, ResolveModel(ws->meta(), *ref));
        FSML_ASSIGN_OR_RETURN(nlohmann::json l, Lineage(*ws, v));
        if (*json) {
          PrintJson(l);
          return Status::Ok();
        }
        const auto& run = l["run"];
        const auto& d = l["dataset"];
        std::cout << *ref << " = " << v.name << "/" << v.number << " (" << v.architecture << ", sha256 " << v.weights_key.substr(0, 16)
                  << ")\n"
                  << "  <- run " << run["id"] << " (" << run["status"].get<std::string>() << "), epoch " << v.epoch << " of "
                  << run["params"].value("epochs", 0) << ", seed " << run["seed"] << ", code " << run["code_version"].get<std::string>()
                  << " on " << run["host"].get<std::string>() << ", " << run["started_at"].get<std::string>() << "\n"
                  << "     params " << run["params"].dump() << "\n"
                  << "  <- dataset " << d["ref"].get<std::string>() << " (" << WithThousands(d["items"].get<uint64_t>())
                  << " items: ";
        std::string splits;
        if (d["stats"].contains("splits"))
          for (const auto& [k, n] : d["stats"]["splits"].items()) splits += (splits.empty() ? "" : ", ") + k + " " + WithThousands(n.get<uint64_t>());
        std::cout << splits << "), committed " << d["created_at"].get<std::string>() << " by " << d["author"].get<std::string>()
                  << ": \"" << d["message"].get<std::string>() << "\"\n     manifest " << d["manifest"].get<std::string>() << "\n";
        std::cout << "     annotators:";
        for (const auto& a : d["annotators"])
          std::cout << " " << a["author"].get<std::string>() << " (" << a["origin"].get<std::string>() << ", "
                    << WithThousands(a["annotations"].get<uint64_t>()) << ")";
        std::cout << "\n     imports:";
        for (const auto& i : d["imports"])
          std::cout << "\n       #" << i["id"] << " " << i["source"].get<std::string>() << " (" << WithThousands(i["items_added"].get<uint64_t>())
                    << " new items, " << i["created_at"].get<std::string>() << ")";
        std::cout << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = models->add_subcommand("delete", "delete a version (refused while an alias points at it)");
    auto ref = std::make_shared<std::string>();
    cmd->add_option("REF", *ref, "NAME/N")->required();
    cmd->callback([&ctx, ref] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(ModelRef r, ParseModelRef(*ref));
        if (!r.number) return InvalidArgument("models delete takes NAME/N (one version), not '" + *ref + "'");
        FSML_RETURN_IF_ERROR(DeleteModelVersion(ws->meta(), r.name, *r.number));
        std::cout << "deleted " << r.name << "/" << *r.number << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = models->add_subcommand("export", "write model.safetensors, spec.json, fsml_model.py and README.md to a folder");
    auto ref = std::make_shared<std::string>();
    auto dir = std::make_shared<std::string>();
    cmd->add_option("REF", *ref, "NAME/N, NAME@ALIAS or NAME")->required();
    cmd->add_option("DIR", *dir, "a new or empty folder")->required();
    cmd->callback([&ctx, ref, dir] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(ModelVersion v, ResolveModel(ws->meta(), *ref));
        FSML_RETURN_IF_ERROR(ExportModel(*ws, v, *dir));
        std::cout << "exported " << v.name << "/" << v.number << " to " << *dir << " (model.safetensors, spec.json, fsml_model.py, README.md)\n";
        return Status::Ok();
      });
    });
  }
}

}  // namespace fsml::cli
