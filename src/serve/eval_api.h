// The evaluation explorer's API (docs/web-api.md, "Evaluation explorer"):
// stored evaluations, new evaluations run in the background, the items
// behind each confusion-matrix cell, the most confident mistakes, suspected
// label errors, comparisons, and sending items back to labeling.
//
// The items of a cell must come back fast for evaluations of 100k items and
// more, so the decoded predictions of recently used evaluations stay in
// memory (PredictionCache, least recently used first out, bounded by bytes)
// and each selection (a cell, a row, a column, the mistakes) gets its rows
// sorted by confidence once, on first use (PredictionIndex). Evaluations are
// immutable, so nothing cached ever goes stale.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/workspace.h"
#include "label/labeling.h"
#include "registry/evaluations.h"
#include "serve/http.h"

namespace fsml {

// One evaluation's predictions, decoded, with each row's predicted class
// (arg max, ties to the lowest index, as eval::Predictions) and confidence
// (the predicted class's probability). Immutable after construction but for
// the sorted selections, which are built on first use under a mutex.
// Thread-safe.
class PredictionIndex {
 public:
  // REQUIRES: p is consistent (DecodePredictions checked it).
  PredictionIndex(Evaluation evaluation, Predictions p);

  const Evaluation& evaluation() const { return evaluation_; }
  const Predictions& predictions() const { return p_; }
  size_t rows() const { return p_.items.size(); }
  size_t classes() const { return p_.labels.size(); }
  int64_t predicted(size_t row) const { return pred_[row]; }
  float confidence(size_t row) const { return conf_[row]; }
  float probability(size_t row, size_t cls) const { return p_.probs[row * p_.labels.size() + cls]; }
  // The label's index, or nullopt.
  std::optional<int64_t> Label(std::string_view name) const;
  // The item's row, or nullopt when the evaluation does not hold it.
  std::optional<size_t> Row(std::string_view item_id) const;
  // What this index holds in memory, counting the room its selections may
  // take (every cell, row, column and the mistakes: at most 4 row lists).
  size_t bytes() const { return bytes_; }

  // Which rows: truth / predicted are label indexes, -1 for any;
  // mistakes_only keeps the rows whose prediction is wrong.
  struct Selection {
    int64_t truth = -1, predicted = -1;
    bool mistakes_only = false;
  };
  struct Page {
    std::vector<size_t> rows;
    size_t total = 0;  // rows in the selection
  };
  // The selection's rows by confidence, highest first and ties by row (when
  // `ascending`, exactly the reverse); those from `offset`, at most `limit`.
  Page Select(const Selection& s, bool ascending, size_t offset, size_t limit) const;
  // How many selections have been sorted so far.
  size_t SortedSelectionsForTest() const;

 private:
  using Key = std::tuple<int64_t, int64_t, bool>;
  std::shared_ptr<const std::vector<uint32_t>> Sorted(const Selection& s) const;

  Evaluation evaluation_;
  Predictions p_;
  std::vector<int64_t> pred_;
  std::vector<float> conf_;
  std::unordered_map<std::string_view, size_t> row_of_;  // views into p_.items
  size_t bytes_ = 0;
  mutable std::mutex mu_;
  mutable std::map<Key, std::shared_ptr<const std::vector<uint32_t>>> sorted_;  // GUARDED_BY(mu_)
};

// Decoded evaluations by id, least recently used dropped first once their
// bytes pass `max_bytes` (the one just loaded always stays). Loads run
// outside the lock: two first requests for one evaluation may both decode
// it, and the first to finish is kept. Thread-safe.
class PredictionCache {
 public:
  explicit PredictionCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  using Loader = std::function<Result<std::shared_ptr<const PredictionIndex>>()>;
  // The cached index of evaluation `id`, else `load()`'s, cached.
  Result<std::shared_ptr<const PredictionIndex>> Get(int64_t id, const Loader& load);
  bool Contains(int64_t id) const;
  size_t bytes() const;
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const PredictionIndex> index;
    std::list<int64_t>::iterator lru;
  };
  size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<int64_t> lru_;             // GUARDED_BY(mu_): most recent first
  std::map<int64_t, Entry> entries_;   // GUARDED_BY(mu_)
  size_t bytes_ = 0;                   // GUARDED_BY(mu_)
};

// A request to evaluate a model, run in the background.
struct EvalJob {
  int64_t id = 0;
  std::string model, data, split;  // as asked: "toy@production", "toy@v3", "test"
  bool label_issues = false;
  int folds = 5;
  std::string requested_by;
  std::string state = "queued";  // queued, running, done, failed
  std::string stage;             // while running: waiting for a training to end, loading model, predicting, label issues, saving
  std::string error;
  int64_t evaluation_id = 0;     // once done
  std::string created_at, started_at, finished_at;
};
nlohmann::json EvalJobToJson(const EvalJob& j);

struct EvalApiOptions {
  size_t cache_bytes = size_t{1} << 30;  // decoded predictions kept in memory
  int threads = 0;                       // LibTorch threads for evaluations (0: all cores)
};

class EvalApi {
 public:
  // `labeling` is the server's labeling service (WebApi's), which items
  // sent to review or accepted go through; it must outlive this.
  EvalApi(Workspace& ws, LabelingService& labeling, EvalApiOptions options);
  ~EvalApi();  // Stop()s
  EvalApi(const EvalApi&) = delete;
  EvalApi& operator=(const EvalApi&) = delete;

  void AddRoutes(http::Router& router);
  // Refuses new evaluations, lets the running one end and joins the worker.
  // Queued ones fail with "the server stopped". Idempotent.
  void Stop();

  // The evaluation's index, from the cache or decoded now.
  Result<std::shared_ptr<const PredictionIndex>> Index(int64_t evaluation_id);
  const PredictionCache& cache() const { return cache_; }

 private:
  // Items of evaluation a and b's shared items that b gets right and a
  // wrong (fixed) and the reverse (broken), most confident in b first.
  struct Comparison {
    std::shared_ptr<const PredictionIndex> a, b;
    std::vector<int64_t> b_to_a;  // b's label indexes as a's
    uint64_t paired = 0, both_right = 0, both_wrong = 0;
    std::vector<std::pair<size_t, size_t>> fixed, broken;  // (row in a, row in b)
  };
  Result<std::shared_ptr<const Comparison>> Compare(int64_t a, int64_t b);
  Result<http::Response> CompareResponse(const http::Request& req);
  Result<EvalJob> Submit(EvalJob job);
  std::optional<EvalJob> GetJob(int64_t id);
  void Work();
  Status RunJob(EvalJob job);
  void UpdateJob(int64_t id, const std::function<void(EvalJob&)>& change);

  Workspace& ws_;
  EvalApiOptions options_;
  LabelingService& labeling_;
  PredictionCache cache_;

  std::mutex compare_mu_;
  std::deque<std::pair<std::pair<int64_t, int64_t>, std::shared_ptr<const Comparison>>> compares_;  // GUARDED_BY(compare_mu_): the latest 8

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<EvalJob> jobs_;  // GUARDED_BY(mu_): the latest 100, oldest first
  int64_t next_job_ = 1;      // GUARDED_BY(mu_)
  bool stop_ = false;         // GUARDED_BY(mu_)
  std::thread worker_;        // one evaluation at a time, holding TrainingLock() while it runs the model
};

}  // namespace fsml
