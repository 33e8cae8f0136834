#include "serve/model_server.h"

#include <algorithm>

#include "core/log.h"
#include "data/loader.h"
#include "registry/models.h"

namespace fsml {

using Clock = std::chrono::steady_clock;

Result<ModelServingConfig> GetModelServingConfig(MetaStore& meta, const std::string& model_name) {
  ModelServingConfig c;
  FSML_RETURN_IF_ERROR(meta.Query(
      "SELECT s.max_batch, s.max_delay_ms FROM model_serving s JOIN models m ON m.id = s.model_id WHERE m.name = ?",
      {model_name}, [&](const SqlRow& r) {
        c.max_batch = static_cast<int>(r.Int(0));
        c.max_delay_ms = static_cast<int>(r.Int(1));
        return Status::Ok();
      }));
  return c;
}

Status SetModelServingConfig(MetaStore& meta, const std::string& model_name, const ModelServingConfig& c) {
  if (c.max_batch < 0 || c.max_batch > 1024) return InvalidArgument("max batch must be 1 to 1024 (0: server default)");
  if (c.max_delay_ms < -1 || c.max_delay_ms > 1000) return InvalidArgument("max delay must be 0 to 1000 ms (-1: server default)");
  FSML_ASSIGN_OR_RETURN(auto id, meta.QueryInt("SELECT id FROM models WHERE name = ?", {model_name}));
  if (!id) return NotFound("no model '" + model_name + "'");
  return meta.Transaction([&]() -> Status {
    FSML_RETURN_IF_ERROR(StatusOf(meta.Exec("DELETE FROM model_serving WHERE model_id = ?", {*id})));
    return StatusOf(meta.Exec("INSERT INTO model_serving (model_id, max_batch, max_delay_ms) VALUES (?, ?, ?)",
                              {*id, int64_t{c.max_batch}, int64_t{c.max_delay_ms}}));
  });
}

ModelServer::ModelServer(Workspace& ws, ServingOptions options, Metrics* metrics)
    : ws_(ws), options_(options), metrics_(metrics), cache_(1) {
  if (metrics_) {
    metrics_->DefineHistogram("fsml_predict_batch_size", "Requests per forward pass in synchronous prediction.",
                              {1, 2, 4, 8, 16, 32, 64, 128, 256});
    metrics_->DefineHistogram("fsml_predict_queue_seconds", "Time a prediction request waited for its batch.",
                              {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1});
    metrics_->DefineHistogram("fsml_model_load_seconds", "Time to load a model version.", {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    metrics_->DefineGauge("fsml_predict_queued", "Prediction requests waiting for a batch.");
    metrics_->DefineCounter("fsml_model_swaps_total", "Times a served reference switched to another version.");
    metrics_->AddCollector([this](Metrics& m) {
      std::lock_guard lock(mu_);
      m.Set("fsml_predict_queued", {}, static_cast<double>(queued_));
    });
  }
  threads_count_ = static_cast<size_t>(std::max(1, options_.inference_threads));
  for (size_t i = 0; i < threads_count_; ++i) threads_.emplace_back([this] { InferenceLoop(); });
  threads_.emplace_back([this] { RefreshLoop(); });
}

ModelServer::~ModelServer() { Stop(); }

void ModelServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  refresh_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // Inference threads drain every queue before they exit; nothing is left.
}

Result<std::shared_ptr<ModelServer::Lane>> ModelServer::Load(const std::string& ref_text) {
  FSML_ASSIGN_OR_RETURN(ModelRef ref, ParseModelRef(ref_text));
  auto t0 = Clock::now();
  FSML_ASSIGN_OR_RETURN(auto model, cache_.Get(ws_, ref));
  FSML_ASSIGN_OR_RETURN(auto cfg, GetModelServingConfig(ws_.meta(), model->version.name));
  auto lane = std::make_shared<Lane>();
  lane->model = model;
  lane->max_batch = cfg.max_batch > 0 ? cfg.max_batch : options_.max_batch;
  lane->max_delay_ms = cfg.max_delay_ms >= 0 ? cfg.max_delay_ms : options_.max_delay_ms;
  if (metrics_)
    metrics_->Observe("fsml_model_load_seconds", {{"model", model->ref()}}, std::chrono::duration<double>(Clock::now() - t0).count());
  return lane;
}

Result<std::shared_ptr<ModelServer::Lane>> ModelServer::LaneFor(const std::string& ref_text) {
  {
    std::lock_guard lock(mu_);
    auto it = by_ref_.find(ref_text);
    if (it != by_ref_.end()) return it->second;
  }
  std::lock_guard load(load_mu_);
  {
    std::lock_guard lock(mu_);  // loaded by another thread meanwhile?
    auto it = by_ref_.find(ref_text);
    if (it != by_ref_.end()) return it->second;
  }
  FSML_ASSIGN_OR_RETURN(auto lane, Load(ref_text));
  std::lock_guard lock(mu_);
  // Two references to one version share a lane (and so their batches).
  for (auto& l : lanes_)
    if (!l->retired && l->model == lane->model) lane = l;
  if (std::find(lanes_.begin(), lanes_.end(), lane) == lanes_.end()) lanes_.push_back(lane);
  by_ref_[ref_text] = lane;
  log::Info("serve: {} → {}", ref_text, lane->model->ref());
  return lane;
}

Status ModelServer::Preload(const std::string& ref_text) { return StatusOf(LaneFor(ref_text)); }

std::map<std::string, std::string> ModelServer::Served() {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (auto& [ref, lane] : by_ref_) out[ref] = lane->model->ref();
  return out;
}

void ModelServer::Predict(const std::string& ref_text, std::string image_bytes, size_t top_k, Done done) {
  auto lane = LaneFor(ref_text);
  if (!lane) return done(Err(lane.error()));
  {
    std::lock_guard lock(mu_);
    if (stop_) return done(Err(Unavailable("server is shutting down")));
    if (queued_ >= options_.max_queued)
      return done(Err(ResourceExhausted("prediction queue full (" + std::to_string(queued_) + " waiting); retry later")));
    (*lane)->queue.push_back({std::move(image_bytes), top_k, std::move(done), Clock::now()});
    ++queued_;
  }
  cv_.notify_one();
}

void ModelServer::InferenceLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    // The lane whose oldest request has waited longest.
    std::shared_ptr<Lane> lane;
    for (auto& l : lanes_)
      if (!l->queue.empty() && (!lane || l->queue.front().arrived < lane->queue.front().arrived)) lane = l;
    if (!lane) {
      if (stop_) return;
      // Retired lanes with nothing queued are dropped with their models.
      std::erase_if(lanes_, [](const std::shared_ptr<Lane>& l) { return l->retired && l->queue.empty(); });
      cv_.wait(lock);
      continue;
    }
    auto deadline = lane->queue.front().arrived + std::chrono::milliseconds(lane->max_delay_ms);
    if (static_cast<int>(lane->queue.size()) < lane->max_batch && busy_ == 0 && Clock::now() < deadline && !stop_) {
      cv_.wait_until(lock, deadline);
      continue;
    }
    const size_t free_threads = static_cast<size_t>(std::max(1, static_cast<int>(threads_count_) - busy_));
    const size_t share = (lane->queue.size() + free_threads - 1) / free_threads;
    const size_t take = std::min(static_cast<size_t>(lane->max_batch), std::max<size_t>(1, share));
    std::vector<Request> batch;
    while (!lane->queue.empty() && batch.size() < take) {
      batch.push_back(std::move(lane->queue.front()));
      lane->queue.pop_front();
    }
    queued_ -= batch.size();
    ++busy_;
    if (!lane->queue.empty()) cv_.notify_one();  // more for another thread
    lock.unlock();
    RunBatch(*lane, batch);
    lock.lock();
    --busy_;
  }
}

