#include "common/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace smsgw::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsRegistryTest, CounterRendersHelpTypeAndOneLinePerLabelSet) {
  Registry registry;
  CounterFamily* calls = registry.AddCounter(
      "smsgw_calls_total", "Calls by method.", {"method", "code"});
  calls->Increment({"Send", "OK"});
  calls->Increment({"Send", "OK"}, 2);
  calls->Increment({"Get", "NOT_FOUND"});
  EXPECT_EQ(registry.Render(),
            "# HELP smsgw_calls_total Calls by method.\n"
            "# TYPE smsgw_calls_total counter\n"
            "smsgw_calls_total{method=\"Get\",code=\"NOT_FOUND\"} 1\n"
            "smsgw_calls_total{method=\"Send\",code=\"OK\"} 3\n");
  EXPECT_EQ(calls->Value({"Send", "OK"}), 3);
  EXPECT_EQ(calls->Value({"Send", "INTERNAL"}), 0);
}

TEST(MetricsRegistryTest, CountersNeverGoDown) {
  Registry registry;
  CounterFamily* c = registry.AddCounter("c_total", "c", {});
  c->Increment({}, 5);
  c->Increment({}, -3);
  c->Increment({}, std::nan(""));
  EXPECT_EQ(c->Value({}), 5);
  EXPECT_THAT(registry.Render(), HasSubstr("\nc_total 5\n"));
}

TEST(MetricsRegistryTest, LabelValuesAreEscapedAndFittedToTheNames) {
  Registry registry;
  CounterFamily* c = registry.AddCounter("c_total", "help with \\ and\nline",
                                         {"path"});
  c->Increment({"/a\"b\\c\nd", "extra value dropped"});
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# HELP c_total help with \\\\ and\\nline\n"));
  EXPECT_THAT(text, HasSubstr("c_total{path=\"/a\\\"b\\\\c\\nd\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("extra")));
  // Missing values are empty, not a crash.
  CounterFamily* two = registry.AddCounter("two_total", "t", {"a", "b"});
  two->Increment({"x"});
  EXPECT_THAT(registry.Render(), HasSubstr("two_total{a=\"x\",b=\"\"} 1\n"));
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry registry;
  HistogramFamily* h = registry.AddHistogram("lat_seconds", "Latency.",
                                             {"m"}, {0.1, 1, 0.01});
  h->Observe({"a"}, 0.005);  // <= 0.01
  h->Observe({"a"}, 0.01);   // le is inclusive
  h->Observe({"a"}, 0.5);
  h->Observe({"a"}, 30);  // only +Inf
  EXPECT_EQ(h->Count({"a"}), 4);
  EXPECT_EQ(registry.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{m=\"a\",le=\"0.01\"} 2\n"
            "lat_seconds_bucket{m=\"a\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{m=\"a\",le=\"1\"} 3\n"
            "lat_seconds_bucket{m=\"a\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{m=\"a\"} 30.515\n"
            "lat_seconds_count{m=\"a\"} 4\n");
}

TEST(MetricsRegistryTest, CollectedFamiliesAreSampledAtEachScrape) {
  Registry registry;
  int scrapes = 0;
  registry.AddCollected("open_streams", "Open streams.", {},
                        [&scrapes] {
                          ++scrapes;
                          return std::vector<Sample>{{{}, double(scrapes)}};
                        });
  registry.AddCollected("db_writes_total", "Writes.", {"db"},
                        [] { return std::vector<Sample>{{{"main"}, 7}}; },
                        /*counter=*/true);
  EXPECT_THAT(registry.Render(), HasSubstr("# TYPE open_streams gauge\n"
                                           "open_streams 1\n"));
  const std::string second = registry.Render();
  EXPECT_THAT(second, HasSubstr("open_streams 2\n"));
  EXPECT_THAT(second, HasSubstr("# TYPE db_writes_total counter\n"
                                "db_writes_total{db=\"main\"} 7\n"));
}

TEST(MetricsRegistryTest, ConcurrentIncrementsAreAllCounted) {
  Registry registry;
  CounterFamily* c = registry.AddCounter("c_total", "c", {"t"});
  HistogramFamily* h = registry.AddHistogram("h", "h", {}, LatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        c->Increment({t % 2 == 0 ? "even" : "odd"});
        h->Observe({}, 0.002);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c->Value({"even"}) + c->Value({"odd"}), 40000);
  EXPECT_EQ(h->Count({}), 40000u);
}

}  // namespace
}  // namespace smsgw::metrics
