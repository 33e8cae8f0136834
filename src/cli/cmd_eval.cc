// fsml predict | eval [compare|list|show]
#include <algorithm>
#include <iostream>
#include <map>
#include <numeric>

#include "cli/common.h"
#include "core/fs.h"
#include "core/progress.h"
#include "data/project.h"
#include "data/versions.h"
#include "eval/label_issues.h"
#include "eval/report.h"
#include "ml/inference.h"
#include "registry/evaluations.h"
#include "registry/runs.h"

namespace fsml::cli {
namespace {

constexpr uint64_t kMaxPredictFileBytes = 64ull << 20;

struct Scored {
  size_t row;
  int64_t predicted;
  double confidence;
};

// Wrong predictions, most confident first.
std::vector<Scored> ConfidentMistakes(const Predictions& p, size_t limit) {
  size_t k = p.labels.size();
  auto pred = eval::Predictions(p.probs, k);
  std::vector<Scored> out;
  for (size_t i = 0; i < p.items.size(); ++i)
    if (pred[i] != p.truth[i]) out.push_back({i, pred[i], p.probs[i * k + pred[i]]});
  std::stable_sort(out.begin(), out.end(), [](const Scored& a, const Scored& b) { return a.confidence > b.confidence; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

// Per class: the items of that class with the lowest probability on it.
nlohmann::json HardestPerClass(const Predictions& p, size_t per_class) {
  size_t k = p.labels.size();
  auto pred = eval::Predictions(p.probs, k);
  nlohmann::json out = nlohmann::json::object();
  for (size_t c = 0; c < k; ++c) {
    std::vector<size_t> rows;
    for (size_t i = 0; i < p.items.size(); ++i)
      if (p.truth[i] == static_cast<int64_t>(c)) rows.push_back(i);
    std::stable_sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return p.probs[a * k + c] < p.probs[b * k + c]; });
    nlohmann::json list = nlohmann::json::array();
    for (size_t j = 0; j < std::min(per_class, rows.size()); ++j)
      list.push_back({{"item", p.items[rows[j]]}, {"probability", p.probs[rows[j] * k + c]}, {"predicted", p.labels[pred[rows[j]]]}});
    out[p.labels[c]] = list;
  }
  return out;
}

Result<eval::ReportItem> ReportItemFor(Workspace& ws, const std::string& id, std::string given, std::string predicted,
                                       double confidence, double score) {
  eval::ReportItem it;
  it.item_id = id;
  it.given = std::move(given);
  it.predicted = std::move(predicted);
  it.confidence = confidence;
  it.score = score;
  FSML_ASSIGN_OR_RETURN(auto media, ws.meta().QueryText("SELECT media_type FROM items WHERE id = ?", {id}));
  it.media_type = media.value_or("");
  if (it.media_type == "text/plain") it.media_type.clear();
  FSML_ASSIGN_OR_RETURN(it.content, ws.blobs().Get(id, /*verify=*/true));
  return it;
}

Status WriteHtmlReport(Workspace& ws, const Evaluation& e, const Predictions& p,
                       const std::vector<eval::RequirementResult>& reqs, const std::string& path) {
  eval::ReportInput in;
  in.evaluation_id = e.id;
  in.model = e.model;
  in.dataset = e.project + "@v" + std::to_string(e.version_number);
  in.split = e.split;
  in.created_at = e.created_at;
  in.seconds = e.seconds;
  in.metrics = e.metrics;
  in.requirements = reqs;
  size_t k = p.labels.size();
  for (const auto& m : ConfidentMistakes(p, 24)) {
    FSML_ASSIGN_OR_RETURN(auto it, ReportItemFor(ws, p.items[m.row], p.labels[p.truth[m.row]], p.labels[m.predicted],
                                                 m.confidence, 0));
    in.worst_errors.push_back(std::move(it));
  }
  if (e.label_issues.is_array()) {
    size_t shown = 0;
    for (const auto& li : e.label_issues) {
      if (shown++ >= 24) break;
      std::string id = li["item"];
      size_t row = static_cast<size_t>(std::find(p.items.begin(), p.items.end(), id) - p.items.begin());
      double conf = row < p.items.size() ? *std::max_element(p.probs.begin() + row * k, p.probs.begin() + (row + 1) * k) : 0.0;
      FSML_ASSIGN_OR_RETURN(auto it, ReportItemFor(ws, id, li["given"], li["suggested"], conf, li["score"]));
      in.label_issues.push_back(std::move(it));
    }
  }
  return WriteFileAtomic(path, eval::RenderReport(in));
}

void PrintEvaluation(const Evaluation& e, const Predictions& p, const std::vector<eval::RequirementResult>& reqs) {
  const eval::Metrics& m = e.metrics;
  std::cout << "evaluation " << e.id << ": " << e.model << " on " << e.project << "@v" << e.version_number << " " << e.split << " ("
            << WithThousands(m.items) << " items in " << Duration(e.seconds) << ", "
            << WithThousands(static_cast<uint64_t>(m.items / std::max(e.seconds, 1e-9))) << " items/s)\n";
  std::cout << "accuracy " << Fixed(m.accuracy, 4) << "   macro F1 " << Fixed(m.macro_f1, 4) << "   weighted F1 "
            << Fixed(m.weighted_f1, 4);
  for (const auto& [kk, acc] : m.top_k)
    if (kk > 1) std::cout << "   top-" << kk << " " << Fixed(acc, 4);
  std::cout << "   log loss " << Fixed(m.log_loss, 4) << "   ECE " << Fixed(m.ece, 4) << "\n\n";
  std::vector<std::vector<std::string>> rows = {{"LABEL", "PRECISION", "RECALL", "F1", "SUPPORT", "PREDICTED"}};
  for (const auto& c : m.per_class)
    rows.push_back({c.label, Fixed(c.precision, 4), Fixed(c.recall, 4), Fixed(c.f1, 4), WithThousands(c.support),
                    WithThousands(c.predicted)});
  PrintTable(rows);
  if (m.labels.size() <= 20) {
    std::cout << "\nconfusion (rows: true label, columns: predicted, in label order)\n";
    std::vector<std::vector<std::string>> cm = {{""}};
    for (size_t j = 0; j < m.labels.size(); ++j) cm[0].push_back(std::to_string(j));
    for (size_t i = 0; i < m.labels.size(); ++i) {
      std::vector<std::string> row = {std::to_string(i) + " " + m.labels[i]};
      for (uint64_t v : m.confusion[i]) row.push_back(std::to_string(v));
      cm.push_back(row);
    }
    PrintTable(cm);
  }
  if (!reqs.empty()) {
    std::cout << "\nrequirements:\n";
    for (const auto& r : reqs)
      std::cout << "  " << (r.passed ? "PASS " : "FAIL ") << r.requirement.text << "   (is "
                << (r.actual ? Fixed(*r.actual, 4) : std::string("not measured")) << ")\n";
  }
  auto mistakes = ConfidentMistakes(p, 10);
  if (!mistakes.empty()) {
    std::cout << "\nmost confident mistakes:\n";
    std::vector<std::vector<std::string>> mr = {{"ITEM", "GIVEN", "PREDICTED", "CONFIDENCE"}};
    for (const auto& x : mistakes)
      mr.push_back({p.items[x.row].substr(0, 16), p.labels[p.truth[x.row]], p.labels[x.predicted], Fixed(x.confidence, 4)});
    PrintTable(mr);
  }
  if (e.label_issues.is_array()) {
    std::cout << "\nsuspected label errors: " << WithThousands(e.label_issues.size()) << " of " << WithThousands(m.items)
              << " items (confident learning on out-of-sample probabilities)\n";
    std::vector<std::vector<std::string>> lr = {{"ITEM", "GIVEN", "SUGGESTED", "SCORE"}};
    for (size_t i = 0; i < std::min<size_t>(10, e.label_issues.size()); ++i) {
      const auto& li = e.label_issues[i];
      lr.push_back({li["item"].get<std::string>().substr(0, 16), li["given"], li["suggested"], Fixed(li["score"], 4)});
    }
    if (!e.label_issues.empty()) PrintTable(lr);
  }
}

Result<Predictions> LoadPredictions(Workspace& ws, const Evaluation& e) {
  FSML_ASSIGN_OR_RETURN(std::string bytes, ws.blobs().Get(e.predictions_key, /*verify=*/true));
  return DecodePredictions(bytes, "predictions of evaluation " + std::to_string(e.id));
}

Result<std::vector<eval::RequirementResult>> RequirementsFor(Workspace& ws, const Evaluation& e) {
  FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws.meta(), e.project));
  FSML_ASSIGN_OR_RETURN(auto reqs, ParsedRequirements(ws.meta(), project));
  return eval::CheckRequirements(reqs, e.metrics);
}

// Prints evaluation `e` (and writes its report) from its predictions `p`.
Status ShowEvaluation(Workspace& ws, const Evaluation& e, const Predictions& p, bool json, const std::string& html) {
  FSML_ASSIGN_OR_RETURN(auto reqs, RequirementsFor(ws, e));
  if (!html.empty()) FSML_RETURN_IF_ERROR(WriteHtmlReport(ws, e, p, reqs, html));
  if (json) {
    nlohmann::json out = EvaluationToJson(e, reqs);
    nlohmann::json mistakes = nlohmann::json::array();
    for (const auto& x : ConfidentMistakes(p, 50))
      mistakes.push_back({{"item", p.items[x.row]}, {"given", p.labels[p.truth[x.row]]}, {"predicted", p.labels[x.predicted]},
                          {"confidence", x.confidence}});
    out["confident_mistakes"] = mistakes;
    out["hardest_per_class"] = HardestPerClass(p, 5);
    PrintJson(out);
  } else {
    PrintEvaluation(e, p, reqs);
    if (!html.empty()) std::cout << "\nreport: " << html << "\n";
  }
  return Status::Ok();
}

Status ShowEvaluation(Workspace& ws, int64_t id, bool json, const std::string& html) {
  FSML_ASSIGN_OR_RETURN(Evaluation e, GetEvaluation(ws.meta(), id));
  FSML_ASSIGN_OR_RETURN(Predictions p, LoadPredictions(ws, e));
  return ShowEvaluation(ws, e, p, json, html);
}

struct EvalFlags {
  std::string model, dataset, split = "test", html;
  bool json = false, label_issues = false;
  int folds = 5, cv_epochs = 0, threads = 0;
};

Status RunEval(Context& ctx, const EvalFlags& f) {
  FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
  FSML_ASSIGN_OR_RETURN(ModelRef mref, ParseModelRef(f.model));
  FSML_ASSIGN_OR_RETURN(VersionRef vref, ParseVersionRef(f.dataset));
  FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws->meta(), vref.project));
  FSML_ASSIGN_OR_RETURN(DatasetVersion version, ResolveVersion(ws->meta(), project, vref.ref));
  FSML_ASSIGN_OR_RETURN(Split split, ParseSplit(f.split));
  ModelCache cache(f.threads);
  FSML_ASSIGN_OR_RETURN(auto model, cache.Get(*ws, mref));
  FSML_ASSIGN_OR_RETURN(SplitEvaluation se, EvaluateSplit(*ws, *model, project, version, split, f.threads));
  nlohmann::json label_issues;
  if (f.label_issues) {
    CrossValOptions cv;
    cv.folds = f.folds;
    cv.epochs = f.cv_epochs;
    cv.threads = f.threads;
    cv.quiet = ctx.quiet;
    std::cerr << "label issues: " << f.folds << "-fold cross-validation of " << model->version.architecture << " on "
              << project.name << "@v" << version.number << " " << SplitName(split) << "\n";
    FSML_ASSIGN_OR_RETURN(LabelIssueSearch found, FindSplitLabelIssues(*ws, *model, project, version, split, cv));
    std::cerr << "label issues: " << found.list.size() << " suspected in " << Duration(found.seconds) << " (" << found.folds
              << " folds, " << found.epochs << " epoch(s) each)\n";
    label_issues = std::move(found.list);
  }
  FSML_ASSIGN_OR_RETURN(int64_t id, StoreEvaluation(*ws, *model, project, version, split, se, ws->user(), std::move(label_issues)));
  FSML_ASSIGN_OR_RETURN(Evaluation saved, GetEvaluation(ws->meta(), id));
  return ShowEvaluation(*ws, saved, se.predictions, f.json, f.html);  // the predictions just stored
}

