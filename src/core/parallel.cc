#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace fsml {

int DefaultThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

Status ParallelFor(size_t n, size_t chunk, int threads,
                   const std::function<Status(size_t, size_t)>& fn) {
  chunk = std::max<size_t>(chunk, 1);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;
  std::exception_ptr exception;
  auto worker = [&] {
    while (!failed.load()) {
      size_t begin = next.fetch_add(chunk);
      if (begin >= n) return;
      Status s;
      try {
        s = fn(begin, std::min(n, begin + chunk));
      } catch (...) {
        std::lock_guard lock(mu);
        if (!exception) exception = std::current_exception();
        failed = true;
        return;
      }
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (first.ok()) first = s;
        failed = true;
      }
    }
  };
  size_t chunks = (n + chunk - 1) / chunk;
  int extra = static_cast<int>(std::min<size_t>(std::max(threads, 1) - 1, chunks > 0 ? chunks - 1 : 0));
  std::vector<std::thread> pool;
  pool.reserve(extra);
  for (int i = 0; i < extra; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (exception) std::rethrow_exception(exception);
  return first;
}

}  // namespace fsml
