// `smsgw sim serve|outbox|inbound` end to end: the real binary running a
// standalone simulator, driven by the real REST client and the CLI.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/spawn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/twilio_rest_client.h"
#include "server/twilio/twilio_signature.h"
#include "tests/server/simulator/webhook_receiver.h"
#include "tests/testing/run_command.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

using ::smsgw::testing::BuiltBinary;
using ::smsgw::testing::CommandResult;
using ::testing::HasSubstr;

// What `sim serve` uses and prints (TwilioSimulator's defaults).
constexpr char kAccountSid[] = "AC5ea7c0de5ea7c0de5ea7c0de5ea7c0de";
constexpr char kAuthToken[] = "5ea7c0de5ea7c0de5ea7c0de5ea7c0de";

// `smsgw sim serve --port=0 ...` as a child process with its stdout on a pipe.
// The destructor SIGKILLs it if a test left it running.
class SimServeProcess {
 public:
  SimServeProcess() = default;
  ~SimServeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  // Starts it and reads the first stdout line (which holds the bound URL).
  absl::Status Start(const std::vector<std::string>& flags,
                     const std::string& stderr_path) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return absl::InternalError("pipe");
    std::vector<std::string> argv = {BuiltBinary("smsgw"), "sim", "serve",
                                     "--port=0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ::fcntl(pipe_fds[0], F_SETFD, FD_CLOEXEC);
    ::fcntl(pipe_fds[1], F_SETFD, FD_CLOEXEC);
    const int err_fd = OpenOutputFile(stderr_path, /*truncate=*/true);
    SpawnOptions spawn;
    spawn.argv = argv;
    spawn.stdout_fd = pipe_fds[1];
    spawn.stderr_fd = err_fd;
    absl::StatusOr<pid_t> pid = Spawn(spawn);
    if (err_fd >= 0) ::close(err_fd);
    if (!pid.ok()) {
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      return pid.status();
    }
    pid_ = *pid;
    ::close(pipe_fds[1]);
    out_fd_ = pipe_fds[0];
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (out_.find('\n') == std::string::npos) {
      if (!ReadSome(deadline)) {
        return absl::DeadlineExceededError(
            absl::StrCat("no first line from sim serve; got: ", out_));
      }
    }
    const size_t start = out_.find("http://");
    if (start == std::string::npos || start > out_.find('\n')) {
      return absl::InternalError(absl::StrCat("no URL on line 1: ", out_));
    }
    url_ = out_.substr(start, out_.find_first_of(" \n", start) - start);
    return absl::OkStatus();
  }

