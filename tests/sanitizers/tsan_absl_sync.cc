// File: tsan_absl_sync.cc
//
// Linked into every binary of the ThreadSanitizer build (SMSGW_SANITIZE
// contains "thread"); not part of any other build.
//
// Why: Debian's Abseil is a shared library built without TSan, so TSan never
// sees absl::Mutex, absl::CondVar or absl::Notification synchronise: every
// field guarded by an absl::Mutex would be reported as a data race (verified
// with a two-thread counter under absl::MutexLock). Abseil built with TSan
// annotates these calls itself (ABSL_TSAN_MUTEX_* in mutex.cc); this file
// adds the same annotations from outside. It defines the out-of-line
// member functions so that the program's definitions interpose on the
// shared library's (ELF symbol interposition), tells TSan what each call
// does (lock, unlock, wait, signal) and then calls the library's own code,
// found with dlsym(RTLD_NEXT).
//
// The annotations follow compiler-rt's tsan_interface.h: accesses between
// __tsan_mutex_pre_* and __tsan_mutex_post_* are ignored, which covers
// Abseil evaluating a waiter's Condition on the unlocking thread.
// Reader/writer modes are kept apart so that races under a reader lock are
// still found. Waits (Await, LockWhen, CondVar::Wait) are modelled as
// unlock, wait, lock.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#if !defined(__SANITIZE_THREAD__) && defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define __SANITIZE_THREAD__ 1
#endif
#endif
#ifndef __SANITIZE_THREAD__
#error "tsan_absl_sync.cc belongs in the ThreadSanitizer build only"
#endif

namespace {

#define SMSGW_STR2(x) #x
#define SMSGW_STR(x) SMSGW_STR2(x)

// "_ZN4absl7debian3" + `rest`: the mangled name of an absl:: member
// function in the library's inline namespace (ABSL_OPTION_INLINE_NAMESPACE_NAME).
void* Real(const char* prefix, const char* rest) {
  const char* ns = SMSGW_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string name = std::string(prefix) + "4absl" +
                           std::to_string(std::strlen(ns)) + ns + rest;
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan_absl_sync: %s not found\n", name.c_str());
    std::abort();
  }
  return fn;
}

template <typename Fn>
Fn RealFn(const char* prefix, const char* rest) {
  return reinterpret_cast<Fn>(Real(prefix, rest));
}

#define REAL(type, prefix, rest) \
  static const auto real = RealFn<type>(prefix, rest)

constexpr unsigned kRead = __tsan_mutex_read_lock;

// Calls inside Abseil between its own entry points (AwaitWithTimeout calls
// AwaitWithDeadline, Notification uses its Mutex, ...) go through the PLT
// too and land here again; only the outermost call of a thread is
// annotated, nested ones go straight to the library.
thread_local int depth = 0;
struct Outermost {
  Outermost() { ++depth; }
  ~Outermost() { --depth; }
  Outermost(const Outermost&) = delete;
  Outermost& operator=(const Outermost&) = delete;
  static bool Nested() { return depth > 0; }
};

#define FORWARD_IF_NESTED(...)                   \
  if (Outermost::Nested()) return __VA_ARGS__;   \
  Outermost outermost

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// --- Mutex --------------------------------------------------------------

