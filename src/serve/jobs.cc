#include "serve/jobs.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core/fs.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/loader.h"
#include "registry/models.h"
#include "serve/http.h"

namespace fsml {

namespace {
using json = nlohmann::json;
constexpr size_t kMaxGroupCommit = 512;
constexpr size_t kMaxPublishBatch = 512;


json ErrorJson(std::string_view code, std::string_view message) { return {{"code", code}, {"message", message}}; }

std::string ErrorCode(const Status& s) { return std::string(http::ErrorCode(s.code())); }

// Exponential backoff for the retry loops: 100 ms doubling to 5 s, reset on success.
class Backoff {
 public:
  std::chrono::milliseconds Next() {
    auto d = delay_;
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(5000));
    return d;
  }
  void Reset() { delay_ = std::chrono::milliseconds(100); }

 private:
  std::chrono::milliseconds delay_{100};
};
}  // namespace

// ---- Request validation ------------------------------------------------

Result<JobRequest> ParseJobRequest(const json& body, size_t max_inputs) {
  JobRequest r;
  if (!body.is_object()) return Err(InvalidArgument("job request must be a JSON object"));
  for (const auto& [k, v] : body.items())
    if (k != "model" && k != "inputs" && k != "idempotency_key" && k != "top_k")
      return Err(InvalidArgument("unknown field '" + k + "' (expected model, inputs, idempotency_key, top_k)"));
  if (!body.contains("model") || !body["model"].is_string()) return Err(InvalidArgument("'model' must be a model reference string"));
  r.model = body["model"].get<std::string>();
  FSML_RETURN_IF_ERROR(StatusOf(ParseModelRef(r.model)));
  if (!body.contains("inputs") || !body["inputs"].is_array() || body["inputs"].empty())
    return Err(InvalidArgument("'inputs' must be a non-empty array"));
  if (body["inputs"].size() > max_inputs)
    return Err(InvalidArgument("'inputs' has " + std::to_string(body["inputs"].size()) + " entries; at most " +
                               std::to_string(max_inputs) + " per job"));
  size_t i = 0;
  for (const auto& in : body["inputs"]) {
    std::string where = "inputs[" + std::to_string(i++) + "]";
    if (!in.is_object() || in.size() != 1)
      return Err(InvalidArgument(where + " must be an object with one of image_base64, text, item"));
    if (in.contains("image_base64")) {
      if (!in["image_base64"].is_string()) return Err(InvalidArgument(where + ".image_base64 must be a string"));
      auto bytes = http::Base64Decode(in["image_base64"].get<std::string>());
      if (!bytes) return Err(InvalidArgument(where + ".image_base64: " + bytes.error().message()));
      if (bytes->empty()) return Err(InvalidArgument(where + ".image_base64 is empty"));
    } else if (in.contains("text")) {
      if (!in["text"].is_string()) return Err(InvalidArgument(where + ".text must be a string"));
    } else if (in.contains("item")) {
      if (!in["item"].is_string() || !IsSha256Hex(in["item"].get<std::string>()))
        return Err(InvalidArgument(where + ".item must be an item id (64 hex characters)"));
    } else {
      return Err(InvalidArgument(where + " must have one of image_base64, text, item"));
    }
  }
  r.inputs = body["inputs"];
  if (body.contains("top_k")) {
    if (!body["top_k"].is_number_integer() || body["top_k"].get<int64_t>() < 1 || body["top_k"].get<int64_t>() > 1000)
      return Err(InvalidArgument("'top_k' must be an integer from 1 to 1000"));
    r.top_k = body["top_k"].get<int>();
  }
  if (body.contains("idempotency_key")) {
    if (!body["idempotency_key"].is_string() || body["idempotency_key"].get<std::string>().empty() ||
        body["idempotency_key"].get<std::string>().size() > 200)
      return Err(InvalidArgument("'idempotency_key' must be a string of 1 to 200 characters"));
    r.idempotency_key = body["idempotency_key"].get<std::string>();
  }
  return r;
}

json JobToJson(const JobRecord& j, bool with_results) {
  json out = {{"id", j.id},       {"state", j.state},           {"attempts", j.attempts},  {"model_ref", j.model_ref},
              {"inputs", j.inputs}, {"created_at", j.created_at}, {"updated_at", j.updated_at}};
  out["model"] = j.model.empty() ? json(nullptr) : json(j.model);
  out["worker"] = j.worker.empty() ? json(nullptr) : json(j.worker);
  out["error"] = j.error;
  if (with_results) out["results"] = j.results.is_null() ? json::array() : j.results;
  return out;
}

