// File: message_stats.h
//
// The rules that turn a store's raw message counts (storage/message_stats.h)
// into what GetMessageStats answers: the delivery rate and the price total in
// Twilio's text form. Pure functions, no I/O.
#ifndef SMSGW_SERVER_DOMAIN_MESSAGE_STATS_H_
#define SMSGW_SERVER_DOMAIN_MESSAGE_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "storage/message_store.h"

namespace smsgw::domain {

// GetMessageStats' answer for one user and window.
struct MessageStatsReport {
  // Counts by status, by UTC day, by direction, and segments, as stored.
  storage::MessageStats counts;
  // DELIVERED / (DELIVERED + UNDELIVERED + FAILED) over the outbound
  // messages, 0.0 to 1.0; 0.0 when none has reached one of these statuses.
  double delivery_rate = 0.0;
  // Sum of the provider's prices, Twilio's sign (negative = billed) and at
  // least Twilio's 5 decimals ("-0.02370"); "0" when no message has a price.
  // When several currencies appear, only the one with the most priced
  // messages is summed (a single Twilio account bills in one currency, so
  // this only matters after a currency change); prices in others are left
  // out rather than added across currencies.
  std::string total_price = "0";
  std::string price_unit;  // ISO 4217 of total_price; empty without prices
  // The window actually counted: [start_time, end_time). start_time is
  // absl::InfinitePast() when the request had no lower bound.
  absl::Time start_time;
  absl::Time end_time;
  // The owner's daily segment quota and its use today (UTC), whatever the
  // window (issue 18).
  storage::QuotaUsage quota;
};

// DELIVERED / (DELIVERED + UNDELIVERED + FAILED) among `outbound_counts`
// (the terminal outcomes a provider reports; CANCELED messages were never
// sent and do not count); 0.0 when that denominator is 0.
double DeliveryRate(const std::vector<storage::StatusCount>& outbound_counts);

// A sum of micro-units (millionths) as a decimal string with at least 5
// decimals, as Twilio prints prices: -23700 -> "-0.02370", 1234567 ->
// "1.234567", 0 -> "0.00000". Exact for every int64_t.
std::string FormatPriceMicros(int64_t micros);

// Builds the report from the store's figures for the window [start, end).
MessageStatsReport SummarizeStats(storage::MessageStats counts,
                                  absl::Time start, absl::Time end);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_MESSAGE_STATS_H_
