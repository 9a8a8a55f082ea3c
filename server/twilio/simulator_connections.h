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
//
//   auto server = std::make_unique<BackloggedServer>();
//   server->new_task_queue = [] { return new ConnectionThreads(128); };
//   int port = server->bind_to_any_port("127.0.0.1");
//   server->SetListenBacklog(SOMAXCONN);
#ifndef SMSGW_SERVER_TWILIO_SIMULATOR_CONNECTIONS_H_
#define SMSGW_SERVER_TWILIO_SIMULATOR_CONNECTIONS_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
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

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_TWILIO_SIMULATOR_CONNECTIONS_H_
