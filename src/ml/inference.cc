#include "ml/inference.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <unordered_map>

#include "core/parallel.h"
#include "core/progress.h"
#include "data/loader.h"
#include "eval/label_issues.h"
#include "registry/runs.h"

namespace fsml {

Result<std::shared_ptr<LoadedModel>> ModelCache::Get(Workspace& ws, const ModelRef& ref) {
  FSML_ASSIGN_OR_RETURN(ModelVersion v, ResolveModel(ws.meta(), ref));
  {
    std::lock_guard lock(mu_);
    auto it = by_weights_.find(v.weights_key);
    if (it != by_weights_.end() && it->second->version.number == v.number && it->second->version.name == v.name)
      return it->second;
  }
  FSML_ASSIGN_OR_RETURN(ModelArtifact a, LoadArtifact(ws, v));
  FSML_ASSIGN_OR_RETURN(MlModule * ml, LoadMlModule());
  auto m = std::make_shared<LoadedModel>();
  m->version = v;
  m->spec = a.spec;
  if (!a.spec.contains("labels") || !a.spec["labels"].is_array())
    return Err(Corruption("model " + v.name + "/" + std::to_string(v.number) + ": spec.json has no labels"));
  for (const auto& l : a.spec["labels"]) m->labels.push_back(l.get<std::string>());
  auto runner = ml->LoadRunner(a.spec, a.weights, threads_);
  if (!runner) return Err(Corruption("model " + m->ref() + ": " + runner.error().message()));
  m->runner = std::move(*runner);
  std::lock_guard lock(mu_);
  by_weights_[v.weights_key] = m;
  return m;
}

Result<std::vector<float>> PredictImages(LoadedModel& model, const std::vector<std::pair<std::string, std::string>>& images) {
  const auto& in = model.spec["input"];
  int c = in["channels"], h = in["height"], w = in["width"];
  auto mean = model.spec["normalize"]["mean"].get<std::vector<float>>();
  auto stdev = model.spec["normalize"]["std"].get<std::vector<float>>();
  size_t sample = static_cast<size_t>(c) * h * w;
  std::vector<float> pixels(images.size() * sample);
  for (size_t i = 0; i < images.size(); ++i) {
    FSML_ASSIGN_OR_RETURN(auto x, PreprocessImage(images[i].second, images[i].first, c, h, w, mean, stdev));
    std::copy(x.begin(), x.end(), pixels.begin() + i * sample);
  }
  return model.runner->Predict(pixels.data(), images.size());
}

std::vector<std::pair<std::string, double>> TopK(const LoadedModel& model, const float* probs, size_t k) {
  std::vector<size_t> order(model.labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] > probs[b]; });
  std::vector<std::pair<std::string, double>> out;
  for (size_t i = 0; i < std::min(k, order.size()); ++i) out.emplace_back(model.labels[order[i]], probs[order[i]]);
  return out;
}

Result<std::vector<int64_t>> LabelMapping(const std::vector<std::string>& model_labels,
                                          const std::vector<std::string>& data_labels, const std::string& model_ref,
                                          const std::string& data_ref) {
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& l : v) s += (s.empty() ? "" : ", ") + l;
    return s;
  };
  std::vector<int64_t> map(data_labels.size(), -1);
  bool same = model_labels.size() == data_labels.size();
  for (size_t i = 0; same && i < data_labels.size(); ++i) {
    auto it = std::find(model_labels.begin(), model_labels.end(), data_labels[i]);
    same = it != model_labels.end();
    if (same) map[i] = it - model_labels.begin();
  }
  if (!same)
    return Err(FailedPrecondition("model " + model_ref + " and " + data_ref + " have different labels (model: " +
                                  list(model_labels) + "; data: " + list(data_labels) + ")"));
  return map;
}

