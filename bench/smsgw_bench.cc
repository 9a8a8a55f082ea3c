// smsgw-bench: the benchmark suite of issue 8 (first part). In one
// invocation it measures, with the same closed-loop generator:
//   noop        the no-op gRPC callback server (the same-run ceiling),
//   send        SendMessage end to end against a real smsgw-server (child
//               process, temp DB) sending to a fast fake Twilio (child),
//   get         GetMessage on the messages stored by `send`,
// and prints one JSON document; every scenario carries ratio_to_noop.
//
//   smsgw-bench [--scenarios=noop,send,get] [--duration_s=10] [--warmup_s=2]
//               [--concurrency=64] [--channels=4] [--server_bin=PATH]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/load_generator.h"
#include "bench/serve_modes.h"
#include "httplib.h"
#include "noop.grpc.pb.h"
#include "smsgw/v1/auth.grpc.pb.h"
#include "smsgw/v1/messaging.grpc.pb.h"

ABSL_FLAG(std::string, serve, "",
          "internal: run as a child server: noop or fake_twilio");
ABSL_FLAG(std::string, port_file, "", "internal: port file of --serve");
ABSL_FLAG(std::string, account_sid, "AC0123456789abcdef0123456789abcdef",
          "Twilio account SID the fake answers for");
ABSL_FLAG(std::string, scenarios, "noop,send,get",
          "comma-separated scenarios, in order (noop always runs first when "
          "listed; ratios need it)");
ABSL_FLAG(double, duration_s, 10, "measurement window per scenario, seconds");
ABSL_FLAG(double, warmup_s, 2, "warm-up excluded before each window, seconds");
ABSL_FLAG(int, concurrency, 64, "calls in flight");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections) the calls share");
ABSL_FLAG(std::string, server_bin, "",
          "smsgw-server binary; default: next to smsgw-bench, else one dir up");
ABSL_FLAG(std::string, server_log_level, "info", "smsgw-server --log_level");
ABSL_FLAG(bool, keep_dir, false, "keep the temp dir (DB, logs) after the run");

