// The trainer and the training module's entry point (libfsml_ml.so).
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>
#include <cmath>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/fs.h"
#include "core/log.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/stop_signals.h"
#include "core/sha256.h"
#include "core/version.h"
#include "data/loader.h"
#include "ml/models.h"
#include "ml/train.h"
#include "registry/safetensors.h"

namespace fsml::ml {
namespace {

// ---- Checkpoints ---------------------------------------------------------
// "FSMLCKPT", u32 version 1, then three u64-length-prefixed sections (JSON
// trainer state, model archive with the RNG state, optimizer archive), then
// the SHA-256 of everything before it. See docs/formats/checkpoint.md.
constexpr char kCkptMagic[8] = {'F', 'S', 'M', 'L', 'C', 'K', 'P', 'T'};

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

struct Checkpoint {
  nlohmann::json state;
  std::string model;
  std::string optimizer;
};

std::string SerializeCheckpoint(const Checkpoint& c) {
  std::string out(kCkptMagic, 8);
  out.append("\x01\x00\x00\x00", 4);
  std::string state = c.state.dump();
  for (const std::string* s : {static_cast<const std::string*>(&state), &c.model, &c.optimizer}) {
    PutU64(out, s->size());
    out.append(*s);
  }
  Digest d = Sha256(out);
  out.append(reinterpret_cast<const char*>(d.data()), 32);
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view b, const std::string& key) {
  auto bad = [&](const std::string& why) { return Err(Corruption("checkpoint " + key + ": " + why)); };
  if (b.size() < 12 + 24 + 32 || std::memcmp(b.data(), kCkptMagic, 8) != 0) return bad("not a checkpoint");
  Digest want{};
  std::memcpy(want.data(), b.data() + b.size() - 32, 32);
  if (Sha256(b.substr(0, b.size() - 32)) != want) return bad("checksum mismatch");
  if (b[8] != 1) return bad("format version " + std::to_string(static_cast<int>(b[8])) + " is not supported");
  size_t pos = 12, end = b.size() - 32;
  std::string parts[3];
  for (auto& part : parts) {
    if (pos + 8 > end) return bad("truncated");
    uint64_t len = GetU64(b.data() + pos);
    pos += 8;
    if (len > end - pos) return bad("truncated");
    part.assign(b.data() + pos, len);
    pos += len;
  }
  Checkpoint c;
  c.state = nlohmann::json::parse(parts[0], nullptr, false);
  if (c.state.is_discarded()) return bad("damaged trainer state");
  c.model = std::move(parts[1]);
  c.optimizer = std::move(parts[2]);
  return c;
}

template <typename T>
std::string SaveArchive(T& thing, const torch::Tensor* rng) {
  torch::serialize::OutputArchive a;
  thing.save(a);
  if (rng) a.write("fsml_rng_state", *rng, /*is_buffer=*/true);
  std::ostringstream os;
  a.save_to(os);
  return os.str();
}

// Loads a serialized archive (a checkpoint's model or optimizer section) into `thing`.
template <typename T>
torch::serialize::InputArchive LoadArchive(T& thing, const std::string& bytes) {
  torch::serialize::InputArchive a;
  std::istringstream in(bytes);
  a.load_from(in);
  thing.load(a);
  return a;
}

// ---- Recipes -------------------------------------------------------------

struct Recipe {
  int epochs;
  size_t batch;
  std::string optimizer;
  double lr, weight_decay, momentum;
  std::string schedule;
  int warmup;
  double smoothing;
  std::string augment;
  int patience;
};

Recipe RecipeFor(const std::string& model) {
  if (model == "mlp") return {30, 128, "adamw", 1e-3, 1e-4, 0.9, "cosine", 0, 0.0, "", 0};
  if (model == "cnn-small") return {30, 128, "adamw", 2e-3, 5e-4, 0.9, "cosine", 1, 0.0, "flip", 0};
  return {15, 128, "sgd", 0.1, 5e-4, 0.9, "cosine", 1, 0.0, "crop,flip", 0};  // resnet
}

// The hyperparameters to record: options over the model's recipe.
Result<nlohmann::json> ResolveParams(const TrainOptions& o, size_t threads) {
  Recipe r = RecipeFor(o.model);
  nlohmann::json p;
  p["epochs"] = o.epochs > 0 ? o.epochs : r.epochs;
  p["batch_size"] = o.batch_size > 0 ? o.batch_size : r.batch;
  p["optimizer"] = o.optimizer.empty() ? r.optimizer : o.optimizer;
  p["lr"] = o.lr > 0 ? o.lr : r.lr;
  p["weight_decay"] = o.weight_decay >= 0 ? o.weight_decay : r.weight_decay;
  p["momentum"] = o.momentum >= 0 ? o.momentum : r.momentum;
  p["schedule"] = o.schedule.empty() ? r.schedule : o.schedule;
  // The recipe's warm-up shrinks to fit a short run; an explicit one must fit.
  p["warmup_epochs"] = o.warmup_epochs >= 0 ? o.warmup_epochs : std::min(r.warmup, p["epochs"].get<int>() - 1);
  p["label_smoothing"] = o.label_smoothing >= 0 ? o.label_smoothing : r.smoothing;
  p["augment"] = o.augment == "-" ? r.augment : o.augment;
  p["patience"] = o.patience >= 0 ? o.patience : r.patience;
  p["seed"] = o.seed.value_or(0);
  p["threads"] = threads;
  if (p["epochs"].get<int>() > 10000) return Err(InvalidArgument("--epochs must be at most 10,000"));
  if (p["batch_size"].get<size_t>() > 65536) return Err(InvalidArgument("--batch-size must be at most 65,536"));
  if (p["optimizer"] != "sgd" && p["optimizer"] != "adamw")
    return Err(InvalidArgument("unknown optimizer '" + p["optimizer"].get<std::string>() + "' (expected sgd or adamw)"));
  if (p["schedule"] != "cosine" && p["schedule"] != "step" && p["schedule"] != "constant")
    return Err(InvalidArgument("unknown schedule '" + p["schedule"].get<std::string>() + "' (expected cosine, step or constant)"));
  if (!(p["lr"].get<double>() > 0 && p["lr"].get<double>() < 100)) return Err(InvalidArgument("--lr must be in (0, 100)"));
  if (p["label_smoothing"].get<double>() >= 1) return Err(InvalidArgument("--label-smoothing must be in [0, 1)"));
  if (p["warmup_epochs"].get<int>() >= p["epochs"].get<int>() && p["warmup_epochs"].get<int>() > 0)
    return Err(InvalidArgument("--warmup-epochs must be fewer than --epochs"));
  FSML_RETURN_IF_ERROR(ParseAugmentation(p["augment"].get<std::string>()));
  return p;
}

// Learning rate at step `step` of `total` (warm-up: linear from 0).
double LearningRate(const nlohmann::json& p, int64_t step, int64_t per_epoch) {
  double base = p["lr"];
  int64_t warm = p["warmup_epochs"].get<int64_t>() * per_epoch;
  int64_t total = p["epochs"].get<int64_t>() * per_epoch;
  if (step < warm) return base * (step + 1) / static_cast<double>(warm);
  const std::string& s = p["schedule"].get_ref<const std::string&>();
  if (s == "cosine") {
    double t = static_cast<double>(step - warm) / std::max<int64_t>(1, total - warm);
    return base * 0.5 * (1 + std::cos(M_PI * t));
  }
  if (s == "step") {
    int64_t epoch = step / per_epoch, epochs = p["epochs"];
    return base * (epoch >= epochs * 3 / 4 ? 0.01 : epoch >= epochs / 2 ? 0.1 : 1.0);
  }
  return base;
}

struct EvalResult {
  double loss = 0, accuracy = 0;
  uint64_t items = 0;
};

Result<EvalResult> Evaluate(Net& model, Loader& loader, int epoch) {
  torch::NoGradGuard no_grad;
  model.eval();
  EvalResult r;
  double loss_sum = 0;
  uint64_t correct = 0;
  loader.StartEpoch(epoch);
  while (true) {
    FSML_ASSIGN_OR_RETURN(auto batch, loader.Next());
    if (!batch) break;
    auto n = static_cast<int64_t>(batch->size);
    auto x = torch::from_blob(batch->pixels.data(), {n, batch->channels, batch->height, batch->width}, torch::kFloat32);
    auto y = torch::from_blob(batch->labels.data(), {n}, torch::kInt64);
    auto logits = model.forward(x);
    loss_sum += torch::nn::functional::cross_entropy(logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
    correct += static_cast<uint64_t>(logits.argmax(1).eq(y).sum().item<int64_t>());
    r.items += batch->size;
  }
  if (r.items) {
    r.loss = loss_sum / r.items;
    r.accuracy = static_cast<double>(correct) / r.items;
  }
  return r;
}

std::string BlasName() {
  auto maps = ReadFile("/proc/self/maps", 64 << 20);
  if (!maps) return "unknown";
  if (maps->find("openblas") != std::string::npos) {
    const char* t = std::getenv("OPENBLAS_NUM_THREADS");
    return std::string("OpenBLAS (") + (t ? t : "default") + " thread(s) per operation)";
  }
  if (maps->find("libmkl") != std::string::npos) return "MKL";
  if (maps->find("libblis") != std::string::npos) return "BLIS";
  if (maps->find("libblas.so") != std::string::npos) return "reference BLAS (netlib; install libopenblas0-pthread for ~2.5x faster training)";
  return "unknown";
}

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(Net& model, const nlohmann::json& params) {
  if (params["optimizer"] == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        model.parameters(), torch::optim::AdamWOptions(params["lr"]).weight_decay(params["weight_decay"]));
  return std::make_unique<torch::optim::SGD>(
      model.parameters(),
      torch::optim::SGDOptions(params["lr"]).momentum(params["momentum"]).weight_decay(params["weight_decay"]).nesterov(true));
}

struct EpochStats {
  double loss_sum = 0, lr = 0;
  uint64_t correct = 0, seen = 0;
  std::optional<double> diverged;  // the non-finite loss that stopped the epoch
};

// One epoch over `loader` (already started). Aborted when a stop signal
// arrives; a non-finite loss ends the epoch early with `diverged` set.
Result<EpochStats> TrainEpoch(Net& model, torch::optim::Optimizer& optimizer, Loader& loader, const nlohmann::json& params,
                              int epoch, int64_t per_epoch, Progress& progress) {
  EpochStats st;
  double smoothing = params["label_smoothing"];
  int64_t step = static_cast<int64_t>(epoch - 1) * per_epoch;
  model.train();
  while (true) {
    if (StopSignals::Requested()) return Err(Aborted("stopped by a signal during epoch " + std::to_string(epoch)));
    FSML_ASSIGN_OR_RETURN(auto batch, loader.Next());
    if (!batch) break;
    auto n = static_cast<int64_t>(batch->size);
    auto x = torch::from_blob(batch->pixels.data(), {n, batch->channels, batch->height, batch->width}, torch::kFloat32);
    auto y = torch::from_blob(batch->labels.data(), {n}, torch::kInt64);
    st.lr = LearningRate(params, step++, per_epoch);
    for (auto& group : optimizer.param_groups()) group.options().set_lr(st.lr);
    optimizer.zero_grad();
    auto logits = model.forward(x);
    auto loss = torch::nn::functional::cross_entropy(
        logits, y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing));
    double l = loss.item<double>();
    if (!std::isfinite(l)) {
      st.diverged = l;
      return st;
    }
    loss.backward();
    optimizer.step();
    st.loss_sum += l * n;
    st.correct += static_cast<uint64_t>(logits.argmax(1).eq(y).sum().item<int64_t>());
    st.seen += n;
    progress.Add(n);
    char status[64];
    std::snprintf(status, sizeof status, "loss %.4f  acc %.4f", st.loss_sum / st.seen, static_cast<double>(st.correct) / st.seen);
    progress.SetStatus(status);
  }
  return st;
}

// Softmax probabilities of `model` (in eval mode) for n NCHW images.
std::vector<float> Probabilities(Net& model, const float* pixels, int64_t n, const nlohmann::json& input) {
  torch::NoGradGuard no_grad;
  int64_t c = input["channels"], h = input["height"], w = input["width"];
  auto x = torch::from_blob(const_cast<float*>(pixels), {n, c, h, w}, torch::kFloat32);
  auto p = torch::softmax(model.forward(x), 1).contiguous();
  return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
}

class Trainer {
 public:
  Trainer(Workspace& ws, const Project& project, const DatasetVersion& version, const TrainOptions& opt)
      : ws_(ws), project_(project), version_(version), opt_(opt) {}

