// Device-to-host copies through a process-wide pinned staging buffer (see
// cuda_util.cuh for why).
#include <algorithm>
#include <mutex>

#include "common/threads.hpp"
#include "cuda/cuda_util.cuh"

namespace ntk {

namespace {

constexpr size_t kPiece = size_t{16} << 20;

struct Event {
  cudaEvent_t ev = nullptr;
  Event() { cuda_check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "cudaEventCreate"); }
  ~Event() { cudaEventDestroy(ev); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};

}  // namespace

void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  // Allocated once and kept for the life of the process: pinning costs about
  // 0.6 ms per MiB, more than the copy itself. Calls take turns on it.
  static std::mutex mutex;
  static char* stage = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (!stage) cuda_check(cudaMallocHost(reinterpret_cast<void**>(&stage), 2 * kPiece), "cudaMallocHost");
  Event done[2];
  const size_t pieces = (bytes + kPiece - 1) / kPiece;
  auto length = [&](size_t p) { return std::min(kPiece, bytes - p * kPiece); };
  auto issue = [&](size_t p) {
    char* half = stage + (p & 1) * kPiece;
    cuda_check(cudaMemcpyAsync(half, static_cast<const char*>(src) + p * kPiece, length(p), cudaMemcpyDeviceToHost, 0),
               "copy to host");
    cuda_check(cudaEventRecord(done[p & 1].ev, 0), "cudaEventRecord");
  };
  try {
    issue(0);
    for (size_t p = 0; p < pieces; ++p) {
      // The half piece p + 1 lands in was emptied by the host in the last turn.
      if (p + 1 < pieces) issue(p + 1);
      cuda_check(cudaEventSynchronize(done[p & 1].ev), "copy to host");
      parallel_copy(static_cast<char*>(dst) + p * kPiece, stage + (p & 1) * kPiece, length(p));
    }
  } catch (...) {
    cudaDeviceSynchronize();  // no copy may still be writing the stage when the next call takes it
    throw;
  }
}

}  // namespace ntk
