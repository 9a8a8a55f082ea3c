// File: message_stats.h
//
// What MessageStore::Stats() returns: one owner's messages of a time window
// counted by status, by UTC day and by direction, with segment and price
// sums. Raw figures only; rates and the price's text form are the domain's.
#ifndef SMSGW_STORAGE_MESSAGE_STATS_H_
#define SMSGW_STORAGE_MESSAGE_STATS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace smsgw::storage {

// Defined in storage/message_store.h (the smsgw.v1.MessageStatus numbers).
enum class MessageStatus : int;

// How many messages are now in `status`.
struct StatusCount {
  MessageStatus status{};
  int64_t count = 0;
};

// The messages created on one UTC day.
struct DailyMessageStats {
  std::string date;                        // "YYYY-MM-DD", UTC
  std::vector<StatusCount> status_counts;  // by status number, counts > 0
  int64_t total_segments = 0;              // of the outbound messages
  int64_t outbound_count = 0;
  int64_t inbound_count = 0;
};

// The sum of the prices given in one currency.
struct PriceSum {
  std::string unit;  // as the provider reported it ("USD"); may be empty
  // Sum in millionths of the unit (micro-units). Twilio's prices carry at
  // most 5 decimals, so the sum is exact; a 6th decimal is kept, further
  // ones are rounded to the nearest micro-unit per message.
  int64_t micros = 0;
  int64_t priced_count = 0;  // messages that contributed a price
};

// One owner's messages created in a window (see MessageStore::Stats()).
struct MessageStats {
  std::vector<StatusCount> status_counts;  // by status number, counts > 0
  // The same over the outbound messages only (delivery rates).
  std::vector<StatusCount> outbound_status_counts;
  std::vector<DailyMessageStats> days;  // days with messages, oldest first
  int64_t total_segments = 0;           // of the outbound messages
  int64_t outbound_count = 0;
  int64_t inbound_count = 0;
  // One entry per price_unit seen among messages with a price, the most
  // priced messages first (ties: unit ascending); empty when none has one.
  std::vector<PriceSum> prices;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_MESSAGE_STATS_H_