Status Compare(Workspace& ws, int64_t a_id, int64_t b_id, bool json) {
  FSML_ASSIGN_OR_RETURN(Evaluation a, GetEvaluation(ws.meta(), a_id));
  FSML_ASSIGN_OR_RETURN(Evaluation b, GetEvaluation(ws.meta(), b_id));
  FSML_ASSIGN_OR_RETURN(Predictions pa, LoadPredictions(ws, a));
  FSML_ASSIGN_OR_RETURN(Predictions pb, LoadPredictions(ws, b));
  std::string da = a.project + "@v" + std::to_string(a.version_number) + " " + a.split;
  std::string db = b.project + "@v" + std::to_string(b.version_number) + " " + b.split;
  FSML_ASSIGN_OR_RETURN(PairedPredictions pp, PairPredictions(pa, pb, "evaluation " + std::to_string(a_id) + " (" + da + ")",
                                                              "evaluation " + std::to_string(b_id) + " (" + db + ")"));
  uint64_t paired = pp.paired, fixed = pp.fixed.size(), broken = pp.broken.size(), both_right = pp.both_right,
           both_wrong = pp.both_wrong;
  nlohmann::json fixed_items = nlohmann::json::array(), broken_items = nlohmann::json::array();
  for (size_t i = 0; i < std::min<size_t>(20, pp.fixed.size()); ++i) fixed_items.push_back(pa.items[pp.fixed[i].first]);
  for (size_t i = 0; i < std::min<size_t>(20, pp.broken.size()); ++i) broken_items.push_back(pa.items[pp.broken[i].first]);
  eval::McNemarResult mc = eval::McNemar(broken, fixed);
  struct Row {
    const char* name;
    double va, vb;
    bool higher_better;
  };
  const eval::Metrics &ma = a.metrics, &mb = b.metrics;
  std::vector<Row> rows = {{"accuracy", ma.accuracy, mb.accuracy, true},  {"macro_f1", ma.macro_f1, mb.macro_f1, true},
                           {"weighted_f1", ma.weighted_f1, mb.weighted_f1, true}, {"log_loss", ma.log_loss, mb.log_loss, false},
                           {"ece", ma.ece, mb.ece, false}};
  nlohmann::json out = {{"a", {{"id", a.id}, {"model", a.model}, {"dataset", da}}},
                        {"b", {{"id", b.id}, {"model", b.model}, {"dataset", db}}},
                        {"paired_items", paired},
                        {"fixed", fixed},
                        {"broken", broken},
                        {"both_right", both_right},
                        {"both_wrong", both_wrong},
                        {"mcnemar", {{"b", mc.b}, {"c", mc.c}, {"statistic", mc.statistic}, {"p_value", mc.p_value}, {"exact", mc.exact}}},
                        {"fixed_items", fixed_items},
                        {"broken_items", broken_items}};
  for (const auto& r : rows) out["metrics"][r.name] = {{"a", r.va}, {"b", r.vb}, {"delta", r.vb - r.va}};
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t i = 0; i < ma.per_class.size(); ++i) {
    size_t j = static_cast<size_t>(std::find(pb.labels.begin(), pb.labels.end(), ma.per_class[i].label) - pb.labels.begin());
    if (j >= mb.per_class.size()) continue;
    per_class[ma.per_class[i].label] = {{"a", ma.per_class[i].f1}, {"b", mb.per_class[j].f1}, {"delta", mb.per_class[j].f1 - ma.per_class[i].f1}};
  }
  out["per_class_f1"] = per_class;
  if (json) {
    PrintJson(out);
    return Status::Ok();
  }
  std::cout << "A = evaluation " << a.id << ": " << a.model << " on " << da << "\nB = evaluation " << b.id << ": " << b.model << " on "
            << db << "\n" << WithThousands(paired) << " items in both\n\n";
  std::vector<std::vector<std::string>> t = {{"METRIC", "A", "B", "B - A", ""}};
  for (const auto& r : rows) {
    double d = r.vb - r.va;
    bool better = r.higher_better ? d > 0 : d < 0;
    t.push_back({r.name, Fixed(r.va, 4), Fixed(r.vb, 4), (d >= 0 ? "+" : "") + Fixed(d, 4), d == 0 ? "" : better ? "better" : "worse"});
  }
  PrintTable(t);
  std::cout << "\nper-class F1:\n";
  std::vector<std::vector<std::string>> pc = {{"LABEL", "A", "B", "B - A"}};
  for (const auto& [label, v] : per_class.items())
    pc.push_back({label, Fixed(v["a"], 4), Fixed(v["b"], 4), (v["delta"].get<double>() >= 0 ? "+" : "") + Fixed(v["delta"], 4)});
  PrintTable(pc);
  std::cout << "\nfixed by B (A wrong, B right): " << WithThousands(fixed) << "\nbroken by B (A right, B wrong): "
            << WithThousands(broken) << "\nMcNemar's test: " << (mc.exact ? "exact binomial" : "chi-squared " + Fixed(mc.statistic, 3))
            << ", p = " << (mc.p_value < 1e-4 ? "< 0.0001" : Fixed(mc.p_value, 4))
            << (mc.p_value < 0.05 ? " (the difference is significant at 0.05)" : " (not significant at 0.05)") << "\n";
  return Status::Ok();
}

