// Thread-count control shared by every OpenMP region of the core.
//
// omp_set_num_threads() only affects the calling thread, and the bindings run
// jobs on arbitrary worker threads, so the core keeps one process-wide setting
// and passes it explicitly to each parallel region.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>

namespace ntk {

/// Threads used by parallel regions (>= 1): the setting (default: the
/// OpenMP maximum) shared out among the native jobs running at the same time,
/// setting / running jobs (at least 1), so that concurrent calls (many async
/// calls, worker threads) do not oversubscribe the cores.
int thread_count();

/// The thread setting itself, whatever the jobs running.
int thread_setting();

/// Marks a native job as running for its lifetime (see thread_count).
class RunningJob {
 public:
  RunningJob();
  ~RunningJob();
  RunningJob(const RunningJob&) = delete;
  RunningJob& operator=(const RunningJob&) = delete;
};

/// Native jobs running now.
int running_jobs();

/// Cancellation and progress words a long job shares with JavaScript (an
/// Int32Array of 2 that the caller keeps alive): [0] != 0 asks the job to
/// stop at its next unit of work, [1] counts the units done. No words: never
/// cancelled, nothing counted.
class JobFlags {
 public:
  JobFlags() = default;
  explicit JobFlags(int32_t* words) : words_(words) {}
  bool cancelled() const { return words_ != nullptr && __atomic_load_n(&words_[0], __ATOMIC_RELAXED) != 0; }
  void done(int32_t units) const {
    if (words_ != nullptr) __atomic_fetch_add(&words_[1], units, __ATOMIC_RELAXED);
  }

 private:
  int32_t* words_ = nullptr;
};

/// Thrown by a job that stopped because its JobFlags asked it to.
struct JobCancelled : std::exception {
  const char* what() const noexcept override { return "the operation was aborted"; }
};

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
