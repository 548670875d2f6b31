#include "sketches/fwht.hpp"

#include <algorithm>
#include <stdexcept>

// The build targets baseline x86-64 for portability; the transform is the hot
// loop of every sketch, so GCC/Clang also compile AVX2 and AVX-512 clones and
// pick one at load time. Each clone is deterministic, so a given machine
// always produces the same bits.
#if defined(__x86_64__) && defined(__linux__) && !defined(__CUDACC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define NTK_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef NTK_SIMD_CLONES
#define NTK_SIMD_CLONES
#endif

namespace ntk {

namespace {

// Two radix-2 stages (strides h and 2h) per pass over the data: half the
// memory traffic of plain radix-2. Contiguous inner loops over j vectorise.
template <typename T>
inline void radix4_pass(T* __restrict x, int64_t n, int64_t h) {
  for (int64_t i = 0; i < n; i += 4 * h) {
    T* __restrict a = x + i;
    T* __restrict b = a + h;
    T* __restrict c = b + h;
    T* __restrict d = c + h;
    for (int64_t j = 0; j < h; ++j) {
      const T s0 = a[j] + b[j], d0 = a[j] - b[j];
      const T s1 = c[j] + d[j], d1 = c[j] - d[j];
      a[j] = s0 + s1;
      b[j] = d0 + d1;
      c[j] = s0 - s1;
      d[j] = d0 - d1;
    }
  }
}

template <typename T>
inline void radix2_pass(T* __restrict x, int64_t n, int64_t h) {
  for (int64_t i = 0; i < n; i += 2 * h) {
    T* __restrict a = x + i;
    T* __restrict b = a + h;
    for (int64_t j = 0; j < h; ++j) {
      const T u = a[j], v = b[j];
      a[j] = u + v;
      b[j] = u - v;
    }
  }
}

// Stages with stride < h_end on x[0, n): radix-4 pairs, one radix-2 stage
// first when their number is odd.
template <typename T>
inline void stages(T* x, int64_t n, int64_t h_begin, int64_t h_end) {
  int64_t count = 0;
  for (int64_t h = h_begin; h < h_end; h <<= 1) ++count;
  int64_t h = h_begin;
  if (count % 2 == 1) {
    radix2_pass(x, n, h);
    h <<= 1;
  }
  for (; h < h_end; h <<= 2) radix4_pass(x, n, h);
}

template <typename T>
inline void fwht_impl(T* x, int64_t n) {
  if (n < 1 || (n & (n - 1)) != 0) throw std::invalid_argument("fwht: length must be a power of two");
  // Short-stride stages block by block (a block stays in L1), then the
  // long-stride stages over the whole vector.
  const int64_t block = std::min<int64_t>(n, int64_t{8192} / static_cast<int64_t>(sizeof(T)));
  for (int64_t b = 0; b < n; b += block) stages(x + b, block, 1, block);
  stages(x, n, block, n);
}

}  // namespace

NTK_SIMD_CLONES void fwht(float* x, int64_t n) { fwht_impl(x, n); }
NTK_SIMD_CLONES void fwht(double* x, int64_t n) { fwht_impl(x, n); }

}  // namespace ntk