  Result<TrainResult> Run();

 private:
  Status Fail(const Status& s) {
    if (run_id_) {
      std::string status = s.code() == Code::kAborted ? "interrupted" : "failed";
      AppendRunLog(ws_.meta(), run_id_, status + ": " + s.message()).IgnoreError();
      EndRun(ws_.meta(), run_id_, status, s.message()).IgnoreError();
    }
    return s;
  }
  Result<TrainResult> Train();

  Workspace& ws_;
  const Project& project_;
  const DatasetVersion& version_;
  TrainOptions opt_;
  int64_t run_id_ = 0;
};

Result<TrainResult> Trainer::Run() {
  try {
    auto r = Train();
    if (!r) return Err(Fail(r.error()));
    return r;
  } catch (const c10::Error& e) {  // LibTorch reports errors (out of memory among them) by exception
    std::string what = e.what_without_backtrace();
    if (IsOutOfMemory(what))
      return Err(Fail(FailedPrecondition("out of memory (" + what.substr(0, what.find('\n')) +
                                         "); lower --batch-size or use a smaller model")));
    return Err(Fail(Internal("LibTorch: " + what)));
  } catch (const std::bad_alloc&) {
    return Err(Fail(FailedPrecondition("out of memory; lower --batch-size or use a smaller model")));
  }
}

Result<TrainResult> Trainer::Train() {
  auto t0 = std::chrono::steady_clock::now();
  Progress::SetEnabled(!opt_.quiet);
  MetaStore& meta = ws_.meta();
  FSML_RETURN_IF_ERROR(ReapDeadRuns(meta));
  size_t threads = opt_.threads > 0 ? static_cast<size_t>(opt_.threads) : static_cast<size_t>(DefaultThreads());
  torch::set_num_threads(static_cast<int>(threads));

  nlohmann::json spec, params;
  Checkpoint resume;
  bool resuming = opt_.resume_run.has_value();
  std::string ref = project_.name + "@v" + std::to_string(version_.number);
  if (resuming) {
    FSML_ASSIGN_OR_RETURN(::fsml::Run old, GetRun(meta, *opt_.resume_run));
    if (old.status == "running")
      return Err(FailedPrecondition("run " + std::to_string(old.id) + " is still running (pid " + std::to_string(old.pid) + " on " + old.host + ")"));
    if (old.status == "finished") return Err(FailedPrecondition("run " + std::to_string(old.id) + " is finished; nothing to resume"));
    if (old.checkpoint_key.empty())
      return Err(FailedPrecondition("run " + std::to_string(old.id) + " has no checkpoint (it stopped in its first epoch); start a new run"));
    spec = old.spec;
    params = old.params;
    params["threads"] = threads;
    run_id_ = old.id;
    FSML_ASSIGN_OR_RETURN(std::string bytes, ws_.blobs().Get(old.checkpoint_key));
    FSML_ASSIGN_OR_RETURN(resume, ParseCheckpoint(bytes, old.checkpoint_key));
    FSML_RETURN_IF_ERROR(ReopenRun(meta, run_id_));
    FSML_RETURN_IF_ERROR(AppendRunLog(meta, run_id_, "resumed from epoch " + std::to_string(*old.checkpoint_epoch)));
  } else {
    FSML_ASSIGN_OR_RETURN(nlohmann::json model_params, ResolveModelParams(opt_.model, opt_.model_params));
    FSML_ASSIGN_OR_RETURN(params, ResolveParams(opt_, threads));
    spec = {{"model", opt_.model}, {"params", model_params}, {"classes", project_.labels.size()}};
  }
  uint64_t seed = params["seed"];
  FSML_ASSIGN_OR_RETURN(Augmentation augment, ParseAugmentation(params["augment"].get<std::string>()));

  // Data: the train split must hold at least one batch; val is optional.
  LoaderOptions lo;
  lo.batch_size = params["batch_size"];
  lo.seed = seed;
  lo.threads = static_cast<int>(threads);
  if (!resuming) {
    auto stats = ComputeChannelStats(ws_, project_, version_, Split::kTrain, lo);
    if (!stats) return Err(stats.error());
    FSML_ASSIGN_OR_RETURN(auto probe, Loader::Open(ws_, project_, version_, Split::kTrain, lo));
    // The recipe's batch (no --batch-size) shrinks to a training split
    // smaller than it: one batch per epoch, as small data needs; the run
    // records the size used.
    if (opt_.batch_size == 0 && probe->size() > 0 && probe->size() < lo.batch_size) {
      log::Info("{} has {} training items, fewer than the recipe's batch of {}: batches of {}", ref, probe->size(),
                lo.batch_size, probe->size());
      lo.batch_size = probe->size();
      params["batch_size"] = lo.batch_size;
    }
    spec["input"] = {{"channels", probe->channels()}, {"height", probe->height()}, {"width", probe->width()}};
    spec["normalize"] = {{"mean", stats->mean}, {"std", stats->std}};
    spec["labels"] = probe->labels();
    spec["dataset"] = ref;
  }
  lo.channels = spec["input"]["channels"];
  lo.height = spec["input"]["height"];
  lo.width = spec["input"]["width"];
  lo.mean = spec["normalize"]["mean"].get<std::vector<float>>();
  lo.std = spec["normalize"]["std"].get<std::vector<float>>();
  LoaderOptions train_lo = lo;
  train_lo.augment = augment;
  train_lo.drop_last = false;
  FSML_ASSIGN_OR_RETURN(auto train, Loader::Open(ws_, project_, version_, Split::kTrain, train_lo));
  if (train->size() < lo.batch_size)
    return Err(InvalidArgument(ref + " has " + std::to_string(train->size()) + " training items, fewer than one batch (" +
                               std::to_string(lo.batch_size) + "); label more items or lower --batch-size"));
  if (train->labels() != spec["labels"].get<std::vector<std::string>>())
    return Err(FailedPrecondition(ref + "'s labels differ from the run's"));
  LoaderOptions eval_lo = lo;
  eval_lo.shuffle = false;
  eval_lo.batch_size = 512;
  std::unique_ptr<Loader> val;
  if (auto v = Loader::Open(ws_, project_, version_, Split::kVal, eval_lo)) val = std::move(*v);
  else if (v.error().code() != Code::kFailedPrecondition) return Err(v.error());
  std::unique_ptr<Loader> test;
  if (opt_.evaluate_test) {
    FSML_ASSIGN_OR_RETURN(test, Loader::Open(ws_, project_, version_, Split::kTest, eval_lo));
  }

  // Model and optimizer.
  torch::manual_seed(seed);
  FSML_ASSIGN_OR_RETURN(std::shared_ptr<Net> model, BuildModel(spec));
  TrainResult result;
  result.model = spec["model"];
  result.parameters = CountParameters(*model);
  spec["parameters"] = result.parameters;
  std::unique_ptr<torch::optim::Optimizer> optimizer = MakeOptimizer(*model, params);

  int start_epoch = 1;
  double best_val = -1;
  int best_epoch = 0, stale = 0;
  if (resuming) {
    torch::serialize::InputArchive ma = LoadArchive(*model, resume.model);
    torch::Tensor rng;
    ma.read("fsml_rng_state", rng, /*is_buffer=*/true);
    auto gen = at::detail::getDefaultCPUGenerator();
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng);
    }
    LoadArchive(*optimizer, resume.optimizer);
    start_epoch = resume.state["epoch"].get<int>() + 1;
    best_val = resume.state["best_val"];
    best_epoch = resume.state["best_epoch"];
    stale = resume.state["stale"];
  } else {
    NewRun nr{project_.id, version_.number, spec["model"], spec, params, seed, std::string(kVersion) + " (" + kCodeVersion + ")"};
    FSML_ASSIGN_OR_RETURN(run_id_, CreateRun(meta, nr));
    FSML_RETURN_IF_ERROR(AppendRunLog(meta, run_id_, "started: " + spec["model"].get<std::string>() + " on " + ref + ", " +
                                                       std::to_string(result.parameters) + " parameters, " + BlasName() + ", " +
                                                       std::to_string(threads) + " threads"));
  }
  result.run_id = run_id_;
  if (opt_.on_run_created) opt_.on_run_created(run_id_);
  log::Info("run {}: {} on {} ({} parameters), {} threads, BLAS: {}", run_id_, spec["model"].get<std::string>(), ref,
            result.parameters, threads, BlasName());