namespace smsgw::bench {
namespace {

std::string SelfExe() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

// A child process started by fork+execv with extra environment, its output
// appended to `log`. Stopped with SIGTERM (then SIGKILL) on destruction.
class Child {
 public:
  Child(std::vector<std::string> args,
        std::map<std::string, std::string> env, const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      for (const char* name :
           {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBERS",
            "TWILIO_API_BASE", "TWILIO_MESSAGING_SERVICE_SID",
            "JWT_SECRET_KEY", "SMSGW_PUBLIC_URL", "SMSGW_ADMIN_USERS",
            "SMSGW_TLS_CERT", "SMSGW_TLS_KEY", "SMSGW_SENDER_IDS",
            "SMSGW_SENDER_RATES", "SMSGW_GLOBAL_RATE", "SMSGW_MAX_BACKLOG"}) {
        unsetenv(name);
      }
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      FILE* out = std::fopen(log.c_str(), "a");
      if (out != nullptr) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(out), STDERR_FILENO);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      std::_Exit(127);
    }
  }
  ~Child() { Stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool Alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      if (!Alive()) return;
      absl::SleepFor(absl::Milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Waits (up to 30 s) for `path` to hold KEY=VALUE lines; returns them.
std::map<std::string, std::string> WaitForPortFile(const std::string& path,
                                                   const std::string& key,
                                                   Child& child) {
  for (int i = 0; i < 1500; ++i) {
    std::ifstream in(path);
    std::map<std::string, std::string> values;
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      if (kv.size() == 2) values[kv[0]] = kv[1];
    }
    if (values.count(key)) return values;
    if (!child.Alive()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return {};
}

LoadOptions BaseOptions() {
  LoadOptions o;
  o.concurrency = absl::GetFlag(FLAGS_concurrency);
  o.channels = absl::GetFlag(FLAGS_channels);
  o.warmup_s = absl::GetFlag(FLAGS_warmup_s);
  o.duration_s = absl::GetFlag(FLAGS_duration_s);
  return o;
}

template <typename Service>
std::vector<std::unique_ptr<typename Service::Stub>> Stubs(
    const std::string& target, int channels) {
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  for (auto& channel : MakeChannels(target, channels)) {
    channel->WaitForConnected(std::chrono::system_clock::now() +
                              std::chrono::seconds(10));
    stubs.push_back(Service::NewStub(channel));
  }
  return stubs;
}

std::string MachineJsonModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      return std::string(absl::StripLeadingAsciiWhitespace(
          line.substr(line.find(':') + 1)));
    }
  }
  return "unknown";
}

int Fail(const std::string& message) {
  std::cerr << "smsgw-bench: " << message << std::endl;
  return 1;
}

int RunSuite() {
  const std::vector<std::string> scenarios =
      absl::StrSplit(absl::GetFlag(FLAGS_scenarios), ',', absl::SkipEmpty());
  auto wants = [&](const std::string& name) {
    return std::find(scenarios.begin(), scenarios.end(), name) !=
           scenarios.end();
  };
  char tmpl[] = "/tmp/smsgw-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string self = SelfExe();
  std::string server_bin = absl::GetFlag(FLAGS_server_bin);
  if (server_bin.empty()) {
    // The build tree puts smsgw-bench in bench/ and the server one up.
    const std::filesystem::path here = std::filesystem::path(self).parent_path();
    server_bin = std::filesystem::exists(here / "smsgw-server")
                     ? (here / "smsgw-server").string()
                     : (here.parent_path() / "smsgw-server").string();
  }
  const std::string account_sid = absl::GetFlag(FLAGS_account_sid);

  nlohmann::json out;
  out["machine"] = {{"nproc", std::thread::hardware_concurrency()},
                    {"cpu_model", MachineJsonModel()}};
  out["config"] = {{"concurrency", absl::GetFlag(FLAGS_concurrency)},
                   {"channels", absl::GetFlag(FLAGS_channels)},
                   {"warmup_s", absl::GetFlag(FLAGS_warmup_s)},
                   {"duration_s", absl::GetFlag(FLAGS_duration_s)},
                   {"server_log_level", absl::GetFlag(FLAGS_server_log_level)}};
  nlohmann::json results = nlohmann::json::array();
  double noop_qps = 0;
  auto add = [&](const std::string& name, const LoadResult& r,
                 nlohmann::json extra) {
    nlohmann::json j = ToJson(r);
    j["scenario"] = name;
    if (noop_qps > 0) {
      j["ratio_to_noop"] = std::round(r.qps / noop_qps * 1000) / 1000;
    }
    for (auto& [k, v] : extra.items()) j[k] = v;
    results.push_back(j);
    std::cerr << "smsgw-bench: " << name << ": " << j.dump() << std::endl;
  };

  if (wants("noop")) {
    Child noop({self, "--serve=noop", "--port_file=" + dir + "/noop.port"}, {},
               dir + "/noop.log");
    auto ports = WaitForPortFile(dir + "/noop.port", "port", noop);
    if (ports.empty()) return Fail("no-op server did not start");
    auto stubs = Stubs<NoopService>("127.0.0.1:" + ports["port"],
                                    absl::GetFlag(FLAGS_channels));
    LoadOptions options = BaseOptions();
    options.server_pid = noop.pid();
    LoadResult r = RunClosedLoop<NoopService::Stub, NoopRequest, NoopResponse>(
        options, stubs,
        [](NoopService::Stub* stub, grpc::ClientContext* ctx,
           const NoopRequest* req, NoopResponse* resp,
           std::function<void(grpc::Status)> done) {
          stub->async()->Noop(ctx, req, resp, std::move(done));
        },
        [](uint64_t, NoopRequest&) {});
    noop_qps = r.qps;
    add("noop", r, {{"ratio_to_noop", 1.0}});
  }

  if (wants("send") || wants("get")) {
    Child twilio({self, "--serve=fake_twilio",
                  "--port_file=" + dir + "/twilio.port",
                  "--account_sid=" + account_sid},
                 {}, dir + "/twilio.log");
    auto tports = WaitForPortFile(dir + "/twilio.port", "port", twilio);
    if (tports.empty()) return Fail("fake Twilio did not start");
    const std::string twilio_base = "http://127.0.0.1:" + tports["port"];
    Child server(
        {server_bin, "--grpc_addr=127.0.0.1:0", "--http_addr=127.0.0.1:0",
         "--db_path=" + dir + "/smsgw.db", "--port_file=" + dir + "/server.port",
         "--simulator_port=0",
         "--log_level=" + absl::GetFlag(FLAGS_server_log_level)},
        {{"TWILIO_ACCOUNT_SID", account_sid},
         {"TWILIO_AUTH_TOKEN", "bench-auth-token"},
         {"TWILIO_API_BASE", twilio_base},
         {"TWILIO_PHONE_NUMBERS", "+15005550006"},
         {"SMSGW_SENDER_RATES", "+15005550006=10000"}},
        dir + "/server.log");
    auto sports = WaitForPortFile(dir + "/server.port", "grpc", server);
    if (sports.empty()) {
      return Fail("smsgw-server did not start; see " + dir + "/server.log");
    }
    const std::string target = sports["grpc"];
    auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
    auto auth = smsgw::v1::AuthService::NewStub(channel);
    std::mt19937_64 rng{std::random_device{}()};
    const std::string nonce = absl::StrCat(rng() % 1000000000);
    smsgw::v1::SignUpRequest signup;
    signup.set_username("bench" + nonce);
    signup.set_password("bench-password-" + nonce);
    smsgw::v1::SignUpResponse signed_up;
    grpc::ClientContext signup_ctx;
    signup_ctx.set_deadline(std::chrono::system_clock::now() +
                            std::chrono::seconds(30));
    grpc::Status st = auth->SignUp(&signup_ctx, signup, &signed_up);
    if (!st.ok()) return Fail("SignUp: " + st.error_message());
    auto stubs = Stubs<smsgw::v1::MessagingService>(
        target, absl::GetFlag(FLAGS_channels));
    LoadOptions options = BaseOptions();
    options.server_pid = server.pid();
    options.metadata = {
        {"authorization", "Bearer " + signed_up.access_token()}};

    std::mutex ids_mu;
    std::vector<std::string> ids;
    std::atomic<uint64_t> sent_ok{0};
    httplib::Client twilio_client("127.0.0.1", std::stoi(tports["port"]));
    auto creates = [&]() -> uint64_t {
      auto res = twilio_client.Get("/count");
      uint64_t n = 0;
      if (res && res->status == 200) (void)absl::SimpleAtoi(res->body, &n);
      return n;
    };
    auto run_send = [&](const LoadOptions& send_options, bool record) {
      return RunClosedLoop<smsgw::v1::MessagingService::Stub,
                           smsgw::v1::SendMessageRequest,
                           smsgw::v1::SendMessageResponse>(
          send_options, stubs,
          [](smsgw::v1::MessagingService::Stub* stub, grpc::ClientContext* ctx,
             const smsgw::v1::SendMessageRequest* req,
             smsgw::v1::SendMessageResponse* resp,
             std::function<void(grpc::Status)> done) {
            stub->async()->SendMessage(ctx, req, resp, std::move(done));
          },
          [&](uint64_t seq, smsgw::v1::SendMessageRequest& req) {
            req.set_to("+14155550100");
            req.set_body(absl::StrCat("bench ", nonce, " message ", seq));
          },
          [&](const smsgw::v1::SendMessageResponse& resp) {
            sent_ok.fetch_add(1, std::memory_order_relaxed);
            if (!record) return;
            std::lock_guard<std::mutex> lock(ids_mu);
            if (ids.size() < 1000000) ids.push_back(resp.message().id());
          });
    };

    if (wants("send")) {
      const uint64_t creates_before = creates();
      LoadResult r = run_send(options, true);
      const uint64_t creates_at_end = creates();
      // Let the dispatcher hand every accepted message to the fake before
      // the next scenario, so that scenario does not pay for this one.
      const absl::Time drain_start = absl::Now();
      while (creates() < sent_ok.load() &&
             absl::Now() - drain_start < absl::Seconds(120)) {
        absl::SleepFor(absl::Milliseconds(50));
      }
      add("send_message", r,
          {{"fake_twilio_creates_during_run", creates_at_end - creates_before},
           {"accepted_total", sent_ok.load()},
           {"dispatch_drain_s",
            absl::ToDoubleSeconds(absl::Now() - drain_start)},
           {"fake_twilio_creates_total", creates()}});
    }
    if (wants("get")) {
      if (ids.empty()) {
        // `send` was not asked for: store messages first, unmeasured.
        LoadOptions fill = options;
        fill.warmup_s = 0;
        fill.duration_s = 3;
        fill.server_pid = -1;
        LoadResult ignored = run_send(fill, true);
        (void)ignored;
      }
      std::vector<std::string> get_ids;
      {
        std::lock_guard<std::mutex> lock(ids_mu);
        get_ids = ids;
      }
      std::shuffle(get_ids.begin(), get_ids.end(), rng);
      LoadResult r = RunClosedLoop<smsgw::v1::MessagingService::Stub,
                                   smsgw::v1::GetMessageRequest,
                                   smsgw::v1::GetMessageResponse>(
          options, stubs,
          [](smsgw::v1::MessagingService::Stub* stub, grpc::ClientContext* ctx,
             const smsgw::v1::GetMessageRequest* req,
             smsgw::v1::GetMessageResponse* resp,
             std::function<void(grpc::Status)> done) {
            stub->async()->GetMessage(ctx, req, resp, std::move(done));
          },
          [&](uint64_t seq, smsgw::v1::GetMessageRequest& req) {
            req.set_id(get_ids[seq % get_ids.size()]);
          });
      add("get_message", r,
          {{"db_messages", sent_ok.load()},
           {"distinct_ids_read", get_ids.size()}});
    }
    server.Stop();
  }
  out["scenarios"] = results;
  std::cout << out.dump(2) << std::endl;
  if (!absl::GetFlag(FLAGS_keep_dir)) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  } else {
    std::cerr << "smsgw-bench: kept " << dir << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace smsgw::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string serve = absl::GetFlag(FLAGS_serve);
  if (serve == "noop") {
    return smsgw::bench::RunNoopServer(absl::GetFlag(FLAGS_port_file));
  }
  if (serve == "fake_twilio") {
    return smsgw::bench::RunFakeTwilio(absl::GetFlag(FLAGS_port_file),
                                       absl::GetFlag(FLAGS_account_sid));
  }
  if (!serve.empty()) return smsgw::bench::Fail("unknown --serve " + serve);
  return smsgw::bench::RunSuite();
}
