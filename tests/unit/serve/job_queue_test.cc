// The JobQueue contract, run against every implementation: the embedded
// queue on SQLite always, the embedded queue on PostgreSQL when
// FSML_TEST_PG_URL names a server, RabbitMQ when FSML_TEST_AMQP_URL names a
// broker (the integration tier starts both with scripts/services.sh).
#include "serve/job_queue.h"

#include <cstdlib>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../data/test_util.h"
#include "../pg_test_database.h"

namespace fsml {
namespace {

using namespace std::chrono_literals;

class JobQueueContract : public test::WorkspaceTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    test::WorkspaceTest::SetUp();
    if (GetParam() == "embedded_postgresql") {
      if (test::PgTestDatabase::AdminUrl().empty())
        GTEST_SKIP() << "FSML_TEST_PG_URL is not set (scripts/services.sh start postgresql)";
      pg_ = std::make_unique<test::PgTestDatabase>(test::PgTestDatabase::AdminUrl());
      ASSERT_EQ(pg_->error(), "") << "create a test database";
      auto store = OpenMetaStore(pg_->url(), dir_.string());
      ASSERT_TRUE(store) << store.error().ToString();
      pg_meta_ = std::move(*store);
    }
    url_ = GetParam().starts_with("embedded") ? "embedded"
                                              : (std::getenv("FSML_TEST_AMQP_URL") ? std::getenv("FSML_TEST_AMQP_URL") : "");
    if (url_.empty()) GTEST_SKIP() << "FSML_TEST_AMQP_URL is not set (scripts/services.sh start rabbitmq)";
    options_.lease = 300ms;  // embedded: a dead consumer's messages return quickly
    q_ = Open();
    // Brokers are shared between tests: start from empty queues.
    for (const char* name : {kJobsQueue, kResultsQueue, kDeadQueue}) Drain(*q_, name);
  }
  std::unique_ptr<JobQueue> Open() {
    auto q = OpenJobQueue(url_, pg_meta_ ? *pg_meta_ : meta(), options_);
    EXPECT_TRUE(q) << q.error().ToString();
    return q ? std::move(*q) : nullptr;
  }
  static void Drain(JobQueue& q, const char* name) {
    while (true) {
      auto got = q.Receive(name, 1000, 300ms);
      ASSERT_TRUE(got) << got.error().ToString();
      if (got->empty()) return;
      ASSERT_TRUE(q.Ack(*got).ok());
    }
  }
  static std::vector<OutMessage> Messages(int n, const std::string& prefix = "m") {
    std::vector<OutMessage> out;
    for (int i = 0; i < n; ++i) out.push_back({prefix + std::to_string(i), "{\"n\":" + std::to_string(i) + "}"});
    return out;
  }
  std::vector<Delivery> ReceiveAll(JobQueue& q, const char* name, size_t want, std::chrono::milliseconds wait = 5000ms) {
    std::vector<Delivery> all;
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (all.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto got = q.Receive(name, want - all.size(), 500ms);
      EXPECT_TRUE(got) << got.error().ToString();
      if (!got) break;
      for (auto& d : *got) all.push_back(std::move(d));
    }
    return all;
  }

  void TearDown() override {
    q_.reset();
    pg_meta_.reset();
    pg_.reset();
    test::WorkspaceTest::TearDown();
  }

  std::unique_ptr<test::PgTestDatabase> pg_;
  std::unique_ptr<MetaStore> pg_meta_;  // the embedded queue's store on PostgreSQL
  std::string url_;
  QueueOptions options_;
  std::unique_ptr<JobQueue> q_;
};

TEST_P(JobQueueContract, DeliversPublishedMessagesInOrder) {
  ASSERT_TRUE(q_->Publish(kJobsQueue, Messages(3)).ok());
  EXPECT_EQ(*q_->Depth(kJobsQueue), 3);
  auto got = ReceiveAll(*q_, kJobsQueue, 3);
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].id, "m" + std::to_string(i));
    EXPECT_EQ(got[i].body, "{\"n\":" + std::to_string(i) + "}");
    EXPECT_EQ(got[i].attempt, 1);
  }
  ASSERT_TRUE(q_->Ack(got).ok());
  auto more = q_->Receive(kJobsQueue, 10, 300ms);
  ASSERT_TRUE(more);
  EXPECT_TRUE(more->empty());
  EXPECT_EQ(*q_->Depth(kJobsQueue), 0);
}

TEST_P(JobQueueContract, ReceiveTakesAtMostMax) {
  ASSERT_TRUE(q_->Publish(kResultsQueue, Messages(10)).ok());
  auto got = q_->Receive(kResultsQueue, 4, 2000ms);
  ASSERT_TRUE(got);
  EXPECT_LE(got->size(), 4u);
  EXPECT_GE(got->size(), 1u);
  ASSERT_TRUE(q_->Ack(*got).ok());
}