static constexpr const char* kJobColumns =
    "id, model_ref, state, attempts, inputs, model, worker, created_at, updated_at, results, error";

static JobRecord JobFromRow(const SqlRow& r) {
  JobRecord j;
  j.id = r.Text(0);
  j.model_ref = r.Text(1);
  j.state = r.Text(2);
  j.attempts = r.Int(3);
  j.inputs = r.Int(4);
  if (!r.IsNull(5)) j.model = r.Text(5);
  if (!r.IsNull(6)) j.worker = r.Text(6);
  j.created_at = r.Text(7);
  j.updated_at = r.Text(8);
  if (!r.IsNull(9)) j.results = json::parse(r.Text(9), nullptr, false);
  if (!r.IsNull(10)) j.error = json::parse(r.Text(10), nullptr, false);
  return j;
}

// ---- JobService ----------------------------------------------------------

JobService::JobService(Workspace& ws, std::string queue_url, QueueOptions options, Metrics* metrics)
    : ws_(ws), queue_url_(std::move(queue_url)), options_(options), metrics_(metrics) {
  if (metrics_) {
    metrics_->DefineCounter("fsml_jobs_submitted_total", "Jobs accepted by POST /api/v1/jobs.");
    metrics_->DefineCounter("fsml_jobs_finished_total", "Jobs that reached a terminal state, by state.");
    metrics_->DefineCounter("fsml_job_events_duplicate_total", "Job events ignored because the job had already finished.");
    metrics_->DefineHistogram("fsml_submit_group_size", "Jobs committed per group commit.", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  }
}

JobService::~JobService() { Stop(); }

Status JobService::Start() {
  FSML_ASSIGN_OR_RETURN(publish_q_, OpenJobQueue(queue_url_, ws_.meta(), options_));
  FSML_ASSIGN_OR_RETURN(event_q_, OpenJobQueue(queue_url_, ws_.meta(), options_));
  FSML_ASSIGN_OR_RETURN(dead_q_, OpenJobQueue(queue_url_, ws_.meta(), options_));
  FSML_ASSIGN_OR_RETURN(depth_q_, OpenJobQueue(queue_url_, ws_.meta(), options_));
  // Connect now, so a wrong URL or a broker that is down shows at start.
  FSML_RETURN_IF_ERROR(StatusOf(depth_q_->Depth(kJobsQueue)));
  FSML_RETURN_IF_ERROR(ws_.meta().Query("SELECT id, message FROM jobs WHERE published = 0 ORDER BY created_at", {},
                                        [&](const SqlRow& r) {
                                          to_publish_.push_back({std::string(r.Text(0)), std::string(r.Text(1))});
                                          return Status::Ok();
                                        }));
  unpublished_ = static_cast<int64_t>(to_publish_.size());
  if (unpublished_ > 0) log::Info("jobs: {} accepted jobs were not yet published; publishing them", unpublished_.load());
  threads_.emplace_back([this] { SubmitLoop(); });
  threads_.emplace_back([this] { PublishLoop(); });
  threads_.emplace_back([this] { EventLoop(); });
  threads_.emplace_back([this] { DeadLetterLoop(); });
  return Status::Ok();
}

void JobService::Stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  // Submissions that arrived after the submitter stopped.
  std::deque<PendingSubmit> left;
  {
    std::lock_guard lock(mu_);
    left.swap(pending_);
  }
  for (auto& p : left) p.done(Err(Unavailable("server is shutting down")));
}

void JobService::SleepUnlessStopping(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_.load(); });
}

void JobService::Submit(JobRequest request, std::string principal, SubmitDone done) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return done(Err(Unavailable("server is shutting down")));
    pending_.push_back({std::move(request), std::move(principal), std::move(done)});
  }
  cv_.notify_all();
}

