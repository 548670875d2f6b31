#include "sketches/product.hpp"

// Like fwht.cpp: baseline x86-64 build plus AVX2 / AVX-512 clones picked at
// load time (the AVX-512 clone turns the indexed loads into vgather).
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

// Accumulating the squares in T (float for float maps) keeps the loop one
// vector wide; the relative rounding of a 16-lane float sum of positive terms
// is ~1e-6, far below the sketch error it normalises.
template <typename T>
inline double gather_impl(const T* const* src, const int32_t* const* index, int parts, int64_t rows, T* __restrict out) {
  T ss = 0;
  const T* __restrict a = src[0];
  const int32_t* __restrict ia = index[0];
  if (parts == 1) {
#pragma omp simd reduction(+ : ss)
    for (int64_t r = 0; r < rows; ++r) {
      const T v = a[ia[r]];
      out[r] = v;
      ss += v * v;
    }
    return ss;
  }
  const T* __restrict b = src[1];
  const int32_t* __restrict ib = index[1];
  if (parts == 2) {
#pragma omp simd reduction(+ : ss)
    for (int64_t r = 0; r < rows; ++r) {
      const T v = a[ia[r]] * b[ib[r]];
      out[r] = v;
      ss += v * v;
    }
    return ss;
  }
  const T* __restrict c = src[2];
  const int32_t* __restrict ic = index[2];
  if (parts == 3) {
#pragma omp simd reduction(+ : ss)
    for (int64_t r = 0; r < rows; ++r) {
      const T v = a[ia[r]] * b[ib[r]] * c[ic[r]];
      out[r] = v;
      ss += v * v;
    }
    return ss;
  }
  // Four or more: the first three, then one pass per further part.
#pragma omp simd
  for (int64_t r = 0; r < rows; ++r) out[r] = a[ia[r]] * b[ib[r]] * c[ic[r]];
  for (int p = 3; p < parts; ++p) {
    const T* __restrict s = src[p];
    const int32_t* __restrict is = index[p];
    if (p + 1 < parts) {
#pragma omp simd
      for (int64_t r = 0; r < rows; ++r) out[r] *= s[is[r]];
    } else {
#pragma omp simd reduction(+ : ss)
      for (int64_t r = 0; r < rows; ++r) {
        const T v = out[r] * s[is[r]];
        out[r] = v;
        ss += v * v;
      }
    }
  }
  return ss;
}

template <typename T>
inline void scale_impl(T* __restrict x, int64_t n, T s) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

template <typename T>
inline double sum_squares_impl(const T* __restrict x, int64_t n) {
  T ss = 0;
#pragma omp simd reduction(+ : ss)
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  return ss;
}

}  // namespace

NTK_SIMD_CLONES double gather_product(const float* const* src, const int32_t* const* index, int parts, int64_t rows,
                                      float* out) {
  return gather_impl(src, index, parts, rows, out);
}
NTK_SIMD_CLONES double gather_product(const double* const* src, const int32_t* const* index, int parts, int64_t rows,
                                      double* out) {
  return gather_impl(src, index, parts, rows, out);
}
NTK_SIMD_CLONES void scale_in_place(float* x, int64_t n, float s) { scale_impl(x, n, s); }
NTK_SIMD_CLONES void scale_in_place(double* x, int64_t n, double s) { scale_impl(x, n, s); }
NTK_SIMD_CLONES double sum_squares(const float* x, int64_t n) { return sum_squares_impl(x, n); }
NTK_SIMD_CLONES double sum_squares(const double* x, int64_t n) { return sum_squares_impl(x, n); }

}  // namespace ntk
