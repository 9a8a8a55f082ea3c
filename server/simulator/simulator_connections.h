// File: simulator_connections.h
//
// How `TwilioSimulator` (simulator.h) copes with many connections, kept apart
// from its Twilio-shaped code:
//   * `BackloggedServer`, an httplib::Server whose accept queue holds a burst
//     of connects (httplib 0.11 listens with a backlog of 5).
//   * `ConnectionThreads`, the httplib task queue that serves the API's
//     connections. httplib keeps a kept-alive connection on one thread from
//     accept to close, so the simulator serves as many connections at once as
//     it has threads; these start as connections arrive, up to a cap.
//   * `KeyedWorkers`, the status-callback posters: a few threads, each owning
//     the callbacks of the messages whose SID hashes to it, so a message's
//     callbacks leave in order while other messages' go out beside them.
//
//   auto server = std::make_unique<BackloggedServer>();
//   server->new_task_queue = [] { return new ConnectionThreads(128); };
//   int port = server->bind_to_any_port("127.0.0.1");
//   server->SetListenBacklog(SOMAXCONN);
//
//   KeyedWorkers posters(8, absl::Milliseconds(500), [](int shard) {});
//   posters.Run(sid, [](int shard) { /* POST one callback */ });
#ifndef SMSGW_SERVER_SIMULATOR_SIMULATOR_CONNECTIONS_H_
#define SMSGW_SERVER_SIMULATOR_SIMULATOR_CONNECTIONS_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"

namespace smsgw::twilio {

// An httplib::Server whose listening socket gets a longer accept queue.
// httplib 0.11 calls listen() with CPPHTTPLIB_LISTEN_BACKLOG (5, fixed when
// Debian built the library); a burst of connects overflows it (the kernel
// counts ListenOverflows), and with 100 clients connecting at once half of
// them saw their first request fail (httplib Error::Read). Same
// thread-safety as httplib::Server.
class BackloggedServer final : public httplib::Server {
 public:
  // Sets the accept queue of the bound socket to `backlog` (the kernel caps
  // it at net.core.somaxconn); call after bind_to_port()/bind_to_any_port()
  // and before listen_after_bind(). False when not bound or listen() fails.
  bool SetListenBacklog(int backlog);
};

// An httplib::TaskQueue (set through httplib::Server::new_task_queue) that
// runs each task on a thread of its own: a new thread starts when a task
// arrives and no thread is idle, up to `max_threads`; tasks beyond that wait
// in FIFO order for a thread to finish one. Threads are never retired, so an
// idle server holds only as many as its busiest moment needed.
// Thread-safe; httplib calls shutdown() before deleting it.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  // `max_threads` below 1 is taken as 1.
  explicit ConnectionThreads(size_t max_threads);
  ~ConnectionThreads() override;  // shutdown()s.
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  // Runs `fn` on an idle thread, on a new one while fewer than
  // `max_threads` exist, or else after a running task ends. After
  // shutdown() it runs `fn` on the caller's thread (httplib's tasks close
  // their socket; dropping one would leak it).
  void enqueue(std::function<void()> fn) override;

  // Lets the threads finish every queued task, then joins them. Idempotent.
  void shutdown() override;

 private:
  void WorkerLoop();

  const size_t max_threads_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;  // threads waiting for a task
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// `shards` threads, each with a FIFO queue of its own. Every closure queued
// under one key goes to the same thread, so they run one at a time in the
// order queued; closures of different keys may run at once. A thread whose
// queue has stayed empty for `idle_after` since its last closure calls
// `on_idle(shard)` once, on that thread (the posters close their kept-alive
// connections there). Thread-safe. Not copyable.
class KeyedWorkers {
 public:
  // `shards` below 1 is taken as 1; `on_idle` may be empty.
  KeyedWorkers(int shards, absl::Duration idle_after,
               std::function<void(int shard)> on_idle);
  ~KeyedWorkers();  // Stop()s.
  KeyedWorkers(const KeyedWorkers&) = delete;
  KeyedWorkers& operator=(const KeyedWorkers&) = delete;

  int shards() const { return static_cast<int>(shards_.size()); }

  // Queues `fn` on the thread that owns `key`; `fn` is given that thread's
  // shard index (0..shards()-1), so callers can keep per-shard state that
  // only its thread touches. Dropped once RequestStop() was called.
  void Run(absl::string_view key, std::function<void(int shard)> fn);

  // Drops every queued closure and refuses new ones; running closures
  // finish. Returns at once.
  void RequestStop();
  // True once RequestStop() was called.
  bool stopping() const;
  // After RequestStop(): waits up to `timeout` for every thread to leave its
  // loop; true when all have.
  bool WaitStopped(absl::Duration timeout);
  // RequestStop(), then joins the threads. Idempotent.
  void Stop();

 private:
  struct Shard {
    absl::Mutex mu;
    std::deque<std::function<void(int)>> queue ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    bool done ABSL_GUARDED_BY(mu) = false;
    std::thread thread;
  };

  void Loop(int index);

  std::atomic<bool> stop_requested_{false};
  const absl::Duration idle_after_;
  const std::function<void(int)> on_idle_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_SIMULATOR_SIMULATOR_CONNECTIONS_H_