void JobService::SubmitLoop() {
  while (true) {
    std::vector<PendingSubmit> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, nothing left
      while (!pending_.empty() && batch.size() < kMaxGroupCommit) {
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    std::vector<Result<std::pair<JobRecord, bool>>> out;
    std::vector<OutMessage> messages;
    const std::string now = NowRfc3339();
    int64_t created = 0;
    Status st = ws_.meta().Transaction([&]() -> Status {
      out.clear();
      messages.clear();
      created = 0;
      for (auto& p : batch) {
        if (p.request.idempotency_key) {
          std::optional<JobRecord> existing;
          FSML_RETURN_IF_ERROR(ws_.meta().Query(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE idempotency_key = ?",
                                                {*p.request.idempotency_key}, [&](const SqlRow& r) {
                                                  existing = JobFromRow(r);
                                                  return Status::Ok();
                                                }));
          if (existing) {
            out.emplace_back(std::make_pair(*existing, false));
            continue;
          }
        }
        JobRecord j;
        j.id = "job_" + SecureRandomHex(12);
        j.model_ref = p.request.model;
        j.state = "queued";
        j.inputs = static_cast<int64_t>(p.request.inputs.size());
        j.created_at = j.updated_at = now;
        json message = {{"format", "fsml.job"}, {"version", 1},         {"id", j.id},
                        {"model", j.model_ref}, {"inputs", p.request.inputs}, {"top_k", p.request.top_k},
                        {"submitted_at", now}};
        SqlValue key = p.request.idempotency_key ? SqlValue(*p.request.idempotency_key) : SqlValue();
        auto r = ws_.meta().Exec(
            "INSERT INTO jobs (id, model_ref, state, attempts, idempotency_key, message, published, inputs, created_at, "
            "updated_at, token_name) VALUES (?, ?, 'queued', 0, ?, ?, 0, ?, ?, ?, ?)",
            {j.id, j.model_ref, key, message.dump(), j.inputs, now, now, p.principal});
        if (!r) return r.error();
        ++created;
        messages.push_back({j.id, message.dump()});
        out.emplace_back(std::make_pair(std::move(j), true));
      }
      return Status::Ok();
    });
    if (!st.ok()) {
      log::Error("jobs: committing {} submissions failed: {}", batch.size(), st.ToString());
      for (auto& p : batch) p.done(Err(st));
      continue;
    }
    unpublished_ += created;
    if (metrics_) {
      metrics_->Add("fsml_jobs_submitted_total", {}, static_cast<double>(created));
      metrics_->Observe("fsml_submit_group_size", {}, static_cast<double>(batch.size()));
    }
    {
      std::lock_guard lock(mu_);
      for (auto& m : messages) to_publish_.push_back(std::move(m));
    }
    cv_.notify_all();
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(out[i]));
  }
}

void JobService::PublishLoop() {
  Backoff backoff;
  std::vector<std::string> confirmed;  // published, not yet marked in the database
  auto last_mark = std::chrono::steady_clock::now();
  auto mark = [&]() -> Status {
    if (confirmed.empty()) return Status::Ok();
    FSML_RETURN_IF_ERROR(ws_.meta().Transaction([&]() -> Status {
      for (const auto& id : confirmed) FSML_RETURN_IF_ERROR(StatusOf(ws_.meta().Exec("UPDATE jobs SET published = 1 WHERE id = ?", {id})));
      return Status::Ok();
    }));
    confirmed.clear();
    last_mark = std::chrono::steady_clock::now();
    return Status::Ok();
  };
  while (true) {
    std::vector<OutMessage> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_ || !to_publish_.empty(); });
      if (stop_) break;  // what is left stays unpublished in the database and goes out at the next start
      for (size_t i = 0; i < to_publish_.size() && i < kMaxPublishBatch; ++i) batch.push_back(to_publish_[i]);
    }
    Status st = publish_q_->Publish(kJobsQueue, batch);
    if (st.ok()) {
      {
        std::lock_guard lock(mu_);
        to_publish_.erase(to_publish_.begin(), to_publish_.begin() + static_cast<std::ptrdiff_t>(batch.size()));
      }
      unpublished_ -= static_cast<int64_t>(batch.size());
      for (auto& m : batch) confirmed.push_back(std::move(m.id));
      bool idle;
      {
        std::lock_guard lock(mu_);
        idle = to_publish_.empty();
      }
      // Marking costs a commit: once per 200 ms under load, at once when idle.
      if (idle || std::chrono::steady_clock::now() - last_mark > std::chrono::milliseconds(200) || confirmed.size() > 20000)
        st = mark();
    }
    {
      std::lock_guard lock(health_mu_);
      health_ = st;
    }
    if (!st.ok()) {
      auto delay = backoff.Next();
      log::Warn("jobs: publishing to the queue failed (retrying in {} ms): {}", delay.count(), st.ToString());
      SleepUnlessStopping(delay);
      continue;
    }
    backoff.Reset();
  }
  Status st = mark();
  if (!st.ok()) log::Warn("jobs: could not mark {} published jobs at shutdown (they will be sent again): {}", confirmed.size(), st.ToString());
}

