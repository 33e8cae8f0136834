#include "serve/eval_api.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "core/fs.h"
#include "core/log.h"
#include "data/project.h"
#include "data/split.h"
#include "data/versions.h"
#include "eval/label_issues.h"
#include "ml/inference.h"
#include "ml/train.h"
#include "registry/runs.h"
#include "serve/training_lock.h"
#include "serve/route_util.h"

namespace fsml {

using json = nlohmann::json;
using http::Dispatch;
using http::Reply;
using http::Request;
using http::Response;
using http::Role;
using route::Answer;
using route::IntParam;
using route::JsonBody;
using route::StringField;

// ---- PredictionIndex -------------------------------------------------------------

PredictionIndex::PredictionIndex(Evaluation evaluation, Predictions p) : evaluation_(std::move(evaluation)), p_(std::move(p)) {
  size_t n = p_.items.size(), k = p_.labels.size();
  pred_ = eval::Predictions(p_.probs, k);
  conf_.resize(n);
  for (size_t i = 0; i < n; ++i) conf_[i] = k ? p_.probs[i * k + static_cast<size_t>(pred_[i])] : 0.0f;
  row_of_.reserve(n);
  for (size_t i = 0; i < n; ++i) row_of_.emplace(std::string_view(p_.items[i]), i);
  bytes_ = p_.probs.size() * sizeof(float) + n * (sizeof(int64_t) * 2 + sizeof(float) + sizeof(std::string) + 64 + 48) +
           4 * n * sizeof(uint32_t) + evaluation_.label_issues.dump().size();
}

std::optional<int64_t> PredictionIndex::Label(std::string_view name) const {
  for (size_t i = 0; i < p_.labels.size(); ++i)
    if (p_.labels[i] == name) return static_cast<int64_t>(i);
  return std::nullopt;
}

std::optional<size_t> PredictionIndex::Row(std::string_view item_id) const {
  auto it = row_of_.find(item_id);
  if (it == row_of_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const std::vector<uint32_t>> PredictionIndex::Sorted(const Selection& s) const {
  Key key{s.truth, s.predicted, s.mistakes_only};
  {
    std::lock_guard lock(mu_);
    auto it = sorted_.find(key);
    if (it != sorted_.end()) return it->second;
  }
  auto rows = std::make_shared<std::vector<uint32_t>>();
  for (size_t i = 0; i < p_.items.size(); ++i) {
    if (s.truth >= 0 && p_.truth[i] != s.truth) continue;
    if (s.predicted >= 0 && pred_[i] != s.predicted) continue;
    if (s.mistakes_only && pred_[i] == p_.truth[i]) continue;
    rows->push_back(static_cast<uint32_t>(i));
  }
  std::sort(rows->begin(), rows->end(), [this](uint32_t a, uint32_t b) {
    return conf_[a] != conf_[b] ? conf_[a] > conf_[b] : a < b;
  });
  std::lock_guard lock(mu_);
  return sorted_.emplace(key, std::move(rows)).first->second;  // a concurrent first sort may have won: same rows
}

PredictionIndex::Page PredictionIndex::Select(const Selection& s, bool ascending, size_t offset, size_t limit) const {
  auto rows = Sorted(s);
  Page page;
  page.total = rows->size();
  if (offset >= rows->size()) return page;
  size_t end = std::min(rows->size(), offset + std::min(limit, rows->size()));
  page.rows.reserve(end - offset);
  for (size_t i = offset; i < end; ++i) page.rows.push_back((*rows)[ascending ? rows->size() - 1 - i : i]);
  return page;
}

size_t PredictionIndex::SortedSelectionsForTest() const {
  std::lock_guard lock(mu_);
  return sorted_.size();
}

// ---- PredictionCache -------------------------------------------------------------

Result<std::shared_ptr<const PredictionIndex>> PredictionCache::Get(int64_t id, const Loader& load) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.index;
    }
  }
  FSML_ASSIGN_OR_RETURN(auto index, load());
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.index;
  }
  lru_.push_front(id);
  entries_.emplace(id, Entry{index, lru_.begin()});
  bytes_ += index->bytes();
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    int64_t victim = lru_.back();
    lru_.pop_back();
    auto v = entries_.find(victim);
    bytes_ -= v->second.index->bytes();
    entries_.erase(v);
  }
  return index;
}

bool PredictionCache::Contains(int64_t id) const {
  std::lock_guard lock(mu_);
  return entries_.count(id) > 0;
}

size_t PredictionCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t PredictionCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

// ---- Helpers ------------------------------------------------------------------------

