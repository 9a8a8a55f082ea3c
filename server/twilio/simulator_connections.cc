#include "server/twilio/simulator_connections.h"

#include <sys/socket.h>

#include <algorithm>
#include <utility>

namespace smsgw::twilio {

bool BackloggedServer::SetListenBacklog(int backlog) {
  // Linux lets listen() be called again on a listening socket: it only
  // updates the backlog.
  const socket_t sock = svr_sock_;
  return sock != INVALID_SOCKET && ::listen(sock, backlog) == 0;
}

ConnectionThreads::ConnectionThreads(size_t max_threads)
    : max_threads_(std::max<size_t>(1, max_threads)) {}

ConnectionThreads::~ConnectionThreads() { shutdown(); }

void ConnectionThreads::enqueue(std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (!shut_down_) {
      tasks_.push_back(std::move(fn));
      if (idle_ < tasks_.size() && threads_.size() < max_threads_) {
        threads_.emplace_back([this] { WorkerLoop(); });
      }
      return;
    }
  }
  fn();
}

void ConnectionThreads::shutdown() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    threads.swap(threads_);
  }
  for (std::thread& thread : threads) thread.join();
}

void ConnectionThreads::WorkerLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    ++idle_;
    mu_.Await(absl::Condition(
        +[](ConnectionThreads* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
          return self->shut_down_ || !self->tasks_.empty();
        },
        this));
    --idle_;
    // Queued connections are still served after shutdown(): httplib's task
    // sees the listener gone and closes its socket at once.
    if (tasks_.empty()) return;
    std::function<void()> fn = std::move(tasks_.front());
    tasks_.pop_front();
    mu_.Unlock();
    fn();
    fn = nullptr;  // the connection's state goes before the lock is retaken
    mu_.Lock();
  }
}

}  // namespace smsgw::twilio
