// Thread-count control shared by every OpenMP region of the core.
//
// omp_set_num_threads() only affects the calling thread, and the bindings run
// jobs on arbitrary worker threads, so the core keeps one process-wide setting
// and passes it explicitly to each parallel region.
#pragma once

#include <cstddef>

namespace ntk {

/// Threads used by parallel regions (>= 1). Defaults to the OpenMP maximum.
int thread_count();

/// Sets the thread count of the core's parallel regions. n <= 0 restores the
/// default. Results are bit-identical for every count.
void set_thread_count(int n);

/// Called once at load: makes the BLAS library single-threaded.
void init_threads();

/// Whether the core was compiled with OpenMP.
bool have_openmp();

/// memcpy split over the core's threads in 1 MiB pieces: one thread cannot
/// saturate memory bandwidth, and page faults of a freshly allocated
/// destination (a new JavaScript array) are served in parallel.
void parallel_copy(void* dst, const void* src, size_t bytes);

}  // namespace ntk
