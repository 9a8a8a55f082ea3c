// File: logging.h
//
// A small structured-logging facade: one line per event, with a UTC timestamp,
// a level, the source location and `key=value` pairs, written to stderr.
// Debian 12's Abseil has no absl/log, so this stands in for LOG(...).
//
//   SMSGW_LOG(kInfo) << "server started grpc_addr=" << addr;
//
// Thread-safe: each line is formatted in the caller's thread and written with
// a single write(2).
#ifndef SMSGW_COMMON_LOGGING_H_
#define SMSGW_COMMON_LOGGING_H_

#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::logging {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Sets the lowest level that is written; lines below it cost one comparison.
void SetMinLevel(Level level);
Level MinLevel();

// Parses "debug", "info", "warning" or "error" (any case).
// Returns InvalidArgument for anything else.
absl::StatusOr<Level> ParseLevel(absl::string_view text);

// Collects one log line and writes it when destroyed.
class LogLine {
 public:
  LogLine(Level level, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  Level level_;
  std::ostringstream stream_;
};

}  // namespace smsgw::logging

#define SMSGW_LOG(level)                                                 \
  if (::smsgw::logging::Level::level < ::smsgw::logging::MinLevel()) {  \
  } else                                                                 \
    ::smsgw::logging::LogLine(::smsgw::logging::Level::level, __FILE__, \
                              __LINE__)                                  \
        .stream()

#endif  // SMSGW_COMMON_LOGGING_H_
