#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace smsgw::metrics {
namespace {

// Label values and HELP text escape backslash and newline; label values
// also the double quote (exposition format 0.0.4).
std::string Escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest form that reads back as the same double.
  for (int precision = 6; precision < 17; ++precision) {
    std::string text = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(text.c_str(), nullptr) == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

// {a="x",b="y"} with an optional extra label (the histogram's le).
std::string LabelSet(const std::vector<std::string>& names,
                     const Labels& values, const std::string& extra_name = "",
                     const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"",
                    Escape(values[i], true), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : ",", extra_name, "=\"",
                    extra_value, "\"");
  }
  return out.empty() ? "" : absl::StrCat("{", out, "}");
}

Labels FitTo(size_t count, const Labels& labels) {
  Labels fitted(labels.begin(),
                labels.begin() + std::min(count, labels.size()));
  fitted.resize(count);
  return fitted;
}

}  // namespace

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,   0.25,   0.5,   1,    2.5,   5, 10};
}

Labels CounterFamily::Fit(const Labels& labels) const {
  return FitTo(label_count_, labels);
}

void CounterFamily::Increment(const Labels& labels, double value) {
  if (!(value >= 0)) return;
  Labels key = Fit(labels);
  absl::MutexLock lock(&mu_);
  values_[std::move(key)] += value;
}

double CounterFamily::Value(const Labels& labels) const {
  const Labels key = Fit(labels);
  absl::MutexLock lock(&mu_);
  auto it = values_.find(key);
  return it == values_.end() ? 0 : it->second;
}

void CounterFamily::Render(const std::string& name,
                           const std::vector<std::string>& label_names,
                           std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [labels, value] : values_) {
    absl::StrAppend(out, name, LabelSet(label_names, labels), " ",
                    FormatValue(value), "\n");
  }
}

Labels HistogramFamily::Fit(const Labels& labels) const {
  return FitTo(label_count_, labels);
}

void HistogramFamily::Observe(const Labels& labels, double value) {
  Labels key = Fit(labels);
  // The first bucket whose upper bound holds the value; past the last one
  // the observation is only in +Inf (count).
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  absl::MutexLock lock(&mu_);
  Child& child = children_[std::move(key)];
  if (child.buckets.empty()) child.buckets.assign(bounds_.size(), 0);
  if (bucket < bounds_.size()) ++child.buckets[bucket];
  ++child.count;
  child.sum += value;
}

uint64_t HistogramFamily::Count(const Labels& labels) const {
  const Labels key = Fit(labels);
  absl::MutexLock lock(&mu_);
  auto it = children_.find(key);
  return it == children_.end() ? 0 : it->second.count;
}

void HistogramFamily::Render(const std::string& name,
                             const std::vector<std::string>& label_names,
                             std::string* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [labels, child] : children_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += child.buckets[i];
      absl::StrAppend(out, name, "_bucket",
                      LabelSet(label_names, labels, "le",
                               FormatValue(bounds_[i])),
                      " ", cumulative, "\n");
    }
    absl::StrAppend(out, name, "_bucket",
                    LabelSet(label_names, labels, "le", "+Inf"), " ",
                    child.count, "\n");
    absl::StrAppend(out, name, "_sum", LabelSet(label_names, labels), " ",
                    FormatValue(child.sum), "\n");
    absl::StrAppend(out, name, "_count", LabelSet(label_names, labels), " ",
                    child.count, "\n");
  }
}

CounterFamily* Registry::AddCounter(const std::string& name,
                                    const std::string& help,
                                    std::vector<std::string> label_names) {
  auto family = std::make_unique<Family>();
  family->name = name;
  family->help = help;
  family->type = "counter";
  family->counter.reset(new CounterFamily(label_names.size()));
  family->label_names = std::move(label_names);
  CounterFamily* out = family->counter.get();
  absl::MutexLock lock(&mu_);
  families_.push_back(std::move(family));
  return out;
}

HistogramFamily* Registry::AddHistogram(const std::string& name,
                                        const std::string& help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
  std::sort(bounds.begin(), bounds.end());
  auto family = std::make_unique<Family>();
  family->name = name;
  family->help = help;
  family->type = "histogram";
  family->histogram.reset(
      new HistogramFamily(label_names.size(), std::move(bounds)));
  family->label_names = std::move(label_names);
  HistogramFamily* out = family->histogram.get();
  absl::MutexLock lock(&mu_);
  families_.push_back(std::move(family));
  return out;
}

void Registry::AddCollected(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names,
                            std::function<std::vector<Sample>()> collect,
                            bool counter) {
  auto family = std::make_unique<Family>();
  family->name = name;
  family->help = help;
  family->type = counter ? "counter" : "gauge";
  family->label_names = std::move(label_names);
  family->collect = std::move(collect);
  absl::MutexLock lock(&mu_);
  families_.push_back(std::move(family));
}

std::string Registry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<Family>& family : families_) {
    absl::StrAppend(&out, "# HELP ", family->name, " ",
                    Escape(family->help, false), "\n", "# TYPE ",
                    family->name, " ", family->type, "\n");
    if (family->counter != nullptr) {
      family->counter->Render(family->name, family->label_names, &out);
    } else if (family->histogram != nullptr) {
      family->histogram->Render(family->name, family->label_names, &out);
    } else if (family->collect) {
      for (const Sample& sample : family->collect()) {
        absl::StrAppend(&out, family->name,
                        LabelSet(family->label_names, sample.labels), " ",
                        FormatValue(sample.value), "\n");
      }
    }
  }
  return out;
}

}  // namespace smsgw::metrics
