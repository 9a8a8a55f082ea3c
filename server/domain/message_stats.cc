#include "server/domain/message_stats.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace smsgw::domain {

double DeliveryRate(const std::vector<storage::StatusCount>& outbound_counts) {
  int64_t delivered = 0;
  int64_t terminal = 0;
  for (const storage::StatusCount& c : outbound_counts) {
    switch (c.status) {
      case storage::MessageStatus::kDelivered:
        delivered += c.count;
        terminal += c.count;
        break;
      case storage::MessageStatus::kUndelivered:
      case storage::MessageStatus::kFailed:
      case storage::MessageStatus::kExpired:
        terminal += c.count;
        break;
      default:
        break;
    }
  }
  if (terminal == 0) return 0.0;
  return static_cast<double>(delivered) / static_cast<double>(terminal);
}

std::string FormatPriceMicros(int64_t micros) {
  // Unsigned magnitude: -INT64_MIN does not fit in int64_t.
  const bool negative = micros < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(micros)
                                      : static_cast<uint64_t>(micros);
  const uint64_t units = magnitude / 1'000'000;
  std::string fraction = absl::StrCat(magnitude % 1'000'000 + 1'000'000)
                             .substr(1);  // 6 digits, leading zeros kept
  if (fraction.back() == '0') fraction.pop_back();  // Twilio shows 5
  return absl::StrCat(negative ? "-" : "", units, ".", fraction);
}

MessageStatsReport SummarizeStats(storage::MessageStats counts,
                                  absl::Time start, absl::Time end) {
  MessageStatsReport report;
  report.delivery_rate = DeliveryRate(counts.outbound_status_counts);
  if (!counts.prices.empty()) {
    // The store orders currencies by how many messages carry them.
    report.total_price = FormatPriceMicros(counts.prices.front().micros);
    report.price_unit = counts.prices.front().unit;
  }
  report.counts = std::move(counts);
  report.start_time = start;
  report.end_time = end;
  return report;
}

}  // namespace smsgw::domain
