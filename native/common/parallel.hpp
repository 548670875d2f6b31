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

/// Least work (multiply-adds, as the caller estimates them) a parallel_rows
/// region gives each thread: about half a millisecond on one core (NTKSketch
/// 784 -> 1,024 features: ~46 rows, CNTKSketch: one 28 x 28 image). Waking a
/// thread and building its workspace costs tens of microseconds on an idle
/// machine (milliseconds when the barrier waits for a descheduled thread on a
/// busy one), so a call of a few rows runs on fewer threads, or on one.
constexpr int64_t kMinThreadWork = int64_t{1} << 23;

/// Threads for n rows of `row_work` each: at most thread_count(), at least
/// four rows (one chunk) and kMinThreadWork per thread, at least one.
inline int rows_threads(int64_t n, int64_t row_work) {
  const int64_t by_work = row_work > 0 ? n / std::max<int64_t>(1, kMinThreadWork / row_work) : n;
  return static_cast<int>(std::max<int64_t>(1, std::min({static_cast<int64_t>(thread_count()), (n + 3) / 4, by_work})));
}

/// fn(i, ws) for rows i < n, each thread with its workspace; `row_work`
/// (estimated multiply-adds per row, 0: unknown) bounds the threads through
/// rows_threads. The thread count never changes results.
template <typename MakeWorkspace, typename RowFn>
void parallel_rows(int64_t n, int64_t row_work, MakeWorkspace make_workspace, RowFn fn) {
  std::exception_ptr error;
  std::mutex error_mutex;
  auto record = [&]() {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (!error) error = std::current_exception();
  };
  const int threads = rows_threads(n, row_work);
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

/// parallel_rows with the work per row unknown: four rows per thread at least.
template <typename MakeWorkspace, typename RowFn>
void parallel_rows(int64_t n, MakeWorkspace make_workspace, RowFn fn) {
  parallel_rows(n, int64_t{0}, make_workspace, fn);
}

}  // namespace ntk