void Mutex::Lock() {
  REAL(void (*)(Mutex*), "_ZN", "5Mutex4LockEv");
  FORWARD_IF_NESTED(real(this));
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::Unlock() {
  REAL(void (*)(Mutex*), "_ZN", "5Mutex6UnlockEv");
  FORWARD_IF_NESTED(real(this));
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

bool Mutex::TryLock() {
  REAL(bool (*)(Mutex*), "_ZN", "5Mutex7TryLockEv");
  FORWARD_IF_NESTED(real(this));
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool locked = real(this);
  __tsan_mutex_post_lock(
      this, __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

void Mutex::ReaderLock() {
  REAL(void (*)(Mutex*), "_ZN", "5Mutex10ReaderLockEv");
  FORWARD_IF_NESTED(real(this));
  __tsan_mutex_pre_lock(this, kRead);
  real(this);
  __tsan_mutex_post_lock(this, kRead, 0);
}

void Mutex::ReaderUnlock() {
  REAL(void (*)(Mutex*), "_ZN", "5Mutex12ReaderUnlockEv");
  FORWARD_IF_NESTED(real(this));
  __tsan_mutex_pre_unlock(this, kRead);
  real(this);
  __tsan_mutex_post_unlock(this, kRead);
}

bool Mutex::ReaderTryLock() {
  REAL(bool (*)(Mutex*), "_ZN", "5Mutex13ReaderTryLockEv");
  FORWARD_IF_NESTED(real(this));
  const unsigned flags = kRead | __tsan_mutex_try_lock;
  __tsan_mutex_pre_lock(this, flags);
  const bool locked = real(this);
  __tsan_mutex_post_lock(this, flags | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

namespace {

// A blocking acquisition that evaluates a Condition (LockWhen*): a lock.
template <typename Call>
auto Acquire(Mutex* mu, unsigned flags, Call call) {
  __tsan_mutex_pre_lock(mu, flags);
  auto result = call();
  __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}

// Await*: the mutex is released while waiting and held again on return.
template <typename Call>
auto ReleaseAndReacquire(Mutex* mu, Call call) {
  __tsan_mutex_pre_unlock(mu, 0);
  auto result = call();
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  __tsan_mutex_post_lock(mu, 0, 0);
  return result;
}

}  // namespace

void Mutex::LockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&), "_ZN",
       "5Mutex8LockWhenERKNS0_9ConditionE");
  FORWARD_IF_NESTED(real(this, cond));
  Acquire(this, 0, [&] { real(this, cond); return 0; });
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&), "_ZN",
       "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  FORWARD_IF_NESTED(real(this, cond));
  Acquire(this, kRead, [&] { real(this, cond); return 0; });
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Duration), "_ZN",
       "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  FORWARD_IF_NESTED(real(this, cond, timeout));
  return Acquire(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Time), "_ZN",
       "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  FORWARD_IF_NESTED(real(this, cond, deadline));
  return Acquire(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond,
                                      absl::Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Duration), "_ZN",
       "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  FORWARD_IF_NESTED(real(this, cond, timeout));
  return Acquire(this, kRead, [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond,
                                       absl::Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Time), "_ZN",
       "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  FORWARD_IF_NESTED(real(this, cond, deadline));
  return Acquire(this, kRead, [&] { return real(this, cond, deadline); });
}

void Mutex::Await(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&), "_ZN",
       "5Mutex5AwaitERKNS0_9ConditionE");
  FORWARD_IF_NESTED(real(this, cond));
  ReleaseAndReacquire(this, [&] { real(this, cond); return 0; });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Duration), "_ZN",
       "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  FORWARD_IF_NESTED(real(this, cond, timeout));
  return ReleaseAndReacquire(this, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Time), "_ZN",
       "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  FORWARD_IF_NESTED(real(this, cond, deadline));
  return ReleaseAndReacquire(this, [&] { return real(this, cond, deadline); });
}

// --- CondVar ------------------------------------------------------------
// Signal releases on the CondVar and a returning Wait acquires it, on top of
// the mutex hand-over, as the TSan-built Abseil does.

void CondVar::Wait(Mutex* mu) {
  REAL(void (*)(CondVar*, Mutex*), "_ZN", "7CondVar4WaitEPNS0_5MutexE");
  FORWARD_IF_NESTED(real(this, mu));
  ReleaseAndReacquire(mu, [&] { real(this, mu); return 0; });
  __tsan_acquire(this);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  REAL(bool (*)(CondVar*, Mutex*, absl::Duration), "_ZN",
       "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  FORWARD_IF_NESTED(real(this, mu, timeout));
  const bool timed_out =
      ReleaseAndReacquire(mu, [&] { return real(this, mu, timeout); });
  __tsan_acquire(this);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  REAL(bool (*)(CondVar*, Mutex*, absl::Time), "_ZN",
       "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  FORWARD_IF_NESTED(real(this, mu, deadline));
  const bool timed_out =
      ReleaseAndReacquire(mu, [&] { return real(this, mu, deadline); });
  __tsan_acquire(this);
  return timed_out;
}

void CondVar::Signal() {
  REAL(void (*)(CondVar*), "_ZN", "7CondVar6SignalEv");
  FORWARD_IF_NESTED(real(this));
  __tsan_release(this);
  real(this);
}

void CondVar::SignalAll() {
  REAL(void (*)(CondVar*), "_ZN", "7CondVar9SignalAllEv");
  FORWARD_IF_NESTED(real(this));
  __tsan_release(this);
  real(this);
}

// --- Notification -------------------------------------------------------
// HasBeenNotified() is inline: an acquire load of notified_yet_ (the member
// after mutex_) in instrumented code. Notify() releases on that address so
// that the load synchronises with it.

namespace {
void* NotifiedFlag(const Notification* n) {
  return const_cast<char*>(reinterpret_cast<const char*>(n)) + sizeof(Mutex);
}
}  // namespace

void Notification::Notify() {
  REAL(void (*)(Notification*), "_ZN", "12Notification6NotifyEv");
  FORWARD_IF_NESTED(real(this));
  __tsan_release(NotifiedFlag(this));
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  REAL(void (*)(const Notification*), "_ZNK",
       "12Notification19WaitForNotificationEv");
  FORWARD_IF_NESTED(real(this));
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  REAL(bool (*)(const Notification*, absl::Duration), "_ZNK",
       "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  FORWARD_IF_NESTED(real(this, timeout));
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  REAL(bool (*)(const Notification*, absl::Time), "_ZNK",
       "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  FORWARD_IF_NESTED(real(this, deadline));
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
