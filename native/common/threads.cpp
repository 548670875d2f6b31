#include "common/threads.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "linalg/blas.hpp"

namespace ntk {

namespace {
std::atomic<int> g_threads{0};

int default_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
// Native jobs running now (RunningJob).
std::atomic<int> g_running{0};
}  // namespace

int thread_setting() {
  int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

int thread_count() {
  const int setting = thread_setting();
  const int running = g_running.load(std::memory_order_relaxed);
  return running > 1 ? std::max(1, setting / running) : setting;
}

RunningJob::RunningJob() { g_running.fetch_add(1, std::memory_order_relaxed); }
RunningJob::~RunningJob() { g_running.fetch_sub(1, std::memory_order_relaxed); }
int running_jobs() { return g_running.load(std::memory_order_relaxed); }

void set_thread_count(int n) { g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

void init_threads() {
  // BLAS stays single-threaded: the core parallelises over fixed tiles so that
  // results do not depend on the thread count (see linalg/blas.hpp).
  blas_set_threads(1);
}

bool have_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

void parallel_copy(void* dst, const void* src, size_t bytes) {
  constexpr int64_t kPiece = int64_t{1} << 20;
  const int64_t pieces = (static_cast<int64_t>(bytes) + kPiece - 1) / kPiece;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(thread_count(), pieces)));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < pieces; ++p) {
    const int64_t begin = p * kPiece;
    const int64_t len = std::min<int64_t>(kPiece, static_cast<int64_t>(bytes) - begin);
    std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, static_cast<size_t>(len));
  }
}

}  // namespace ntk