namespace {

constexpr size_t kMaxJobs = 100;     // kept for polling
constexpr size_t kMaxQueued = 10;    // waiting evaluations
constexpr int64_t kMaxPage = 500;    // items per page

// At most `n` bytes of `s`, not cutting a UTF-8 sequence.
std::string Cut(std::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "…";
}

Result<int64_t> EvaluationId(std::string_view text, const char* what = "evaluation id") {
  int64_t id = 0;
  bool ok = !text.empty() && text.size() <= 15;
  for (char c : text) {
    if (c < '0' || c > '9') ok = false;
    if (ok) id = id * 10 + (c - '0');
  }
  if (!ok || id <= 0) return Err(InvalidArgument(std::string(what) + " must be a positive integer, not '" + Cut(text, 40) + "'"));
  return id;
}

std::string Percent(double p) { return std::to_string(static_cast<int>(std::lround(p * 100))) + "%"; }

struct ItemMedia {
  std::string media_type;
  int64_t width = 0, height = 0;
};

// The media type and size of each item, in one query.
Result<std::map<std::string, ItemMedia>> MediaOf(MetaStore& meta, const std::vector<std::string>& ids) {
  std::map<std::string, ItemMedia> out;
  for (size_t start = 0; start < ids.size(); start += 200) {
    size_t end = std::min(ids.size(), start + 200);
    std::string sql = "SELECT id, media_type, width, height FROM items WHERE id IN (";
    SqlParams params;
    for (size_t i = start; i < end; ++i) {
      sql += i == start ? "?" : ", ?";
      params.push_back(ids[i]);
    }
    sql += ")";
    FSML_RETURN_IF_ERROR(meta.Query(sql, params, [&](const SqlRow& r) {
      out[std::string(r.Text(0))] = {std::string(r.Text(1)), r.IsNull(2) ? 0 : r.Int(2), r.IsNull(3) ? 0 : r.Int(3)};
      return Status::Ok();
    }));
  }
  return out;
}

// What the web needs to show an item: media type and size, and the start of a text item.
Status AddMedia(Workspace& ws, const std::vector<std::string>& ids, std::vector<json*> out) {
  FSML_ASSIGN_OR_RETURN(auto media, MediaOf(ws.meta(), ids));
  for (size_t i = 0; i < ids.size(); ++i) {
    auto it = media.find(ids[i]);
    json& j = *out[i];
    if (it == media.end()) {
      j["media_type"] = nullptr;
      continue;
    }
    j["media_type"] = it->second.media_type;
    if (it->second.width) j["width"] = it->second.width;
    if (it->second.height) j["height"] = it->second.height;
    if (it->second.media_type.rfind("text/", 0) == 0) {
      auto text = ws.blobs().Get(ids[i]);
      if (text) j["text"] = Cut(*text, 300);
    }
  }
  return Status::Ok();
}

// One row of an evaluation, as the explorer shows it.
json RowJson(const PredictionIndex& x, size_t row) {
  const Predictions& p = x.predictions();
  size_t k = x.classes();
  std::vector<size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  size_t top = std::min<size_t>(3, k);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(), [&](size_t a, size_t b) {
    float pa = x.probability(row, a), pb = x.probability(row, b);
    return pa != pb ? pa > pb : a < b;
  });
  json tops = json::array();
  for (size_t i = 0; i < top; ++i) tops.push_back({{"label", p.labels[order[i]]}, {"probability", x.probability(row, order[i])}});
  int64_t pred = x.predicted(row);
  return {{"item", p.items[row]},
          {"true", p.labels[static_cast<size_t>(p.truth[row])]},
          {"predicted", p.labels[static_cast<size_t>(pred)]},
          {"confidence", x.confidence(row)},
          {"correct", pred == p.truth[row]},
          {"top", tops}};
}

Result<json> RowsJson(Workspace& ws, const PredictionIndex& x, const std::vector<size_t>& rows) {
  json items = json::array();
  std::vector<std::string> ids;
  for (size_t r : rows) {
    items.push_back(RowJson(x, r));
    ids.push_back(x.predictions().items[r]);
  }
  std::vector<json*> out;
  for (auto& j : items) out.push_back(&j);
  FSML_RETURN_IF_ERROR(AddMedia(ws, ids, out));
  return items;
}

json Summary(const Evaluation& e, const std::vector<eval::RequirementResult>& reqs) {
  const eval::Metrics& m = e.metrics;
  uint64_t correct = 0;
  for (size_t i = 0; i < m.confusion.size(); ++i) correct += m.confusion[i][i];
  return {{"id", e.id},
          {"model", e.model},
          {"project", e.project},
          {"dataset", e.project + "@v" + std::to_string(e.version_number)},
          {"split", e.split},
          {"created_at", e.created_at},
          {"created_by", e.created_by},
          {"seconds", e.seconds},
          {"items", m.items},
          {"mistakes", m.items - correct},
          {"accuracy", m.accuracy},
          {"macro_f1", m.macro_f1},
          {"weighted_f1", m.weighted_f1},
          {"log_loss", m.log_loss},
          {"ece", m.ece},
          {"requirements", reqs.size()},
          {"passed", eval::AllPassed(reqs)},
          {"label_issues", e.label_issues.is_array() ? json(e.label_issues.size()) : json()}};
}

