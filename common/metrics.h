// File: metrics.h
//
// Counters, histograms and scrape-time gauges rendered in the Prometheus text
// exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/
// exposition_formats/), for `GET /metrics` (issue "Hardening"). Debian 12
// has no prometheus-cpp package, hence this small writer: it implements
// only what smsgw exports (no summaries, no exemplars, no timestamps).
//
// Families are created once at start-up; recording (Increment/Observe) is
// thread-safe and cheap: one short mutex hold to find the labelled child.
// Label values are free text and escaped on output; keep their number
// bounded (method names, status codes, configured numbers — never ids).
#ifndef SMSGW_COMMON_METRICS_H_
#define SMSGW_COMMON_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace smsgw::metrics {

// Label values, in the order of the family's label names.
using Labels = std::vector<std::string>;

// A monotonically increasing count per label set.
class CounterFamily {
 public:
  // Adds `value` (>= 0; negative values are ignored: counters never go down)
  // to the child for `labels`, creating it at 0 first. `labels` must have as
  // many values as the family has label names (extra are dropped, missing
  // are empty).
  void Increment(const Labels& labels, double value = 1);
  // The child's current value; 0 when it was never incremented.
  double Value(const Labels& labels) const;

 private:
  friend class Registry;
  explicit CounterFamily(size_t label_count) : label_count_(label_count) {}
  Labels Fit(const Labels& labels) const;
  void Render(const std::string& name,
              const std::vector<std::string>& label_names,
              std::string* out) const;

  const size_t label_count_;
  mutable absl::Mutex mu_;
  std::map<Labels, double> values_ ABSL_GUARDED_BY(mu_);
};

// Observations in cumulative buckets (upper bounds, e.g. seconds), with
// their count and sum, per label set.
class HistogramFamily {
 public:
  // Records `value` (e.g. a latency in seconds) for `labels`.
  void Observe(const Labels& labels, double value);
  // Observations recorded for `labels` (the `_count` series).
  uint64_t Count(const Labels& labels) const;

 private:
  friend class Registry;
  HistogramFamily(size_t label_count, std::vector<double> bounds)
      : label_count_(label_count), bounds_(std::move(bounds)) {}
  struct Child {
    std::vector<uint64_t> buckets;  // per bound, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  Labels Fit(const Labels& labels) const;
  void Render(const std::string& name,
              const std::vector<std::string>& label_names,
              std::string* out) const;

  const size_t label_count_;
  const std::vector<double> bounds_;  // ascending; +Inf is implicit
  mutable absl::Mutex mu_;
  std::map<Labels, Child> children_ ABSL_GUARDED_BY(mu_);
};

// One sample of a gauge (or of a counter read from elsewhere) at scrape time.
struct Sample {
  Labels labels;
  double value = 0;
};

// Latency buckets in seconds, from 0.5 ms to 10 s: RPCs, provider calls and
// webhook requests all fall in this range.
std::vector<double> LatencyBuckets();

// The set of metric families of one process. Thread-safe. Families live as
// long as the registry; the pointers returned stay valid.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // `name` must follow Prometheus naming ([a-zA-Z_:][a-zA-Z0-9_:]*; counters
  // end in _total); names are not checked: they are constants in our code.
  CounterFamily* AddCounter(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names);
  // `bounds`: ascending bucket upper bounds.
  HistogramFamily* AddHistogram(const std::string& name,
                                const std::string& help,
                                std::vector<std::string> label_names,
                                std::vector<double> bounds);
  // A family whose samples `collect` returns at each scrape, typed "gauge"
  // or, with `counter` true, "counter" (a total kept elsewhere, e.g. in the
  // database layer). `collect` runs on the scraping thread; it may block
  // briefly (a read) but must not call back into the registry.
  void AddCollected(const std::string& name, const std::string& help,
                    std::vector<std::string> label_names,
                    std::function<std::vector<Sample>()> collect,
                    bool counter = false);

  // Every family in the text format, in the order they were added.
  std::string Render() const;

 private:
  struct Family {
    std::string name;
    std::string help;
    std::string type;
    std::vector<std::string> label_names;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<HistogramFamily> histogram;
    std::function<std::vector<Sample>()> collect;
  };
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
};

// The exposition format's Content-Type.
inline constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace smsgw::metrics

#endif  // SMSGW_COMMON_METRICS_H_