Status JobService::Health() const {
  std::lock_guard lock(health_mu_);
  return health_;
}

Status JobService::ApplyEvents(const std::vector<Delivery>& deliveries) {
  int64_t duplicates = 0;
  std::map<std::string, int64_t> finished;
  Status st = ws_.meta().Transaction([&]() -> Status {
    duplicates = 0;
    finished.clear();
    const std::string now = NowRfc3339();
    for (const auto& d : deliveries) {
      json e = json::parse(d.body, nullptr, false);
      if (e.is_discarded() || !e.is_object() || !e.contains("id") || !e["id"].is_string() || !e.contains("event") ||
          !e["event"].is_string()) {
        log::Warn("jobs: dropping a malformed event on {}: {}", kResultsQueue, d.body.substr(0, 200));
        continue;
      }
      std::string id = e["id"], event = e["event"];
      int64_t attempt = e.contains("attempt") && e["attempt"].is_number_integer() ? e["attempt"].get<int64_t>() : 1;
      std::string worker = e.contains("worker") && e["worker"].is_string() ? e["worker"].get<std::string>() : "";
      Result<int64_t> r = int64_t{0};
      if (event == "started") {
        r = ws_.meta().Exec(
            "UPDATE jobs SET state = 'running', attempts = CASE WHEN attempts > ? THEN attempts ELSE ? END, worker = ?, updated_at = ? "
            "WHERE id = ? AND state IN ('queued', 'running')",
            {attempt, attempt, worker, now, id});
      } else if (event == "succeeded" || event == "failed") {
        std::string model = e.contains("model") && e["model"].is_string() ? e["model"].get<std::string>() : "";
        SqlValue results = e.contains("results") && e["results"].is_array() ? SqlValue(e["results"].dump()) : SqlValue();
        SqlValue error = e.contains("error") && e["error"].is_object() ? SqlValue(e["error"].dump()) : SqlValue();
        if (event == "failed" && std::holds_alternative<std::monostate>(error))
          error = ErrorJson("failed", "the worker reported a failure without details").dump();
        r = ws_.meta().Exec(
            "UPDATE jobs SET state = ?, attempts = CASE WHEN attempts > ? THEN attempts ELSE ? END, worker = ?, model = ?, "
            "results = ?, error = ?, updated_at = ? WHERE id = ? AND state NOT IN ('succeeded', 'failed', 'dead')",
            {event, attempt, attempt, worker, model.empty() ? SqlValue() : SqlValue(model), results, error, now, id});
        if (r && *r == 0) ++duplicates;
        if (r && *r > 0) ++finished[event];
      } else {
        log::Warn("jobs: dropping an event of unknown kind '{}' for {}", event, id);
        continue;
      }
      if (!r) return r.error();
    }
    return Status::Ok();
  });
  if (st.ok() && metrics_) {
    if (duplicates) metrics_->Add("fsml_job_events_duplicate_total", {}, static_cast<double>(duplicates));
    for (auto& [state, n] : finished) metrics_->Add("fsml_jobs_finished_total", {{"state", state}}, static_cast<double>(n));
  }
  return st;
}

void JobService::EventLoop() {
  Backoff backoff;
  while (!stop_) {
    auto got = event_q_->Receive(kResultsQueue, 512, std::chrono::milliseconds(200));
    Status st = got ? ApplyEvents(*got) : got.error();
    if (st.ok() && got) st = event_q_->Ack(*got);
    if (!st.ok()) {
      auto delay = backoff.Next();
      log::Warn("jobs: reading events failed (retrying in {} ms): {}", delay.count(), st.ToString());
      SleepUnlessStopping(delay);
      continue;
    }
    backoff.Reset();
  }
}

