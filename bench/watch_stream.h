// File: watch_stream.h
//
// One WatchMessages stream the watch scenarios hold open (watch_streams on
// the 1 M-message database, watch_streams_pg on PostgreSQL replicas).
#ifndef SMSGW_BENCH_WATCH_STREAM_H_
#define SMSGW_BENCH_WATCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "smsgw/v1/messaging.grpc.pb.h"

namespace smsgw::bench {

// One WatchMessages stream; records the delivery latency of each event
// (receive wall time minus the event's event_time, same machine clock) while
// `recording` is set. (Not "minus the time SendMessage answered": the answer
// waits for the provider, so the CREATED event comes before it.) When
// `cursors` is set, every event's cursor is appended to it, recording or
// not, so that streams can be compared; read it after Wait().
class WatchStream
    : public grpc::ClientReadReactor<smsgw::v1::WatchMessagesResponse> {
 public:
  WatchStream(smsgw::v1::MessagingService::Stub* stub, const std::string& token,
              const std::atomic<bool>* recording,
              std::vector<std::string>* cursors = nullptr)
      : recording_(recording), cursors_(cursors) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    stub->async()->WatchMessages(&ctx_, &req_, this);
    StartRead(&resp_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    if (recording_->load(std::memory_order_relaxed)) {
      const absl::Time now = absl::Now();
      const auto& ts = resp_.event().event_time();
      const absl::Time at =
          absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
      latencies_us.push_back(absl::ToDoubleMicroseconds(now - at));
      ++events_by_type[std::min(4, static_cast<int>(resp_.event().type()))];
    }
    if (cursors_ != nullptr) cursors_->push_back(resp_.event().cursor());
    events_seen_.fetch_add(1, std::memory_order_relaxed);
    StartRead(&resp_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  void Cancel() { ctx_.TryCancel(); }
  // Events read so far (any thread; recording or not).
  uint64_t EventsSeen() const {
    return events_seen_.load(std::memory_order_relaxed);
  }
  bool Finished() const { return done_.HasBeenNotified(); }
  const grpc::Status& Wait() {
    done_.WaitForNotification();
    return status_;
  }

  std::vector<double> latencies_us;
  std::array<uint64_t, 5> events_by_type{};

 private:
  const std::atomic<bool>* recording_;
  std::vector<std::string>* cursors_;  // every event's cursor, when set
  std::atomic<uint64_t> events_seen_{0};
  grpc::ClientContext ctx_;
  smsgw::v1::WatchMessagesRequest req_;
  smsgw::v1::WatchMessagesResponse resp_;
  grpc::Status status_;
  absl::Notification done_;
};

// Sets `recording` from `warmup_s` after the call for `duration_s` (seconds:
// the closed loop's measurement window), on a thread of its own, which the
// caller joins once the loop has returned.
inline std::thread RecordDuring(std::atomic<bool>& recording, double warmup_s,
                                double duration_s) {
  return std::thread([&recording, warmup_s, duration_s] {
    absl::SleepFor(absl::Seconds(warmup_s));
    recording = true;
    absl::SleepFor(absl::Seconds(duration_s));
    recording = false;
  });
}

// {"created", "inbound", "status_changed", "deleted"} from events counted by
// type as WatchStream::events_by_type counts them.
inline nlohmann::json EventsByType(const std::array<uint64_t, 5>& by_type) {
  return {{"created", by_type[1]},
          {"inbound", by_type[2]},
          {"status_changed", by_type[3]},
          {"deleted", by_type[4]}};
}

}  // namespace smsgw::bench

#endif  // SMSGW_BENCH_WATCH_STREAM_H_
