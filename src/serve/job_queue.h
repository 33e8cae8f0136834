// JobQueue: durable named queues with at-least-once delivery, the seam
// between the API server and the workers.
//
// Two implementations pass the same contract suite
// (tests/unit/serve/job_queue_contract.h):
//   embedded   queue_messages rows in the MetaStore, leased to a consumer
//              for `lease` and redelivered when the lease runs out;
//   rabbitmq   AMQP 0-9-1 over librabbitmq: durable quorum queues,
//              persistent messages, publisher confirms, manual acks,
//              prefetch, a dead-letter exchange (docs/jobs.md).
// A message delivered `max_attempts` times without an ack goes to the
// dead-letter queue kDeadQueue (only kJobsQueue has one).
//
// Thread safety: an instance is used by one thread at a time (an AMQP
// connection is not shareable); open one per thread. Instances of the
// embedded queue on one MetaStore may run in any threads and processes.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"  // MaskUrl, for queue URLs in messages
#include "core/status.h"
#include "store/meta_store.h"

namespace fsml {

inline constexpr const char* kJobsQueue = "fsml.jobs";
inline constexpr const char* kResultsQueue = "fsml.results";
inline constexpr const char* kDeadQueue = "fsml.jobs.dead";

struct OutMessage {
  std::string id;    // message id (the job's id)
  std::string body;  // JSON text
};

struct Delivery {
  std::string queue;
  std::string id;
  std::string body;
  int attempt = 1;  // 1 on the first delivery, +1 on each redelivery
  // Which delivery this is, for Ack/Requeue; meaningful only to the
  // instance that received it.
  uint64_t tag = 0;
  uint64_t generation = 0;
  std::string lease;
};

struct QueueOptions {
  int max_attempts = 5;                     // deliveries before dead-lettering
  std::chrono::milliseconds lease{60000};   // embedded: redelivery after this without an ack
  int prefetch = 64;                        // RabbitMQ: unacked deliveries per consumer
};

class JobQueue {
 public:
  virtual ~JobQueue() = default;
  virtual std::string_view kind() const = 0;  // "embedded" or "rabbitmq"

  // Appends the messages to `queue`. When it returns OK they are durable
  // (committed, or confirmed by the broker); on error some may have been
  // stored and others not (callers republish; consumers see duplicates).
  // Unavailable when the broker cannot be reached.
  virtual Status Publish(std::string_view queue, const std::vector<OutMessage>& messages) = 0;

  // Up to `max` messages, waiting up to `wait` for the first one. Each stays
  // owned by this consumer until acked or requeued (or until the lease ends /
  // the connection closes, when it is redelivered).
  virtual Result<std::vector<Delivery>> Receive(std::string_view queue, size_t max, std::chrono::milliseconds wait) = 0;

  // Removes delivered messages for good. A delivery whose lease or
  // connection is gone is skipped (it is, or will be, redelivered).
  virtual Status Ack(const std::vector<Delivery>& deliveries) = 0;

  // Gives a delivery back for redelivery (an attempt is used up).
  virtual Status Requeue(const Delivery& delivery) = 0;

  // Messages in `queue` not yet acknowledged.
  virtual Result<int64_t> Depth(std::string_view queue) = 0;
};

// "embedded" (the workspace's MetaStore) or "amqp://user:pass@host:port/vhost".
// Errors name the URL with its password masked.
Result<std::unique_ptr<JobQueue>> OpenJobQueue(std::string_view url, MetaStore& meta, const QueueOptions& options = {});

// Implementations (job_queue.cc dispatches on the URL).
std::unique_ptr<JobQueue> NewEmbeddedQueue(MetaStore& meta, const QueueOptions& options);
Result<std::unique_ptr<JobQueue>> NewRabbitMqQueue(std::string_view url, const QueueOptions& options);

}  // namespace fsml
