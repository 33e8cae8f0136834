// fsml project create|list|show|edit
#include <cmath>
#include <iostream>

#include "cli/common.h"
#include "registry/evaluations.h"
#include "core/fs.h"
#include "core/text.h"
#include "data/project.h"

namespace fsml::cli {

static std::vector<std::vector<std::string>> LabelTable(const Project& p, const ProjectStats& st) {
  std::vector<std::vector<std::string>> rows = {{"LABEL", "TOTAL", "TRAIN", "VAL", "TEST"}};
  for (const auto& l : p.labels) {
    uint64_t t = 0, sp[3] = {0, 0, 0};
    auto it = st.per_label_split.find(l.name);
    if (it != st.per_label_split.end()) {
      const char* names[] = {"train", "val", "test"};
      for (int i = 0; i < 3; ++i) {
        auto f = it->second.find(names[i]);
        sp[i] = f == it->second.end() ? 0 : f->second;
        t += sp[i];
      }
    }
    rows.push_back({l.name, WithThousands(t), WithThousands(sp[0]), WithThousands(sp[1]), WithThousands(sp[2])});
  }
  return rows;
}

void RegisterProjectCommands(CLI::App& app, Context& ctx) {
  CLI::App* project = app.add_subcommand("project", "create, list, show and edit projects");
  project->require_subcommand(1);

  // create
  {
    auto* cmd = project->add_subcommand("create", "create a project with a task type and a label set");
    auto name = std::make_shared<std::string>();
    auto type = std::make_shared<std::string>("image-classification");
    auto labels = std::make_shared<std::string>();
    auto guidelines = std::make_shared<std::string>();
    auto splits = std::make_shared<std::string>("80,10,10");
    cmd->add_option("NAME", *name, "project name")->required();
    cmd->add_option("--type", *type, "image-classification (default) or text-classification");
    cmd->add_option("--labels", *labels, "comma-separated label names, e.g. shirt,trouser,bag")->required();
    cmd->add_option("--guidelines", *guidelines, "Markdown file with the labeling guidelines");
    cmd->add_option("--splits", *splits, "train,val,test percentages for items without a given split (default 80,10,10)");
    cmd->callback([&ctx, name, type, labels, guidelines, splits] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        ProjectSpec spec;
        spec.name = *name;
        FSML_ASSIGN_OR_RETURN(spec.type, ParseTaskType(*type));
        FSML_ASSIGN_OR_RETURN(spec.labels, ParseLabelList(*labels));
        FSML_ASSIGN_OR_RETURN(spec.ratios, ParseSplitRatios(*splits));
        if (!guidelines->empty()) {
          FSML_ASSIGN_OR_RETURN(spec.guidelines, ReadFile(*guidelines, 1 << 20));
        }
        FSML_ASSIGN_OR_RETURN(Project p, CreateProject(ws->meta(), spec, ws->user()));
        std::cout << "created project '" << p.name << "' (" << TaskTypeName(p.type) << ", " << p.labels.size()
                  << " labels: " << p.LabelList() << ")\n";
        return Status::Ok();
      });
    });
  }
  // list
  {
    auto* cmd = project->add_subcommand("list", "list projects with item and label counts");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(auto projects, ListProjects(ws->meta()));
        nlohmann::json out = nlohmann::json::array();
        std::vector<std::vector<std::string>> rows = {{"NAME", "TYPE", "LABELS", "ITEMS", "LABELED", "VERSIONS"}};
        for (const auto& p : projects) {
          FSML_ASSIGN_OR_RETURN(ProjectStats st, GetProjectStats(ws->meta(), p));
          out.push_back(ProjectToJson(p, &st));
          rows.push_back({p.name, std::string(TaskTypeName(p.type)), std::to_string(p.labels.size()),
                          WithThousands(st.items), WithThousands(st.labeled), std::to_string(st.versions)});
        }
        if (*json) PrintJson(out);
        else if (projects.empty()) std::cout << "no projects yet; create one with 'fsml project create NAME --labels a,b'\n";
        else PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  // show
  {
    auto* cmd = project->add_subcommand("show", "show a project: labels, splits and counts");
    auto name = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "project name")->required();
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, name, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), *name));
        FSML_ASSIGN_OR_RETURN(ProjectStats st, GetProjectStats(ws->meta(), p));
        if (*json) {
          PrintJson(ProjectToJson(p, &st));
          return Status::Ok();
        }
        std::cout << "project   " << p.name << "\n"
                  << "type      " << TaskTypeName(p.type) << "\n"
                  << "created   " << p.created_at << " by " << p.created_by << "\n"
                  << "items     " << WithThousands(st.items) << " (" << WithThousands(st.labeled) << " labeled, "
                  << WithThousands(st.items - st.labeled) << " unlabeled)\n"
                  << "splits    train " << WithThousands(st.per_split["train"]) << ", val "
                  << WithThousands(st.per_split["val"]) << ", test " << WithThousands(st.per_split["test"]) << "\n"
                  << "versions  " << st.versions << "\n"
                  << "labeling  overlap " << p.overlap << ", review sample " << Fixed(p.review_sample_permille / 10.0, 1)
                  << "%, collecting production inputs "
                  << (p.collect_below ? "below " + Fixed(*p.collect_below, 2) : std::string("off")) << "\n\n";
        PrintTable(LabelTable(p, st));
        return Status::Ok();
      });
    });
  }
  // edit
  {
    auto* cmd = project->add_subcommand("edit", "change a project's labels, guidelines and labeling settings");
    auto name = std::make_shared<std::string>();
    auto labels = std::make_shared<std::string>();
    auto rename = std::make_shared<std::vector<std::string>>();
    auto guidelines = std::make_shared<std::string>();
    auto overlap = std::make_shared<std::optional<int>>();
    auto review_sample = std::make_shared<std::string>();
    auto collect_below = std::make_shared<std::string>();
    cmd->add_option("NAME", *name, "project name")->required();
    cmd->add_option("--labels", *labels, "the new label set, in order (a label in use cannot be removed)");
    cmd->add_option("--rename-label", *rename, "OLD=NEW: rename a label (annotations follow it)");
    cmd->add_option("--guidelines", *guidelines, "Markdown file with the labeling guidelines");
    cmd->add_option("--overlap", *overlap, "annotators per item, 1 to 10");
    cmd->add_option("--review-sample", *review_sample,
                    "percent of agreed items that still go to review, drawn at random (0 to 100, e.g. 5 or 2.5)");
    cmd->add_option("--collect-below", *collect_below,
                    "production inputs predicted with a top probability below this (0 to 1] come back as unlabeled "
                    "items; \"off\" stops it");
    cmd->callback([&ctx, name, labels, rename, guidelines, overlap, review_sample, collect_below] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), *name));
        for (const auto& r : *rename) {
          size_t eq = r.find('=');
          if (eq == std::string::npos) return InvalidArgument("--rename-label '" + r + "': expected OLD=NEW");
          FSML_RETURN_IF_ERROR(RenameLabel(ws->meta(), p, r.substr(0, eq), r.substr(eq + 1)));
        }
        if (!labels->empty()) {
          FSML_ASSIGN_OR_RETURN(auto list, ParseLabelList(*labels));
          FSML_RETURN_IF_ERROR(SetLabels(ws->meta(), p, list));
        }
        if (!guidelines->empty()) {
          FSML_ASSIGN_OR_RETURN(std::string md, ReadFile(*guidelines, 1 << 20));
          FSML_RETURN_IF_ERROR(SetGuidelines(ws->meta(), p, md));
        }
        if (*overlap) FSML_RETURN_IF_ERROR(SetOverlap(ws->meta(), p, **overlap));
        if (!review_sample->empty()) {
          double percent = 0;
          if (!ParseDouble(*review_sample, &percent) || !(percent >= 0 && percent <= 100))
            return InvalidArgument("--review-sample '" + *review_sample + "': expected a percentage from 0 to 100");
          FSML_RETURN_IF_ERROR(SetReviewSample(ws->meta(), p, static_cast<int>(std::lround(percent * 10))));
        }
        if (!collect_below->empty()) {
          std::optional<double> threshold;
          if (*collect_below != "off") {
            double v = 0;
            if (!ParseDouble(*collect_below, &v))
              return InvalidArgument("--collect-below '" + *collect_below + "': expected a probability in (0, 1] or \"off\"");
            threshold = v;
          }
          FSML_RETURN_IF_ERROR(SetCollectBelow(ws->meta(), p, threshold));
        }
        std::cout << "project '" << p.name << "': labels " << p.LabelList() << "; overlap " << p.overlap << "; review sample "
                  << Fixed(p.review_sample_permille / 10.0, 1) << "%; collecting production inputs "
                  << (p.collect_below ? "below " + Fixed(*p.collect_below, 2) : std::string("off")) << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = project->add_subcommand("require", "set or show the project's acceptance criteria, e.g. \"accuracy >= 0.90\"");
    auto name = std::make_shared<std::string>();
    auto criteria = std::make_shared<std::vector<std::string>>();
    auto clear = std::make_shared<bool>(false);
    cmd->add_option("NAME", *name, "project name")->required();
    cmd->add_option("CRITERION", *criteria,
                    "METRIC OP VALUE; metrics: accuracy, macro_f1, weighted_f1, macro_precision, macro_recall, log_loss, ece, "
                    "top3_accuracy, top5_accuracy, precision[LABEL], recall[LABEL], f1[LABEL]; OP: >= <= > <. "
                    "Replaces the current set; none: show it");
    cmd->add_flag("--clear", *clear, "remove every criterion");
    cmd->callback([&ctx, name, criteria, clear] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), *name));
        if (*clear && !criteria->empty()) return InvalidArgument("project require: give criteria or --clear, not both");
        if (*clear || !criteria->empty()) FSML_RETURN_IF_ERROR(SetRequirements(ws->meta(), p, *criteria, ws->user()));
        FSML_ASSIGN_OR_RETURN(auto texts, GetRequirements(ws->meta(), p.id));
        if (texts.empty()) std::cout << "project '" << p.name << "' has no requirements\n";
        for (const auto& t : texts) std::cout << t << "\n";
        return Status::Ok();
      });
    });
  }
}

}  // namespace fsml::cli
