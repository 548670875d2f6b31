#include "sketches/fwht.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/simd.hpp"

// The build targets baseline x86-64 for portability; the transform is the hot
// loop of every sketch, so it is also compiled for AVX2 and AVX-512 (function
// target attributes) and the best version is picked at run time
// (common/simd.hpp). The kernel is written with 64-byte generic vectors (16
// floats / 8 doubles): the AVX-512 version maps one to a zmm register, the
// AVX2 version to two ymm, the baseline to four xmm.
//
// Every version computes the same butterflies in the same order (stages by
// increasing stride, each a + b / a - b; the in-register form v * (+-1) + w
// is exact, fused or not), so the result is bit-identical to the plain
// radix-2 transform on every machine.
#if defined(__GNUC__) || defined(__clang__)
#define NTK_VECTOR_FWHT 1
// 64-byte vectors in helper signatures would change the baseline ABI; every
// helper is inlined, so no such call exists.
#pragma GCC diagnostic ignored "-Wpsabi"
// Helpers must be inlined into each target version to be compiled for it.
#define NTK_INLINE inline __attribute__((always_inline))
#if defined(__clang__)
#define NTK_SHUFFLE(v, ityp, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define NTK_SHUFFLE(v, ityp, ...) __builtin_shuffle(v, (ityp){__VA_ARGS__})
#endif
#else
#define NTK_VECTOR_FWHT 0
#define NTK_INLINE inline
#endif

