#include "server/domain/login_throttle.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace smsgw::domain {
namespace {

std::string UsernameKey(absl::string_view username) {
  return absl::StrCat("u:", username);
}
std::string PeerKey(absl::string_view peer) { return absl::StrCat("p:", peer); }

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
    Options options, Clock* clock) {
  if (clock == nullptr) return absl::InvalidArgumentError("clock is null");
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
      options.base_delay < absl::ZeroDuration() ||
      options.max_delay < options.base_delay) {
    return absl::InvalidArgumentError(
        "login window must be positive and 0 <= base_delay <= max_delay");
  }
  return std::unique_ptr<LoginThrottle>(
      new LoginThrottle(std::move(options), clock));
}

LoginThrottle::LoginThrottle(Options options, Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

size_t LoginThrottle::Prune(Failures& failures, absl::Time now) const {
  while (!failures.empty() && failures.front() + options_.window <= now) {
    failures.pop_front();
  }
  return failures.size();
}

absl::Time LoginThrottle::LockedUntilLocked(const std::string& key,
                                            const Key& limits,
                                            absl::Time now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return absl::InfinitePast();
  const size_t count = Prune(it->second, now);
  if (count < static_cast<size_t>(limits.max_failures)) {
    return absl::InfinitePast();
  }
  // Locked until enough failures leave the window to go below the limit.
  return it->second[count - limits.max_failures] + options_.window;
}

absl::Duration LoginThrottle::DelayFor(size_t failures,
                                       const Key& limits) const {
  // `failures` includes the attempt being admitted.
  if (failures <= static_cast<size_t>(limits.free_failures)) {
    return absl::ZeroDuration();
  }
  const size_t doublings =
      std::min<size_t>(failures - limits.free_failures - 1, 30);
  return std::min(options_.base_delay * static_cast<double>(1u << doublings),
                  options_.max_delay);
}

LoginThrottle::Failures* LoginThrottle::Track(const std::string& key,
                                              absl::Time now) {
  auto it = failures_.find(key);
  if (it != failures_.end()) return &it->second;
  if (failures_.size() >= options_.max_keys) {
    for (auto jt = failures_.begin(); jt != failures_.end();) {
      if (Prune(jt->second, now) == 0) {
        failures_.erase(jt++);
      } else {
        ++jt;
      }
    }
    if (failures_.size() >= options_.max_keys) return nullptr;
  }
  return &failures_[key];
}

absl::StatusOr<absl::Duration> LoginThrottle::Admit(absl::string_view username,
                                                    absl::string_view peer) {
  const absl::Time now = clock_->Now();
  const Key user_limits{options_.username_free_failures,
                        options_.username_max_failures};
  const Key peer_limits{options_.peer_free_failures,
                        options_.peer_max_failures};
  const std::string user_key = UsernameKey(username);
  const std::string peer_key = PeerKey(peer);

  absl::MutexLock lock(&mu_);
  absl::Time until = absl::InfinitePast();
  if (!username.empty()) {
    until = LockedUntilLocked(user_key, user_limits, now);
  }
  if (!peer.empty()) {
    until = std::max(until, LockedUntilLocked(peer_key, peer_limits, now));
  }
  if (until > now) {
    const int64_t seconds = absl::ToInt64Seconds(absl::Ceil(
        until - now, absl::Seconds(1)));
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many failed logins for this username or from this address; "
        "retry in ",
        seconds, " s"));
  }
  absl::Duration delay = absl::ZeroDuration();
  if (!username.empty()) {
    if (Failures* failures = Track(user_key, now); failures != nullptr) {
      failures->push_back(now);
      delay = std::max(delay, DelayFor(failures->size(), user_limits));
    }
  }
  if (!peer.empty()) {
    if (Failures* failures = Track(peer_key, now); failures != nullptr) {
      failures->push_back(now);
      delay = std::max(delay, DelayFor(failures->size(), peer_limits));
    }
  }
  return delay;
}

void LoginThrottle::Succeeded(absl::string_view username,
                              absl::string_view peer) {
  absl::MutexLock lock(&mu_);
  if (!username.empty()) failures_.erase(UsernameKey(username));
  if (peer.empty()) return;
  auto it = failures_.find(PeerKey(peer));
  if (it == failures_.end() || it->second.empty()) return;
  // This attempt was the newest entry counted for the address (or one of
  // the same instant): take one back.
  it->second.pop_back();
  if (it->second.empty()) failures_.erase(it);
}

absl::Time LoginThrottle::LockedUntil(absl::string_view username,
                                      absl::string_view peer) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  absl::Time until = absl::InfinitePast();
  if (!username.empty()) {
    until = LockedUntilLocked(UsernameKey(username),
                              {options_.username_free_failures,
                               options_.username_max_failures},
                              now);
  }
  if (!peer.empty()) {
    until = std::max(until, LockedUntilLocked(PeerKey(peer),
                                              {options_.peer_free_failures,
                                               options_.peer_max_failures},
                                              now));
  }
  return until > now ? until : absl::InfinitePast();
}

}  // namespace smsgw::domain