Status Predict(Context& ctx, const std::string& ref, const std::vector<std::string>& inputs, size_t top_k, bool json) {
  FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
  FSML_ASSIGN_OR_RETURN(ModelRef mref, ParseModelRef(ref));
  ModelCache cache;
  FSML_ASSIGN_OR_RETURN(auto model, cache.Get(*ws, mref));
  if (top_k == 0) return InvalidArgument("--top-k must be at least 1");
  std::vector<std::pair<std::string, std::string>> images;
  for (const auto& path : inputs) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      return InvalidArgument("predict: '" + path.substr(0, 200) + "' is not a readable file (" + model->ref() +
                             " classifies images; give image files)");
    FSML_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, kMaxPredictFileBytes));
    images.emplace_back(path, std::move(bytes));
  }
  FSML_ASSIGN_OR_RETURN(auto probs, PredictImages(*model, images));
  size_t k = model->labels.size();
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < images.size(); ++i) {
    auto top = TopK(*model, probs.data() + i * k, top_k);
    nlohmann::json t = nlohmann::json::array();
    for (const auto& [label, p] : top) t.push_back({{"label", label}, {"probability", p}});
    std::vector<float> all(probs.begin() + i * k, probs.begin() + (i + 1) * k);
    out.push_back({{"input", images[i].first}, {"label", top[0].first}, {"probability", top[0].second}, {"top", t},
                   {"probabilities", all}});
    if (!json) {
      std::cout << images[i].first << ": ";
      for (size_t j = 0; j < top.size(); ++j) std::cout << (j ? ", " : "") << top[j].first << " " << Fixed(top[j].second, 4);
      std::cout << "\n";
    }
  }
  if (json) PrintJson({{"model", model->ref()}, {"predictions", out}});
  return Status::Ok();
}

}  // namespace

