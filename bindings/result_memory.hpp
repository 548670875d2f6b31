// Fresh result arrays: their pages mapped in bulk, in parallel, by the first
// feature-map job that writes them (markFreshResult, prefault).
//
// A transform's result is written once, entry by entry, into memory nobody
// has touched: on Linux every 4 KiB page then costs a page fault on first
// write, taken one at a time by the threads of the transform (a new 328 MB
// float32 result of 10,000 x 8,192 features is 80,000 faults: 75-100 ms on a
// 2-core VM next to a 140 ms transform, and far more while the VM's memory is
// cold).
//
// allocate() (src/core/arrays.ts) still creates the result as an ordinary
// JavaScript Float32Array / Float64Array, owned, transferable and collected
// like any other, and registers it here as fresh (markFreshResult). The first
// feature-map job that writes it (feature_map.hpp) prefaults the range it
// writes with MADV_POPULATE_WRITE (Linux 5.14; a write access per page on
// older kernels) in 8 MiB pieces over all the core's threads, off the
// JavaScript thread for async calls: pages are mapped in bulk and in parallel
// instead of by one fault at a time, before the transform streams its rows
// into them. Prefaulting never changes contents. A finalizer on the
// ArrayBuffer drops the registration. Memory that was not registered, such as
// a caller's `out` buffer, is left alone: populating mapped pages again would
// still walk their page-table entries (12-16 ms for 328 MB).
//
// Two alternatives were measured on this project's 2-core VM and not kept:
//   - an external ArrayBuffer over memory mapped here (mmap): Node marks those
//     untransferable (postMessage with a transfer list copies them on Node 20
//     and throws DataCloneError from Node 21 on), runtimes with a V8 sandbox
//     refuse them, and they are freed through a deferred finalizer rather
//     than by V8's own sweeper. Its speed was the same;
//   - transparent huge pages (MADV_HUGEPAGE): 15-30 ms for 328 MB while the
//     2 MiB blocks are warm, but the VM's balloon reports free 2 MiB blocks to
//     the host within seconds (free page reporting), and a cold huge page is
//     then faulted in from the host: 300-750 ms for 328 MB, against 55-70 ms
//     for 4 KiB pages on two threads, which reporting leaves alone. A
//     10,000 x 8,192 NTKSketch transform into a new array took 1.2 s with huge
//     pages vs 0.41 s without, 4 s after the previous one; timing each piece
//     and falling back to 4 KiB pages did not recover the difference.
#pragma once

#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

#include "common/threads.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace ntk_bindings {
namespace result_memory {

/// Arrays below this are left alone (at most a thousand faults).
constexpr size_t kMinFreshBytes = size_t{4} << 20;

/// A registered array: its bytes, the byte range [done_lo, done_hi) of it
/// already prefaulted, and the id its finalizer holds.
struct Region {
  size_t bytes;
  uintptr_t done_lo;
  uintptr_t done_hi;
  uint64_t id;
};

inline std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

/// Registered arrays by address of their first element (all environments and threads).
inline std::map<uintptr_t, Region>& registry() {
  static std::map<uintptr_t, Region> r;
  return r;
}

inline uint64_t next_id() {
  static std::atomic<uint64_t> id{1};
  return id.fetch_add(1);
}

#if defined(__linux__)
inline uintptr_t page_size() {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return page;
}

/// Maps the pages of [p, p + bytes) writable without changing their contents:
/// MADV_POPULATE_WRITE, or, where the kernel lacks it, a write access to one
/// byte of each page inside the range that leaves it as it was. In 8 MiB
/// pieces over the core's threads (328 MB of 4 KiB pages on a 2-core VM:
/// 110 ms on one thread, 55 ms on two).
inline void populate(uintptr_t p, size_t bytes) {
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  constexpr uintptr_t kPiece = uintptr_t{8} << 20;
  const uintptr_t page = page_size();
  const uintptr_t lo = p / page * page, hi = (p + bytes + page - 1) / page * page;
  const int64_t pieces = static_cast<int64_t>((hi - lo + kPiece - 1) / kPiece);
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(ntk::thread_count(), pieces)));
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int64_t k = 0; k < pieces; ++k) {
    const uintptr_t a = lo + static_cast<uintptr_t>(k) * kPiece, b = std::min(hi, a + kPiece);
    if (madvise(reinterpret_cast<void*>(a), b - a, MADV_POPULATE_WRITE) == 0) continue;
    // A locked or-with-zero: one write fault per page (a plain read first
    // would map the shared zero page, then fault again to write).
    for (uintptr_t q = std::max(a, p); q < std::min(b, p + bytes); q = (q / page + 1) * page)
      __atomic_fetch_or(reinterpret_cast<char*>(q), char{0}, __ATOMIC_RELAXED);
  }
}
#endif