void JobService::DeadLetterLoop() {
  Backoff backoff;
  while (!stop_) {
    auto got = dead_q_->Receive(kDeadQueue, 64, std::chrono::milliseconds(500));
    Status st = got ? Status::Ok() : got.error();
    if (st.ok() && !got->empty()) {
      st = ws_.meta().Transaction([&]() -> Status {
        for (const auto& d : *got) {
          std::string id = d.id;
          if (id.empty()) {
            json m = json::parse(d.body, nullptr, false);
            if (m.is_object() && m.contains("id") && m["id"].is_string()) id = m["id"];
          }
          json error = ErrorJson("dead", "gave up after " + std::to_string(options_.max_attempts) +
                                             " deliveries without a result (a worker crashed or timed out on it each time)");
          auto r = ws_.meta().Exec(
              "UPDATE jobs SET state = 'dead', attempts = CASE WHEN attempts > ? THEN attempts ELSE ? END, error = ?, updated_at = ? "
              "WHERE id = ? AND state NOT IN ('succeeded', 'failed', 'dead')",
              {int64_t{options_.max_attempts}, int64_t{options_.max_attempts}, error.dump(), NowRfc3339(), id});
          if (!r) return r.error();
          if (*r > 0 && metrics_) metrics_->Add("fsml_jobs_finished_total", {{"state", "dead"}});
          if (*r > 0) log::Warn("jobs: {} is dead after {} deliveries", id, options_.max_attempts);
        }
        return Status::Ok();
      });
      if (st.ok()) st = dead_q_->Ack(*got);
    }
    if (!st.ok()) {
      auto delay = backoff.Next();
      log::Warn("jobs: reading dead letters failed (retrying in {} ms): {}", delay.count(), st.ToString());
      SleepUnlessStopping(delay);
      continue;
    }
    backoff.Reset();
  }
}

Result<JobRecord> JobService::Get(const std::string& id) {
  std::optional<JobRecord> job;
  FSML_RETURN_IF_ERROR(ws_.meta().Query(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?", {id},
                                        [&](const SqlRow& r) {
                                          job = JobFromRow(r);
                                          return Status::Ok();
                                        }));
  if (!job) return Err(NotFound("no job '" + id.substr(0, 100) + "'"));
  return *job;
}

Result<std::pair<std::vector<JobRecord>, int64_t>> JobService::List(const std::string& state, int64_t limit) {
  if (!state.empty() && std::find(std::begin(kJobStates), std::end(kJobStates), state) == std::end(kJobStates))
    return Err(InvalidArgument("unknown state '" + state.substr(0, 50) + "' (queued, running, succeeded, failed, dead)"));
  std::vector<JobRecord> jobs;
  std::string where = state.empty() ? "" : " WHERE state = ?";
  SqlParams params;
  if (!state.empty()) params.push_back(state);
  FSML_ASSIGN_OR_RETURN(auto total, ws_.meta().QueryInt("SELECT COUNT(*) FROM jobs" + where, params));
  params.push_back(limit);
  FSML_RETURN_IF_ERROR(ws_.meta().Query(std::string("SELECT ") + kJobColumns + " FROM jobs" + where +
                                            " ORDER BY created_at DESC, id LIMIT ?",
                                        params, [&](const SqlRow& r) {
                                          jobs.push_back(JobFromRow(r));
                                          return Status::Ok();
                                        }));
  return std::make_pair(std::move(jobs), total.value_or(0));
}

Result<std::map<std::string, int64_t>> JobService::CountByState() {
  std::map<std::string, int64_t> out;
  for (const char* s : kJobStates) out[s] = 0;
  FSML_RETURN_IF_ERROR(ws_.meta().Query("SELECT state, COUNT(*) FROM jobs GROUP BY state", {}, [&](const SqlRow& r) {
    out[std::string(r.Text(0))] = r.Int(1);
    return Status::Ok();
  }));
  return out;
}

Result<int64_t> JobService::QueueDepth() {
  std::lock_guard lock(depth_mu_);
  if (!depth_q_) return int64_t{0};
  return depth_q_->Depth(kJobsQueue);
}

// ---- Worker --------------------------------------------------------------

std::string DefaultWorkerName() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "/" + std::to_string(getpid());
}

Worker::Worker(Workspace& ws, std::unique_ptr<JobQueue> queue, ModelCache& cache, WorkerOptions options, Metrics* metrics)
    : ws_(ws), queue_(std::move(queue)), cache_(cache), options_(std::move(options)), metrics_(metrics) {
  if (options_.name.empty()) options_.name = DefaultWorkerName();
  if (metrics_) {
    metrics_->DefineCounter("fsml_worker_jobs_total", "Jobs processed by this process's workers, by outcome.");
    metrics_->DefineHistogram("fsml_worker_batch_images", "Images per forward pass in workers.", {1, 2, 4, 8, 16, 32, 64, 128, 256});
  }
}