void RegisterEvalCommands(CLI::App& app, Context& ctx) {
  {
    auto* cmd = app.add_subcommand("predict", "classify image files with a registered model");
    auto ref = std::make_shared<std::string>();
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto top_k = std::make_shared<size_t>(3);
    auto json = std::make_shared<bool>(false);
    cmd->add_option("REF", *ref, "NAME@ALIAS, NAME/N or NAME")->required();
    cmd->add_option("FILE", *inputs, "image files")->required();
    cmd->add_option("--top-k", *top_k, "show the K most likely labels (default 3)");
    cmd->add_flag("--json", *json, "print JSON (with every class probability)");
    cmd->callback([&ctx, ref, inputs, top_k, json] { Run(ctx, [&] { return Predict(ctx, *ref, *inputs, *top_k, *json); }); });
  }
  auto* cmd = app.add_subcommand("eval", "evaluate a model on a dataset version; compare, list and show evaluations");
  auto f = std::make_shared<EvalFlags>();
  cmd->add_option("MODEL", f->model, "NAME/N, NAME@ALIAS or NAME");
  cmd->add_option("DATASET", f->dataset, "NAME@vN, NAME@TAG or NAME (latest)");
  cmd->add_option("--split", f->split, "train, val or test (default test)");
  cmd->add_option("--html", f->html, "also write a self-contained HTML report to this file");
  cmd->add_flag("--json", f->json, "print JSON");
  cmd->add_flag("--find-label-issues", f->label_issues, "find suspected label errors by k-fold cross-validation (trains k models)");
  cmd->add_option("--folds", f->folds, "cross-validation folds for --find-label-issues (default 5)");
  cmd->add_option("--cv-epochs", f->cv_epochs, "epochs per fold (default: the run's, at most 5)");
  cmd->add_option("--threads", f->threads, "threads (default: all cores)");
  cmd->require_subcommand(0, 1);
  cmd->callback([&ctx, f, cmd] {
    if (!cmd->get_subcommands().empty()) return;
    Run(ctx, [&]() -> Status {
      if (f->model.empty() || f->dataset.empty())
        return InvalidArgument("eval: give a model and a dataset version, e.g. fsml eval fashion@production fashion@v1");
      return RunEval(ctx, *f);
    });
  });
  {
    auto* c = cmd->add_subcommand("compare", "metric deltas, items fixed and broken, McNemar's test");
    auto a = std::make_shared<int64_t>(0), b = std::make_shared<int64_t>(0);
    auto json = std::make_shared<bool>(false);
    c->add_option("A", *a, "evaluation id")->required();
    c->add_option("B", *b, "evaluation id")->required();
    c->add_flag("--json", *json, "print JSON");
    c->callback([&ctx, a, b, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        return Compare(*ws, *a, *b, *json);
      });
    });
  }
  {
    auto* c = cmd->add_subcommand("list", "evaluations, newest first");
    auto model = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto limit = std::make_shared<size_t>(50);
    c->add_option("MODEL", *model, "only this model's");
    c->add_option("--limit", *limit, "at most this many (default 50)");
    c->add_flag("--json", *json, "print JSON");
    c->callback([&ctx, model, json, limit] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(auto evals, ListEvaluations(ws->meta(), *model, *limit));
        nlohmann::json out = nlohmann::json::array();
        std::vector<std::vector<std::string>> rows = {{"EVAL", "MODEL", "DATASET", "SPLIT", "ACCURACY", "MACRO F1", "ECE", "REQUIREMENTS", "CREATED"}};
        std::map<std::string, std::vector<eval::Requirement>> by_project;  // one look-up per project
        for (const auto& e : evals) {
          if (!by_project.contains(e.project)) {
            FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws->meta(), e.project));
            FSML_ASSIGN_OR_RETURN(by_project[e.project], ParsedRequirements(ws->meta(), project));
          }
          auto reqs = eval::CheckRequirements(by_project[e.project], e.metrics);
          out.push_back(EvaluationToJson(e, reqs));
          out.back().erase("label_issues");
          rows.push_back({std::to_string(e.id), e.model, e.project + "@v" + std::to_string(e.version_number), e.split,
                          Fixed(e.metrics.accuracy, 4), Fixed(e.metrics.macro_f1, 4), Fixed(e.metrics.ece, 4),
                          reqs.empty() ? "-" : eval::AllPassed(reqs) ? "pass" : "FAIL", e.created_at.substr(0, 19)});
        }
        if (*json) PrintJson(out);
        else if (evals.empty()) std::cout << "no evaluations yet; fsml eval MODEL DATASET\n";
        else PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  {
    auto* c = cmd->add_subcommand("show", "one evaluation: metrics, confusion, mistakes, label issues");
    auto id = std::make_shared<int64_t>(0);
    auto json = std::make_shared<bool>(false);
    auto html = std::make_shared<std::string>();
    c->add_option("EVAL", *id, "evaluation id")->required();
    c->add_option("--html", *html, "write the HTML report to this file");
    c->add_flag("--json", *json, "print JSON");
    c->callback([&ctx, id, json, html] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        return ShowEvaluation(*ws, *id, *json, *html);
      });
    });
  }
}

}  // namespace fsml::cli
