// File: opt_out_store.h
//
// The OptOutStore port of the message store (issue 13). message_store.h says
// how the ports join into MessageStore and how writes that span concerns stay
// one transaction; a component takes only the ports it uses.
#ifndef SMSGW_STORAGE_OPT_OUT_STORE_H_
#define SMSGW_STORAGE_OPT_OUT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_types.h"

namespace smsgw::storage {

// Opt-outs (STOP, Twilio error 21610) per (peer, our number) pair.
// Implementations are thread-safe.
class OptOutStore {
 public:
  virtual ~OptOutStore() = default;

  // Records or lifts an opt-out of `peer` from `our_number`. `keyword` is what
  // caused it (e.g. "STOP", or "21610" when Twilio refused a send).
  virtual absl::Status SetOptOut(absl::string_view peer,
                                 absl::string_view our_number,
                                 absl::string_view keyword,
                                 absl::Time time) = 0;
  virtual absl::Status ClearOptOut(absl::string_view peer,
                                   absl::string_view our_number) = 0;

  // Whether `peer` has opted out of messages from `our_number` (STOP).
  virtual absl::StatusOr<bool> IsOptedOut(absl::string_view peer,
                                          absl::string_view our_number) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_OPT_OUT_STORE_H_
