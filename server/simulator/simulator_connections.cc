#include "server/simulator/simulator_connections.h"

#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"

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

KeyedWorkers::KeyedWorkers(int shards, absl::Duration idle_after,
                           std::function<void(int shard)> on_idle)
    : idle_after_(idle_after), on_idle_(std::move(on_idle)) {
  shards = std::max(1, shards);
  for (int i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
  // Started only once every shard exists: a thread reads only its own.
  for (int i = 0; i < shards; ++i) {
    shards_[i]->thread = std::thread([this, i] { Loop(i); });
  }
}

KeyedWorkers::~KeyedWorkers() { Stop(); }

void KeyedWorkers::Run(absl::string_view key,
                       std::function<void(int shard)> fn) {
  Shard& shard = *shards_[absl::Hash<absl::string_view>{}(key) %
                          shards_.size()];
  absl::MutexLock lock(&shard.mu);
  if (shard.stopping) return;
  shard.queue.push_back(std::move(fn));
}

void KeyedWorkers::RequestStop() {
  stop_requested_ = true;
  for (auto& shard : shards_) {
    std::deque<std::function<void(int)>> dropped;
    {
      absl::MutexLock lock(&shard->mu);
      shard->stopping = true;
      dropped.swap(shard->queue);
    }
  }
}

bool KeyedWorkers::stopping() const { return stop_requested_; }

bool KeyedWorkers::WaitStopped(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    if (!shard->mu.AwaitWithDeadline(absl::Condition(&shard->done),
                                     deadline)) {
      return false;
    }
  }
  return true;
}

void KeyedWorkers::Stop() {
  RequestStop();
  for (auto& shard : shards_) {
    if (shard->thread.joinable()) shard->thread.join();
  }
}

void KeyedWorkers::Loop(int index) {
  Shard& shard = *shards_[index];
  // Nothing to report before the first closure ran.
  bool idle_reported = true;
  while (true) {
    std::function<void(int)> fn;
    {
      absl::MutexLock lock(&shard.mu);
      auto ready = [&shard]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
        return shard.stopping || !shard.queue.empty();
      };
      if (idle_reported) {
        shard.mu.Await(absl::Condition(&ready));
      } else {
        shard.mu.AwaitWithTimeout(absl::Condition(&ready), idle_after_);
      }
      if (shard.stopping) {
        shard.done = true;
        return;
      }
      if (!shard.queue.empty()) {
        fn = std::move(shard.queue.front());
        shard.queue.pop_front();
      }
    }
    if (fn) {
      fn(index);
      idle_reported = false;
    } else {
      if (on_idle_) on_idle_(index);
      idle_reported = true;
    }
  }
}

}  // namespace smsgw::twilio