// A parsed selection of an evaluation's rows from a query string.
Result<PredictionIndex::Selection> SelectionFrom(const PredictionIndex& x, const std::map<std::string, std::string>& q) {
  PredictionIndex::Selection s;
  auto label = [&](const char* name, int64_t* out) -> Status {
    auto it = q.find(name);
    if (it == q.end() || it->second.empty()) return Status::Ok();
    auto l = x.Label(it->second);
    if (!l) {
      std::string known;
      for (const auto& n : x.predictions().labels) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument(std::string(name) + ": evaluation " + std::to_string(x.evaluation().id) + " has no label '" +
                             Cut(it->second, 64) + "' (labels: " + Cut(known, 1000) + ")");
    }
    *out = *l;
    return Status::Ok();
  };
  FSML_RETURN_IF_ERROR(label("true", &s.truth));
  FSML_RETURN_IF_ERROR(label("pred", &s.predicted));
  auto m = q.find("mistakes");
  if (m != q.end()) {
    if (m->second == "1" || m->second == "true") s.mistakes_only = true;
    else if (m->second != "0" && m->second != "false" && !m->second.empty())
      return Err(InvalidArgument("mistakes must be 1 or 0"));
  }
  return s;
}

// A page of items from a query's offset (default 0) and limit (default 48, at most kMaxPage).
struct ItemPage {
  int64_t offset = 0, limit = 0;
};
Result<ItemPage> PageFrom(const std::map<std::string, std::string>& q) {
  FSML_ASSIGN_OR_RETURN(int64_t offset, IntParam(q, "offset", 0, 0, INT64_C(1) << 40));
  FSML_ASSIGN_OR_RETURN(int64_t limit, IntParam(q, "limit", 48, 1, kMaxPage));
  return ItemPage{offset, limit};
}

Result<bool> AscendingFrom(const std::map<std::string, std::string>& q) {
  auto it = q.find("sort");
  if (it == q.end() || it->second.empty() || it->second == "-confidence") return false;
  if (it->second == "confidence") return true;
  return Err(InvalidArgument("sort must be confidence (lowest first) or -confidence (highest first), not '" + Cut(it->second, 40) + "'"));
}

}  // namespace

json EvalJobToJson(const EvalJob& j) {
  auto opt = [](const std::string& s) { return s.empty() ? json() : json(s); };
  return {{"id", j.id},
          {"model", j.model},
          {"data", j.data},
          {"split", j.split},
          {"label_issues", j.label_issues},
          {"requested_by", j.requested_by},
          {"state", j.state},
          {"stage", opt(j.stage)},
          {"error", opt(j.error)},
          {"evaluation_id", j.evaluation_id ? json(j.evaluation_id) : json()},
          {"created_at", j.created_at},
          {"started_at", opt(j.started_at)},
          {"finished_at", opt(j.finished_at)}};
}

// ---- EvalApi --------------------------------------------------------------------------

EvalApi::EvalApi(Workspace& ws, LabelingService& labeling, EvalApiOptions options)
    : ws_(ws), options_(std::move(options)), labeling_(labeling), cache_(options_.cache_bytes) {}

EvalApi::~EvalApi() { Stop(); }

void EvalApi::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !worker_.joinable()) return;
    stop_ = true;
    for (auto& j : jobs_)
      if (j.state == "queued") {
        j.state = "failed";
        j.error = "the server stopped before this evaluation started";
        j.finished_at = NowRfc3339();
      }
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Result<std::shared_ptr<const PredictionIndex>> EvalApi::Index(int64_t evaluation_id) {
  return cache_.Get(evaluation_id, [&]() -> Result<std::shared_ptr<const PredictionIndex>> {
    FSML_ASSIGN_OR_RETURN(Evaluation e, GetEvaluation(ws_.meta(), evaluation_id));
    FSML_ASSIGN_OR_RETURN(std::string bytes, ws_.blobs().Get(e.predictions_key, /*verify=*/true));
    FSML_ASSIGN_OR_RETURN(Predictions p, DecodePredictions(bytes, "predictions of evaluation " + std::to_string(e.id)));
    return std::make_shared<const PredictionIndex>(std::move(e), std::move(p));
  });
}

Result<EvalJob> EvalApi::Submit(EvalJob job) {
  std::lock_guard lock(mu_);
  if (stop_) return Err(Unavailable("the server is stopping; evaluate again after it restarts"));
  size_t waiting = static_cast<size_t>(std::count_if(jobs_.begin(), jobs_.end(), [](const EvalJob& j) { return j.state == "queued"; }));
  if (waiting >= kMaxQueued)
    return Err(FailedPrecondition(std::to_string(waiting) + " evaluations are waiting already; try again when they are done"));
  job.id = next_job_++;
  job.state = "queued";
  job.created_at = NowRfc3339();
  jobs_.push_back(job);
  while (jobs_.size() > kMaxJobs && jobs_.front().state != "queued" && jobs_.front().state != "running") jobs_.pop_front();
  if (!worker_.joinable()) worker_ = std::thread([this] { Work(); });
  cv_.notify_all();
  return job;
}

std::optional<EvalJob> EvalApi::GetJob(int64_t id) {
  std::lock_guard lock(mu_);
  for (const auto& j : jobs_)
    if (j.id == id) return j;
  return std::nullopt;
}

