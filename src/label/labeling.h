// Labeling: who labels what next, the labels people give, review of
// disagreements and flags, agreement and progress.
//
// Every item of a project has a task (label_tasks): `open` while it waits
// for labels, `review` when its labels disagree or someone flagged it,
// `final` when it has its label (overlap people agreed, a reviewer decided,
// or it was imported with one). A person's assignment to an item
// (task_assignments) is a lock while they hold it (expiring after
// `lock_ttl`), then labeled, skipped or flagged. An item goes to at most
// `overlap` people at a time and never twice to the same person.
//
// Labels are annotations (origin human), append-only: an edit adds a newer
// annotation, an undo adds a withdrawal. A person's vote on an item is their
// latest annotation that is not withdrawn. A reviewer's decision is an
// annotation whose request_id starts with "review:" (clients' request ids
// cannot contain ':') and is not a vote.
//
// Thread-safe; the MetaStore serializes the work. On PostgreSQL, handing out
// items takes a per-project advisory lock, so servers sharing the database
// never give one item to more people than `overlap`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/project.h"
#include "data/workspace.h"
#include "label/agreement.h"

namespace fsml {

struct LabelingOptions {
  std::chrono::milliseconds lock_ttl{10 * 60 * 1000};
  std::chrono::milliseconds sync_interval{2000};  // how often new items are looked for
  // When set, the next-item path never counts a project's items itself once
  // it has done so: it uses the last task sync and open count, however old,
  // and the caller calls Refresh() every `sync_interval` (the server does,
  // on a thread of its own), so that no labeler waits on a count over a
  // large project.
  bool refresh_in_background = false;
};

struct Suggestion {
  std::string label;
  double confidence = 0;
  std::string model;
};

struct QueueItem {
  std::string item_id;
  std::string media_type;
  std::string text;  // text items only
  int64_t width = 0, height = 0;
  std::optional<Suggestion> suggestion;
  int64_t lock_expires_ms = 0;
};

struct NextItems {
  std::vector<QueueItem> items;
  uint64_t remaining = 0;  // open items in the project, counted at most `sync_interval` ago
  std::string order;       // "random" or "uncertainty"
};

struct AnnotationRequest {
  std::string item_id, label, request_id;
};

struct AnnotationResult {
  int64_t id = 0;
  std::string item_id, label, request_id, created_at;
  bool duplicate = false;  // the request id was seen before: nothing was written
};

struct HistoryEntry {
  int64_t id = 0;
  std::string item_id, label, created_at;
  bool withdrawn = false;
};

struct Vote {
  int64_t annotation_id = 0;
  std::string user, label, created_at;
};

struct Flag {
  int64_t id = 0;
  std::string user, comment, created_at;
  bool resolved = false;
};

struct ItemDetail {
  std::string item_id, media_type, text, split, state;
  int64_t width = 0, height = 0;
  std::optional<std::string> label;  // the final label
  std::optional<Suggestion> suggestion;
  std::vector<Vote> votes;
  std::vector<Flag> flags;
};

struct ReviewItem {
  ItemDetail item;
  std::vector<std::string> reasons;  // "disagreement", "flag", "sample" (the project's random review sample)
};

struct AnnotatorProgress {
  std::string user;
  uint64_t labels = 0, today = 0;
};

struct LabelingProgress {
  uint64_t items = 0, labeled = 0, open = 0, in_review = 0, annotations = 0, today = 0, versions = 0;
  std::map<std::string, uint64_t> per_label;  // final labels
  std::vector<AnnotatorProgress> per_annotator;
};

struct AgreementSummary {
  AgreementReport report;
  struct Annotator {
    std::string user;
    uint64_t labels = 0, with_final = 0, agree_with_final = 0;
  };
  std::vector<Annotator> annotators;
};

class LabelingService {
 public:
  LabelingService(Workspace& ws, LabelingOptions options = {}) : ws_(ws), options_(options) {}

  // Up to `n` (1-100) items for `user`: first the ones they still hold
  // (except `exclude`, which the client already has), then new ones, each
  // locked for them for `lock_ttl`.
  Result<NextItems> Next(const Project& project, const std::string& user, size_t n, const std::set<std::string>& exclude);

