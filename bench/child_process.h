// File: child_process.h
//
// Child processes of smsgw-bench (the baselines, the fakes, smsgw-server):
// started by fork+execv with a clean Twilio/smsgw environment plus the given
// variables, output appended to a log file, stopped by PID (SIGTERM, then
// SIGKILL after 10 s) on destruction.
#ifndef SMSGW_BENCH_CHILD_PROCESS_H_
#define SMSGW_BENCH_CHILD_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace smsgw::bench {

class Child {
 public:
  // args[0] is the executable path.
  Child(std::vector<std::string> args, std::map<std::string, std::string> env,
        const std::string& log);
  ~Child() { Stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // False once the process has exited (reaped here).
  bool Alive();
  // SIGTERM, waits up to 10 s, then SIGKILL. Idempotent.
  void Stop();

 private:
  pid_t pid_ = -1;
};

// Waits (up to 30 s, or until `child` exits) for `path` to hold KEY=VALUE
// lines including `key`; returns them, or an empty map.
std::map<std::string, std::string> WaitForPortFile(const std::string& path,
                                                   const std::string& key,
                                                   Child& child);

// The path of the running executable (/proc/self/exe).
std::string SelfExe();

}  // namespace smsgw::bench

#endif  // SMSGW_BENCH_CHILD_PROCESS_H_
