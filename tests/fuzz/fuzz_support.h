// File: fuzz_support.h
//
// Helpers shared by the libFuzzer targets in tests/fuzz: a fixed clock, a
// temporary directory that outlives every input, and a check that aborts
// (so libFuzzer records the input) when a documented property fails.
#ifndef SMSGW_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define SMSGW_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/sqlite/database.h"

namespace smsgw::fuzz {

// Aborts with `what` when `condition` is false: a property the code under
// test documents does not hold for this input.
#define SMSGW_FUZZ_CHECK(condition, what)                                 \
  do {                                                                     \
    if (!(condition)) {                                                    \
      std::fprintf(stderr, "%s:%d: property failed: %s (%s)\n", __FILE__, \
                   __LINE__, #condition, what);                            \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

// A settable clock; starts at 2027-01-15T08:00:00Z (1'800'000'000 s).
class FuzzClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

// A fresh directory for this process's databases, under /dev/shm when it
// exists (millions of SQLite commits on a disk would be the bottleneck),
// else $TMPDIR or /tmp. Removed with its contents at normal exit.
std::string FuzzTempDir();

// Opens (creating and migrating) the database file `name` in FuzzTempDir(),
// without synchronous=FULL (speed; durability is not what is fuzzed).
// Aborts when it cannot be opened.
std::unique_ptr<storage::sqlite::Database> OpenFuzzDatabase(
    const std::string& name);

// Reads bytes from the front of a fuzz input.
class InputReader {
 public:
  InputReader(const uint8_t* data, size_t size)
      : data_(reinterpret_cast<const char*>(data)), size_(size) {}
  // The next byte, or 0 when the input is used up.
  uint8_t Byte() {
    if (pos_ >= size_) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  // The bytes up to the next `separator` (consumed, not returned), or all
  // that is left when there is none.
  absl::string_view Until(char separator) {
    absl::string_view rest(data_ + pos_, size_ - pos_);
    size_t at = rest.find(separator);
    if (at == absl::string_view::npos) {
      pos_ = size_;
      return rest;
    }
    pos_ += at + 1;
    return rest.substr(0, at);
  }
  // All that is left.
  absl::string_view Rest() {
    absl::string_view rest(data_ + pos_, size_ - pos_);
    pos_ = size_;
    return rest;
  }

 private:
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace smsgw::fuzz

#endif  // SMSGW_TESTS_FUZZ_FUZZ_SUPPORT_H_
