// The RabbitMQ JobQueue over librabbitmq (AMQP 0-9-1).
//
// Two connections, opened lazily and reopened after any failure: one
// publishes in confirm mode (Publish returns once the broker confirmed
// every message: persisted to the quorum queue's log), one consumes with
// manual acks and a prefetch window. Topology (docs/jobs.md) is declared on
// every connect, so a fresh broker needs no setup. A delivery received on a
// connection that has since died is not acked (its generation is stale):
// the broker redelivers it, and results are recorded idempotently upstream.
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <set>

#include "core/log.h"
#include "serve/job_queue.h"

namespace fsml {
namespace {

constexpr int kChannel = 1;
constexpr const char* kDeadLetterExchange = "fsml.dlx";

amqp_bytes_t Bytes(std::string_view s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
std::string Str(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

std::string ReplyText(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL: return "ok";
    case AMQP_RESPONSE_NONE: return "missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "server closed the connection: " + Str(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "server closed the channel: " + Str(m->reply_text);
      }
      return "server exception";
  }
  return "unknown reply";
}

struct ParsedUrl {
  std::string host, user, password, vhost;
  int port = 5672;
  bool ssl = false;
};

Result<ParsedUrl> ParseAmqpUrl(std::string_view url) {
  std::string buf(url);
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK)
    return Err(InvalidArgument("queue url '" + MaskUrl(url) + "' is not a valid amqp:// URL"));
  ParsedUrl p{info.host, info.user, info.password, info.vhost, info.port, info.ssl != 0};
  // "amqp://host:5672/" names the empty vhost by the letter of the AMQP URI
  // spec, but means the default vhost "/" to everyone (pika, kombu).
  if (p.vhost.empty()) p.vhost = "/";
  if (p.ssl) return Err(InvalidArgument("queue url '" + MaskUrl(url) + "': amqps:// is not supported; use amqp:// on a trusted network"));
  return p;
}

// One connection with channel 1 open.
class Connection {
 public:
  ~Connection() { Close(); }
  bool open() const { return conn_ != nullptr; }
  amqp_connection_state_t get() { return conn_; }