  StopSignals signals;
  // Heartbeats from a thread of their own, so a slow disk never stalls a step.
  std::jthread heartbeat([&meta, id = run_id_](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    while (true) {
      cv.wait_for(lock, stop, std::chrono::seconds(30), [] { return false; });  // wakes early on stop
      if (stop.stop_requested()) return;
      Heartbeat(meta, id).IgnoreError();  // a missed heartbeat only delays reaping
    }
  });
  int epochs = params["epochs"];
  int patience = params["patience"];
  int64_t per_epoch = static_cast<int64_t>(train->num_batches());
  for (int epoch = start_epoch; epoch <= epochs; ++epoch) {
    auto e0 = std::chrono::steady_clock::now();
    train->StartEpoch(epoch);
    Progress progress("epoch " + std::to_string(epoch) + "/" + std::to_string(epochs), train->size(), "samples");
    auto stats = TrainEpoch(*model, *optimizer, *train, params, epoch, per_epoch, progress);
    if (!stats) {
      if (stats.error().code() == Code::kAborted)
        return Err(Aborted(stats.error().message() + "; resume with fsml train --resume " + std::to_string(run_id_)));
      return Err(stats.error());
    }
    if (stats->diverged) {
      double l = *stats->diverged;
      std::string kept = best_epoch > 0 || start_epoch > 1 ? "the checkpoint of epoch " + std::to_string(epoch - 1) + " is kept"
                                                           : "no checkpoint was written";
      return Err(FailedPrecondition("training diverged in epoch " + std::to_string(epoch) + " (loss is " +
                                    (std::isnan(l) ? "NaN" : "infinite") + "); " + kept + "; try a lower --lr (now " +
                                    std::to_string(params["lr"].get<double>()) + ")"));
    }
    double loss_sum = stats->loss_sum, lr = stats->lr;
    uint64_t correct = stats->correct, seen = stats->seen;
    progress.Finish();
    EpochMetrics m;
    m.epoch = epoch;
    m.train_loss = loss_sum / seen;
    m.train_accuracy = static_cast<double>(correct) / seen;
    m.learning_rate = lr;
    bool is_best = true;
    if (val) {
      FSML_ASSIGN_OR_RETURN(EvalResult v, Evaluate(*model, *val, 0));
      m.val_loss = v.loss;
      m.val_accuracy = v.accuracy;
      is_best = v.accuracy > best_val;
      if (is_best) {
        best_val = v.accuracy;
        best_epoch = epoch;
        stale = 0;
      } else {
        ++stale;
      }
    } else {
      best_epoch = epoch;
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
    m.samples_per_second = seen / m.seconds;
    // Checkpoint: the object is durable before the run points at it, so a
    // failure here (disk full) leaves the previous checkpoint in place.
    Checkpoint ck;
    ck.state = {{"epoch", epoch}, {"best_val", best_val}, {"best_epoch", best_epoch}, {"stale", stale}, {"run", run_id_}};
    auto gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor rng;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      rng = gen.get_state();
    }
    ck.model = SaveArchive(*model, &rng);
    ck.optimizer = SaveArchive(*optimizer, nullptr);
    std::string checkpoint = SerializeCheckpoint(ck);
    m.checkpoint_bytes = static_cast<int64_t>(checkpoint.size());
    auto key = ws_.blobs().Put(checkpoint);
    if (!key) {
      std::string kept = epoch > 1 ? "the checkpoint of epoch " + std::to_string(epoch - 1) + " is intact" : "no earlier checkpoint";
      return Err(IoError("saving the checkpoint of epoch " + std::to_string(epoch) + " failed: " + key.error().message() + "; " + kept));
    }
    m.checkpoint_key = *key;
    FSML_RETURN_IF_ERROR(RecordEpoch(meta, run_id_, m, is_best));
    result.epochs.push_back(m);
    char line[256];
    std::snprintf(line, sizeof line, "epoch %d: train loss %.4f acc %.4f | val loss %s acc %s | lr %.2e | %.1f s (%.0f samples/s)",
                  epoch, m.train_loss, m.train_accuracy, m.val_loss ? std::to_string(*m.val_loss).substr(0, 6).c_str() : "-",
                  m.val_accuracy ? std::to_string(*m.val_accuracy).substr(0, 6).c_str() : "-", lr, m.seconds, m.samples_per_second);
    AppendRunLog(meta, run_id_, line).IgnoreError();
    if (!opt_.quiet) std::fprintf(stderr, "%s\n", line);
    if (patience > 0 && stale >= patience) {
      result.stopped_early = true;
      AppendRunLog(meta, run_id_, "early stop: no better val accuracy for " + std::to_string(patience) + " epochs").IgnoreError();
      break;
    }
  }
  result.best_epoch = best_epoch > 0 ? std::optional<int64_t>(best_epoch) : std::nullopt;