  // Sends `signal`, waits for the exit (10 s) and returns the waitpid()
  // status, or -1; all of stdout is in out() afterwards.
  int Stop(int signal) {
    ::kill(pid_, signal);
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (ReadSome(deadline)) {
    }
    int status = -1;
    while (absl::Now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return -1;
  }

  const std::string& url() const { return url_; }
  const std::string& out() const { return out_; }

 private:
  // Appends what is available before `deadline`; false at EOF or timeout.
  bool ReadSome(absl::Time deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(
        std::max(deadline - absl::Now(), absl::ZeroDuration())));
    if (::poll(&p, 1, ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(out_fd_, buf, sizeof(buf));
    if (n <= 0) return false;
    out_.append(buf, n);
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string out_;
  std::string url_;
};

// The simulator suite's webhook receiver (it records each POST and answers
// with the TwiML "got it").
using ::smsgw::twilio::simulator_testing::Received;
using ::smsgw::twilio::simulator_testing::WebhookReceiver;

// Expects `result` to have failed (exit 1) with one line on stderr that
// holds `says`.
void ExpectOneLineFailure(const CommandResult& result, const std::string& says) {
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(says));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << result.err;
}

class SimCliTest : public ::testing::Test {
 protected:
  void Serve(const std::vector<std::string>& flags) {
    ASSERT_THAT(sim_.Start(flags, dir_.File("sim.log")), IsOk());
    ASSERT_THAT(sim_.url(), ::testing::MatchesRegex("^http://127\\.0\\.0\\.1:[0-9]+$"));
  }

  // `smsgw sim inbound` of a one-letter SMS from a +1415 phone to `to`.
  CommandResult TextTo(const std::string& to) {
    return Smsgw({"sim", "inbound", "--from=+14155550100", "--to=" + to,
                  "--body=x"});
  }

  CommandResult Smsgw(std::vector<std::string> args) {
    std::vector<std::string> argv = {BuiltBinary("smsgw"),
                                     "--sim=" + sim_.url(), "--timeout=15s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv);
  }

  testing::TempDir dir_;
  SimServeProcess sim_;
};

TEST_F(SimCliTest, ServePrintsItsCredentialsAndStopsOnSigterm) {
  Serve({"--numbers=+15005550031,+15005550032"});
  const std::string banner = sim_.out();
  EXPECT_THAT(banner, HasSubstr("TWILIO_API_BASE=" + sim_.url()));
  EXPECT_THAT(banner,
              HasSubstr(absl::StrCat("TWILIO_ACCOUNT_SID=", kAccountSid)));
  EXPECT_THAT(banner,
              HasSubstr(absl::StrCat("TWILIO_AUTH_TOKEN=", kAuthToken)));
  EXPECT_THAT(banner,
              HasSubstr("TWILIO_PHONE_NUMBERS=+15005550031,+15005550032"));
  const int status = sim_.Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(sim_.out(), HasSubstr("stopped (SIGTERM)"));
}

TEST_F(SimCliTest, OutboxListsWhatTheRestClientSent) {
  Serve({});
  CommandResult empty = Smsgw({"sim", "outbox"});
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_THAT(empty.out, HasSubstr("sent nothing yet"));

  twilio::TwilioRestClient::Options options;
  options.api_base = sim_.url();
  options.account_sid = kAccountSid;
  options.auth_token = kAuthToken;
  auto client = twilio::TwilioRestClient::Create(options);
  ASSERT_THAT(client, IsOk());
  twilio::OutboundSms sms;
  sms.to = "+14155550100";
  sms.from = "+15005550006";
  sms.body = "hello from the rest client";
  twilio::SendResult sent = (*client)->Send(sms);
  ASSERT_TRUE(sent.accepted) << sent.error.message;

  CommandResult outbox = Smsgw({"sim", "outbox"});
  ASSERT_EQ(outbox.exit_code, 0) << outbox.err;
  EXPECT_THAT(outbox.out, HasSubstr(sent.message.sid));
  EXPECT_THAT(outbox.out, HasSubstr("+15005550006 -> +14155550100"));
  EXPECT_THAT(outbox.out, HasSubstr("hello from the rest client"));

  CommandResult other = Smsgw({"sim", "outbox", "--to=+14155550199"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_THAT(other.out, ::testing::Not(HasSubstr(sent.message.sid)));
}

TEST_F(SimCliTest, InboundPostsTheSignedFormToTheWebhook) {
  WebhookReceiver receiver(200);
  const std::string webhook = receiver.url("/twilio/sms/inbound");
  Serve({"--webhook=" + webhook});
  CommandResult inbound = Smsgw({"sim", "inbound", "--from=+14155550100",
                                 "--to=+15005550006", "--body=hi there & more",
                                 "--media=https://media.example.com/a.png"});
  ASSERT_EQ(inbound.exit_code, 0) << inbound.err;
  EXPECT_THAT(inbound.out,
              ::testing::MatchesRegex("(.|\n)*MessageSid MM[0-9a-f]{32}\n(.|\n)*"));
  EXPECT_THAT(inbound.out, HasSubstr("answered HTTP 200 (text/xml)"));
  EXPECT_THAT(inbound.out, HasSubstr("<Message>got it</Message>"));

  std::vector<Received> received = receiver.received();
  ASSERT_EQ(received.size(), 1u);
  absl::StatusOr<twilio::FormParams> params =
      twilio::ParseForm(received[0].raw_body, twilio::FormLimits{});
  ASSERT_THAT(params, IsOk());
  EXPECT_TRUE(twilio::ValidateTwilioSignature(kAuthToken, webhook, *params,
                                              received[0].signature));
  EXPECT_EQ(twilio::FormValue(*params, "From"), "+14155550100");
  EXPECT_EQ(twilio::FormValue(*params, "To"), "+15005550006");
  EXPECT_EQ(twilio::FormValue(*params, "Body"), "hi there & more");
  EXPECT_EQ(twilio::FormValue(*params, "MediaUrl0"),
            "https://media.example.com/a.png");
  EXPECT_THAT(inbound.out,
              HasSubstr(*twilio::FormValue(*params, "MessageSid")));
}

TEST_F(SimCliTest, InboundFailsInOneLineWhenTheWebhookRefuses) {
  WebhookReceiver refusing(403);
  Serve({"--webhook=" + refusing.url("/in")});
  CommandResult inbound = TextTo("+15005550006");
  ExpectOneLineFailure(inbound, "answered HTTP 403");
  EXPECT_EQ(refusing.received().size(), 1u);
}

TEST_F(SimCliTest, InboundRefusalsAndUsageErrors) {
  WebhookReceiver receiver(200);
  Serve({"--webhook=" + receiver.url("/in")});
  CommandResult not_owned = TextTo("+14155550199");
  ExpectOneLineFailure(not_owned, "not one of the simulator's numbers");

  CommandResult usage =
      Smsgw({"sim", "inbound", "--to=+15005550006", "--body=x"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--from"));
  EXPECT_THAT(receiver.received(), ::testing::IsEmpty());

  std::vector<std::string> argv = {BuiltBinary("smsgw"),
                                   "--sim=http://127.0.0.1:1",
                                   "--timeout=2s",
                                   "sim",
                                   "inbound",
                                   "--from=+14155550100",
                                   "--to=+15005550006",
                                   "--body=x"};
  CommandResult down = testing::RunCommand(argv);
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("no simulator at http://127.0.0.1:1"));
}

}  // namespace
}  // namespace smsgw