void Worker::Run(const std::atomic<bool>& stop) {
  Backoff backoff;
  bool warned = false;
  while (!stop) {
    auto got = queue_->Receive(kJobsQueue, static_cast<size_t>(options_.prefetch), std::chrono::milliseconds(200));
    Status st = got ? (got->empty() ? Status::Ok() : Process(*got)) : got.error();
    if (!st.ok()) {
      if (!warned) log::Warn("worker {}: {} (retrying with backoff)", options_.name, st.ToString());
      warned = true;
      auto delay = backoff.Next();
      for (auto t = std::chrono::milliseconds(0); t < delay && !stop; t += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (warned) log::Info("worker {}: queue reachable again", options_.name);
    warned = false;
    backoff.Reset();
  }
}

Status Worker::Process(std::vector<Delivery>& deliveries) {
  struct Job {
    Delivery* delivery;
    std::string id, model_ref;
    int top_k = 5;
    json inputs;
    json results = json::array();
    json error;  // whole-job failure
    std::string model;
    bool retry = false;
  };
  std::vector<Job> jobs;
  std::vector<Delivery> drop;  // unparseable: acked without an event
  for (auto& d : deliveries) {
    json m = json::parse(d.body, nullptr, false);
    Job j{&d, "", "", 5, json::array(), json::array(), json(nullptr), "", false};
    if (m.is_object() && m.contains("id") && m["id"].is_string()) j.id = m["id"];
    if (j.id.empty()) j.id = d.id;
    if (j.id.empty()) {
      log::Warn("worker {}: dropping a job message without an id: {}", options_.name, d.body.substr(0, 200));
      drop.push_back(d);
      continue;
    }
    if (!m.is_object() || m.value("format", "") != "fsml.job" || !m.contains("model") || !m["model"].is_string() ||
        !m.contains("inputs") || !m["inputs"].is_array()) {
      j.error = ErrorJson("invalid_argument", "malformed job message (see docs/jobs.md)");
    } else {
      j.model_ref = m["model"];
      j.inputs = m["inputs"];
      if (m.contains("top_k") && m["top_k"].is_number_integer()) j.top_k = std::clamp(m["top_k"].get<int>(), 1, 1000);
    }
    jobs.push_back(std::move(j));
  }

  // Jobs with many inputs report that they started, so clients polling see
  // "running"; small jobs finish before anyone could look.
  std::vector<OutMessage> started;
  for (auto& j : jobs)
    if (j.error.is_null() && j.inputs.size() >= 16)
      started.push_back({j.id, json({{"format", "fsml.job_event"}, {"version", 1}, {"id", j.id}, {"event", "started"},
                                     {"attempt", j.delivery->attempt}, {"worker", options_.name}})
                                   .dump()});
  FSML_RETURN_IF_ERROR(queue_->Publish(kResultsQueue, started));

  // Group by model reference and run each group's images in batches.
  std::map<std::string, std::vector<Job*>> by_model;
  for (auto& j : jobs)
    if (j.error.is_null()) by_model[j.model_ref].push_back(&j);
  for (auto& [ref_text, group] : by_model) {
    auto ref = ParseModelRef(ref_text);
    Result<std::shared_ptr<LoadedModel>> model = ref ? cache_.Get(ws_, *ref) : Result<std::shared_ptr<LoadedModel>>(Err(ref.error()));
    if (!model) {
      const Status& e = model.error();
      bool transient = e.code() == Code::kIoError || e.code() == Code::kUnavailable || e.code() == Code::kAborted;
      for (Job* j : group) {
        if (transient) j->retry = true;
        else j->error = ErrorJson(ErrorCode(e), e.message());
      }
      continue;
    }
    LoadedModel& lm = **model;
    const auto& in = lm.spec["input"];
    int c = in["channels"], h = in["height"], w = in["width"];
    auto mean = lm.spec["normalize"]["mean"].get<std::vector<float>>();
    auto stdev = lm.spec["normalize"]["std"].get<std::vector<float>>();
    const size_t sample = static_cast<size_t>(c) * h * w, classes = lm.labels.size();
    std::vector<float> pixels;
    std::vector<std::pair<Job*, size_t>> slots;  // (job, input index) per image in `pixels`
    std::vector<std::string> uploaded;           // per slot: image_base64 bytes, for collection (else empty)
    for (Job* j : group) {
      j->model = lm.ref();
      j->results = json::array();
      for (size_t i = 0; i < j->inputs.size(); ++i) {
        const json& input = j->inputs[i];
        j->results.push_back(json::object());
        std::string bytes;
        if (input.contains("image_base64") && input["image_base64"].is_string()) {
          auto b = http::Base64Decode(input["image_base64"].get<std::string>());
          if (!b) {
            j->results[i]["error"] = ErrorJson("invalid_argument", "image_base64: " + b.error().message());
            continue;
          }
          bytes = std::move(*b);
        } else if (input.contains("item") && input["item"].is_string() && IsSha256Hex(input["item"].get<std::string>())) {
          auto b = ws_.blobs().Get(input["item"].get<std::string>());
          if (!b) {
            j->results[i]["error"] = ErrorJson(ErrorCode(b.error()), "item " + input["item"].get<std::string>() + ": " + b.error().message());
            continue;
          }
          bytes = std::move(*b);
        } else if (input.contains("text")) {
          j->results[i]["error"] = ErrorJson("invalid_argument", "model " + lm.ref() + " takes images, not text");
          continue;
        } else {
          j->results[i]["error"] = ErrorJson("invalid_argument", "input must have one of image_base64, text, item");
          continue;
        }
        auto x = PreprocessImage(bytes, "inputs[" + std::to_string(i) + "]", c, h, w, mean, stdev);
        if (!x) {
          j->results[i]["error"] = ErrorJson("invalid_argument", x.error().message());
          continue;
        }
        pixels.insert(pixels.end(), x->begin(), x->end());
        slots.emplace_back(j, i);
        uploaded.push_back(options_.collector && input.contains("image_base64") ? std::move(bytes) : std::string());
      }
    }
    const size_t batch = static_cast<size_t>(std::max(1, options_.max_batch));
    for (size_t start = 0; start < slots.size(); start += batch) {
      size_t n = std::min(batch, slots.size() - start);
      auto probs = lm.runner->Predict(pixels.data() + start * sample, n);
      if (metrics_) metrics_->Observe("fsml_worker_batch_images", {}, static_cast<double>(n));
      for (size_t k = 0; k < n; ++k) {
        auto [j, i] = slots[start + k];
        if (!probs) {
          j->results[i]["error"] = ErrorJson("internal", probs.error().message());
          continue;
        }
        json preds = json::array();
        auto top = TopK(lm, probs->data() + k * classes, static_cast<size_t>(j->top_k));
        for (auto& [label, p] : top) preds.push_back({{"label", label}, {"probability", p}});
        j->results[i]["predictions"] = std::move(preds);
        std::string& input = uploaded[start + k];
        if (!input.empty() && !top.empty() && options_.collector->Wants(lm.version.project, top[0].second))
          options_.collector->Offer({lm.version.project, lm.ref(), top[0].first, top[0].second, std::move(input)});
      }
    }
  }

  if (options_.hold_ms_for_test > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options_.hold_ms_for_test));

  std::vector<OutMessage> events;
  std::vector<Delivery> done = drop;
  for (auto& j : jobs) {
    if (j.retry) {
      FSML_RETURN_IF_ERROR(queue_->Requeue(*j.delivery));
      continue;
    }
    json e = {{"format", "fsml.job_event"}, {"version", 1}, {"id", j.id}, {"attempt", j.delivery->attempt},
              {"worker", options_.name}};
    if (!j.error.is_null()) {
      e["event"] = "failed";
      e["error"] = j.error;
    } else {
      e["event"] = "succeeded";
      e["model"] = j.model;
      e["results"] = j.results;
    }
    if (metrics_) metrics_->Add("fsml_worker_jobs_total", {{"outcome", e["event"].get<std::string>()}});
    events.push_back({j.id, e.dump(-1, ' ', false, json::error_handler_t::replace)});
    done.push_back(*j.delivery);
  }
  FSML_RETURN_IF_ERROR(queue_->Publish(kResultsQueue, events));
  return queue_->Ack(done);
}

}  // namespace fsml