TEST_P(JobQueueContract, RequeuedMessageComesBackWithTheNextAttempt) {
  ASSERT_TRUE(q_->Publish(kJobsQueue, Messages(1)).ok());
  auto first = ReceiveAll(*q_, kJobsQueue, 1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(q_->Requeue(first[0]).ok());
  auto second = ReceiveAll(*q_, kJobsQueue, 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, "m0");
  EXPECT_EQ(second[0].attempt, 2);
  ASSERT_TRUE(q_->Ack(second).ok());
}

TEST_P(JobQueueContract, UnackedMessagesOfADeadConsumerAreRedelivered) {
  ASSERT_TRUE(q_->Publish(kJobsQueue, Messages(2)).ok());
  {
    auto consumer = Open();
    auto got = ReceiveAll(*consumer, kJobsQueue, 2);
    ASSERT_EQ(got.size(), 2u);
    // The consumer goes away without acking (its connection closes; an
    // embedded lease runs out).
  }
  auto again = ReceiveAll(*q_, kJobsQueue, 2, 10000ms);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].attempt, 2);
  ASSERT_TRUE(q_->Ack(again).ok());
}

TEST_P(JobQueueContract, AckFromALostDeliveryDoesNotRemoveTheRedeliveredMessage) {
  ASSERT_TRUE(q_->Publish(kJobsQueue, Messages(1)).ok());
  auto stale_consumer = Open();
  auto stale = ReceiveAll(*stale_consumer, kJobsQueue, 1);
  ASSERT_EQ(stale.size(), 1u);
  stale_consumer.reset();
  auto fresh = ReceiveAll(*q_, kJobsQueue, 1, 10000ms);
  ASSERT_EQ(fresh.size(), 1u);
  // Acking the stale delivery through another consumer must not count.
  auto other = Open();
  ASSERT_TRUE(other->Ack(stale).ok());
  ASSERT_TRUE(q_->Requeue(fresh[0]).ok());
  auto back = ReceiveAll(*q_, kJobsQueue, 1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].attempt, 3);
  ASSERT_TRUE(q_->Ack(back).ok());
}

TEST_P(JobQueueContract, DeadLettersAfterMaxAttempts) {
  ASSERT_TRUE(q_->Publish(kJobsQueue, Messages(1, "poison")).ok());
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    auto got = ReceiveAll(*q_, kJobsQueue, 1);
    ASSERT_EQ(got.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(got[0].attempt, attempt);
    ASSERT_TRUE(q_->Requeue(got[0]).ok());
  }
  auto none = q_->Receive(kJobsQueue, 1, 500ms);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto dead = ReceiveAll(*q_, kDeadQueue, 1);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, "poison0");
  EXPECT_EQ(dead[0].body, "{\"n\":0}");
  ASSERT_TRUE(q_->Ack(dead).ok());
}

TEST_P(JobQueueContract, ReceiveWaitsForAPublisher) {
  std::thread publisher([&] {
    std::this_thread::sleep_for(200ms);
    auto pq = Open();
    EXPECT_TRUE(pq->Publish(kJobsQueue, Messages(1, "late")).ok());
  });
  auto t0 = std::chrono::steady_clock::now();
  auto got = ReceiveAll(*q_, kJobsQueue, 1, 5000ms);
  publisher.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, "late0");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5000ms);
  ASSERT_TRUE(q_->Ack(got).ok());
}

TEST_P(JobQueueContract, EmptyPublishIsANoOp) { EXPECT_TRUE(q_->Publish(kJobsQueue, {}).ok()); }

INSTANTIATE_TEST_SUITE_P(Queues, JobQueueContract, ::testing::Values("embedded", "embedded_postgresql", "rabbitmq"),
                         [](const auto& info) { return info.param; });

class JobQueueUrlTest : public test::WorkspaceTest {};

TEST_F(JobQueueUrlTest, RejectsUnknownSchemesAndMasksPasswords) {
  EXPECT_EQ(MaskUrl("amqp://user:secret@host:5672/"), "amqp://user:***@host:5672/");
  EXPECT_EQ(MaskUrl("amqp://host:5672/"), "amqp://host:5672/");
  auto unknown = OpenJobQueue("ftp://user:topsecret@host/", meta());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(unknown.error().message(), ::testing::HasSubstr("ftp://user:***@host/"));
  EXPECT_THAT(unknown.error().message(), ::testing::Not(::testing::HasSubstr("topsecret")));
  EXPECT_EQ(OpenJobQueue("embedded", meta(), QueueOptions{0}).error().code(), Code::kInvalidArgument);
  auto q = NewRabbitMqQueue("amqp://u:topsecret@", {});
  if (!q) {
    EXPECT_THAT(q.error().message(), ::testing::Not(::testing::HasSubstr("topsecret")));
  }
}

TEST_F(JobQueueUrlTest, UnreachableBrokerIsUnavailableAndNamesTheHost) {
  auto q = NewRabbitMqQueue("amqp://guest:hunter2@127.0.0.1:1/", {});
  ASSERT_TRUE(q);
  auto st = (*q)->Publish(kJobsQueue, {{"x", "{}"}});
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_THAT(st.message(), ::testing::HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(st.message(), ::testing::Not(::testing::HasSubstr("hunter2")));
}

}  // namespace
}  // namespace fsml
