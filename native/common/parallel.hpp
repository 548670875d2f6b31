// Parallel loop over independent rows with one workspace per thread.
//
// Results are bit-identical for any thread count as long as fn(i, ws) only
// depends on row i (the workspace is scratch). Exceptions must not cross an
// OpenMP region, and every thread must reach the worksharing loop: a thread
// whose workspace failed skips its rows, and the first error is rethrown
// after the region.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>

#include "common/threads.hpp"

namespace ntk {

template <typename MakeWorkspace, typename RowFn>
void parallel_rows(int64_t n, MakeWorkspace make_workspace, RowFn fn) {
  std::exception_ptr error;
  std::mutex error_mutex;
  auto record = [&]() {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (!error) error = std::current_exception();
  };
  // A few rows do not pay for waking threads (and a barrier that waits for a
  // descheduled thread costs milliseconds on a busy machine): at least four
  // rows (one chunk) per thread. The thread count never changes results.
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(thread_count(), (n + 3) / 4)));
#pragma omp parallel num_threads(threads)
  {
    decltype(make_workspace()) ws{};
    bool ready = true;
    try {
      ws = make_workspace();
    } catch (...) {
      record();
      ready = false;
    }
#pragma omp for schedule(dynamic, 4)
    for (int64_t i = 0; i < n; ++i) {
      if (!ready) continue;
      try {
        fn(i, ws);
      } catch (...) {
        record();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace ntk
