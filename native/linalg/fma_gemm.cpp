#include "linalg/fma_gemm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/simd.hpp"

// Blocked like any fast GEMM (packed panels of op(A) and op(B), a register
// micro-kernel over an MR x NR block of C), but the blocking never changes
// what an element computes: the k blocks continue each element's chain from
// the value stored by the previous block (a stored partial sum reloads
// exactly), and edge blocks run the same micro-kernel on zero-padded panels
// through a scratch tile.

#if NTK_X86_SIMD
#include <immintrin.h>
#endif

namespace ntk {

namespace {

template <typename T>
using MicroFn = void (*)(int64_t kc, const T* pa, const T* pb, T* c, int64_t ldc, bool from_zero);

template <typename T>
using SkinnyRowsFn = void (*)(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
                              T* c, int64_t ldc, bool accumulate);
template <typename T>
using SkinnyTransposedFn = void (*)(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
                                    T* c, int64_t ldc, bool accumulate);

template <typename T>
struct Kernel {
  int mr, nr;
  MicroFn<T> micro;
  SkinnyRowsFn<T> skinny_rows;
  SkinnyTransposedFn<T> skinny_transposed;
};

// Up to this many columns of C, A B and A^T B run without packing (skinny_rows, skinny_transposed).
constexpr int64_t kSkinnyColumns = 16;

// ---------------------------------------------------------------- portable
// std::fma rounds once, like the vector FMA instructions, so this path gives
// the same bits (slowly, on CPUs without FMA).
namespace portable {
template <typename Scalar>
struct Traits {
  using T = Scalar;
  using V = Scalar;
  static constexpr int L = 1, MR = 4, NV = 4;
  static V zero() { return V(0); }
  static V load(const T* p) { return *p; }
  static void store(T* p, V v) { *p = v; }
  static V broadcast(const T* p) { return *p; }
  static V fma(V a, V b, V c) { return std::fma(a, b, c); }
};
using F32 = Traits<float>;
using F64 = Traits<double>;
#include "linalg/fma_gemm_micro.inc"
}  // namespace portable

#if NTK_X86_SIMD
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
namespace avx512 {
struct F32 {
  using T = float;
  using V = __m512;
  static constexpr int L = 16, MR = 8, NV = 2;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V broadcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
};
struct F64 {
  using T = double;
  using V = __m512d;
  static constexpr int L = 8, MR = 8, NV = 2;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V broadcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
};
#include "linalg/fma_gemm_micro.inc"
}  // namespace avx512
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2 {
struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int L = 8, MR = 6, NV = 2;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V broadcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
};
struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int L = 4, MR = 6, NV = 2;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V broadcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
};
#include "linalg/fma_gemm_micro.inc"
}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // NTK_X86_SIMD

template <class Isa>
Kernel<typename Isa::T> kernel_of(MicroFn<typename Isa::T> fn, SkinnyRowsFn<typename Isa::T> rows,
                                  SkinnyTransposedFn<typename Isa::T> transposed) {
  return {Isa::MR, Isa::NV * Isa::L, fn, rows, transposed};
}
#define NTK_KERNEL_OF(ns, Isa) kernel_of<ns::Isa>(&ns::micro<ns::Isa>, &ns::skinny_rows<ns::Isa>, &ns::skinny_transposed<ns::Isa>)

template <typename T>
Kernel<T> pick_kernel();

template <>
Kernel<float> pick_kernel<float>() {
#if NTK_X86_SIMD
  if (simd_level() == SimdLevel::Avx512) return NTK_KERNEL_OF(avx512, F32);
  if (simd_level() == SimdLevel::Avx2) return NTK_KERNEL_OF(avx2, F32);
#endif
  return NTK_KERNEL_OF(portable, F32);
}

template <>
Kernel<double> pick_kernel<double>() {
#if NTK_X86_SIMD
  if (simd_level() == SimdLevel::Avx512) return NTK_KERNEL_OF(avx512, F64);
  if (simd_level() == SimdLevel::Avx2) return NTK_KERNEL_OF(avx2, F64);
#endif
  return NTK_KERNEL_OF(portable, F64);
}

template <typename T>
const Kernel<T>& kernel() {
  static const Kernel<T> k = pick_kernel<T>();
  return k;
}

// Cache blocking: a KC x NC panel of op(B) and an MC x KC block of op(A) are
// packed at a time (MC a multiple of MR, NC of NR).
constexpr int64_t kKc = 384, kNc = 512, kMcRows = 128;