void ModelServer::RunBatch(Lane& lane, std::vector<Request>& batch) {
  LoadedModel& m = *lane.model;
  auto now = Clock::now();
  if (metrics_) {
    metrics_->Observe("fsml_predict_batch_size", {}, static_cast<double>(batch.size()));
    for (auto& r : batch) metrics_->Observe("fsml_predict_queue_seconds", {}, std::chrono::duration<double>(now - r.arrived).count());
  }
  const auto& in = m.spec["input"];
  int c = in["channels"], h = in["height"], w = in["width"];
  auto mean = m.spec["normalize"]["mean"].get<std::vector<float>>();
  auto stdev = m.spec["normalize"]["std"].get<std::vector<float>>();
  const size_t sample = static_cast<size_t>(c) * h * w;
  std::vector<float> pixels;
  pixels.reserve(batch.size() * sample);
  std::vector<Request*> good;
  for (auto& r : batch) {
    auto x = PreprocessImage(r.bytes, "the request body", c, h, w, mean, stdev);
    if (!x) {
      r.done(Err(x.error()));
      continue;
    }
    pixels.insert(pixels.end(), x->begin(), x->end());
    good.push_back(&r);
  }
  if (good.empty()) return;
  auto probs = m.runner->Predict(pixels.data(), good.size());
  for (size_t i = 0; i < good.size(); ++i) {
    if (!probs) {
      good[i]->done(Err(probs.error()));
      continue;
    }
    Prediction p;
    p.model = m.ref();
    p.project = m.version.project;
    p.top = TopK(m, probs->data() + i * m.labels.size(), good[i]->top_k);
    p.input = std::move(good[i]->bytes);
    good[i]->done(std::move(p));
  }
}

