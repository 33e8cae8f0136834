// The embedded JobQueue: rows of queue_messages in the MetaStore.
//
// A receive leases the oldest visible rows (visible_at_ms <= now) by
// setting a fresh lease id and pushing visible_at_ms past the lease; an ack
// deletes the row only if the lease is still the receiver's. So a consumer
// that dies simply lets its lease run out, and one that comes back late
// cannot ack a message someone else now holds.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/fs.h"
#include "core/sha256.h"
#include "serve/job_queue.h"

namespace fsml {
namespace {

int64_t NowMs() { return NowUnixMs(); }

// Wakes receivers in this process when a message is published; receivers in
// other processes notice within kPollInterval.
struct Doorbell {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t rings = 0;
};
Doorbell& Bell() {
  static Doorbell d;
  return d;
}
constexpr auto kPollInterval = std::chrono::milliseconds(50);

class EmbeddedQueue final : public JobQueue {
 public:
  EmbeddedQueue(MetaStore& meta, const QueueOptions& o) : meta_(meta), options_(o) {}
  std::string_view kind() const override { return "embedded"; }

  Status Publish(std::string_view queue, const std::vector<OutMessage>& messages) override {
    if (messages.empty()) return Status::Ok();
    FSML_RETURN_IF_ERROR(meta_.Transaction([&]() -> Status {
      for (const auto& m : messages) {
        auto r = meta_.Exec("INSERT INTO queue_messages (queue, message_id, body, deliveries, visible_at_ms, lease) VALUES (?, ?, ?, 0, 0, NULL)",
                            {std::string(queue), m.id, m.body});
        if (!r) return r.error();
      }
      return Status::Ok();
    }));
    {
      std::lock_guard lock(Bell().mu);
      Bell().rings++;
    }
    Bell().cv.notify_all();
    return Status::Ok();
  }

  Result<std::vector<Delivery>> Receive(std::string_view queue, size_t max, std::chrono::milliseconds wait) override {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      uint64_t rings;
      {
        std::lock_guard lock(Bell().mu);
        rings = Bell().rings;
      }
      FSML_ASSIGN_OR_RETURN(auto got, TryReceive(queue, max));
      if (!got.empty() || std::chrono::steady_clock::now() >= deadline) return got;
      std::unique_lock lock(Bell().mu);
      Bell().cv.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + kPollInterval),
                           [&] { return Bell().rings != rings; });
    }
  }

  Status Ack(const std::vector<Delivery>& deliveries) override {
    if (deliveries.empty()) return Status::Ok();
    return meta_.Transaction([&]() -> Status {
      for (const auto& d : deliveries) {
        auto r = meta_.Exec("DELETE FROM queue_messages WHERE id = ? AND lease = ?", {static_cast<int64_t>(d.tag), d.lease});
        if (!r) return r.error();
      }
      return Status::Ok();
    });
  }

  Status Requeue(const Delivery& d) override {
    auto r = meta_.Exec("UPDATE queue_messages SET visible_at_ms = 0, lease = NULL WHERE id = ? AND lease = ?",
                        {static_cast<int64_t>(d.tag), d.lease});
    return r ? Status::Ok() : r.error();
  }

  Result<int64_t> Depth(std::string_view queue) override {
    FSML_ASSIGN_OR_RETURN(auto n, meta_.QueryInt("SELECT COUNT(*) FROM queue_messages WHERE queue = ?", {std::string(queue)}));
    return n.value_or(0);
  }

 private:
  Result<std::vector<Delivery>> TryReceive(std::string_view queue, size_t max) {
    std::vector<Delivery> out;
    const int64_t now = NowMs();
    FSML_RETURN_IF_ERROR(meta_.Transaction([&]() -> Status {
      out.clear();
      struct Row {
        int64_t id;
        std::string message_id, body;
        int64_t deliveries;
      };
      std::vector<Row> rows;
      FSML_RETURN_IF_ERROR(meta_.Query(
          "SELECT id, message_id, body, deliveries FROM queue_messages WHERE queue = ? AND visible_at_ms <= ? ORDER BY id LIMIT ?",
          {std::string(queue), now, static_cast<int64_t>(max)}, [&](const SqlRow& r) {
            rows.push_back({r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)), r.Int(3)});
            return Status::Ok();
          }));
      for (auto& row : rows) {
        if (row.deliveries >= options_.max_attempts) {
          // Delivered max_attempts times and never acked: dead-letter it.
          std::string dead = queue == kJobsQueue ? kDeadQueue : std::string(queue) + ".dead";
          auto r = meta_.Exec("UPDATE queue_messages SET queue = ?, deliveries = 0, visible_at_ms = 0, lease = NULL WHERE id = ?",
                              {dead, row.id});
          if (!r) return r.error();
          continue;
        }
        std::string lease = SecureRandomHex(12);
        auto r = meta_.Exec("UPDATE queue_messages SET deliveries = deliveries + 1, visible_at_ms = ?, lease = ? WHERE id = ?",
                            {now + options_.lease.count(), lease, row.id});
        if (!r) return r.error();
        Delivery d;
        d.queue = std::string(queue);
        d.id = std::move(row.message_id);
        d.body = std::move(row.body);
        d.attempt = static_cast<int>(row.deliveries + 1);
        d.tag = static_cast<uint64_t>(row.id);
        d.lease = std::move(lease);
        out.push_back(std::move(d));
      }
      return Status::Ok();
    }));
    return out;
  }

  MetaStore& meta_;
  QueueOptions options_;
};

}  // namespace

std::unique_ptr<JobQueue> NewEmbeddedQueue(MetaStore& meta, const QueueOptions& options) {
  return std::make_unique<EmbeddedQueue>(meta, options);
}

Result<std::unique_ptr<JobQueue>> OpenJobQueue(std::string_view url, MetaStore& meta, const QueueOptions& options) {
  if (options.max_attempts < 1 || options.max_attempts > 100) return Err(InvalidArgument("queue max_attempts must be 1 to 100"));
  if (url == "embedded" || url.empty()) return NewEmbeddedQueue(meta, options);
  if (url.substr(0, 7) == "amqp://" || url.substr(0, 8) == "amqps://") return NewRabbitMqQueue(url, options);
  return Err(InvalidArgument("queue url '" + MaskUrl(url) + "': expected \"embedded\" or amqp://user:pass@host:port/vhost"));
}

}  // namespace fsml