namespace ntk {

namespace {

// ---------------------------------------------------------------- portable

// Two radix-2 stages (strides h and 2h) per pass over the data: half the
// memory traffic of plain radix-2. Contiguous inner loops over j vectorise.
template <typename T>
NTK_INLINE void radix4_pass(T* __restrict x, int64_t n, int64_t h) {
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
NTK_INLINE void radix2_pass(T* __restrict x, int64_t n, int64_t h) {
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

// Stages with stride in [h_begin, h_end) on x[0, n): radix-4 pairs, one
// radix-2 stage first when their number is odd.
template <typename T>
NTK_INLINE void stages(T* x, int64_t n, int64_t h_begin, int64_t h_end) {
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
NTK_INLINE void fwht_portable(T* x, int64_t n) {
  const int64_t block = std::min<int64_t>(n, int64_t{8192} / static_cast<int64_t>(sizeof(T)));
  for (int64_t b = 0; b < n; b += block) stages(x + b, block, 1, block);
  stages(x, n, block, n);
}

#if NTK_VECTOR_FWHT

// ------------------------------------------------------------ vectorised

typedef float vf __attribute__((vector_size(64)));
typedef int vfi __attribute__((vector_size(64)));
typedef double vd __attribute__((vector_size(64)));
typedef long long vdi __attribute__((vector_size(64)));

template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef vf V;
  static constexpr int lanes = 16;
};
template <>
struct VecOf<double> {
  typedef vd V;
  static constexpr int lanes = 8;
};

template <typename V>
NTK_INLINE V load(const void* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
template <typename V>
NTK_INLINE void store(void* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

// In-register stage of stride h: lane i pairs with lane i ^ h; the lane with
// bit h clear gets v_i + v_(i^h), the other v_(i^h) - v_i.
NTK_INLINE vf lanes_stages(vf v) {
  const vf s1 = {1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1};
  const vf s2 = {1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1};
  const vf s4 = {1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1};
  const vf s8 = {1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1};
  v = v * s1 + NTK_SHUFFLE(v, vfi, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  v = v * s2 + NTK_SHUFFLE(v, vfi, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v = v * s4 + NTK_SHUFFLE(v, vfi, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  v = v * s8 + NTK_SHUFFLE(v, vfi, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  return v;
}
NTK_INLINE vd lanes_stages(vd v) {
  const vd s1 = {1, -1, 1, -1, 1, -1, 1, -1};
  const vd s2 = {1, 1, -1, -1, 1, 1, -1, -1};
  const vd s4 = {1, 1, 1, 1, -1, -1, -1, -1};
  v = v * s1 + NTK_SHUFFLE(v, vdi, 1, 0, 3, 2, 5, 4, 7, 6);
  v = v * s2 + NTK_SHUFFLE(v, vdi, 2, 3, 0, 1, 6, 7, 4, 5);
  v = v * s4 + NTK_SHUFFLE(v, vdi, 4, 5, 6, 7, 0, 1, 2, 3);
  return v;
}

template <typename V>
NTK_INLINE void bfly(V& a, V& b) {
  const V s = a + b, d = a - b;
  a = s;
  b = d;
}

// Three stages on eight registers: strides 1, 2, 4 (in register units).
template <typename V>
NTK_INLINE void radix8(V* r) {
  bfly(r[0], r[1]);
  bfly(r[2], r[3]);
  bfly(r[4], r[5]);
  bfly(r[6], r[7]);
  bfly(r[0], r[2]);
  bfly(r[1], r[3]);
  bfly(r[4], r[6]);
  bfly(r[5], r[7]);
  bfly(r[0], r[4]);
  bfly(r[1], r[5]);
  bfly(r[2], r[6]);
  bfly(r[3], r[7]);
}

// First log2(8 W) stages (W = lanes) chunk by chunk of 8 vectors: the lane
// stages in register, then three stages across the eight registers.
template <typename T>
NTK_INLINE void first_stages(T* x, int64_t n) {
  typedef typename VecOf<T>::V V;
  constexpr int W = VecOf<T>::lanes;
  for (int64_t i = 0; i < n; i += 8 * W) {
    V r[8];
    for (int k = 0; k < 8; ++k) r[k] = lanes_stages(load<V>(x + i + k * W));
    radix8(r);
    for (int k = 0; k < 8; ++k) store(x + i + k * W, r[k]);
  }
}

// Stages h, 2h, 4h (h a multiple of the lane count) in one pass.
template <typename T>
NTK_INLINE void radix8_pass(T* x, int64_t n, int64_t h) {
  typedef typename VecOf<T>::V V;
  constexpr int W = VecOf<T>::lanes;
  for (int64_t i = 0; i < n; i += 8 * h) {
    for (int64_t j = i; j < i + h; j += W) {
      V r[8];
      for (int k = 0; k < 8; ++k) r[k] = load<V>(x + j + k * h);
      radix8(r);
      for (int k = 0; k < 8; ++k) store(x + j + k * h, r[k]);
    }
  }
}
template <typename T>
NTK_INLINE void radix4_vpass(T* x, int64_t n, int64_t h) {
  typedef typename VecOf<T>::V V;
  constexpr int W = VecOf<T>::lanes;
  for (int64_t i = 0; i < n; i += 4 * h) {
    for (int64_t j = i; j < i + h; j += W) {
      V a = load<V>(x + j), b = load<V>(x + j + h), c = load<V>(x + j + 2 * h), d = load<V>(x + j + 3 * h);
      bfly(a, b);
      bfly(c, d);
      bfly(a, c);
      bfly(b, d);
      store(x + j, a);
      store(x + j + h, b);
      store(x + j + 2 * h, c);
      store(x + j + 3 * h, d);
    }
  }
}
template <typename T>
NTK_INLINE void radix2_vpass(T* x, int64_t n, int64_t h) {
  typedef typename VecOf<T>::V V;
  constexpr int W = VecOf<T>::lanes;
  for (int64_t i = 0; i < n; i += 2 * h) {
    for (int64_t j = i; j < i + h; j += W) {
      V a = load<V>(x + j), b = load<V>(x + j + h);
      bfly(a, b);
      store(x + j, a);
      store(x + j + h, b);
    }
  }
}

// Stages with stride in [h_begin, h_end) (multiples of the lane count):
// radix-8 passes, then one radix-4 or radix-2 pass for the rest.
template <typename T>
NTK_INLINE void vstages(T* x, int64_t n, int64_t h_begin, int64_t h_end) {
  int64_t h = h_begin;
  for (; h * 8 <= h_end; h *= 8) radix8_pass(x, n, h);
  if (h * 4 <= h_end) {
    radix4_vpass(x, n, h);
  } else if (h * 2 <= h_end) {
    radix2_vpass(x, n, h);
  }
}

template <typename T>
NTK_INLINE void fwht_vector(T* x, int64_t n) {
  constexpr int64_t W = VecOf<T>::lanes;
  // Blocks of 32 KiB stay in L1 for their short-stride stages; the
  // long-stride stages then sweep the whole vector.
  const int64_t block = std::min<int64_t>(n, int64_t{32768} / static_cast<int64_t>(sizeof(T)));
  for (int64_t b = 0; b < n; b += block) {
    first_stages(x + b, block);
    vstages(x + b, block, 8 * W, block);
  }
  vstages(x, n, block, n);
}

#endif  // NTK_VECTOR_FWHT

template <typename T>
NTK_INLINE void fwht_impl(T* x, int64_t n) {
  if (n < 1 || (n & (n - 1)) != 0) throw std::invalid_argument("fwht: length must be a power of two");
#if NTK_VECTOR_FWHT
  if (n >= 8 * VecOf<T>::lanes) return fwht_vector(x, n);
#endif
  fwht_portable(x, n);
}

#if NTK_X86_SIMD
NTK_TARGET_AVX512 void fwht_avx512(float* x, int64_t n) { fwht_impl(x, n); }
NTK_TARGET_AVX512 void fwht_avx512(double* x, int64_t n) { fwht_impl(x, n); }
NTK_TARGET_AVX2 void fwht_avx2(float* x, int64_t n) { fwht_impl(x, n); }
NTK_TARGET_AVX2 void fwht_avx2(double* x, int64_t n) { fwht_impl(x, n); }
#endif

template <typename T>
void fwht_dispatch(T* x, int64_t n) {
#if NTK_X86_SIMD
  switch (simd_level()) {
    case SimdLevel::Avx512:
      return fwht_avx512(x, n);
    case SimdLevel::Avx2:
      return fwht_avx2(x, n);
    default:
      break;
  }
#endif
  fwht_impl(x, n);
}

}  // namespace

void fwht(float* x, int64_t n) { fwht_dispatch(x, n); }
void fwht(double* x, int64_t n) { fwht_dispatch(x, n); }

}  // namespace ntk
