#include "server/app/secret_key.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace smsgw::app {
namespace {

constexpr size_t kGeneratedKeyBytes = 32;

absl::Status OsError(int error_number, absl::string_view what,
                     absl::string_view path) {
  return absl::ErrnoToStatus(error_number,
                             absl::StrCat("secret key: ", what, " ", path));
}

// Closes a file descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now and reports the error close(2) may carry for NFS-like files.
  int Close() {
    const int fd = fd_;
    fd_ = -1;
    return close(fd);
  }

 private:
  int fd_;
};

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Reads an existing key file. NotFound means the file itself is absent.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  // O_NONBLOCK so that a FIFO planted at `path` cannot hang start-up; it is
  // rejected below as not a regular file.
  const int fd =
      open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return OsError(errno, "cannot open", path);
  FdCloser closer(fd);

  struct stat st;
  if (fstat(fd, &st) != 0) return OsError(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("secret key: ", path, " is not a regular file"));
  }
  // The key signs every access token: anyone who can read it can mint them.
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "secret key: %s has mode %04o; it must not be accessible to group or "
        "others (chmod 600 %s)",
        path, st.st_mode & 07777, path));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxSecretKeyFileBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "secret key: ", path, " is ", st.st_size, " bytes, more than the ",
        kMaxSecretKeyFileBytes, " a key file may hold"));
  }

  std::string contents;
  char buffer[1024];
  while (contents.size() <= kMaxSecretKeyFileBytes) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError(errno, "cannot read", path);
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  sodium_memzero(buffer, sizeof(buffer));
  if (contents.size() > kMaxSecretKeyFileBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("secret key: ", path, " grew past ",
                     kMaxSecretKeyFileBytes, " bytes while being read"));
  }
  // Editors and `echo` add a newline; it is not part of the key.
  absl::StripTrailingAsciiWhitespace(&contents);
  if (contents.size() < kMinSecretKeyBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("secret key: ", path, " holds ", contents.size(),
                     " bytes; at least ", kMinSecretKeyBytes, " are required"));
  }
  return contents;
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError(errno, "cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Best effort: makes the new directory entry durable. Some file systems do
// not support fsync on directories, which is not worth failing start-up for.
void SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// Writes a new key to a private temporary file and moves it to `path`
// without ever replacing an existing file. Returns AlreadyExists if another
// process created `path` first.
absl::StatusOr<std::string> CreateKeyFile(const std::string& path) {
  std::string key = GenerateSecretKey();

  unsigned char nonce[8];
  randombytes_buf(nonce, sizeof(nonce));
  char nonce_hex[2 * sizeof(nonce) + 1];
  sodium_bin2hex(nonce_hex, sizeof(nonce_hex), nonce, sizeof(nonce));
  const std::string temp = absl::StrCat(path, ".tmp-", nonce_hex);

  const int fd =
      open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
           S_IRUSR | S_IWUSR);
  if (fd < 0) return OsError(errno, "cannot create", temp);
  FdCloser closer(fd);
  absl::Status status = WriteAll(fd, absl::StrCat(key, "\n"), temp);
  if (status.ok() && fsync(fd) != 0) {
    status = OsError(errno, "cannot fsync", temp);
  }
  if (status.ok() && closer.Close() != 0) {
    status = OsError(errno, "cannot close", temp);
  }
  if (!status.ok()) {
    unlink(temp.c_str());
    return status;
  }

  // link(2) is atomic and, unlike rename(2), refuses to replace an existing
  // file, so two servers starting together cannot end up with different keys.
  if (link(temp.c_str(), path.c_str()) != 0) {
    const int link_errno = errno;
    if (link_errno == EEXIST) {
      unlink(temp.c_str());
      return absl::AlreadyExistsError(path);
    }
    // File systems without hard links: fall back to rename, which is still
    // atomic but may replace a file created in the meantime.
    if (link_errno == EPERM || link_errno == EOPNOTSUPP ||
        link_errno == ENOSYS) {
      if (rename(temp.c_str(), path.c_str()) != 0) {
        const int rename_errno = errno;
        unlink(temp.c_str());
        return OsError(rename_errno, "cannot rename into", path);
      }
    } else {
      unlink(temp.c_str());
      return OsError(link_errno, "cannot link", path);
    }
  } else {
    unlink(temp.c_str());
  }
  SyncDirectory(DirectoryOf(path));
  return key;
}

}  // namespace

absl::StatusOr<std::string> LoadOrCreateSecretKey(absl::string_view path,
                                                  bool* created) {
  if (created != nullptr) *created = false;
  if (path.empty()) {
    return absl::InvalidArgumentError("secret key: empty path");
  }
  if (path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("secret key: path contains NUL");
  }
  if (sodium_init() < 0) {
    return absl::InternalError("secret key: libsodium init failed");
  }
  const std::string file(path);
  absl::StatusOr<std::string> existing = ReadKeyFile(file);
  if (!absl::IsNotFound(existing.status())) return existing;
  // A NotFound from a missing directory reappears from CreateKeyFile.
  absl::StatusOr<std::string> fresh = CreateKeyFile(file);
  if (absl::IsAlreadyExists(fresh.status())) return ReadKeyFile(file);
  if (fresh.ok() && created != nullptr) *created = true;
  return fresh;
}

std::string GenerateSecretKey() {
  // Idempotent and thread-safe; randombytes_buf() needs it only once.
  (void)sodium_init();
  unsigned char raw[kGeneratedKeyBytes];
  randombytes_buf(raw, sizeof(raw));
  char hex[2 * kGeneratedKeyBytes + 1];
  sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
  sodium_memzero(raw, sizeof(raw));
  std::string key(hex, 2 * kGeneratedKeyBytes);
  sodium_memzero(hex, sizeof(hex));
  return key;
}

}  // namespace smsgw::app
