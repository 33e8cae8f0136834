// Data-parallel loops over index ranges on short-lived threads.
#pragma once

#include <cstddef>
#include <functional>

#include "core/status.h"

namespace fsml {

// Runs fn(begin, end) over [0, n) split into chunks of `chunk` on up to
// `threads` threads (the calling thread is one of them). Returns the first
// error any chunk returned, after all threads have stopped; chunks not yet
// started are skipped once an error is seen. Exceptions thrown by `fn` are
// caught and rethrown on the calling thread after the join.
Status ParallelFor(size_t n, size_t chunk, int threads,
                   const std::function<Status(size_t begin, size_t end)>& fn);

// Threads to use by default: the hardware's count, at least 1.
int DefaultThreads();

}  // namespace fsml
