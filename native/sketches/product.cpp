#include "sketches/product.hpp"

#include <algorithm>

#include "common/simd.hpp"

#if NTK_X86_SIMD
#include <immintrin.h>
#endif

// GCC 12 reports the deliberately undefined pass-through operand of the
// gather intrinsics as "maybe uninitialized".
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ntk {

namespace {

constexpr int kLanes = 16;

// Keeps a multiply from being fused with the add that follows it (FMA rounds
// once, the baseline twice): the same bits with or without FMA hardware.
#if defined(__GNUC__) || defined(__clang__)
#define NTK_UNFUSED(x) __asm__("" : "+v"(x))
#define NTK_UNFUSED_X(x) __asm__("" : "+x"(x))
#else
#define NTK_UNFUSED(x)
#define NTK_UNFUSED_X(x)
#endif

template <typename T>
inline double reduce_lanes(const T* lanes) {
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += static_cast<double>(lanes[k]);
  return s;
}

// Rows [r, rows) one at a time, continuing the lane pattern.
template <typename T>
inline __attribute__((always_inline)) void tail_rows(const T* first, int parts, const T* const* src,
                                                     const int32_t* const* index, const T* weights, int64_t r,
                                                     int64_t rows, T* out, T* lanes) {
  for (; r < rows; ++r) {
    int p = 0;
    T v;
    if (first) {
      v = first[r];
    } else {
      v = src[0][index[0][r]];
      p = 1;
    }
    for (; p < parts; ++p) v *= src[p][index[p][r]];
    if (weights) v *= weights[r];
    if (out) out[r] = v;
    T sq = v * v;
    NTK_UNFUSED_X(sq);
    lanes[r % kLanes] += sq;
  }
}

template <typename T>
double product_baseline(const T* first, int parts, const T* const* src, const int32_t* const* index,
                        const T* weights, int64_t rows, T* out) {
  T lanes[kLanes] = {};
  tail_rows(first, parts, src, index, weights, 0, rows, out, lanes);
  return reduce_lanes(lanes);
}

#if NTK_X86_SIMD

NTK_TARGET_AVX512 double product_avx512(const float* first, int parts, const float* const* src,
                                        const int32_t* const* index, const float* weights, int64_t rows, float* out) {
  __m512 acc = _mm512_setzero_ps();
  int64_t r = 0;
  for (; r + 16 <= rows; r += 16) {
    __m512 v;
    int p = 0;
    if (first) {
      v = _mm512_loadu_ps(first + r);
    } else {
      v = _mm512_i32gather_ps(_mm512_loadu_si512(index[0] + r), src[0], 4);
      p = 1;
    }
    for (; p < parts; ++p) v = _mm512_mul_ps(v, _mm512_i32gather_ps(_mm512_loadu_si512(index[p] + r), src[p], 4));
    if (weights) v = _mm512_mul_ps(v, _mm512_loadu_ps(weights + r));
    if (out) _mm512_storeu_ps(out + r, v);
    __m512 sq = _mm512_mul_ps(v, v);
    NTK_UNFUSED(sq);
    acc = _mm512_add_ps(acc, sq);
  }
  alignas(64) float lanes[kLanes];
  _mm512_store_ps(lanes, acc);
  tail_rows(first, parts, src, index, weights, r, rows, out, lanes);
  return reduce_lanes(lanes);
}

NTK_TARGET_AVX512 double product_avx512(const double* first, int parts, const double* const* src,
                                        const int32_t* const* index, const double* weights, int64_t rows,
                                        double* out) {
  __m512d acc[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
  int64_t r = 0;
  for (; r + 16 <= rows; r += 16) {
    for (int h = 0; h < 2; ++h) {
      const int64_t q = r + 8 * h;
      __m512d v;
      int p = 0;
      if (first) {
        v = _mm512_loadu_pd(first + q);
      } else {
        v = _mm512_i32gather_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(index[0] + q)), src[0], 8);
        p = 1;
      }
      for (; p < parts; ++p)
        v = _mm512_mul_pd(v, _mm512_i32gather_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(index[p] + q)),
                                                 src[p], 8));
      if (weights) v = _mm512_mul_pd(v, _mm512_loadu_pd(weights + q));
      if (out) _mm512_storeu_pd(out + q, v);
      __m512d sq = _mm512_mul_pd(v, v);
      NTK_UNFUSED(sq);
      acc[h] = _mm512_add_pd(acc[h], sq);
    }
  }
  alignas(64) double lanes[kLanes];
  _mm512_store_pd(lanes, acc[0]);
  _mm512_store_pd(lanes + 8, acc[1]);
  tail_rows(first, parts, src, index, weights, r, rows, out, lanes);
  return reduce_lanes(lanes);
}

NTK_TARGET_AVX2 double product_avx2(const float* first, int parts, const float* const* src,
                                    const int32_t* const* index, const float* weights, int64_t rows, float* out) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t r = 0;
  for (; r + 16 <= rows; r += 16) {
    for (int h = 0; h < 2; ++h) {
      const int64_t q = r + 8 * h;
      __m256 v;
      int p = 0;
      if (first) {
        v = _mm256_loadu_ps(first + q);
      } else {
        v = _mm256_i32gather_ps(src[0], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(index[0] + q)), 4);
        p = 1;
      }
      for (; p < parts; ++p)
        v = _mm256_mul_ps(
            v, _mm256_i32gather_ps(src[p], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(index[p] + q)), 4));
      if (weights) v = _mm256_mul_ps(v, _mm256_loadu_ps(weights + q));
      if (out) _mm256_storeu_ps(out + q, v);
      __m256 sq = _mm256_mul_ps(v, v);
      NTK_UNFUSED_X(sq);
      acc[h] = _mm256_add_ps(acc[h], sq);
    }
  }
  alignas(32) float lanes[kLanes];
  _mm256_store_ps(lanes, acc[0]);
  _mm256_store_ps(lanes + 8, acc[1]);
  tail_rows(first, parts, src, index, weights, r, rows, out, lanes);
  return reduce_lanes(lanes);
}