Result<ModelVersion> RegisterRunCheckpoint(Workspace& ws, const RegisterRunRequest& f) {
  FSML_ASSIGN_OR_RETURN(Run run, GetRun(ws.meta(), f.run_id));
  std::string run_name = "run " + std::to_string(run.id);
  if (run.status == "running") return Err(FailedPrecondition(run_name + " is still running; register it when it ends"));
  std::string key;
  int64_t epoch = 0;
  if (f.epoch > 0) {
    for (const auto& e : run.epochs)
      if (e.epoch == f.epoch) key = e.checkpoint_key, epoch = e.epoch;
    if (key.empty())
      return Err(NotFound(run_name + " has no checkpoint of epoch " + std::to_string(f.epoch) + " (it has epochs 1 to " +
                          std::to_string(run.epochs.size()) + ")"));
  } else if (!run.best_checkpoint_key.empty() && run.best_epoch) {
    key = run.best_checkpoint_key;
    epoch = *run.best_epoch;
  } else if (!run.checkpoint_key.empty() && run.checkpoint_epoch) {
    key = run.checkpoint_key;
    epoch = *run.checkpoint_epoch;
  }
  if (key.empty()) return Err(FailedPrecondition(run_name + " has no checkpoint to register (it ended in its first epoch)"));
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& e : run.epochs)
    if (e.epoch == epoch) {
      metrics["train_loss"] = e.train_loss;
      metrics["train_accuracy"] = e.train_accuracy;
      if (e.val_loss) metrics["val_loss"] = *e.val_loss;
      if (e.val_accuracy) metrics["val_accuracy"] = *e.val_accuracy;
    }
  if (run.test_metrics.is_object() && run.test_metrics.value("epoch", int64_t{-1}) == epoch) metrics["test"] = run.test_metrics;
  FSML_ASSIGN_OR_RETURN(std::string checkpoint, ws.blobs().Get(key, /*verify=*/true));
  FSML_ASSIGN_OR_RETURN(MlModule * ml, LoadMlModule());
  FSML_ASSIGN_OR_RETURN(std::string weights, ml->WeightsFromCheckpoint(run.spec, checkpoint, run_name + " checkpoint " + key));
  RegisterRequest req;
  req.name = f.name.empty() ? run.project : f.name;
  req.run_id = run.id;
  req.epoch = epoch;
  req.spec = run.spec;
  req.spec["training"] = run.params;
  req.weights = std::move(weights);
  req.metrics = metrics;
  req.description = f.description;
  req.user = f.user;
  return RegisterModelVersion(ws, req);
}