/// Before a job writes [p, p + bytes): when that range lies in a registered
/// array and has not been prefaulted yet, prefaults it. Otherwise (the
/// caller's own memory, an array already written) does nothing.
inline void prefault(void* p, size_t bytes) {
#if defined(__linux__)
  if (bytes < (size_t{1} << 20)) return;  // a few faults: not worth the threads
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + bytes;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto& regions = registry();
    auto it = regions.upper_bound(lo);
    if (it == regions.begin()) return;
    --it;
    Region& r = it->second;
    if (hi > it->first + r.bytes) return;  // not inside this array
    if (r.done_lo < r.done_hi && r.done_lo <= lo && hi <= r.done_hi) return;
    r.done_lo = r.done_lo < r.done_hi ? std::min(r.done_lo, lo) : lo;
    r.done_hi = std::max(r.done_hi, hi);
  }
  populate(lo, bytes);
#else
  (void)p;
  (void)bytes;
#endif
}

/// Finalizer of a registered ArrayBuffer: drops its registration (unless the
/// address has since been registered again, for a newer array).
inline void forget(napi_env /*env*/, void* data, void* hint) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().find(reinterpret_cast<uintptr_t>(data));
  if (it != registry().end() && it->second.id == static_cast<uint64_t>(reinterpret_cast<uintptr_t>(hint)))
    registry().erase(it);
}

}  // namespace result_memory

/// markFreshResult(array): registers a new, untouched result array (see the
/// notes at the top). Does nothing for small arrays or off Linux.
inline Napi::Value MarkFreshResult(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray())
    throw Napi::TypeError::New(env, "markFreshResult: expected a Float32Array or Float64Array");
#if defined(__linux__)
  auto array = info[0].As<Napi::TypedArray>();
  const size_t bytes = array.ByteLength();
  if (bytes < result_memory::kMinFreshBytes) return env.Undefined();
  Napi::ArrayBuffer buffer = array.ArrayBuffer();
  const uintptr_t p = reinterpret_cast<uintptr_t>(static_cast<char*>(buffer.Data()) + array.ByteOffset());
  const uint64_t id = result_memory::next_id();
  {
    std::lock_guard<std::mutex> lock(result_memory::registry_mutex());
    result_memory::registry()[p] = result_memory::Region{bytes, 0, 0, id};
  }
  void* hint = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  if (napi_add_finalizer(env, buffer, reinterpret_cast<void*>(p), result_memory::forget, hint, nullptr) != napi_ok) {
    // No finalizer, no registration (it would outlive the array).
    result_memory::forget(env, reinterpret_cast<void*>(p), hint);
  }
#endif
  return env.Undefined();
}

/// freshResultInfo() -> { arrays, bytes }: the arrays markFreshResult registered, alive now (tests).
inline Napi::Value FreshResultInfo(const Napi::CallbackInfo& info) {
  double arrays = 0, bytes = 0;
  {
    std::lock_guard<std::mutex> lock(result_memory::registry_mutex());
    for (const auto& r : result_memory::registry()) {
      arrays += 1;
      bytes += static_cast<double>(r.second.bytes);
    }
  }
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("arrays", arrays);
  o.Set("bytes", bytes);
  return o;
}

}  // namespace ntk_bindings