  if (test) {
    // The best epoch's weights (by val accuracy) are the run's result.
    FSML_ASSIGN_OR_RETURN(::fsml::Run done, GetRun(meta, run_id_));
    std::string key = done.best_checkpoint_key.empty() ? done.checkpoint_key : done.best_checkpoint_key;
    FSML_ASSIGN_OR_RETURN(std::string bytes, ws_.blobs().Get(key));
    FSML_ASSIGN_OR_RETURN(Checkpoint best, ParseCheckpoint(bytes, key));
    LoadArchive(*model, best.model);
    FSML_ASSIGN_OR_RETURN(EvalResult t, Evaluate(*model, *test, 0));
    result.test_metrics = {{"accuracy", t.accuracy}, {"loss", t.loss}, {"items", t.items}, {"epoch", best.state["epoch"]}};
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  FSML_RETURN_IF_ERROR(FinishRun(meta, run_id_, result.test_metrics));
  AppendRunLog(meta, run_id_, "finished" + (result.test_metrics.is_null() ? std::string() : ": test " + result.test_metrics.dump())).IgnoreError();
  return result;
}

// ---- Artifacts and inference --------------------------------------------

Result<std::string> ExportWeights(Net& model) {
  TensorFile file;
  auto put = [&](const std::string& name, const torch::Tensor& t0) -> Status {
    torch::Tensor t = t0.detach().cpu().contiguous();
    Tensor out;
    if (t.scalar_type() == torch::kFloat32) out.dtype = DType::kF32;
    else if (t.scalar_type() == torch::kInt64) out.dtype = DType::kI64;
    else if (t.scalar_type() == torch::kFloat64) out.dtype = DType::kF64;
    else return Internal("tensor " + name + " has an unsupported type");
    out.shape = t.sizes().vec();
    out.data.assign(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
    file.tensors[name] = std::move(out);
    return Status::Ok();
  };
  for (const auto& p : model.named_parameters(true)) FSML_RETURN_IF_ERROR(put(p.key(), p.value()));
  for (const auto& b : model.named_buffers(true)) FSML_RETURN_IF_ERROR(put(b.key(), b.value()));
  file.metadata["format"] = "pt";
  return WriteSafetensors(file);
}

// Copies every tensor of `file` into the model's parameter or buffer of the
// same name; each one must be there with its shape and type, and no extra.
Status ImportWeights(Net& model, const TensorFile& file) {
  torch::NoGradGuard no_grad;
  size_t used = 0;
  auto load = [&](const std::string& name, torch::Tensor& dst) -> Status {
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) return Corruption("the weights lack tensor '" + name + "'");
    const Tensor& src = it->second;
    if (src.shape != dst.sizes().vec())
      return Corruption("tensor '" + name + "' has shape " + nlohmann::json(src.shape).dump() + ", the network wants " +
                        nlohmann::json(dst.sizes().vec()).dump());
    bool same_type = (src.dtype == DType::kF32 && dst.scalar_type() == torch::kFloat32) ||
                     (src.dtype == DType::kI64 && dst.scalar_type() == torch::kInt64) ||
                     (src.dtype == DType::kF64 && dst.scalar_type() == torch::kFloat64);
    if (!same_type) return Corruption("tensor '" + name + "' has type " + std::string(DTypeName(src.dtype)));
    std::memcpy(dst.data_ptr(), src.data.data(), src.data.size());
    ++used;
    return Status::Ok();
  };
  for (auto& p : model.named_parameters(true)) FSML_RETURN_IF_ERROR(load(p.key(), p.value()));
  for (auto& b : model.named_buffers(true)) FSML_RETURN_IF_ERROR(load(b.key(), b.value()));
  if (used != file.tensors.size())
    return Corruption("the weights hold " + std::to_string(file.tensors.size() - used) + " tensor(s) the network does not have");
  return Status::Ok();
}

class TorchRunner final : public ModelRunner {
 public:
  TorchRunner(std::shared_ptr<Net> model, nlohmann::json input) : model_(std::move(model)), input_(std::move(input)) {}
  Result<std::vector<float>> Predict(const float* pixels, size_t n) override {
    try {
      if (n == 0) return std::vector<float>();
      return Probabilities(*model_, pixels, static_cast<int64_t>(n), input_);
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      if (IsOutOfMemory(what)) return Err(FailedPrecondition("out of memory predicting " + std::to_string(n) + " items"));
      return Err(Internal("LibTorch: " + what.substr(0, what.find('\n'))));
    }
  }