// op(A)[i0 .. i0 + rows, p0 .. p0 + kc) into MR-row strips, p-major within a
// strip, rows past `rows` zero.
template <typename T>
void pack_a(bool trans, const T* a, int64_t lda, int64_t i0, int64_t rows, int64_t p0, int64_t kc, int mr, T* out) {
  for (int64_t s = 0; s < rows; s += mr) {
    const int64_t valid = std::min<int64_t>(mr, rows - s);
    T* strip = out + s * kc;
    if (trans) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = a + (p0 + p) * lda + i0 + s;
        T* dst = strip + p * mr;
        int64_t r = 0;
        for (; r < valid; ++r) dst[r] = src[r];
        for (; r < mr; ++r) dst[r] = T(0);
      }
    } else {
      for (int64_t r = 0; r < mr; ++r) {
        if (r < valid) {
          const T* src = a + (i0 + s + r) * lda + p0;
          for (int64_t p = 0; p < kc; ++p) strip[p * mr + r] = src[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) strip[p * mr + r] = T(0);
        }
      }
    }
  }
}

// op(B)[p0 .. p0 + kc, j0 .. j0 + cols) into NR-column strips, p-major within
// a strip, columns past `cols` zero.
template <typename T>
void pack_b(bool trans, const T* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t cols, int nr, T* out) {
  for (int64_t s = 0; s < cols; s += nr) {
    const int64_t valid = std::min<int64_t>(nr, cols - s);
    T* strip = out + s * kc;
    if (trans) {
      for (int64_t c = 0; c < nr; ++c) {
        if (c < valid) {
          const T* src = b + (j0 + s + c) * ldb + p0;
          for (int64_t p = 0; p < kc; ++p) strip[p * nr + c] = src[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) strip[p * nr + c] = T(0);
        }
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = b + (p0 + p) * ldb + j0 + s;
        T* dst = strip + p * nr;
        int64_t c = 0;
        for (; c < valid; ++c) dst[c] = src[c];
        for (; c < nr; ++c) dst[c] = T(0);
      }
    }
  }
}

template <typename T>
struct Scratch {
  std::vector<T> a, b, tile;
};

template <typename T>
Scratch<T>& scratch() {
  thread_local Scratch<T> s;
  return s;
}

}  // namespace

template <typename T>
void fma_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
              int64_t ldb, T* c, int64_t ldc, bool accumulate, GemmStore store) {
  if (m <= 0 || n <= 0) return;
  const bool upper = store == GemmStore::Upper;
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = upper ? std::max<int64_t>(i, 0) : 0; j < n; ++j) c[i * ldc + j] = T(0);
    return;
  }
  const Kernel<T>& kern = kernel<T>();
  if (!upper && !trans_b && n <= kSkinnyColumns) {
    if (trans_a)
      kern.skinny_transposed(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    else
      kern.skinny_rows(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  const int mr = kern.mr, nr = kern.nr;
  const int64_t mc_max = std::max<int64_t>(mr, kMcRows / mr * mr);
  const int64_t nc_max = kNc / nr * nr;
  Scratch<T>& s = scratch<T>();
  const int64_t kc_max = std::min(kKc, k);
  s.a.resize(static_cast<size_t>(mc_max * kc_max));
  s.b.resize(static_cast<size_t>(nc_max * kc_max));
  s.tile.resize(static_cast<size_t>(mr * nr));
  T* tile = s.tile.data();

  for (int64_t jc = 0; jc < n; jc += nc_max) {
    const int64_t nc = std::min(nc_max, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = std::min(kKc, k - pc);
      const bool from_zero = pc == 0 && !accumulate;
      pack_b(trans_b, b, ldb, pc, kc, jc, nc, nr, s.b.data());
      for (int64_t ic = 0; ic < m; ic += mc_max) {
        const int64_t mc = std::min(mc_max, m - ic);
        // Upper: rows wholly below this panel's last column have nothing to do.
        if (upper && ic > jc + nc - 1) break;
        pack_a(trans_a, a, lda, ic, mc, pc, kc, mr, s.a.data());
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int64_t j0 = jc + jr, cols = std::min<int64_t>(nr, nc - jr);
          const T* pb = s.b.data() + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int64_t i0 = ic + ir, rows = std::min<int64_t>(mr, mc - ir);
            if (upper && i0 > j0 + cols - 1) break;  // the rest of the strip is below the diagonal
            const T* pa = s.a.data() + ir * kc;
            T* cij = c + i0 * ldc + j0;
            const bool straddles = upper && j0 < i0 + rows - 1;
            if (rows == mr && cols == nr && !straddles) {
              kern.micro(kc, pa, pb, cij, ldc, from_zero);
              continue;
            }
            // Edge or diagonal block: the same kernel on a scratch tile.
            auto stored = [&](int64_t r, int64_t col) { return r < rows && col < cols && (!upper || j0 + col >= i0 + r); };
            for (int64_t r = 0; r < mr; ++r)
              for (int64_t col = 0; col < nr; ++col)
                tile[r * nr + col] = !from_zero && stored(r, col) ? cij[r * ldc + col] : T(0);
            kern.micro(kc, pa, pb, tile, nr, from_zero);
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t col = 0; col < cols; ++col)
                if (stored(r, col)) cij[r * ldc + col] = tile[r * nr + col];
          }
        }
      }
    }
  }
}

template void fma_gemm<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                              float*, int64_t, bool, GemmStore);
template void fma_gemm<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                               double*, int64_t, bool, GemmStore);

}  // namespace ntk