NTK_TARGET_AVX2 double product_avx2(const double* first, int parts, const double* const* src,
                                    const int32_t* const* index, const double* weights, int64_t rows, double* out) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  int64_t r = 0;
  for (; r + 16 <= rows; r += 16) {
    for (int h = 0; h < 4; ++h) {
      const int64_t q = r + 4 * h;
      __m256d v;
      int p = 0;
      if (first) {
        v = _mm256_loadu_pd(first + q);
      } else {
        v = _mm256_i32gather_pd(src[0], _mm_loadu_si128(reinterpret_cast<const __m128i*>(index[0] + q)), 8);
        p = 1;
      }
      for (; p < parts; ++p)
        v = _mm256_mul_pd(v,
                          _mm256_i32gather_pd(src[p], _mm_loadu_si128(reinterpret_cast<const __m128i*>(index[p] + q)), 8));
      if (weights) v = _mm256_mul_pd(v, _mm256_loadu_pd(weights + q));
      if (out) _mm256_storeu_pd(out + q, v);
      __m256d sq = _mm256_mul_pd(v, v);
      NTK_UNFUSED_X(sq);
      acc[h] = _mm256_add_pd(acc[h], sq);
    }
  }
  alignas(32) double lanes[kLanes];
  for (int h = 0; h < 4; ++h) _mm256_store_pd(lanes + 4 * h, acc[h]);
  tail_rows(first, parts, src, index, weights, r, rows, out, lanes);
  return reduce_lanes(lanes);
}

template <typename T>
NTK_TARGET_AVX2 void scale_avx2(T* x, int64_t n, T s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}
template <typename T>
NTK_TARGET_AVX512 void scale_avx512(T* x, int64_t n, T s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}
template <typename T>
NTK_TARGET_AVX2 void multiply_pad_avx2(const T* a, const T* b, int64_t n, int64_t padded, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
  std::fill(out + n, out + padded, T(0));
}
template <typename T>
NTK_TARGET_AVX512 void multiply_pad_avx512(const T* a, const T* b, int64_t n, int64_t padded, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
  std::fill(out + n, out + padded, T(0));
}

#endif  // NTK_X86_SIMD

template <typename T>
double product_dispatch(const T* first, int parts, const T* const* src, const int32_t* const* index,
                        const T* weights, int64_t rows, T* out) {
#if NTK_X86_SIMD
  switch (simd_level()) {
    case SimdLevel::Avx512:
      return product_avx512(first, parts, src, index, weights, rows, out);
    case SimdLevel::Avx2:
      return product_avx2(first, parts, src, index, weights, rows, out);
    default:
      break;
  }
#endif
  return product_baseline(first, parts, src, index, weights, rows, out);
}

template <typename T>
void scale_dispatch(T* x, int64_t n, T s) {
#if NTK_X86_SIMD
  if (simd_level() == SimdLevel::Avx512) return scale_avx512(x, n, s);
  if (simd_level() == SimdLevel::Avx2) return scale_avx2(x, n, s);
#endif
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

template <typename T>
void multiply_pad_dispatch(const T* a, const T* b, int64_t n, int64_t padded, T* out) {
#if NTK_X86_SIMD
  if (simd_level() == SimdLevel::Avx512) return multiply_pad_avx512(a, b, n, padded, out);
  if (simd_level() == SimdLevel::Avx2) return multiply_pad_avx2(a, b, n, padded, out);
#endif
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
  std::fill(out + n, out + padded, T(0));
}

}  // namespace

double product_rows(const float* first, int parts, const float* const* src, const int32_t* const* index,
                    const float* weights, int64_t rows, float* out) {
  return product_dispatch(first, parts, src, index, weights, rows, out);
}
double product_rows(const double* first, int parts, const double* const* src, const int32_t* const* index,
                    const double* weights, int64_t rows, double* out) {
  return product_dispatch(first, parts, src, index, weights, rows, out);
}
void scale_in_place(float* x, int64_t n, float s) { scale_dispatch(x, n, s); }
void scale_in_place(double* x, int64_t n, double s) { scale_dispatch(x, n, s); }
void multiply_pad(const float* a, const float* b, int64_t n, int64_t padded, float* out) {
  multiply_pad_dispatch(a, b, n, padded, out);
}
void multiply_pad(const double* a, const double* b, int64_t n, int64_t padded, double* out) {
  multiply_pad_dispatch(a, b, n, padded, out);
}
// A sum of squares is a product with one contiguous factor and no output.
double sum_squares(const float* x, int64_t n) { return product_dispatch<float>(x, 0, nullptr, nullptr, nullptr, n, nullptr); }
double sum_squares(const double* x, int64_t n) { return product_dispatch<double>(x, 0, nullptr, nullptr, nullptr, n, nullptr); }

}  // namespace ntk
