// fsml import NAME [SOURCE] [--format ...]
#include <iomanip>
#include <iostream>

#include "cli/common.h"
#include "core/fs.h"
#include "data/import.h"

namespace fsml::cli {

static Result<std::string> GuessFormat(const fs::path& source) {
  std::error_code ec;
  std::string ext = source.extension().string();
  if (ext == ".jsonl" || ext == ".ndjson") return std::string("jsonl");
  if (ext == ".csv") return std::string("csv");
  if (fs::is_directory(source, ec)) {
    for (const auto& e : fs::directory_iterator(source, ec))
      if (e.path().filename().string().find("-images-idx3-ubyte") != std::string::npos)
        return Err(InvalidArgument(source.string() + " holds idx files: pass --format fashion-mnist, or --format idx --label-names ..."));
    return std::string("imagefolder");
  }
  return Err(InvalidArgument("cannot tell the format of " + source.string() +
                             "; pass --format fashion-mnist|idx|imagefolder|jsonl|csv"));
}

Status ImportAndReport(Workspace& ws, const ImportRequest& req) {
  std::string format_name = req.format;
  fs::path source = req.source;
  if (source.empty()) {
    if (format_name != "fashion-mnist")
      return InvalidArgument("import: SOURCE is required (only --format fashion-mnist has a default)");
    source = kFashionMnistDir;
    std::error_code ec;
    if (!fs::exists(source, ec))
      return NotFound(source.string() + " is missing: install Debian's dataset-fashion-mnist (scripts/setup.sh does)");
  }
  if (format_name.empty()) {
    FSML_ASSIGN_OR_RETURN(format_name, GuessFormat(source));
  }
  ImportOptions opt;
  FSML_ASSIGN_OR_RETURN(opt.format, ParseImportFormat(format_name));
  opt.skip_duplicates = req.skip_duplicates;
  if (!req.label_names.empty()) {
    FSML_ASSIGN_OR_RETURN(opt.label_names, ParseLabelList(req.label_names));
  }

  if (opt.format == ImportFormat::kIdx && opt.label_names.empty())
    return InvalidArgument("--format idx needs --label-names (names for label values 0, 1, ...)");
  auto project = GetProject(ws.meta(), req.project);
  bool created = false;
  if (!project && project.error().code() == Code::kNotFound &&
      (opt.format == ImportFormat::kFashionMnist || (opt.format == ImportFormat::kIdx && !opt.label_names.empty()))) {
    ProjectSpec spec;
    spec.name = req.project;
    spec.type = TaskType::kImageClassification;
    spec.labels = opt.label_names.empty() ? FashionMnistLabels() : opt.label_names;
    // The benchmark's own test set is the test split; 10% of its training set
    // is carved out for validation.
    spec.ratios = SplitRatios{900, 100, 0};
    project = CreateProject(ws.meta(), spec, ws.user());
    created = project.has_value();
  }
  if (!project) {
    if (project.error().code() == Code::kNotFound)
      return NotFound(project.error().message() + "; create it first: fsml project create " + req.project +
                      " --type image-classification|text-classification --labels a,b,c");
    return project.error();
  }
  auto imported = ImportItems(ws, *project, source, opt);
  if (!imported) {
    // A failed import leaves the workspace as it was: no project made for it.
    if (created) DeleteEmptyProject(ws.meta(), *project).IgnoreError();
    return imported.error();
  }
  const ImportSummary& sum = *imported;
  if (created) std::cout << "created project '" << project->name << "' with labels " << project->LabelList() << "\n";
  std::cout << "imported " << WithThousands(sum.records) << " records from " << source.string() << " into '"
            << project->name << "' in " << std::fixed << std::setprecision(1) << sum.seconds << " s: "
            << WithThousands(sum.added) << " new";
  if (!sum.added_per_split.empty()) {
    std::cout << " (";
    bool first = true;
    for (const char* sp : {"train", "val", "test"}) {
      auto it = sum.added_per_split.find(sp);
      if (it == sum.added_per_split.end()) continue;
      std::cout << (first ? "" : ", ") << sp << " " << WithThousands(it->second);
      first = false;
    }
    std::cout << ")";
  }
  std::cout << ", " << WithThousands(sum.present) << " already present, " << WithThousands(sum.relabeled)
            << " relabeled";
  if (sum.duplicates) std::cout << ", " << WithThousands(sum.duplicates) << " duplicates skipped";
  std::cout << "\n";
  return Status::Ok();
}

void RegisterImportCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("import", "import items and labels into a project (idx, image folder, JSONL, CSV)");
  auto req = std::make_shared<ImportRequest>();
  cmd->add_option("NAME", req->project, "project name")->required();
  cmd->add_option("SOURCE", req->source, "file or folder to import (fashion-mnist: defaults to Debian's copy)");
  cmd->add_option("--format", req->format, "fashion-mnist, idx, imagefolder, jsonl or csv (default: from SOURCE)");
  cmd->add_option("--label-names", req->label_names, "idx: comma-separated names of label values 0, 1, ...");
  cmd->add_flag("--skip-duplicates", req->skip_duplicates, "keep the first of repeated items instead of failing");
  cmd->callback([&ctx, req] {
    Run(ctx, [&]() -> Status {
      FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
      return ImportAndReport(*ws, *req);
    });
  });
}

}  // namespace fsml::cli
