#include "serve/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsml {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersCountersGaugesAndCumulativeHistograms) {
  Metrics m;
  m.DefineCounter("req_total", "Requests.");
  m.DefineHistogram("lat_seconds", "Latency.", {0.1, 1});
  m.DefineGauge("depth", "Depth.");
  m.Add("req_total", {{"route", "GET /x"}, {"code", "200"}});
  m.Add("req_total", {{"route", "GET /x"}, {"code", "200"}}, 2);
  m.Observe("lat_seconds", {}, 0.05);
  m.Observe("lat_seconds", {}, 0.5);
  m.Observe("lat_seconds", {}, 5);
  m.AddCollector([](Metrics& mm) { mm.Set("depth", {{"queue", "q\"1"}}, 7); });
  std::string out = m.Render();
  EXPECT_THAT(out, HasSubstr("# TYPE req_total counter\n"));
  EXPECT_THAT(out, HasSubstr("req_total{route=\"GET /x\",code=\"200\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_bucket{le=\"0.1\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_count 3\n"));
  EXPECT_THAT(out, HasSubstr("lat_seconds_sum 5.55\n"));
  EXPECT_THAT(out, HasSubstr("depth{queue=\"q\\\"1\"} 7\n"));
}

TEST(MetricsTest, IgnoresUndefinedOrMismatchedNames) {
  Metrics m;
  m.DefineCounter("c", "C.");
  m.Observe("c", {}, 1);  // not a histogram
  m.Add("missing", {});
  EXPECT_EQ(m.Render(), "# HELP c C.\n# TYPE c counter\n");
}

}  // namespace
}  // namespace fsml
