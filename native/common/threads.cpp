#include "common/threads.hpp"

#include <atomic>

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
}  // namespace

int thread_count() {
  int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

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

}  // namespace ntk