  Status Open(const ParsedUrl& u, const std::string& masked, const QueueOptions& o, bool confirm) {
    Close();
    conn_ = amqp_new_connection();
    amqp_socket_t* sock = amqp_tcp_socket_new(conn_);
    if (!sock) return Fail(Internal("cannot create a socket for " + masked));
    timeval tv{5, 0};
    int rc = amqp_socket_open_noblock(sock, u.host.c_str(), u.port, &tv);
    if (rc != AMQP_STATUS_OK)
      return Fail(Unavailable("cannot reach RabbitMQ at " + masked + ": " + amqp_error_string2(rc)));
    timeval rpc{15, 0};
    amqp_set_rpc_timeout(conn_, &rpc);
    auto r = amqp_login(conn_, u.vhost.c_str(), 0, 131072, 30, AMQP_SASL_METHOD_PLAIN, u.user.c_str(), u.password.c_str());
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      std::string why = ReplyText(r);
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_SOCKET_CLOSED)
        why = "login refused (wrong user, password or vhost?)";
      return Fail(Unavailable("RabbitMQ at " + masked + ": " + why));
    }
    amqp_channel_open(conn_, kChannel);
    FSML_RETURN_IF_ERROR(Check("open a channel on " + masked));
    FSML_RETURN_IF_ERROR(DeclareTopology(masked, o));
    if (confirm) {
      amqp_confirm_select(conn_, kChannel);
      FSML_RETURN_IF_ERROR(Check("enable publisher confirms on " + masked));
    }
    return Status::Ok();
  }

  void Close() {
    if (!conn_) return;
    // Best effort: the broker may be gone already.
    timeval quick{1, 0};
    amqp_set_rpc_timeout(conn_, &quick);
    amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
  }

  // The last RPC's outcome; on failure the connection is closed.
  Status Check(const std::string& what) {
    auto r = amqp_get_rpc_reply(conn_);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return Status::Ok();
    return Fail(Unavailable("RabbitMQ: cannot " + what + ": " + ReplyText(r)));
  }

  // Forgets a broken connection without talking to the broker.
  void Drop() {
    if (conn_) {
      amqp_destroy_connection(conn_);
      conn_ = nullptr;
    }
  }
  Status Fail(Status s) {
    Drop();
    return s;
  }

 private:
  Status DeclareQueue(const std::string& name, std::vector<amqp_table_entry_t> args, const std::string& masked) {
    amqp_table_t table{static_cast<int>(args.size()), args.data()};
    amqp_queue_declare(conn_, kChannel, Bytes(name), 0, 1, 0, 0, table);
    auto st = Check("declare queue " + name + " on " + masked);
    if (!st.ok() && st.message().find("PRECONDITION_FAILED") != std::string::npos)
      return FailedPrecondition(st.message() + " (the queue exists with other arguments: same max_attempts everywhere, or delete the queue)");
    return st;
  }

  Status DeclareTopology(const std::string& masked, const QueueOptions& o) {
    auto quorum = [] {
      amqp_table_entry_t e;
      e.key = amqp_cstring_bytes("x-queue-type");
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = amqp_cstring_bytes("quorum");
      return e;
    };
    amqp_exchange_declare(conn_, kChannel, amqp_cstring_bytes(kDeadLetterExchange), amqp_cstring_bytes("direct"), 0, 1, 0, 0,
                          amqp_empty_table);
    FSML_RETURN_IF_ERROR(Check(std::string("declare exchange ") + kDeadLetterExchange + " on " + masked));
    FSML_RETURN_IF_ERROR(DeclareQueue(kDeadQueue, {quorum()}, masked));
    amqp_queue_bind(conn_, kChannel, amqp_cstring_bytes(kDeadQueue), amqp_cstring_bytes(kDeadLetterExchange),
                    amqp_cstring_bytes(kDeadQueue), amqp_empty_table);
    FSML_RETURN_IF_ERROR(Check(std::string("bind ") + kDeadQueue + " on " + masked));
    std::vector<amqp_table_entry_t> jobs(4);
    jobs[0] = quorum();
    jobs[1].key = amqp_cstring_bytes("x-delivery-limit");
    jobs[1].value.kind = AMQP_FIELD_KIND_I64;
    jobs[1].value.value.i64 = o.max_attempts - 1;
    jobs[2].key = amqp_cstring_bytes("x-dead-letter-exchange");
    jobs[2].value.kind = AMQP_FIELD_KIND_UTF8;
    jobs[2].value.value.bytes = amqp_cstring_bytes(kDeadLetterExchange);
    jobs[3].key = amqp_cstring_bytes("x-dead-letter-routing-key");
    jobs[3].value.kind = AMQP_FIELD_KIND_UTF8;
    jobs[3].value.value.bytes = amqp_cstring_bytes(kDeadQueue);
    FSML_RETURN_IF_ERROR(DeclareQueue(kJobsQueue, jobs, masked));
    return DeclareQueue(kResultsQueue, {quorum()}, masked);
  }

  amqp_connection_state_t conn_ = nullptr;
};

int DeliveryCount(const amqp_basic_properties_t& p) {
  if (!(p._flags & AMQP_BASIC_HEADERS_FLAG)) return 0;
  for (int i = 0; i < p.headers.num_entries; ++i) {
    const auto& e = p.headers.entries[i];
    if (Str(e.key) != "x-delivery-count") continue;
    switch (e.value.kind) {
      case AMQP_FIELD_KIND_I8: return e.value.value.i8;
      case AMQP_FIELD_KIND_U8: return e.value.value.u8;
      case AMQP_FIELD_KIND_I16: return e.value.value.i16;
      case AMQP_FIELD_KIND_U16: return e.value.value.u16;
      case AMQP_FIELD_KIND_I32: return e.value.value.i32;
      case AMQP_FIELD_KIND_U32: return static_cast<int>(e.value.value.u32);
      case AMQP_FIELD_KIND_I64: return static_cast<int>(e.value.value.i64);
      case AMQP_FIELD_KIND_U64: return static_cast<int>(e.value.value.u64);
      default: return 0;
    }
  }
  return 0;
}