void EvalApi::UpdateJob(int64_t id, const std::function<void(EvalJob&)>& change) {
  std::lock_guard lock(mu_);
  for (auto& j : jobs_)
    if (j.id == id) change(j);
}

void EvalApi::Work() {
  for (;;) {
    EvalJob job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        return stop_ || std::any_of(jobs_.begin(), jobs_.end(), [](const EvalJob& j) { return j.state == "queued"; });
      });
      if (stop_) return;
      auto it = std::find_if(jobs_.begin(), jobs_.end(), [](const EvalJob& j) { return j.state == "queued"; });
      it->state = "running";
      it->stage = "loading model";
      it->started_at = NowRfc3339();
      job = *it;
    }
    Status s = Status::Ok();
    try {
      s = RunJob(job);
    } catch (const std::exception& e) {  // the boundary of this thread
      s = Internal(std::string("evaluation failed: ") + e.what());
    }
    if (!s.ok()) log::Error("evaluation job {} ({} on {}): {}", job.id, job.model, job.data, s.message());
    UpdateJob(job.id, [&](EvalJob& j) {
      j.state = s.ok() ? "done" : "failed";
      j.stage.clear();
      if (!s.ok()) j.error = s.message();
      j.finished_at = NowRfc3339();
    });
  }
}

Status EvalApi::RunJob(EvalJob job) {
  auto stage = [&](const char* name) { UpdateJob(job.id, [&](EvalJob& j) { j.stage = name; }); };
  FSML_ASSIGN_OR_RETURN(ModelRef mref, ParseModelRef(job.model));
  FSML_ASSIGN_OR_RETURN(VersionRef vref, ParseVersionRef(job.data));
  FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws_.meta(), vref.project));
  FSML_ASSIGN_OR_RETURN(DatasetVersion version, ResolveVersion(ws_.meta(), project, vref.ref));
  FSML_ASSIGN_OR_RETURN(Split split, ParseSplit(job.split));
  // LibTorch work runs one at a time in the server: trainings and evaluations take turns.
  std::unique_lock torch(TrainingLock(), std::try_to_lock);
  if (!torch.owns_lock()) {
    stage("waiting for a training to end");
    torch.lock();
    stage("loading model");
  }
  ModelCache cache(options_.threads);  // this job's only: the server keeps no model it no longer evaluates
  FSML_ASSIGN_OR_RETURN(auto model, cache.Get(ws_, mref));
  stage("predicting");
  FSML_ASSIGN_OR_RETURN(SplitEvaluation se, EvaluateSplit(ws_, *model, project, version, split, options_.threads));
  json label_issues;
  if (job.label_issues) {
    // As `fsml eval --find-label-issues`: out-of-sample probabilities by k-fold cross-validation.
    stage("label issues");
    CrossValOptions cv;
    cv.folds = job.folds;
    cv.threads = options_.threads;
    cv.quiet = true;
    FSML_ASSIGN_OR_RETURN(LabelIssueSearch found, FindSplitLabelIssues(ws_, *model, project, version, split, cv));
    label_issues = std::move(found.list);
  }
  stage("saving");
  FSML_ASSIGN_OR_RETURN(int64_t id, StoreEvaluation(ws_, *model, project, version, split, se, job.requested_by, std::move(label_issues)));
  UpdateJob(job.id, [&](EvalJob& j) { j.evaluation_id = id; });
  return Status::Ok();
}

// ---- Comparison ----------------------------------------------------------------------

Result<std::shared_ptr<const EvalApi::Comparison>> EvalApi::Compare(int64_t a_id, int64_t b_id) {
  {
    std::lock_guard lock(compare_mu_);
    for (const auto& [key, c] : compares_)
      if (key == std::make_pair(a_id, b_id)) return c;
  }
  auto c = std::make_shared<Comparison>();
  FSML_ASSIGN_OR_RETURN(c->a, Index(a_id));
  FSML_ASSIGN_OR_RETURN(c->b, Index(b_id));
  const PredictionIndex &a = *c->a, &b = *c->b;
  auto name = [](const Evaluation& e) {
    return "evaluation " + std::to_string(e.id) + " (" + e.project + "@v" + std::to_string(e.version_number) + " " + e.split + ")";
  };
  FSML_ASSIGN_OR_RETURN(PairedPredictions pp, PairPredictions(a.predictions(), b.predictions(), name(a.evaluation()), name(b.evaluation())));
  c->b_to_a = std::move(pp.b_to_a);
  c->paired = pp.paired;
  c->both_right = pp.both_right;
  c->both_wrong = pp.both_wrong;
  c->fixed = std::move(pp.fixed);
  c->broken = std::move(pp.broken);
  auto by_b = [&](const std::pair<size_t, size_t>& x, const std::pair<size_t, size_t>& y) {
    return b.confidence(x.second) != b.confidence(y.second) ? b.confidence(x.second) > b.confidence(y.second) : x.first < y.first;
  };
  std::sort(c->fixed.begin(), c->fixed.end(), by_b);
  std::sort(c->broken.begin(), c->broken.end(), by_b);
  std::lock_guard lock(compare_mu_);
  compares_.emplace_back(std::make_pair(a_id, b_id), c);
  if (compares_.size() > 8) compares_.pop_front();
  return std::shared_ptr<const Comparison>(c);
}

