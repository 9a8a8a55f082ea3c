// File: fake_twilio_process.h
//
// Runs the stand-alone fake Twilio (tests/fake_twilio/fake_twilio_main.cc)
// as a separate process, so it outlives SIGKILLs of smsgw-server. It keeps
// every accepted create in a file, answers List, and can simulate outages.
#ifndef SMSGW_TESTS_TESTING_FAKE_TWILIO_PROCESS_H_
#define SMSGW_TESTS_TESTING_FAKE_TWILIO_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace smsgw::testing {

// What the crash and cluster harnesses check after their kills: every
// accepted body created at the fake at least once (else lost), none twice
// (duplicated), and every SID the fake handed out stored in the database
// (else missing_in_db).
struct ExactlyOnceAudit {
  int lost = 0;
  int duplicated = 0;
  int missing_in_db = 0;
};

// `accepted`: the bodies SendMessage answered OK; `fake_messages`: the
// fake's Messages(); `db_sid_by_body`: body -> provider SID ("" while none)
// of every outbound message in the database.
ExactlyOnceAudit AuditExactlyOnce(
    const std::set<std::string>& accepted, const nlohmann::json& fake_messages,
    const std::map<std::string, std::string>& db_sid_by_body);

// Not thread-safe. The destructor stops the process (SIGTERM).
class FakeTwilioProcess {
 public:
  // The account the fake accepts (any auth token).
  static constexpr char kAccountSid[] = "AC00000000000000000000000000000001";

  // `dir` holds the port file and the store; `create_delay_ms` delays each
  // create answer by a random 0..N ms to widen crash windows.
  explicit FakeTwilioProcess(std::string dir, int create_delay_ms = 150)
      : dir_(std::move(dir)), create_delay_ms_(create_delay_ms) {}
  ~FakeTwilioProcess();
  FakeTwilioProcess(const FakeTwilioProcess&) = delete;
  FakeTwilioProcess& operator=(const FakeTwilioProcess&) = delete;

  // Starts it and waits (up to 10 s) for its port. False on failure.
  bool Start();
  std::string base_url() const;
  // Every message the fake accepted, oldest first (JSON array).
  nlohmann::json Messages() const;
  // For `duration`, every Twilio call answers 503. False if not reachable.
  bool Outage(absl::Duration duration) const;
  // Twilio calls (creates and lists) answered 503 so far; -1 if not
  // reachable.
  int64_t Refused() const;

 private:
  std::string dir_;
  int create_delay_ms_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_FAKE_TWILIO_PROCESS_H_
