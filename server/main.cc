// smsgw-server: reads its settings (flags, else the environment, else the
// defaults: server/app/settings.h, DESIGN.md §8), starts ServerApp, and shuts
// it down gracefully on SIGINT or SIGTERM.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/config.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "server/app/config.h"
#include "server/app/server_app.h"
#include "server/app/settings.h"

// One flag per row of the settings table (server/app/settings.cc), which
// holds each one's environment variable, default, parser and help. Text flags
// default to the environment variable's value when it is set; integer flags
// to -1, "not given", so that a malformed environment value is reported at
// start-up rather than when the flag is set up.
#define SMSGW_TEXT_FLAG(name)                                  \
  ABSL_FLAG(std::string, name, smsgw::app::FlagDefault(#name), \
            smsgw::app::FlagHelp(#name))
#define SMSGW_INT_FLAG(name) \
  ABSL_FLAG(int, name, -1, smsgw::app::FlagHelp(#name))

SMSGW_TEXT_FLAG(grpc_addr);
SMSGW_TEXT_FLAG(http_addr);
SMSGW_TEXT_FLAG(metrics_addr);
SMSGW_TEXT_FLAG(cors_origins);
SMSGW_TEXT_FLAG(db_path);
SMSGW_TEXT_FLAG(db_url);
SMSGW_TEXT_FLAG(public_url);
SMSGW_TEXT_FLAG(token_ttl);
SMSGW_TEXT_FLAG(admin_users);
SMSGW_TEXT_FLAG(default_region);
SMSGW_TEXT_FLAG(twilio_phone_numbers);
SMSGW_TEXT_FLAG(twilio_messaging_service_sid);
SMSGW_TEXT_FLAG(twilio_api_base);
SMSGW_TEXT_FLAG(sender_ids);
SMSGW_TEXT_FLAG(blocked_keywords);
SMSGW_INT_FLAG(simulator_port);
SMSGW_TEXT_FLAG(tls_cert);
SMSGW_TEXT_FLAG(tls_key);
SMSGW_TEXT_FLAG(log_level);
SMSGW_INT_FLAG(watch_buffer);
SMSGW_INT_FLAG(watch_max_streams);
SMSGW_TEXT_FLAG(sender_rates);
SMSGW_TEXT_FLAG(global_rate);
SMSGW_TEXT_FLAG(max_backlog);
SMSGW_TEXT_FLAG(retry_horizon);
SMSGW_TEXT_FLAG(default_validity);
SMSGW_TEXT_FLAG(status_reconcile_after);
SMSGW_TEXT_FLAG(quiet_hours);
SMSGW_TEXT_FLAG(allowed_countries);
SMSGW_TEXT_FLAG(signup_window);
SMSGW_INT_FLAG(signup_peer_max);
SMSGW_INT_FLAG(signup_max);
SMSGW_INT_FLAG(verify_max_per_prefix_per_hour);
SMSGW_INT_FLAG(verify_max_per_country_per_hour);
SMSGW_INT_FLAG(verify_max_per_hour);
SMSGW_INT_FLAG(daily_segments_per_user);
SMSGW_INT_FLAG(max_api_keys_per_user);
SMSGW_TEXT_FLAG(login_window);
SMSGW_INT_FLAG(login_max_failures);
SMSGW_INT_FLAG(login_peer_max_failures);
SMSGW_TEXT_FLAG(login_delay);
SMSGW_INT_FLAG(grpc_max_message_bytes);
SMSGW_TEXT_FLAG(grpc_max_idle);
SMSGW_INT_FLAG(grpc_max_streams);
SMSGW_INT_FLAG(twilio_max_in_flight);
SMSGW_INT_FLAG(http_threads);
SMSGW_TEXT_FLAG(http_read_timeout);
SMSGW_TEXT_FLAG(min_schedule_ahead);
SMSGW_TEXT_FLAG(webhook_allow_private);
SMSGW_TEXT_FLAG(webhook_retry_window);
SMSGW_TEXT_FLAG(port_file);

namespace {

int Fail(const std::string& message) {
  std::cerr << "smsgw-server: " << message << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "smsgw-server: the smsgw gRPC SMS backend. Every flag also reads the "
      "environment variable named in its help.");
  absl::ParseCommandLine(argc, argv);
  // Debian builds Abseil without NDEBUG, so absl::Mutex runs its deadlock
  // detector on every Lock() (a lock-order graph behind one global mutex,
  // about 2 % of GetMessage's CPU in a profile) and aborts the process on a
  // potential cycle. A release server turns it off; the bench measured no
  // throughput change either way (bench/README). The sanitizer builds keep
  // it, so the suites that run the ASan and TSan servers still fail on a
  // lock-order cycle, as the in-process tests do.
#if !defined(ABSL_HAVE_ADDRESS_SANITIZER) && !defined(ABSL_HAVE_THREAD_SANITIZER)
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif

  // Block the shutdown signals before any thread starts, so that only the
  // sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<smsgw::app::ServerConfig> loaded =
      smsgw::app::LoadServerConfig(smsgw::app::CommandLineFlag,
                                   smsgw::app::ProcessEnv);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const smsgw::app::ServerConfig config = *std::move(loaded);
  smsgw::logging::SetMinLevel(config.log_level);

  absl::StatusOr<std::unique_ptr<smsgw::app::ServerApp>> app =
      smsgw::app::ServerApp::Start(config);
  if (!app.ok()) return Fail(std::string(app.status().message()));

  const std::string& port_file = config.port_file;
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "grpc=" << (*app)->grpc_address() << "\n"
          << "http=" << (*app)->http_address() << "\n"
          << "metrics=" << (*app)->metrics_address() << "\n";
    }
    std::rename(tmp.c_str(), port_file.c_str());
  }

  std::thread signal_thread([&signals, &app] {
    int received = 0;
    sigwait(&signals, &received);
    SMSGW_LOG(kInfo) << "shutting down signal=" << strsignal(received);
    (*app)->Shutdown();
  });
  (*app)->Wait();
  // Wait() returned: the app shut down on its own; wake the signal thread.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  SMSGW_LOG(kInfo) << "smsgw-server stopped";
  return 0;
}