Result<Response> EvalApi::CompareResponse(const Request& req) {
  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
  if (!q.count("a") || !q.count("b")) return Err(InvalidArgument("give two evaluation ids: ?a=ID&b=ID"));
  FSML_ASSIGN_OR_RETURN(int64_t a_id, EvaluationId(q["a"], "a"));
  FSML_ASSIGN_OR_RETURN(int64_t b_id, EvaluationId(q["b"], "b"));
  FSML_ASSIGN_OR_RETURN(ItemPage page_of, PageFrom(q));
  int64_t offset = page_of.offset, limit = page_of.limit;
  std::string kind = q.count("kind") ? q["kind"] : "";
  if (!kind.empty() && kind != "fixed" && kind != "broken")
    return Err(InvalidArgument("kind must be fixed or broken, not '" + Cut(kind, 40) + "'"));
  FSML_ASSIGN_OR_RETURN(auto c, Compare(a_id, b_id));
  const Evaluation &ea = c->a->evaluation(), &eb = c->b->evaluation();
  const eval::Metrics &ma = ea.metrics, &mb = eb.metrics;
  eval::McNemarResult mc = eval::McNemar(c->broken.size(), c->fixed.size());
  auto side = [](const Evaluation& e) {
    return json{{"id", e.id}, {"model", e.model}, {"dataset", e.project + "@v" + std::to_string(e.version_number)}, {"split", e.split},
                {"items", e.metrics.items}};
  };
  json out = {{"a", side(ea)},
              {"b", side(eb)},
              {"paired_items", c->paired},
              {"fixed", c->fixed.size()},
              {"broken", c->broken.size()},
              {"both_right", c->both_right},
              {"both_wrong", c->both_wrong},
              {"mcnemar", {{"b", mc.b}, {"c", mc.c}, {"statistic", mc.statistic}, {"p_value", mc.p_value}, {"exact", mc.exact}}}};
  struct Row {
    const char* name;
    double va, vb;
    bool higher_better;
  };
  std::vector<Row> rows = {{"accuracy", ma.accuracy, mb.accuracy, true},
                           {"macro_precision", ma.macro_precision, mb.macro_precision, true},
                           {"macro_recall", ma.macro_recall, mb.macro_recall, true},
                           {"macro_f1", ma.macro_f1, mb.macro_f1, true},
                           {"weighted_f1", ma.weighted_f1, mb.weighted_f1, true},
                           {"log_loss", ma.log_loss, mb.log_loss, false},
                           {"ece", ma.ece, mb.ece, false}};
  json metrics = json::array();
  for (const auto& r : rows)
    metrics.push_back({{"metric", r.name}, {"a", r.va}, {"b", r.vb}, {"delta", r.vb - r.va}, {"higher_is_better", r.higher_better}});
  out["metrics"] = metrics;
  json per_class = json::array();
  for (const auto& ca : ma.per_class) {
    auto cb = std::find_if(mb.per_class.begin(), mb.per_class.end(), [&](const eval::ClassMetrics& x) { return x.label == ca.label; });
    if (cb == mb.per_class.end()) continue;
    auto d = [](double x, double y) { return json{{"a", x}, {"b", y}, {"delta", y - x}}; };
    per_class.push_back({{"label", ca.label},
                         {"support", ca.support},
                         {"precision", d(ca.precision, cb->precision)},
                         {"recall", d(ca.recall, cb->recall)},
                         {"f1", d(ca.f1, cb->f1)}});
  }
  out["per_class"] = per_class;
  auto page = [&](const std::vector<std::pair<size_t, size_t>>& list) -> Result<json> {
    json items = json::array();
    std::vector<std::string> ids;
    const PredictionIndex &a = *c->a, &b = *c->b;
    for (size_t i = static_cast<size_t>(offset); i < list.size() && items.size() < static_cast<size_t>(limit); ++i) {
      auto [ra, rb] = list[i];
      const std::string& id = a.predictions().items[ra];
      items.push_back({{"item", id},
                       {"true", a.predictions().labels[static_cast<size_t>(a.predictions().truth[ra])]},
                       {"a", {{"predicted", a.predictions().labels[static_cast<size_t>(a.predicted(ra))]}, {"confidence", a.confidence(ra)}}},
                       {"b", {{"predicted", b.predictions().labels[static_cast<size_t>(b.predicted(rb))]}, {"confidence", b.confidence(rb)}}}});
      ids.push_back(id);
    }
    std::vector<json*> ptrs;
    for (auto& j : items) ptrs.push_back(&j);
    FSML_RETURN_IF_ERROR(AddMedia(ws_, ids, ptrs));
    return items;
  };
  out["offset"] = offset;
  out["limit"] = limit;
  if (kind.empty() || kind == "fixed") {
    FSML_ASSIGN_OR_RETURN(out["fixed_items"], page(c->fixed));
  }
  if (kind.empty() || kind == "broken") {
    FSML_ASSIGN_OR_RETURN(out["broken_items"], page(c->broken));
  }
  return Response::Json(200, out);
}