 private:
  std::shared_ptr<Net> model_;
  nlohmann::json input_;
};

// ---- Cross-validation ----------------------------------------------------

Result<CrossValResult> RunCrossValidation(Workspace& ws, const Project& project, const DatasetVersion& version, Split split,
                                          const nlohmann::json& spec, nlohmann::json params, const CrossValOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  Progress::SetEnabled(!opt.quiet);
  if (opt.folds < 2 || opt.folds > 20) return Err(InvalidArgument("--folds must be 2 to 20"));
  size_t threads = opt.threads > 0 ? static_cast<size_t>(opt.threads) : static_cast<size_t>(DefaultThreads());
  torch::set_num_threads(static_cast<int>(threads));
  int epochs = opt.epochs > 0 ? opt.epochs : std::min(params["epochs"].get<int>(), 5);
  params["epochs"] = epochs;
  params["warmup_epochs"] = std::min(params["warmup_epochs"].get<int>(), epochs - 1);
  uint64_t seed = params["seed"];
  FSML_ASSIGN_OR_RETURN(Augmentation augment, ParseAugmentation(params["augment"].get<std::string>()));

  LoaderOptions lo;
  lo.batch_size = params["batch_size"];
  lo.threads = static_cast<int>(threads);
  lo.channels = spec["input"]["channels"];
  lo.height = spec["input"]["height"];
  lo.width = spec["input"]["width"];
  lo.mean = spec["normalize"]["mean"].get<std::vector<float>>();
  lo.std = spec["normalize"]["std"].get<std::vector<float>>();
  lo.cache = false;
  LoaderOptions all_lo = lo;
  all_lo.shuffle = false;
  FSML_ASSIGN_OR_RETURN(auto all, Loader::Open(ws, project, version, split, all_lo));
  CrossValResult r;
  r.labels = all->labels();
  if (r.labels != spec["labels"].get<std::vector<std::string>>())
    return Err(FailedPrecondition("the model's labels differ from " + project.name + "@v" + std::to_string(version.number) + "'s"));
  size_t n = all->size(), k = r.labels.size();
  r.items.resize(n);
  r.given.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    r.items[i] = all->ItemId(i);
    r.given[i] = all->LabelIndex(i);
  }
  if (n < static_cast<size_t>(opt.folds) * 2)
    return Err(InvalidArgument("the split has " + std::to_string(n) + " items, too few for " + std::to_string(opt.folds) + " folds"));