void ModelServer::RefreshLoop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      refresh_cv_.wait_for(lock, options_.refresh, [&] { return stop_; });
      if (stop_) return;
    }
    std::map<std::string, std::shared_ptr<Lane>> refs;
    {
      std::lock_guard lock(mu_);
      refs = by_ref_;
    }
    for (auto& [ref_text, lane] : refs) {
      auto v = ResolveModel(ws_.meta(), ref_text);
      if (!v) {
        if (v.error().code() == Code::kNotFound) {
          // The alias or version is gone: stop serving it; new requests get 404.
          log::Warn("serve: {} no longer resolves ({}); unloading it", ref_text, v.error().message());
          std::lock_guard lock(mu_);
          by_ref_.erase(ref_text);
          lane->retired = true;
          cv_.notify_all();
        }
        continue;  // a database hiccup: keep serving what we have
      }
      auto cfg = GetModelServingConfig(ws_.meta(), v->name);
      bool same_version = v->name == lane->model->version.name && v->number == lane->model->version.number;
      bool same_config = cfg && (cfg->max_batch > 0 ? cfg->max_batch : options_.max_batch) == lane->max_batch &&
                         (cfg->max_delay_ms >= 0 ? cfg->max_delay_ms : options_.max_delay_ms) == lane->max_delay_ms;
      if (same_version && (same_config || !cfg)) continue;
      std::lock_guard load(load_mu_);
      auto fresh = Load(ref_text);  // fully loaded before anyone is switched to it
      if (!fresh) {
        log::Error("serve: cannot load {} for {}: {}; still serving {}", v->name + "/" + std::to_string(v->number), ref_text,
                   fresh.error().message(), lane->model->ref());
        continue;
      }
      std::lock_guard lock(mu_);
      auto& slot = by_ref_[ref_text];
      slot = *fresh;
      lanes_.push_back(slot);
      // The old lane serves its queued requests, then is dropped unless another reference uses it.
      bool still_used = false;
      for (auto& [r, l] : by_ref_) still_used |= l == lane;
      lane->retired = !still_used;
      if (metrics_) metrics_->Add("fsml_model_swaps_total", {{"ref", ref_text}});
      log::Info("serve: {} moved from {} to {}", ref_text, lane->model->ref(), slot->model->ref());
      cv_.notify_all();
    }
  }
}

}  // namespace fsml