// ---- Routes ---------------------------------------------------------------------------

namespace {

// The requirement results of evaluations, parsing each project's requirements once.
class RequirementsOf {
 public:
  explicit RequirementsOf(MetaStore& meta) : meta_(meta) {}
  Result<std::vector<eval::RequirementResult>> Check(const Evaluation& e) {
    auto it = by_project_.find(e.project);
    if (it == by_project_.end()) {
      FSML_ASSIGN_OR_RETURN(Project p, GetProject(meta_, e.project));
      FSML_ASSIGN_OR_RETURN(auto reqs, ParsedRequirements(meta_, p));
      it = by_project_.emplace(e.project, std::move(reqs)).first;
    }
    return eval::CheckRequirements(it->second, e.metrics);
  }

 private:
  MetaStore& meta_;
  std::map<std::string, std::vector<eval::Requirement>> by_project_;
};

// Items of a review or accept request that belong to the evaluation: 400 otherwise.
Result<size_t> RowOf(const PredictionIndex& x, const json& v, const char* what) {
  if (!v.is_string()) return Err(InvalidArgument(std::string(what) + " must be an item id (a string)"));
  std::string id = v.get<std::string>();
  auto row = x.Row(id);
  if (!row)
    return Err(InvalidArgument("item '" + Cut(id, 64) + "' is not in evaluation " + std::to_string(x.evaluation().id)));
  return *row;
}

}  // namespace