Result<SplitEvaluation> EvaluateSplit(Workspace& ws, LoadedModel& model, const Project& project,
                                      const DatasetVersion& version, Split split, int threads) {
  auto t0 = std::chrono::steady_clock::now();
  const auto& in = model.spec["input"];
  LoaderOptions lo;
  lo.shuffle = false;
  lo.batch_size = 512;
  lo.cache = false;
  lo.threads = threads;
  lo.channels = in["channels"];
  lo.height = in["height"];
  lo.width = in["width"];
  lo.mean = model.spec["normalize"]["mean"].get<std::vector<float>>();
  lo.std = model.spec["normalize"]["std"].get<std::vector<float>>();
  std::string data_ref = project.name + "@v" + std::to_string(version.number);
  FSML_ASSIGN_OR_RETURN(auto loader, Loader::Open(ws, project, version, split, lo));
  FSML_ASSIGN_OR_RETURN(auto mapping, LabelMapping(model.labels, loader->labels(), model.ref(), data_ref));
  SplitEvaluation out;
  Predictions& p = out.predictions;
  p.labels = model.labels;
  size_t n = loader->size(), k = model.labels.size();
  p.items.resize(n);
  p.truth.resize(n);
  p.probs.resize(n * k);
  Progress progress("eval " + model.ref() + " on " + data_ref + " " + std::string(SplitName(split)), n, "items");
  loader->StartEpoch(0);
  while (true) {
    FSML_ASSIGN_OR_RETURN(auto batch, loader->Next());
    if (!batch) break;
    FSML_ASSIGN_OR_RETURN(auto probs, model.runner->Predict(batch->pixels.data(), batch->size));
    for (size_t i = 0; i < batch->size; ++i) {
      uint32_t row = batch->rows[i];
      p.items[row] = loader->ItemId(row);
      p.truth[row] = mapping[batch->labels[i]];
      std::copy_n(probs.begin() + i * k, k, p.probs.begin() + static_cast<size_t>(row) * k);
    }
    progress.Add(batch->size);
  }
  progress.Finish();
  FSML_ASSIGN_OR_RETURN(out.metrics, eval::ComputeMetrics(p.labels, p.probs, p.truth));
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

Result<LabelIssueSearch> FindSplitLabelIssues(Workspace& ws, const LoadedModel& model, const Project& project,
                                              const DatasetVersion& version, Split split, const CrossValOptions& options) {
  FSML_ASSIGN_OR_RETURN(::fsml::Run run, GetRun(ws.meta(), model.version.run_id));
  FSML_ASSIGN_OR_RETURN(MlModule * ml, LoadMlModule());
  FSML_ASSIGN_OR_RETURN(CrossValResult r, ml->CrossValidate(ws, project, version, split, model.spec, run.params, options));
  FSML_ASSIGN_OR_RETURN(auto issues, eval::FindLabelIssues(r.probs, r.given, r.labels.size()));
  LabelIssueSearch out;
  for (const auto& li : issues)
    out.list.push_back({{"item", r.items[li.index]}, {"given", r.labels[li.given]}, {"suggested", r.labels[li.suggested]},
                        {"score", li.score}});
  out.folds = r.folds;
  out.epochs = r.epochs;
  out.seconds = r.seconds;
  return out;
}

Result<PairedPredictions> PairPredictions(const Predictions& a, const Predictions& b, const std::string& a_name,
                                          const std::string& b_name) {
  PairedPredictions out;
  FSML_ASSIGN_OR_RETURN(out.b_to_a, LabelMapping(a.labels, b.labels, a_name, b_name));
  std::unordered_map<std::string_view, size_t> b_row;
  b_row.reserve(b.items.size());
  for (size_t i = 0; i < b.items.size(); ++i) b_row.emplace(b.items[i], i);
  auto pred_a = eval::Predictions(a.probs, a.labels.size());
  auto pred_b = eval::Predictions(b.probs, b.labels.size());
  for (size_t i = 0; i < a.items.size(); ++i) {
    auto it = b_row.find(a.items[i]);
    if (it == b_row.end()) continue;
    size_t j = it->second;
    ++out.paired;
    bool ra = pred_a[i] == a.truth[i];
    bool rb = out.b_to_a[static_cast<size_t>(pred_b[j])] == out.b_to_a[static_cast<size_t>(b.truth[j])];
    if (ra && rb) ++out.both_right;
    else if (!ra && !rb) ++out.both_wrong;
    else (rb ? out.fixed : out.broken).emplace_back(i, j);
  }
  if (out.paired == 0) return Err(FailedPrecondition(a_name + " and " + b_name + " share no items"));
  return out;
}

Result<int64_t> StoreEvaluation(Workspace& ws, const LoadedModel& model, const Project& project, const DatasetVersion& version,
                                Split split, const SplitEvaluation& result, const std::string& user,
                                nlohmann::json label_issues) {
  NewEvaluation ne;
  ne.model = &model.version;
  ne.project_id = project.id;
  ne.version_number = version.number;
  ne.split = std::string(SplitName(split));
  ne.seconds = result.seconds;
  ne.metrics = result.metrics;
  ne.predictions = result.predictions;
  ne.label_issues = std::move(label_issues);
  ne.user = user;
  return SaveEvaluation(ws, ne);
}

}  // namespace fsml