  // Stratified folds: each label's rows, shuffled with the seed, dealt round-robin.
  std::vector<int> fold(n);
  {
    std::vector<std::vector<uint32_t>> by_label(k);
    for (uint32_t i = 0; i < n; ++i) by_label[r.given[i]].push_back(i);
    std::mt19937_64 rng(seed ^ 0x5eedf01dull);
    int next = 0;
    for (auto& rows : by_label) {
      std::shuffle(rows.begin(), rows.end(), rng);
      for (uint32_t row : rows) fold[row] = next++ % opt.folds;
    }
  }
  r.probs.assign(n * k, 0.f);
  r.folds = opt.folds;
  r.epochs = epochs;
  for (int f = 0; f < opt.folds; ++f) {
    LoaderOptions train_lo = lo, held_lo = lo;
    train_lo.augment = augment;
    train_lo.seed = seed + static_cast<uint64_t>(f);
    held_lo.shuffle = false;
    held_lo.batch_size = 512;
    for (uint32_t i = 0; i < n; ++i) (fold[i] == f ? held_lo.subset : train_lo.subset).push_back(i);
    FSML_ASSIGN_OR_RETURN(auto train, Loader::Open(ws, project, version, split, train_lo));
    FSML_ASSIGN_OR_RETURN(auto held, Loader::Open(ws, project, version, split, held_lo));
    torch::manual_seed(seed + static_cast<uint64_t>(f));
    FSML_ASSIGN_OR_RETURN(std::shared_ptr<Net> model, BuildModel(spec));
    auto optimizer = MakeOptimizer(*model, params);
    int64_t per_epoch = static_cast<int64_t>(train->num_batches());
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      train->StartEpoch(epoch);
      Progress progress("fold " + std::to_string(f + 1) + "/" + std::to_string(opt.folds) + " epoch " + std::to_string(epoch) +
                            "/" + std::to_string(epochs),
                        train->size(), "samples");
      FSML_ASSIGN_OR_RETURN(EpochStats st, TrainEpoch(*model, *optimizer, *train, params, epoch, per_epoch, progress));
      progress.Finish();
      if (st.diverged)
        return Err(FailedPrecondition("cross-validation training diverged in fold " + std::to_string(f + 1) + ", epoch " +
                                      std::to_string(epoch) + "; the run's recipe does not train stably on this data"));
    }
    model->eval();
    held->StartEpoch(0);
    while (true) {
      FSML_ASSIGN_OR_RETURN(auto batch, held->Next());
      if (!batch) break;
      std::vector<float> p = Probabilities(*model, batch->pixels.data(), static_cast<int64_t>(batch->size), spec["input"]);
      for (size_t i = 0; i < batch->size; ++i) {
        uint32_t row = held_lo.subset[batch->rows[i]];
        std::copy_n(p.begin() + i * k, k, r.probs.begin() + static_cast<size_t>(row) * k);
      }
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

template <typename F>
auto GuardTorch(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    if (IsOutOfMemory(what)) return Err(FailedPrecondition("out of memory (" + what.substr(0, what.find('\n')) + ")"));
    return Err(Internal("LibTorch: " + what.substr(0, what.find('\n'))));
  } catch (const std::bad_alloc&) {
    return Err(FailedPrecondition("out of memory"));
  } catch (const nlohmann::json::exception& e) {
    return Err(InvalidArgument(std::string("model spec: ") + e.what()));
  }
}

class TorchModule final : public MlModule {
 public:
  Result<TrainResult> Train(Workspace& ws, const Project& project, const DatasetVersion& version,
                            const TrainOptions& options) override {
    Trainer t(ws, project, version, options);
    return t.Run();
  }
  Result<std::string> WeightsFromCheckpoint(const nlohmann::json& spec, std::string_view checkpoint,
                                            std::string_view name) override {
    return GuardTorch([&]() -> Result<std::string> {
      FSML_ASSIGN_OR_RETURN(Checkpoint ck, ParseCheckpoint(checkpoint, std::string(name)));
      FSML_ASSIGN_OR_RETURN(std::shared_ptr<Net> model, BuildModel(spec));
      LoadArchive(*model, ck.model);
      return ExportWeights(*model);
    });
  }
  Result<std::unique_ptr<ModelRunner>> LoadRunner(const nlohmann::json& spec, std::string_view weights, int threads) override {
    return GuardTorch([&]() -> Result<std::unique_ptr<ModelRunner>> {
      torch::set_num_threads(threads > 0 ? threads : DefaultThreads());
      FSML_ASSIGN_OR_RETURN(TensorFile file, ReadSafetensors(weights, "model weights"));
      FSML_ASSIGN_OR_RETURN(std::shared_ptr<Net> model, BuildModel(spec));
      FSML_RETURN_IF_ERROR(ImportWeights(*model, file));
      model->eval();
      return std::unique_ptr<ModelRunner>(std::make_unique<TorchRunner>(model, spec.at("input")));
    });
  }
  Result<CrossValResult> CrossValidate(Workspace& ws, const Project& project, const DatasetVersion& version, Split split,
                                       const nlohmann::json& spec, const nlohmann::json& params,
                                       const CrossValOptions& options) override {
    StopSignals signals;
    return GuardTorch([&] { return RunCrossValidation(ws, project, version, split, spec, params, options); });
  }
  nlohmann::json Runtime() override {
    return {{"blas", BlasName()}, {"threads", torch::get_num_threads()}, {"torch", TORCH_VERSION}};
  }
};

}  // namespace
}  // namespace fsml::ml

extern "C" __attribute__((visibility("default"))) fsml::MlModule* FsmlCreateMlModule() {
  static fsml::ml::TorchModule module;
  return &module;
}
