#include "tests/fuzz/fuzz_support.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace smsgw::fuzz {
namespace {

std::string* temp_dir = nullptr;

void RemoveTempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(*temp_dir, ignored);
}

}  // namespace

std::string FuzzTempDir() {
  if (temp_dir != nullptr) return *temp_dir;
  std::string base = "/tmp";
  if (std::filesystem::is_directory("/dev/shm") && access("/dev/shm", W_OK) == 0) {
    base = "/dev/shm";
  } else if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp) {
    base = tmp;
  }
  std::string pattern = base + "/smsgw-fuzz-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  temp_dir = new std::string(pattern);
  std::atexit(RemoveTempDir);
  return *temp_dir;
}

std::unique_ptr<storage::sqlite::Database> OpenFuzzDatabase(
    const std::string& name) {
  storage::sqlite::Database::Options options;
  options.path = FuzzTempDir() + "/" + name;
  options.synchronous_full = false;
  auto db = storage::sqlite::Database::Open(options);
  SMSGW_FUZZ_CHECK(db.ok(), db.status().ToString().c_str());
  return *std::move(db);
}

}  // namespace smsgw::fuzz