  // Records labels (1-100) in one transaction. A request id already seen
  // from `user` returns its first result (duplicate = true). InvalidArgument
  // for an unknown item or label or a bad request id; FailedPrecondition for
  // an item a reviewer has decided.
  Result<std::vector<AnnotationResult>> Annotate(const Project& project, const std::string& user,
                                                 const std::vector<AnnotationRequest>& labels);
  // Withdraws `user`'s own annotation; the item comes back to them (locked).
  // Returns the item id. NotFound for someone else's or an unknown id;
  // FailedPrecondition when already withdrawn or the item was reviewed.
  Result<std::string> Undo(const Project& project, const std::string& user, int64_t annotation_id);
  Status Skip(const Project& project, const std::string& user, const std::string& item_id);
  // Flags an item for review with a comment (up to 2,000 bytes). Returns the flag's id.
  Result<int64_t> AddFlag(const Project& project, const std::string& user, const std::string& item_id,
                          const std::string& comment);
  // `user`'s annotations, newest first, with ids below `before` (0: from the newest).
  Result<std::vector<HistoryEntry>> History(const Project& project, const std::string& user, size_t limit, int64_t before);

  // Items in review, and how many there are.
  Result<std::pair<std::vector<ReviewItem>, uint64_t>> ReviewQueue(const Project& project, size_t limit);
  // A reviewer's decision: the item's final label; its flags are resolved.
  Status Resolve(const Project& project, const std::string& reviewer, const std::string& item_id, const std::string& label);
  // Puts items into review, each with why (an unresolved flag by `user`
  // whose comment is the reason, at most 2,000 bytes): open items and items
  // in review stay or go there, final items (labeled, agreed or decided)
  // go back; Resolve then decides them. All or nothing: NotFound names the
  // first item not in the project; InvalidArgument for 0 or over 1,000 items.
  struct ReviewRequest {
    std::string item_id, reason;
  };
  Status SendToReview(const Project& project, const std::vector<ReviewRequest>& items, const std::string& user);

  // The item, its final label, its suggestion, its flags and its votes
  // (everyone's when `all_votes`, else `user`'s only).
  Result<ItemDetail> GetItem(const Project& project, const std::string& item_id, const std::string& user, bool all_votes);
  // NotFound unless `item_id` is in the project.
  Result<std::pair<std::string, std::string>> ItemContent(const Project& project, const std::string& item_id);  // media type, bytes

  Result<LabelingProgress> Progress(const Project& project);
  Result<AgreementSummary> Agreement(const Project& project);

  // Makes sure every item of the project has a task (new imports and crawls
  // add items); runs at most every `sync_interval` unless `force`.
  Status SyncTasks(const Project& project, bool force = false);
  // Syncs the tasks of every project this service has seen, now, and
  // recounts their open tasks when the count is 15 intervals old; the first
  // error is returned after all were tried.
  Status Refresh();

 private:
  // Recomputes an item's task state and final label from its votes, flags
  // and review. REQUIRES: inside a MetaStore transaction.
  Status Recompute(const Project& project, const std::string& item_id);
  Result<std::vector<Vote>> Votes(const Project& project, const std::string& item_id);
  // How many open tasks the project has and whether any has a model's
  // score: counted at most every `sync_interval` (a count over every open
  // task is too slow for each next-item call of a large project).
  struct OpenSummary {
    uint64_t count = 0;
    bool scored = false;
    std::chrono::steady_clock::time_point at;
  };
  Result<OpenSummary> OpenTasks(const Project& project);
  Result<OpenSummary> CountOpenTasks(const Project& project);
  Status FillItem(const Project& project, const std::string& item_id, ItemDetail* out, bool with_text);

  Workspace& ws_;
  LabelingOptions options_;
  std::mutex mu_;
  std::map<int64_t, std::chrono::steady_clock::time_point> synced_;  // project id → last sync
  std::map<int64_t, OpenSummary> open_;                              // project id → last count
  std::map<int64_t, Project> seen_;                                  // project id → the project, for Refresh()
};

// Request ids from clients: 8-64 of [A-Za-z0-9_-].
Status ValidateRequestId(std::string_view id);

}  // namespace fsml