void EvalApi::AddRoutes(http::Router& router) {
  router.Add({"GET", "/api/v1/evaluations", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(int64_t limit, IntParam(q, "limit", 100, 1, 1000));
                  std::string model = q.count("model") ? q["model"] : "", project = q.count("project") ? q["project"] : "";
                  if (model.size() > 200 || project.size() > 200) return Err(InvalidArgument("model and project are names of at most 200 bytes"));
                  FSML_ASSIGN_OR_RETURN(auto evals, ListEvaluations(ws_.meta(), model, static_cast<size_t>(limit), project));
                  RequirementsOf reqs(ws_.meta());
                  json out = json::array();
                  for (const auto& e : evals) {
                    FSML_ASSIGN_OR_RETURN(auto r, reqs.Check(e));
                    out.push_back(Summary(e, r));
                  }
                  return Response::Json(200, {{"evaluations", out}});
                });
              }});
  router.Add({"POST", "/api/v1/evaluations", Dispatch::kBlocking, Role::kReviewer, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  EvalJob job;
                  FSML_ASSIGN_OR_RETURN(job.model, StringField(*body, "model", true));
                  FSML_ASSIGN_OR_RETURN(job.data, StringField(*body, "data", false));
                  FSML_ASSIGN_OR_RETURN(job.split, StringField(*body, "split", false));
                  if (job.split.empty()) job.split = "test";
                  if (body->contains("label_issues")) {
                    if (!(*body)["label_issues"].is_boolean()) return Err(InvalidArgument("\"label_issues\" must be true or false"));
                    job.label_issues = (*body)["label_issues"].get<bool>();
                  }
                  if (body->contains("folds")) {
                    const json& f = (*body)["folds"];
                    if (!f.is_number_integer() || f.get<int64_t>() < 2 || f.get<int64_t>() > 10)
                      return Err(InvalidArgument("\"folds\" must be an integer from 2 to 10"));
                    job.folds = static_cast<int>(f.get<int64_t>());
                  }
                  // Everything that can be checked now is, so that a typo is a 400/404 and not a failed job.
                  FSML_ASSIGN_OR_RETURN(ModelVersion mv, ResolveModel(ws_.meta(), std::string_view(job.model)));
                  if (job.data.empty()) job.data = mv.project;
                  FSML_ASSIGN_OR_RETURN(VersionRef vref, ParseVersionRef(job.data));
                  FSML_ASSIGN_OR_RETURN(Project project, GetProject(ws_.meta(), vref.project));
                  FSML_ASSIGN_OR_RETURN(DatasetVersion version, ResolveVersion(ws_.meta(), project, vref.ref));
                  FSML_ASSIGN_OR_RETURN(Split split, ParseSplit(job.split));
                  job.model = mv.name + "/" + std::to_string(mv.number);  // the version now aliased, as evaluated
                  job.data = project.name + "@v" + std::to_string(version.number);
                  job.split = std::string(SplitName(split));
                  job.requested_by = req.principal;
                  FSML_ASSIGN_OR_RETURN(EvalJob started, Submit(std::move(job)));
                  auto res = Response::Json(202, EvalJobToJson(started));
                  res.headers.emplace_back("Location", "/api/v1/evaluations/jobs/" + std::to_string(started.id));
                  return res;
                });
              }});
  router.Add({"GET", "/api/v1/evaluations/jobs", Dispatch::kBlocking, Role::kViewer, [this](Request&, Reply reply) {
                json out = json::array();
                {
                  std::lock_guard lock(mu_);
                  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) out.push_back(EvalJobToJson(*it));
                }
                reply(Response::Json(200, {{"jobs", out}}));
              }});
  router.Add({"GET", "/api/v1/evaluations/jobs/{id}", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, EvaluationId(req.params["id"], "job id"));
                  auto job = GetJob(id);
                  if (!job) return Err(NotFound("no evaluation job " + std::to_string(id) + " (jobs are kept until the server restarts)"));
                  return Response::Json(200, EvalJobToJson(*job));
                });
              }});
  router.Add({"GET", "/api/v1/evaluations/compare", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> { return CompareResponse(req); });
              }});
  router.Add({"GET", "/api/v1/evaluations/{id}", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, EvaluationId(req.params["id"]));
                  FSML_ASSIGN_OR_RETURN(Evaluation e, GetEvaluation(ws_.meta(), id));
                  FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws_.meta(), e.project));
                  FSML_ASSIGN_OR_RETURN(auto reqs, ParsedRequirements(ws_.meta(), p));
                  auto results = eval::CheckRequirements(reqs, e.metrics);
                  json j = EvaluationToJson(e, results);
                  j.erase("label_issues");
                  j["summary"] = Summary(e, results);
                  j["project"] = p.name;
                  j["task_type"] = TaskTypeName(p.type);
                  json colors = json::object();
                  for (const auto& l : p.labels) colors[l.name] = l.color;
                  j["label_colors"] = colors;
                  return Response::Json(200, j);
                });
              }});
  router.Add({"GET", "/api/v1/evaluations/{id}/items", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, EvaluationId(req.params["id"]));
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(ItemPage page_of, PageFrom(q));
                  int64_t offset = page_of.offset, limit = page_of.limit;
                  FSML_ASSIGN_OR_RETURN(bool ascending, AscendingFrom(q));
                  FSML_ASSIGN_OR_RETURN(auto x, Index(id));
                  FSML_ASSIGN_OR_RETURN(auto sel, SelectionFrom(*x, q));
                  auto page = x->Select(sel, ascending, static_cast<size_t>(offset), static_cast<size_t>(limit));
                  FSML_ASSIGN_OR_RETURN(json items, RowsJson(ws_, *x, page.rows));
                  auto name = [&](int64_t l) { return l < 0 ? json() : json(x->predictions().labels[static_cast<size_t>(l)]); };
                  return Response::Json(200, {{"evaluation", id},
                                              {"true", name(sel.truth)},
                                              {"pred", name(sel.predicted)},
                                              {"mistakes", sel.mistakes_only},
                                              {"sort", ascending ? "confidence" : "-confidence"},
                                              {"offset", offset},
                                              {"limit", limit},
                                              {"total", page.total},
                                              {"items", items}});
                });
              }});
  router.Add({"GET", "/api/v1/evaluations/{id}/mistakes", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, EvaluationId(req.params["id"]));
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(ItemPage page_of, PageFrom(q));
                  int64_t offset = page_of.offset, limit = page_of.limit;
                  FSML_ASSIGN_OR_RETURN(auto x, Index(id));
                  PredictionIndex::Selection sel;
                  sel.mistakes_only = true;
                  auto page = x->Select(sel, false, static_cast<size_t>(offset), static_cast<size_t>(limit));
                  FSML_ASSIGN_OR_RETURN(json items, RowsJson(ws_, *x, page.rows));
                  return Response::Json(200, {{"evaluation", id}, {"offset", offset}, {"limit", limit}, {"total", page.total}, {"items", items}});
                });
              }});
  router.Add({"GET", "/api/v1/evaluations/{id}/label-issues", Dispatch::kBlocking, Role::kViewer, [this](Request& req, Reply reply) {
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, EvaluationId(req.params["id"]));
                  FSML_ASSIGN_OR_RETURN(auto q, http::ParseQuery(req.query));
                  FSML_ASSIGN_OR_RETURN(ItemPage page_of, PageFrom(q));
                  int64_t offset = page_of.offset, limit = page_of.limit;
                  FSML_ASSIGN_OR_RETURN(auto x, Index(id));
                  const json& issues = x->evaluation().label_issues;
                  json items = json::array();
                  std::vector<std::string> ids;
                  size_t total = issues.is_array() ? issues.size() : 0;
                  for (size_t i = static_cast<size_t>(offset); i < total && items.size() < static_cast<size_t>(limit); ++i) {
                    const json& li = issues[i];
                    std::string item = li.value("item", "");
                    json j = {{"item", item}, {"given", li.value("given", "")}, {"suggested", li.value("suggested", "")},
                              {"score", li.value("score", 0.0)}};
                    if (auto row = x->Row(item)) {
                      j["predicted"] = x->predictions().labels[static_cast<size_t>(x->predicted(*row))];
                      j["confidence"] = x->confidence(*row);
                    }
                    items.push_back(std::move(j));
                    ids.push_back(item);
                  }
                  std::vector<json*> out;
                  for (auto& j : items) out.push_back(&j);
                  FSML_RETURN_IF_ERROR(AddMedia(ws_, ids, out));
                  return Response::Json(200, {{"evaluation", id}, {"computed", issues.is_array()}, {"offset", offset},
                                              {"limit", limit}, {"total", total}, {"items", items}});
                });
              }});
  router.Add({"POST", "/api/v1/evaluations/{id}/review", Dispatch::kBlocking, Role::kReviewer, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, EvaluationId(req.params["id"]));
                  FSML_ASSIGN_OR_RETURN(std::string comment, StringField(*body, "comment", false));
                  if (comment.size() > 1000) return Err(InvalidArgument("\"comment\" must be at most 1,000 bytes"));
                  const json& items = body->contains("items") ? (*body)["items"] : json();
                  if (!items.is_array() || items.empty() || items.size() > kMaxPage)
                    return Err(InvalidArgument("\"items\" must be an array of 1 to 500 item ids"));
                  FSML_ASSIGN_OR_RETURN(auto x, Index(id));
                  FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws_.meta(), x->evaluation().project));
                  const auto& labels = x->predictions().labels;
                  std::vector<LabelingService::ReviewRequest> sends;
                  std::set<std::string> seen;
                  for (const auto& v : items) {
                    FSML_ASSIGN_OR_RETURN(size_t row, RowOf(*x, v, "each of \"items\""));
                    if (!seen.insert(v.get<std::string>()).second) continue;
                    std::string why = "evaluation #" + std::to_string(id) + ": predicted " +
                                      Cut(labels[static_cast<size_t>(x->predicted(row))], 100) + " (" + Percent(x->confidence(row)) +
                                      "), labeled " + Cut(labels[static_cast<size_t>(x->predictions().truth[row])], 100);
                    if (!comment.empty()) why += "; " + comment;
                    sends.push_back({v.get<std::string>(), why});
                  }
                  FSML_RETURN_IF_ERROR(labeling_.SendToReview(p, sends, req.principal));
                  json sent = json::array();
                  for (const auto& s : sends) sent.push_back(s.item_id);
                  return Response::Json(200, {{"project", p.name}, {"sent", sent}, {"count", sends.size()}});
                });
              }});
  router.Add({"POST", "/api/v1/evaluations/{id}/accept", Dispatch::kBlocking, Role::kReviewer, [this](Request& req, Reply reply) {
                auto body = JsonBody(req);
                if (!body) return reply(std::move(body.error()));
                Answer(reply, [&]() -> Result<Response> {
                  FSML_ASSIGN_OR_RETURN(int64_t id, EvaluationId(req.params["id"]));
                  const json& items = body->contains("items") ? (*body)["items"] : json();
                  if (!items.is_array() || items.empty() || items.size() > kMaxPage)
                    return Err(InvalidArgument("\"items\" must be an array of 1 to 500 {\"item\", \"label\"}"));
                  FSML_ASSIGN_OR_RETURN(auto x, Index(id));
                  FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws_.meta(), x->evaluation().project));
                  const auto& labels = x->predictions().labels;
                  struct Accept {
                    std::string item, label, why;
                  };
                  std::vector<Accept> accepts;
                  for (const auto& a : items) {
                    if (!a.is_object()) return Err(InvalidArgument("each of \"items\" must be {\"item\", \"label\"}"));
                    FSML_ASSIGN_OR_RETURN(size_t row, RowOf(*x, a.contains("item") ? a["item"] : json(), "\"item\""));
                    FSML_ASSIGN_OR_RETURN(std::string label, StringField(a, "label", true));
                    if (!p.FindLabel(label))
                      return Err(InvalidArgument("project '" + p.name + "' has no label '" + Cut(label, 64) + "' (labels: " +
                                                 Cut(p.LabelList(), 1000) + ")"));
                    std::string why = "evaluation #" + std::to_string(id) + ": accepted " + Cut(label, 100) + " (predicted " +
                                      Cut(labels[static_cast<size_t>(x->predicted(row))], 100) + " " + Percent(x->confidence(row)) +
                                      ", labeled " + Cut(labels[static_cast<size_t>(x->predictions().truth[row])], 100) + ")";
                    accepts.push_back({a["item"].get<std::string>(), label, why});
                  }
                  // Each decision goes through review, as a reviewer's would: the flag says why, Resolve decides and resolves it.
                  json done = json::array();
                  for (const auto& a : accepts) {
                    FSML_RETURN_IF_ERROR(labeling_.SendToReview(p, {{a.item, a.why}}, req.principal));
                    FSML_RETURN_IF_ERROR(labeling_.Resolve(p, req.principal, a.item, a.label));
                    done.push_back({{"item", a.item}, {"label", a.label}});
                  }
                  return Response::Json(200, {{"project", p.name}, {"accepted", done}, {"count", done.size()}});
                });
              }});
}

}  // namespace fsml
