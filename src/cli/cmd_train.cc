// fsml train | runs list|show|compare | reproduce
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/common.h"
#include "core/fs.h"
#include "data/import.h"
#include "data/versions.h"
#include "ml/train.h"
#include "registry/runs.h"

namespace fsml::cli {
namespace {

using RunRecord = ::fsml::Run;  // cli::Run() is the error-reporting wrapper

double RunSeconds(const RunRecord& r) {
  double s = 0;
  for (const auto& e : r.epochs) s += e.seconds;
  return s;
}

std::optional<double> BestVal(const RunRecord& r) {
  std::optional<double> best;
  for (const auto& e : r.epochs)
    if (e.val_accuracy && (!best || *e.val_accuracy > *best)) best = e.val_accuracy;
  return best;
}

// A text chart of one series: rows of '*' over epochs, min to max.
std::string AsciiCurve(const std::string& title, const std::vector<double>& ys, int height = 8) {
  if (ys.empty()) return "";
  double lo = *std::min_element(ys.begin(), ys.end()), hi = *std::max_element(ys.begin(), ys.end());
  if (hi - lo < 1e-12) hi = lo + 1e-12;
  std::ostringstream out;
  out << title << "\n";
  for (int row = height - 1; row >= 0; --row) {
    double level = lo + (hi - lo) * row / (height - 1);
    out << std::setw(8) << Fixed(level, 4) << " |";
    for (double y : ys) out << (std::lround((y - lo) / (hi - lo) * (height - 1)) == row ? " *" : "  ");
    out << "\n";
  }
  out << std::string(9, ' ') << "+" << std::string(ys.size() * 2, '-') << "\n" << std::string(10, ' ');
  for (size_t i = 0; i < ys.size(); ++i) out << std::setw(2) << (i + 1) % 100;
  out << "  (epoch)\n";
  return out.str();
}

// A self-contained HTML page with the run's curves as inline SVG.
std::string HtmlReport(const RunRecord& r) {
  auto polyline = [&](const std::vector<double>& ys, double lo, double hi, const char* color) {
    std::ostringstream p;
    p << "<polyline fill='none' stroke='" << color << "' stroke-width='2' points='";
    for (size_t i = 0; i < ys.size(); ++i) {
      double x = 50 + (ys.size() > 1 ? 500.0 * i / (ys.size() - 1) : 0);
      double y = 230 - 200 * (ys[i] - lo) / std::max(hi - lo, 1e-12);
      p << Fixed(x, 1) << "," << Fixed(y, 1) << " ";
    }
    p << "'/>";
    return p.str();
  };
  auto chart = [&](const std::string& title, const std::vector<std::pair<std::string, std::vector<double>>>& series) {
    double lo = 1e300, hi = -1e300;
    for (const auto& [name, ys] : series)
      for (double y : ys) lo = std::min(lo, y), hi = std::max(hi, y);
    if (lo > hi) return std::string();
    const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c"};
    std::ostringstream s;
    s << "<figure><figcaption>" << title << "</figcaption><svg width='600' height='260' role='img' aria-label='" << title
      << "'><rect x='50' y='30' width='500' height='200' fill='#fafafa' stroke='#ccc'/>"
      << "<text x='45' y='34' text-anchor='end' font-size='11'>" << Fixed(hi, 3) << "</text>"
      << "<text x='45' y='234' text-anchor='end' font-size='11'>" << Fixed(lo, 3) << "</text>"
      << "<text x='300' y='252' text-anchor='middle' font-size='11'>epoch 1 to " << r.epochs.size() << "</text>";
    for (size_t i = 0; i < series.size(); ++i) {
      s << polyline(series[i].second, lo, hi, colors[i % 3]);
      s << "<text x='" << 60 + 120 * i << "' y='20' font-size='12' fill='" << colors[i % 3] << "'>" << series[i].first << "</text>";
    }
    s << "</svg></figure>";
    return s.str();
  };
  std::vector<double> tl, vl, ta, va;
  for (const auto& e : r.epochs) {
    tl.push_back(e.train_loss);
    ta.push_back(e.train_accuracy);
    if (e.val_loss) vl.push_back(*e.val_loss);
    if (e.val_accuracy) va.push_back(*e.val_accuracy);
  }
  std::ostringstream h;
  h << "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>fsml run " << r.id
    << "</title><style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
       "td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}figure{display:inline-block;margin:1em}</style></head><body>"
    << "<h1>Run " << r.id << ": " << r.model << " on " << r.project << "@v" << r.version_number << "</h1><p>status "
    << r.status << ", seed " << r.seed << ", code " << r.code_version << ", host " << r.host << "</p>";
  h << chart("loss", {{"train", tl}, {"val", vl}}) << chart("accuracy", {{"train", ta}, {"val", va}});
  h << "<table><tr><th>epoch</th><th>train loss</th><th>train acc</th><th>val loss</th><th>val acc</th><th>lr</th><th>s</th></tr>";
  for (const auto& e : r.epochs)
    h << "<tr><td>" << e.epoch << "</td><td>" << Fixed(e.train_loss, 4) << "</td><td>" << Fixed(e.train_accuracy, 4) << "</td><td>"
      << (e.val_loss ? Fixed(*e.val_loss, 4) : "-") << "</td><td>" << (e.val_accuracy ? Fixed(*e.val_accuracy, 4) : "-")
      << "</td><td>" << Fixed(e.learning_rate, 6) << "</td><td>" << Fixed(e.seconds, 1) << "</td></tr>";
  h << "</table><h2>Parameters</h2><pre>" << r.params.dump(2) << "</pre><h2>Model</h2><pre>" << r.spec.dump(2)
    << "</pre></body></html>\n";
  return h.str();
}

struct TrainFlags {
  std::string ref;
  TrainOptions opt;
  std::vector<std::string> model_params;
  int64_t seed = -1;
  int64_t resume = 0;
  bool json = false;
};

Result<TrainResult> RunTraining(Workspace& ws, const std::string& ref_text, TrainOptions opt) {
  FSML_ASSIGN_OR_RETURN(MlModule * ml, LoadMlModule());
  Project project;
  DatasetVersion version;
  if (opt.resume_run) {
    FSML_ASSIGN_OR_RETURN(RunRecord run, GetRun(ws.meta(), *opt.resume_run));
    FSML_ASSIGN_OR_RETURN(project, GetProject(ws.meta(), run.project));
    FSML_ASSIGN_OR_RETURN(version, ResolveVersion(ws.meta(), project, "v" + std::to_string(run.version_number)));
  } else {
    FSML_ASSIGN_OR_RETURN(VersionRef ref, ParseVersionRef(ref_text));
    FSML_ASSIGN_OR_RETURN(project, GetProject(ws.meta(), ref.project));
    FSML_ASSIGN_OR_RETURN(version, ResolveVersion(ws.meta(), project, ref.ref));
  }
  return ml->Train(ws, project, version, opt);
}

}  // namespace

void RegisterTrainCommands(CLI::App& app, Context& ctx) {
  {
    auto* cmd = app.add_subcommand("train", "train a model on a dataset version (LibTorch), recorded as a run");
    auto f = std::make_shared<TrainFlags>();
    cmd->add_option("REF", f->ref, "dataset version, NAME@vN (not needed with --resume)");
    cmd->add_option("--model", f->opt.model, "mlp, cnn-small (default) or resnet");
    cmd->add_option("--model-param", f->model_params, "KEY=JSON model parameter, e.g. width=32 or hidden=[512,256]");
    cmd->add_option("--epochs", f->opt.epochs, "epochs (default: the model's recipe)");
    cmd->add_option("--batch-size", f->opt.batch_size, "batch size");
    cmd->add_option("--lr", f->opt.lr, "peak learning rate");
    cmd->add_option("--optimizer", f->opt.optimizer, "sgd (momentum, Nesterov) or adamw");
    cmd->add_option("--weight-decay", f->opt.weight_decay, "weight decay");
    cmd->add_option("--momentum", f->opt.momentum, "SGD momentum");
    cmd->add_option("--schedule", f->opt.schedule, "cosine, step or constant");
    cmd->add_option("--warmup-epochs", f->opt.warmup_epochs, "linear warm-up epochs");
    cmd->add_option("--label-smoothing", f->opt.label_smoothing, "label smoothing in [0, 1)");
    cmd->add_option("--patience", f->opt.patience, "early stopping: epochs without a better val accuracy (0 = off)");
    cmd->add_option("--seed", f->seed, "random seed (default 0)");
    cmd->add_option("--threads", f->opt.threads, "threads (default: all cores)");
    cmd->add_option("--augment", f->opt.augment, "train-time augmentation: crop[=PIXELS],flip,erase or 'none'");
    cmd->add_flag("--test", f->opt.evaluate_test, "evaluate the best epoch on the test split");
    cmd->add_option("--resume", f->resume, "continue run RUN from its last checkpoint");
    cmd->add_flag("--json", f->json, "print the result as JSON");
    cmd->callback([&ctx, f] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        TrainOptions opt = f->opt;
        opt.quiet = ctx.quiet;
        if (opt.augment == "none") opt.augment = "";
        if (f->seed >= 0) opt.seed = static_cast<uint64_t>(f->seed);
        if (f->resume > 0) opt.resume_run = f->resume;
        else if (f->ref.empty()) return InvalidArgument("train: give a dataset version (NAME@vN) or --resume RUN");
        for (const auto& kv : f->model_params) {
          size_t eq = kv.find('=');
          if (eq == std::string::npos) return InvalidArgument("--model-param '" + kv + "': expected KEY=VALUE");
          auto v = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
          if (v.is_discarded()) return InvalidArgument("--model-param '" + kv + "': the value is not JSON (e.g. 32 or [256,128])");
          opt.model_params[kv.substr(0, eq)] = v;
        }
        if (std::find(ModelNames().begin(), ModelNames().end(), opt.model) == ModelNames().end())
          return InvalidArgument("unknown model '" + opt.model + "' (models: mlp, cnn-small, resnet)");
        FSML_ASSIGN_OR_RETURN(TrainResult r, RunTraining(*ws, f->ref, opt));
        FSML_ASSIGN_OR_RETURN(RunRecord run, GetRun(ws->meta(), r.run_id));
        if (f->json) {
          PrintJson(RunToJson(run, true));
          return Status::Ok();
        }
        std::cout << "run " << r.run_id << " finished: " << r.model << " (" << WithThousands(r.parameters) << " parameters), "
                  << run.epochs.size() << " epochs in " << Duration(r.seconds);
        if (auto best = BestVal(run)) std::cout << ", best val accuracy " << Fixed(*best, 4) << " (epoch " << *run.best_epoch << ")";
        if (!r.test_metrics.is_null()) std::cout << ", test accuracy " << Fixed(r.test_metrics["accuracy"], 4);
        std::cout << "\n  fsml runs show " << r.run_id << "\n";
        return Status::Ok();
      });
    });
  }
  CLI::App* runs = app.add_subcommand("runs", "training runs: list, show, compare");
  runs->require_subcommand(1);
  {
    auto* cmd = runs->add_subcommand("list", "list runs, newest first");
    auto project = std::make_shared<std::string>();
    auto limit = std::make_shared<size_t>(50);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("NAME", *project, "only this project's runs");
    cmd->add_option("--limit", *limit, "at most this many runs (default 50)");
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, project, limit, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_RETURN_IF_ERROR(ReapDeadRuns(ws->meta()));
        FSML_ASSIGN_OR_RETURN(auto runs, ListRuns(ws->meta(), *project, *limit));
        std::vector<std::vector<std::string>> rows = {{"RUN", "DATASET", "MODEL", "STATUS", "EPOCHS", "BEST VAL", "TEST", "STARTED"}};
        nlohmann::json out = nlohmann::json::array();
        for (auto& r : runs) {
          FSML_ASSIGN_OR_RETURN(r, GetRun(ws->meta(), r.id));
          out.push_back(RunToJson(r, false));
          auto best = BestVal(r);
          rows.push_back({std::to_string(r.id), r.project + "@v" + std::to_string(r.version_number), r.model, r.status,
                          std::to_string(r.epochs.size()) + "/" + std::to_string(r.params.value("epochs", 0)),
                          best ? Fixed(*best, 4) : "-",
                          r.test_metrics.is_object() ? Fixed(r.test_metrics["accuracy"], 4) : "-", r.started_at.substr(0, 19)});
        }
        if (*json) PrintJson(out);
        else if (runs.empty()) std::cout << "no runs yet; fsml train NAME@vN --model cnn-small\n";
        else PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = runs->add_subcommand("show", "a run's metrics per epoch, curves, parameters and log");
    auto id = std::make_shared<int64_t>(0);
    auto json = std::make_shared<bool>(false);
    auto html = std::make_shared<std::string>();
    cmd->add_option("RUN", *id, "run id")->required();
    cmd->add_flag("--json", *json, "print JSON");
    cmd->add_option("--html", *html, "also write an HTML report with the curves to this file");
    cmd->callback([&ctx, id, json, html] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_RETURN_IF_ERROR(ReapDeadRuns(ws->meta()));
        FSML_ASSIGN_OR_RETURN(RunRecord r, GetRun(ws->meta(), *id));
        if (!html->empty()) FSML_RETURN_IF_ERROR(WriteFileAtomic(*html, HtmlReport(r)));
        if (*json) {
          PrintJson(RunToJson(r, true));
          return Status::Ok();
        }
        std::cout << "run       " << r.id << " (" << r.status << (r.error.empty() ? "" : ": " + r.error) << ")\n"
                  << "dataset   " << r.project << "@v" << r.version_number << "\n"
                  << "model     " << r.model << " " << r.spec["params"].dump() << ", " << WithThousands(r.spec.value("parameters", uint64_t{0}))
                  << " parameters\n"
                  << "params    " << r.params.dump() << "\n"
                  << "seed      " << r.seed << "\n"
                  << "code      " << r.code_version << " on " << r.host << "\n"
                  << "started   " << r.started_at << (r.ended_at.empty() ? "" : ", ended " + r.ended_at) << "\n";
        if (r.test_metrics.is_object())
          std::cout << "test      accuracy " << Fixed(r.test_metrics["accuracy"], 4) << ", loss " << Fixed(r.test_metrics["loss"], 4)
                    << " (" << r.test_metrics["items"] << " items, epoch " << r.test_metrics["epoch"] << ")\n";
        std::cout << "\n";
        std::vector<std::vector<std::string>> rows = {{"EPOCH", "TRAIN LOSS", "TRAIN ACC", "VAL LOSS", "VAL ACC", "LR", "SECONDS", "SAMPLES/S"}};
        std::vector<double> losses, accs;
        for (const auto& e : r.epochs) {
          rows.push_back({std::to_string(e.epoch) + (r.best_epoch && *r.best_epoch == e.epoch ? "*" : ""), Fixed(e.train_loss, 4),
                          Fixed(e.train_accuracy, 4), e.val_loss ? Fixed(*e.val_loss, 4) : "-",
                          e.val_accuracy ? Fixed(*e.val_accuracy, 4) : "-", Fixed(e.learning_rate, 6), Fixed(e.seconds, 1),
                          Fixed(e.samples_per_second, 0)});
          losses.push_back(e.train_loss);
          if (e.val_accuracy) accs.push_back(*e.val_accuracy);
        }
        PrintTable(rows);
        if (r.epochs.size() > 1) {
          std::cout << "\n" << AsciiCurve("train loss", losses);
          if (!accs.empty()) std::cout << "\n" << AsciiCurve("val accuracy", accs);
        }
        if (!html->empty()) std::cout << "\nwrote " << *html << "\n";
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = runs->add_subcommand("compare", "two runs side by side: parameters that differ and metrics");
    auto a = std::make_shared<int64_t>(0), b = std::make_shared<int64_t>(0);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("A", *a, "run id")->required();
    cmd->add_option("B", *b, "run id")->required();
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, a, b, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(RunRecord ra, GetRun(ws->meta(), *a));
        FSML_ASSIGN_OR_RETURN(RunRecord rb, GetRun(ws->meta(), *b));
        nlohmann::json fa = {{"dataset", ra.project + "@v" + std::to_string(ra.version_number)}, {"model", ra.model},
                             {"model_params", ra.spec["params"]}, {"code_version", ra.code_version}};
        nlohmann::json fb = {{"dataset", rb.project + "@v" + std::to_string(rb.version_number)}, {"model", rb.model},
                             {"model_params", rb.spec["params"]}, {"code_version", rb.code_version}};
        fa.update(ra.params);
        fb.update(rb.params);
        nlohmann::json diff = nlohmann::json::object();
        for (const auto& [k, v] : fa.items())
          if (!fb.contains(k) || fb[k] != v) diff[k] = {v, fb.value(k, nlohmann::json())};
        for (const auto& [k, v] : fb.items())
          if (!fa.contains(k)) diff[k] = {nlohmann::json(), v};
        auto metrics = [](const RunRecord& r) {
          auto best = BestVal(r);
          return nlohmann::json{{"status", r.status},
                                {"epochs", r.epochs.size()},
                                {"final_train_loss", r.epochs.empty() ? nlohmann::json() : nlohmann::json(r.epochs.back().train_loss)},
                                {"best_val_accuracy", best ? nlohmann::json(*best) : nlohmann::json()},
                                {"test_accuracy", r.test_metrics.is_object() ? r.test_metrics["accuracy"] : nlohmann::json()},
                                {"seconds", RunSeconds(r)}};
        };
        nlohmann::json ma = metrics(ra), mb = metrics(rb);
        if (*json) {
          PrintJson({{"a", ra.id}, {"b", rb.id}, {"differences", diff}, {"metrics", {{"a", ma}, {"b", mb}}}});
          return Status::Ok();
        }
        std::vector<std::vector<std::string>> rows = {{"", "RUN " + std::to_string(ra.id), "RUN " + std::to_string(rb.id), "DELTA"}};
        for (const auto& [k, v] : diff.items()) rows.push_back({k, v[0].dump(), v[1].dump(), ""});
        if (diff.empty()) rows.push_back({"(parameters)", "same", "same", ""});
        for (const char* k : {"epochs", "final_train_loss", "best_val_accuracy", "test_accuracy", "seconds"}) {
          std::string delta;
          if (ma[k].is_number() && mb[k].is_number()) delta = Fixed(mb[k].get<double>() - ma[k].get<double>(), 4);
          auto show = [](const nlohmann::json& v) { return v.is_number_float() ? Fixed(v.get<double>(), 4) : v.is_null() ? "-" : v.dump(); };
          rows.push_back({k, show(ma[k]), show(mb[k]), delta});
        }
        PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  {
    auto* cmd = app.add_subcommand("reproduce", "reproduce published results on a public benchmark (fashion-mnist)");
    auto bench = std::make_shared<std::string>();
    auto models = std::make_shared<std::string>("mlp,cnn-small");
    auto scale = std::make_shared<double>(1.0);
    auto threads = std::make_shared<int>(0);
    cmd->add_option("BENCHMARK", *bench, "fashion-mnist")->required();
    cmd->add_option("--models", *models, "comma-separated: mlp, cnn-small, resnet (default mlp,cnn-small)");
    cmd->add_option("--epochs-scale", *scale, "multiply each recipe's epochs (default 1; e.g. 0.2 for a quick check)");
    cmd->add_option("--threads", *threads, "threads (default: all cores)");
    cmd->callback([&ctx, bench, models, scale, threads] {
      Run(ctx, [&]() -> Status {
        if (*bench != "fashion-mnist") return InvalidArgument("unknown benchmark '" + *bench + "' (known: fashion-mnist)");
        if (!(*scale > 0 && *scale <= 100)) return InvalidArgument("--epochs-scale must be in (0, 100]");
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(auto model_list, ParseLabelList(*models));
        for (const auto& m : model_list)
          if (std::find(ModelNames().begin(), ModelNames().end(), m) == ModelNames().end())
            return InvalidArgument("unknown model '" + m + "' (models: mlp, cnn-small, resnet)");
        auto project = GetProject(ws->meta(), "fashion");
        if (!project) {
          FSML_RETURN_IF_ERROR(ImportAndReport(*ws, {"fashion", "", "fashion-mnist", "", false}));
          FSML_ASSIGN_OR_RETURN(project, GetProject(ws->meta(), "fashion"));
        }
        auto version = ResolveVersion(ws->meta(), *project, "");
        if (!version) {
          FSML_ASSIGN_OR_RETURN(version, CommitVersion(*ws, *project, {"Fashion-MNIST, official train/test split", ws->user(), false}));
          std::cout << "committed fashion@v" << version->number << "\n";
        }
        struct Published { const char* name; double acc; const char* source; int epochs; };
        std::map<std::string, Published> published = {
            {"mlp", {"MLP 256-128-100", 0.8833, "fashion-mnist README benchmark table (@heitorrapela)", 30}},
            {"cnn-small", {"2 Conv <100K parameters", 0.925, "fashion-mnist README benchmark table (@hardmaru)", 30}},
            {"resnet", {"ResNet18 (flips, translation, rotation)", 0.949, "fashion-mnist README benchmark table (Kyriakos Efthymiadis)", 15}}};
        nlohmann::json table = nlohmann::json::array();
        std::ostringstream md;
        md << "# fsml reproduce fashion-mnist\n\nDataset fashion@v" << version->number
           << " (official 10,000-image test split). Best listed result: WRN-40-4, 0.967.\n\n"
           << "| model | parameters | epochs | wall time | our test accuracy | published | source | run |\n"
           << "|---|---|---|---|---|---|---|---|\n";
        for (const auto& m : model_list) {
          TrainOptions opt;
          opt.model = m;
          opt.epochs = std::max(1, static_cast<int>(std::lround(published[m].epochs * *scale)));
          opt.threads = *threads;
          opt.evaluate_test = true;
          opt.quiet = ctx.quiet;
          std::cout << "== " << m << ": " << opt.epochs << " epochs\n";
          FSML_ASSIGN_OR_RETURN(TrainResult r, RunTraining(*ws, "fashion@v" + std::to_string(version->number), opt));
          double acc = r.test_metrics["accuracy"];
          table.push_back({{"model", m}, {"parameters", r.parameters}, {"epochs", opt.epochs}, {"seconds", r.seconds},
                           {"test_accuracy", acc}, {"published", published[m].name}, {"published_accuracy", published[m].acc},
                           {"source", published[m].source}, {"run", r.run_id}});
          md << "| " << m << " | " << WithThousands(r.parameters) << " | " << opt.epochs << " | " << Duration(r.seconds) << " | "
             << Fixed(acc, 4) << " | " << published[m].name << ": " << Fixed(published[m].acc, 4) << " | " << published[m].source
             << " | " << r.run_id << " |\n";
        }
        FSML_ASSIGN_OR_RETURN(MlModule * ml, LoadMlModule());
        nlohmann::json report = {{"benchmark", "fashion-mnist"}, {"dataset", "fashion@v" + std::to_string(version->number)},
                                 {"runtime", ml->Runtime()}, {"results", table}};
        md << "\nRuntime: " << ml->Runtime().dump() << "\n";
        fs::path dir = ws->root() / "reports";
        FSML_RETURN_IF_ERROR(MakeDirs(dir));
        FSML_RETURN_IF_ERROR(WriteFileAtomic(dir / "reproduce-fashion-mnist.md", md.str()));
        FSML_RETURN_IF_ERROR(WriteFileAtomic(dir / "reproduce-fashion-mnist.json", report.dump(2) + "\n"));
        std::cout << "\n" << md.str() << "\nsaved " << (dir / "reproduce-fashion-mnist.md").string() << " and .json\n";
        return Status::Ok();
      });
    });
  }
}

}  // namespace fsml::cli