class RabbitMqQueue final : public JobQueue {
 public:
  RabbitMqQueue(ParsedUrl url, std::string masked, QueueOptions o)
      : url_(std::move(url)), masked_(std::move(masked)), options_(o) {}
  std::string_view kind() const override { return "rabbitmq"; }

  Status Publish(std::string_view queue, const std::vector<OutMessage>& messages) override {
    if (messages.empty()) return Status::Ok();
    Status last;
    for (int attempt = 0; attempt < 2; ++attempt) {  // one retry on a fresh connection (idle ones time out)
      last = TryPublish(queue, messages);
      if (last.ok() || last.code() != Code::kUnavailable) return last;
    }
    return last;
  }

  Result<std::vector<Delivery>> Receive(std::string_view queue, size_t max, std::chrono::milliseconds wait) override {
    if (!sub_.open() || consuming_ != queue) {
      FSML_RETURN_IF_ERROR(sub_.Open(url_, masked_, options_, false));
      ++generation_;
      consuming_ = std::string(queue);
      uint16_t prefetch = static_cast<uint16_t>(std::clamp<int>(std::max<int>(options_.prefetch, static_cast<int>(max)), 1, 65535));
      amqp_basic_qos(sub_.get(), kChannel, 0, prefetch, 0);
      FSML_RETURN_IF_ERROR(sub_.Check("set the prefetch on " + masked_));
      amqp_basic_consume(sub_.get(), kChannel, Bytes(consuming_), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
      FSML_RETURN_IF_ERROR(sub_.Check("consume " + consuming_ + " on " + masked_));
    }
    std::vector<Delivery> out;
    amqp_maybe_release_buffers(sub_.get());
    while (out.size() < max) {
      auto ms = out.empty() ? wait.count() : 0;
      timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
      amqp_envelope_t env;
      auto r = amqp_consume_message(sub_.get(), &env, &tv, 0);
      if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        Delivery d;
        d.queue = consuming_;
        d.body = Str(env.message.body);
        if (env.message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) d.id = Str(env.message.properties.message_id);
        d.attempt = 1 + DeliveryCount(env.message.properties);
        d.tag = env.delivery_tag;
        d.generation = generation_;
        out.push_back(std::move(d));
        amqp_destroy_envelope(&env);
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) break;
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(sub_.get(), &frame) == AMQP_STATUS_OK && frame.frame_type == AMQP_FRAME_METHOD &&
            (frame.payload.method.id == AMQP_BASIC_ACK_METHOD || frame.payload.method.id == AMQP_BASIC_QOS_OK_METHOD))
          continue;  // harmless stray frames
      }
      std::string why = ReplyText(r);
      sub_.Drop();
      return Err(Unavailable("RabbitMQ at " + masked_ + ": lost the consumer on " + consuming_ + ": " + why));
    }
    return out;
  }

  Status Ack(const std::vector<Delivery>& deliveries) override {
    for (const auto& d : deliveries) {
      if (!sub_.open() || d.generation != generation_) continue;  // redelivered by the broker anyway
      if (amqp_basic_ack(sub_.get(), kChannel, d.tag, 0) != AMQP_STATUS_OK) {
        sub_.Drop();
        return Unavailable("RabbitMQ at " + masked_ + ": connection lost while acknowledging");
      }
    }
    return Status::Ok();
  }

  Status Requeue(const Delivery& d) override {
    if (!sub_.open() || d.generation != generation_) return Status::Ok();
    if (amqp_basic_reject(sub_.get(), kChannel, d.tag, 1) != AMQP_STATUS_OK) {
      sub_.Drop();
      return Unavailable("RabbitMQ at " + masked_ + ": connection lost while requeueing");
    }
    return Status::Ok();
  }

  Result<int64_t> Depth(std::string_view queue) override {
    if (!pub_.open()) FSML_RETURN_IF_ERROR(OpenPublisher());
    auto* ok = amqp_queue_declare(pub_.get(), kChannel, Bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    FSML_RETURN_IF_ERROR(pub_.Check("read the depth of " + std::string(queue) + " on " + masked_));
    return static_cast<int64_t>(ok->message_count);
  }

 private:
  Status OpenPublisher() {
    FSML_RETURN_IF_ERROR(pub_.Open(url_, masked_, options_, true));
    next_seq_ = 1;
    return Status::Ok();
  }

  Status TryPublish(std::string_view queue, const std::vector<OutMessage>& messages) {
    if (!pub_.open()) FSML_RETURN_IF_ERROR(OpenPublisher());
    std::set<uint64_t> pending;
    for (const auto& m : messages) {
      amqp_basic_properties_t props;
      props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
      props.content_type = amqp_cstring_bytes("application/json");
      props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
      props.message_id = Bytes(m.id);
      int rc = amqp_basic_publish(pub_.get(), kChannel, amqp_empty_bytes, Bytes(queue), 1, 0, &props, Bytes(m.body));
      if (rc != AMQP_STATUS_OK)
        return pub_.Fail(Unavailable("RabbitMQ at " + masked_ + ": publish failed: " + amqp_error_string2(rc)));
      pending.insert(next_seq_++);
    }
    bool returned = false;
    while (!pending.empty()) {
      amqp_frame_t frame;
      timeval tv{30, 0};
      int rc = amqp_simple_wait_frame_noblock(pub_.get(), &frame, &tv);
      if (rc != AMQP_STATUS_OK)
        return pub_.Fail(Unavailable("RabbitMQ at " + masked_ + ": no publisher confirm: " + amqp_error_string2(rc)));
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
          auto* a = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
          if (a->multiple) pending.erase(pending.begin(), pending.upper_bound(a->delivery_tag));
          else pending.erase(a->delivery_tag);
          break;
        }
        case AMQP_BASIC_NACK_METHOD:
          return pub_.Fail(Unavailable("RabbitMQ at " + masked_ + " refused a message (nack) on " + std::string(queue)));
        case AMQP_BASIC_RETURN_METHOD: {
          returned = true;
          amqp_message_t msg;
          auto r = amqp_read_message(pub_.get(), kChannel, &msg, 0);
          if (r.reply_type == AMQP_RESPONSE_NORMAL) amqp_destroy_message(&msg);
          break;
        }
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
          return pub_.Fail(Unavailable("RabbitMQ at " + masked_ + " closed the publishing connection"));
        default: break;
      }
    }
    amqp_maybe_release_buffers(pub_.get());
    if (returned) return NotFound("RabbitMQ at " + masked_ + ": queue " + std::string(queue) + " does not exist (message returned)");
    return Status::Ok();
  }

  ParsedUrl url_;
  std::string masked_;
  QueueOptions options_;
  Connection pub_, sub_;
  uint64_t next_seq_ = 1;
  uint64_t generation_ = 0;
  std::string consuming_;
};

}  // namespace

Result<std::unique_ptr<JobQueue>> NewRabbitMqQueue(std::string_view url, const QueueOptions& options) {
  FSML_ASSIGN_OR_RETURN(ParsedUrl u, ParseAmqpUrl(url));
  return std::unique_ptr<JobQueue>(std::make_unique<RabbitMqQueue>(std::move(u), MaskUrl(url), options));
}

}  // namespace fsml
