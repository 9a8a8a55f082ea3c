#include "tests/testing/fake_twilio_process.h"

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/spawn.h"
#include "tests/testing/server_process.h"

namespace smsgw::testing {

FakeTwilioProcess::~FakeTwilioProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

bool FakeTwilioProcess::Start() {
  const std::string port_file = dir_ + "/twilio.port";
  const std::string binary = BuiltBinary("fake_twilio");
  SpawnOptions spawn;
  spawn.argv = {binary, "--port_file=" + port_file,
                "--store=" + dir_ + "/twilio.jsonl",
                absl::StrCat("--create_delay_ms=", create_delay_ms_),
                absl::StrCat("--account_sid=", kAccountSid)};
  absl::StatusOr<pid_t> pid = Spawn(spawn);
  if (!pid.ok()) return false;
  pid_ = *pid;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

std::string FakeTwilioProcess::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

nlohmann::json FakeTwilioProcess::Messages() const {
  httplib::Client client("127.0.0.1", port_);
  auto res = client.Get("/control/messages");
  if (!res || res->status != 200) return nlohmann::json::array();
  return nlohmann::json::parse(res->body, nullptr, false);
}

bool FakeTwilioProcess::Outage(absl::Duration duration) const {
  httplib::Client client("127.0.0.1", port_);
  auto res = client.Post(
      absl::StrCat("/control/outage?ms=", absl::ToInt64Milliseconds(duration))
          .c_str());
  return res && res->status / 100 == 2;
}

int64_t FakeTwilioProcess::Refused() const {
  httplib::Client client("127.0.0.1", port_);
  auto res = client.Get("/control/refused");
  if (!res || res->status != 200) return -1;
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  return body.is_object() ? body.value("refused", int64_t{-1}) : -1;
}

ExactlyOnceAudit AuditExactlyOnce(
    const std::set<std::string>& accepted, const nlohmann::json& fake_messages,
    const std::map<std::string, std::string>& db_sid_by_body) {
  std::map<std::string, int> creates;  // body -> creates at the fake
  std::set<std::string> fake_sids;
  for (const nlohmann::json& m : fake_messages) {
    ++creates[m.value("body", "")];
    fake_sids.insert(m.value("sid", ""));
  }
  ExactlyOnceAudit audit;
  for (const std::string& body : accepted) {
    if (!creates.contains(body)) ++audit.lost;
  }
  for (const auto& [body, n] : creates) {
    if (n > 1) ++audit.duplicated;
  }
  std::set<std::string> db_sids;
  for (const auto& [body, sid] : db_sid_by_body) db_sids.insert(sid);
  for (const std::string& sid : fake_sids) {
    if (!db_sids.contains(sid)) ++audit.missing_in_db;
  }
  return audit;
}

}  // namespace smsgw::testing
