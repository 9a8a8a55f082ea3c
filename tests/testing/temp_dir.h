// File: temp_dir.h
//
// A fresh directory under $TEST_TMPDIR (or /tmp), removed with its contents
// when the object is destroyed.
#ifndef SMSGW_TESTS_TESTING_TEMP_DIR_H_
#define SMSGW_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace smsgw::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") +
                       "/smsgw-test-XXXXXX";
    char* made = mkdtemp(tmpl.data());
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `name` inside the directory.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_TEMP_DIR_H_
