#include "server/domain/login_throttle.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace smsgw::domain {
namespace {

// Store keys (RateLimit::key, at most 200 bytes). A username is at most
// 32 bytes; an address longer than fits (a unix socket path) is hashed.
std::string UsernameKey(absl::string_view username) {
  return absl::StrCat("login/u/", username);
}
std::string PeerKey(absl::string_view peer) {
  if (peer.size() <= 150) return absl::StrCat("login/p/", peer);
  return absl::StrCat("login/p#", Sha256Hex(peer));
}

}  // namespace

std::string PeerAddress(absl::string_view grpc_peer) {
  absl::string_view rest = grpc_peer;
  if (absl::ConsumePrefix(&rest, "ipv4:")) {
    const size_t colon = rest.rfind(':');
    return std::string(colon == absl::string_view::npos ? rest
                                                        : rest.substr(0, colon));
  }
  if (absl::ConsumePrefix(&rest, "ipv6:")) {
    if (absl::ConsumePrefix(&rest, "[")) {
      const size_t close = rest.find(']');
      if (close != absl::string_view::npos) {
        return std::string(rest.substr(0, close));
      }
    }
    return std::string(rest);
  }
  return std::string(grpc_peer);
}

absl::StatusOr<std::unique_ptr<LoginThrottle>> LoginThrottle::Create(
    Options options, storage::RateLimitStore* store, Clock* clock) {
  if (clock == nullptr) return absl::InvalidArgumentError("clock is null");
  if (store == nullptr) return absl::InvalidArgumentError("store is null");
  if (options.username_max_failures < 1 || options.peer_max_failures < 1) {
    return absl::InvalidArgumentError("login failure limits must be >= 1");
  }
  if (options.username_free_failures < 0 ||
      options.username_free_failures > options.username_max_failures ||
      options.peer_free_failures < 0 ||
      options.peer_free_failures > options.peer_max_failures) {
    return absl::InvalidArgumentError(
        "free login failures must be between 0 and the limit");
  }
  if (options.window <= absl::ZeroDuration() ||
      options.window > absl::Hours(24 * 31) ||
      options.base_delay < absl::ZeroDuration() ||
      options.max_delay < options.base_delay) {
    return absl::InvalidArgumentError(
        "login window must be within (0, 31 days] and 0 <= base_delay <= "
        "max_delay");
  }
  return std::unique_ptr<LoginThrottle>(
      new LoginThrottle(std::move(options), store, clock));
}

LoginThrottle::LoginThrottle(Options options, storage::RateLimitStore* store,
                             Clock* clock)
    : options_(std::move(options)), store_(store), clock_(clock) {}

std::vector<storage::RateLimit> LoginThrottle::Limits(
    absl::string_view username, absl::string_view peer, int* user_index,
    int* peer_index) const {
  std::vector<storage::RateLimit> limits;
  *user_index = *peer_index = -1;
  if (!username.empty()) {
    *user_index = static_cast<int>(limits.size());
    limits.push_back({UsernameKey(username), options_.username_max_failures,
                      options_.window});
  }
  if (!peer.empty()) {
    *peer_index = static_cast<int>(limits.size());
    limits.push_back(
        {PeerKey(peer), options_.peer_max_failures, options_.window});
  }
  return limits;
}

absl::Duration LoginThrottle::DelayFor(int64_t failures,
                                       int free_failures) const {
  // `failures` includes the attempt being admitted.
  if (failures <= free_failures) return absl::ZeroDuration();
  const int64_t doublings = std::min<int64_t>(failures - free_failures - 1, 30);
  return std::min(options_.base_delay * static_cast<double>(1u << doublings),
                  options_.max_delay);
}

absl::StatusOr<absl::Duration> LoginThrottle::Admit(absl::string_view username,
                                                    absl::string_view peer) {
  int user = -1;
  int address = -1;
  const std::vector<storage::RateLimit> limits =
      Limits(username, peer, &user, &address);
  if (limits.empty()) return absl::ZeroDuration();
  const absl::Time now = clock_->Now();
  SMSGW_ASSIGN_OR_RETURN(storage::Admission admission,
                         store_->Admit(limits, now));
  if (!admission.admitted) {
    const int64_t seconds = absl::ToInt64Seconds(
        absl::Ceil(admission.retry_time - now, absl::Seconds(1)));
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many failed logins for this username or from this address; "
        "retry in ",
        std::max<int64_t>(seconds, 1), " s"));
  }
  absl::Duration delay = absl::ZeroDuration();
  if (user >= 0) {
    delay = std::max(delay, DelayFor(admission.counts[user],
                                     options_.username_free_failures));
  }
  if (address >= 0) {
    delay = std::max(delay, DelayFor(admission.counts[address],
                                     options_.peer_free_failures));
  }
  return delay;
}

void LoginThrottle::Succeeded(absl::string_view username,
                              absl::string_view peer) {
  int user = -1;
  int address = -1;
  const std::vector<storage::RateLimit> limits =
      Limits(username, peer, &user, &address);
  absl::Status forgotten = absl::OkStatus();
  if (user >= 0) forgotten.Update(store_->Forget(limits[user].key));
  // This attempt was the newest failure counted for the address (or one of
  // the same instant): take one back.
  if (address >= 0) forgotten.Update(store_->ForgetNewest(limits[address].key));
  if (!forgotten.ok()) {
    SMSGW_LOG(kWarning) << "login throttle: cannot take back a counted "
                           "attempt: "
                        << forgotten;
  }
}

absl::Time LoginThrottle::LockedUntil(absl::string_view username,
                                      absl::string_view peer) {
  int user = -1;
  int address = -1;
  const std::vector<storage::RateLimit> limits =
      Limits(username, peer, &user, &address);
  if (limits.empty()) return absl::InfinitePast();
  absl::StatusOr<storage::Admission> checked =
      store_->Check(limits, clock_->Now());
  if (!checked.ok() || checked->admitted) return absl::InfinitePast();
  return checked->retry_time;
}

}  // namespace smsgw::domain
