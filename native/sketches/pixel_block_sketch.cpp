#include "sketches/pixel_block_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <climits>
#include <stdexcept>
#include <utility>

#include "sketches/fwht.hpp"
#include "sketches/sketches.hpp"
#include "sketches/tree_layout.hpp"

// The hot loops are compiled for several x86-64 levels and the best one for
// the CPU is chosen once at load time (GCC function multi-versioning), as in
// the exact CNTK: the library stays portable and the loops use AVX-512 or
// AVX2 where present. Every thread runs the same version, so results do not
// depend on the thread count.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NTK_PB_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NTK_PB_CLONES
#endif
// The helpers below must be inlined into the cloned entry points, or they
// would be compiled once for the baseline target only.
#if defined(__GNUC__)
#define NTK_PB_INLINE inline __attribute__((always_inline))
#else
#define NTK_PB_INLINE inline
#endif

// 64-byte vector types cross no ABI boundary (all helpers are inlined into
// one translation unit), so the ABI note GCC prints for them does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace ntk {

// ------------------------------------------------------------ AlignedBuffer

// ---------------------------------------------------------------- kernels
//
// One entry of a block is one 64-byte vector (GCC vector extensions): every
// operation below is a whole-line SIMD operation in each clone (AVX-512: one
// instruction; AVX2: two; baseline: four), whatever the compiler's
// auto-vectoriser would have made of a 16-iteration lane loop.

namespace {

typedef float VecF __attribute__((vector_size(64)));
typedef double VecD __attribute__((vector_size(64)));
typedef float VecFu __attribute__((vector_size(64), aligned(4)));
typedef double VecDu __attribute__((vector_size(64), aligned(8)));

template <typename T>
struct Vec;
template <>
struct Vec<float> {
  typedef VecF type;
  typedef VecFu unaligned;
};
template <>
struct Vec<double> {
  typedef VecD type;
  typedef VecDu unaligned;
};

template <typename T>
using V = typename Vec<T>::type;
template <typename T>
using Vu = typename Vec<T>::unaligned;

template <typename T>
NTK_PB_INLINE V<T> splat(T a) {
  return V<T>{} + a;
}
template <typename T>
NTK_PB_INLINE V<T> load_lanes(const T* p) {  // any alignment
  return *reinterpret_cast<const Vu<T>*>(p);
}
template <typename T>
NTK_PB_INLINE void store_lanes(T* p, V<T> v) {  // any alignment
  *reinterpret_cast<Vu<T>*>(p) = v;
}

template <typename T>
NTK_PB_INLINE void block_radix2(V<T>* __restrict x, int64_t n, int64_t h) {
  for (int64_t i = 0; i < n; i += 2 * h) {
    V<T>* __restrict a = x + i;
    V<T>* __restrict b = a + h;
    for (int64_t k = 0; k < h; ++k) {
      const V<T> u = a[k], v = b[k];
      a[k] = u + v;
      b[k] = u - v;
    }
  }
}

template <typename T>
NTK_PB_INLINE void block_radix4(V<T>* __restrict x, int64_t n, int64_t h) {
  for (int64_t i = 0; i < n; i += 4 * h) {
    V<T>* __restrict a = x + i;
    V<T>* __restrict b = a + h;
    V<T>* __restrict c = b + h;
    V<T>* __restrict d = c + h;
    for (int64_t k = 0; k < h; ++k) {
      const V<T> s0 = a[k] + b[k], d0 = a[k] - b[k];
      const V<T> s1 = c[k] + d[k], d1 = c[k] - d[k];
      a[k] = s0 + s1;
      b[k] = d0 + d1;
      c[k] = s0 - s1;
      d[k] = d0 - d1;
    }
  }
}

// Three stages (strides h, 2h, 4h) in one pass: the same additions in the
// same order as three radix-2 passes, a third of the memory traffic.
template <typename T>
NTK_PB_INLINE void block_radix8(V<T>* __restrict x, int64_t n, int64_t h) {
  for (int64_t i = 0; i < n; i += 8 * h) {
    V<T>* __restrict p = x + i;
    for (int64_t k = 0; k < h; ++k) {
      const V<T> e0 = p[k], e1 = p[k + h], e2 = p[k + 2 * h], e3 = p[k + 3 * h];
      const V<T> e4 = p[k + 4 * h], e5 = p[k + 5 * h], e6 = p[k + 6 * h], e7 = p[k + 7 * h];
      const V<T> a0 = e0 + e1, a1 = e0 - e1, a2 = e2 + e3, a3 = e2 - e3;
      const V<T> a4 = e4 + e5, a5 = e4 - e5, a6 = e6 + e7, a7 = e6 - e7;
      const V<T> b0 = a0 + a2, b2 = a0 - a2, b1 = a1 + a3, b3 = a1 - a3;
      const V<T> b4 = a4 + a6, b6 = a4 - a6, b5 = a5 + a7, b7 = a5 - a7;
      p[k] = b0 + b4;
      p[k + 4 * h] = b0 - b4;
      p[k + h] = b1 + b5;
      p[k + 5 * h] = b1 - b5;
      p[k + 2 * h] = b2 + b6;
      p[k + 6 * h] = b2 - b6;
      p[k + 3 * h] = b3 + b7;
      p[k + 7 * h] = b3 - b7;
    }
  }
}

// Stages with stride in [h_begin, h_end) over n entries.
template <typename T>
NTK_PB_INLINE void block_stages(V<T>* x, int64_t n, int64_t h_begin, int64_t h_end) {
  int64_t count = 0;
  for (int64_t h = h_begin; h < h_end; h <<= 1) ++count;
  int64_t h = h_begin;
  while (count >= 3) {
    block_radix8<T>(x, n, h);
    h <<= 3;
    count -= 3;
  }
  if (count == 2) block_radix4<T>(x, n, h);
  if (count == 1) block_radix2<T>(x, n, h);
}

// Entries per L1 block: 32 KiB.
constexpr int64_t kL1Rows = 512;

template <typename T>
NTK_PB_INLINE void fwht_signed_impl(const T* x, int64_t in_dim, const T* __restrict sign, const T* lane_scale,
                                    T* out, int64_t n) {
  constexpr int L = kLanes<T>;
  if (n < 1 || (n & (n - 1)) != 0) throw std::invalid_argument("fwht_block: length must be a power of two");
  const V<T> ls = lane_scale ? load_lanes(lane_scale) : splat<T>(T(1));
  V<T>* o = reinterpret_cast<V<T>*>(out);
  const V<T>* xv = reinterpret_cast<const V<T>*>(x);
  const int64_t block = std::min<int64_t>(n, kL1Rows);
  for (int64_t b = 0; b < n; b += block) {
    const int64_t filled = std::min(b + block, std::max<int64_t>(b, in_dim));
    if (sign) {
      for (int64_t i = b; i < filled; ++i) o[i] = (sign[i] * ls) * xv[i];
    } else if (lane_scale || x != out) {
      for (int64_t i = b; i < filled; ++i) o[i] = ls * xv[i];
    }
    if (filled < b + block) std::fill(out + filled * L, out + (b + block) * L, T(0));
    block_stages<T>(o + b, block, 1, block);
  }
  block_stages<T>(o, n, block, n);
}

template <typename T>
NTK_PB_INLINE void combine_impl(const T* ta, const int32_t* __restrict ia, const T* tb, const int32_t* __restrict ib,
                                int64_t rows, T scale, T b_const, T* out, T* sq) {
  const V<T>* a = reinterpret_cast<const V<T>*>(ta);
  const V<T>* b = reinterpret_cast<const V<T>*>(tb);
  V<T>* o = reinterpret_cast<V<T>*>(out);
  V<T> acc = splat<T>(T(0));
  if (tb) {
    for (int64_t r = 0; r < rows; ++r) {
      const V<T> v = scale * a[ia[r]] * b[ib[r]];
      o[r] = v;
      acc += v * v;
    }
  } else {
    const T s = scale * b_const;
    for (int64_t r = 0; r < rows; ++r) {
      const V<T> v = s * a[ia[r]];
      o[r] = v;
      acc += v * v;
    }
  }
  if (sq) store_lanes(sq, acc);
}

// acc[i] += f * s[i] * lf * x[(i - r) * stride] for i in [i0, i1) (no wrap).
template <typename T>
NTK_PB_INLINE void shift_segment(const T* __restrict s, const T* x, int64_t stride, int64_t i0, int64_t i1,
                                 int64_t r, T factor, const T* lf, T* acc) {
  V<T>* a = reinterpret_cast<V<T>*>(acc);
  const V<T> l = lf ? factor * load_lanes(lf) : splat<T>(factor);
  for (int64_t i = i0; i < i1; ++i) a[i] += (s[i] * l) * load_lanes(x + (i - r) * stride);
}

template <typename T>
NTK_PB_INLINE void sign_shift_sum_impl(const SignShift<T>* const* maps, const T* const* x, const int64_t* length,
                                       const T* factor, const T* const* lane_factor, int count, int64_t m,
                                       int64_t stride, T* acc, bool accumulate) {
  constexpr int L = kLanes<T>;
  constexpr int64_t kTile = 128;  // 8 KiB of acc per tile
  for (int64_t i0 = 0; i0 < m; i0 += kTile) {
    const int64_t i1 = std::min(m, i0 + kTile);
    if (!accumulate) std::fill(acc + i0 * L, acc + i1 * L, T(0));
    for (int k = 0; k < count; ++k) {
      const T* s = maps[k]->signs();
      const int64_t r = maps[k]->shift();
      const int64_t n = length ? length[k] : m;
      const T* lf = lane_factor ? lane_factor[k] : nullptr;
      // Output i reads x[j], j = i - r (i >= r) or i - r + m (i < r), when j < n:
      // i in [r, min(r + n, m)) with offset r, and i in [0, r + n - m) with offset r - m.
      const int64_t a0 = std::max(i0, r), a1 = std::min(i1, std::min(r + n, m));
      if (a0 < a1) shift_segment(s, x[k], stride, a0, a1, r, factor[k], lf, acc);
      const int64_t b1 = std::min(i1, std::min(r, r + n - m));
      if (i0 < b1) shift_segment(s, x[k], stride, i0, b1, r - m, factor[k], lf, acc);
    }
  }
}

template <typename T>
NTK_PB_INLINE void scaled_copy_impl(const T* src, int64_t n, const T* lane_scale, const T* row_sign, T row_factor,
                                    T* dst, int64_t dst_stride) {
  const V<T>* sv = reinterpret_cast<const V<T>*>(src);
  const V<T> ls = row_factor * load_lanes(lane_scale);
  if (row_sign) {
    for (int64_t i = 0; i < n; ++i) store_lanes(dst + i * dst_stride, (row_sign[i] * ls) * sv[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) store_lanes(dst + i * dst_stride, ls * sv[i]);
  }
}

template <typename T>
NTK_PB_INLINE void axpy_impl(const T* src, int64_t n, const T* lane_scale, T* acc) {
  const V<T>* sv = reinterpret_cast<const V<T>*>(src);
  V<T>* av = reinterpret_cast<V<T>*>(acc);
  const V<T> ls = load_lanes(lane_scale);
  for (int64_t i = 0; i < n; ++i) av[i] += ls * sv[i];
}

template <typename T>
NTK_PB_INLINE void sumsq_impl(const T* src, int64_t n, T* out) {
  const V<T>* sv = reinterpret_cast<const V<T>*>(src);
  V<T> acc = splat<T>(T(0));
  for (int64_t i = 0; i < n; ++i) acc += sv[i] * sv[i];
  store_lanes(out, acc);
}

template <typename T>
NTK_PB_INLINE void add_sumsq_impl(T* x, const T* v, int64_t n, T* vv, T* xx) {
  V<T>* xv = reinterpret_cast<V<T>*>(x);
  const V<T>* vp = reinterpret_cast<const V<T>*>(v);
  V<T> a = splat<T>(T(0)), b = splat<T>(T(0));
  for (int64_t i = 0; i < n; ++i) {
    const V<T> vi = vp[i];
    const V<T> s = xv[i] + vi;
    xv[i] = s;
    a += vi * vi;
    b += s * s;
  }
  store_lanes(vv, a);
  store_lanes(xx, b);
}

#define NTK_PB_INSTANCES(T, S)                                                                                    \
  NTK_PB_CLONES void fwht_signed_##S(const T* x, int64_t in_dim, const T* sign, const T* lane_scale, T* out,      \
                                     int64_t n) {                                                                 \
    fwht_signed_impl(x, in_dim, sign, lane_scale, out, n);                                                        \
  }                                                                                                               \
  NTK_PB_CLONES void combine_##S(const T* ta, const int32_t* ia, const T* tb, const int32_t* ib, int64_t rows,    \
                                 T scale, T b_const, T* out, T* sq) {                                             \
    combine_impl(ta, ia, tb, ib, rows, scale, b_const, out, sq);                                                  \
  }                                                                                                               \
  NTK_PB_CLONES void sss_##S(const SignShift<T>* const* maps, const T* const* x, const int64_t* length,          \
                             const T* factor, const T* const* lane_factor, int count, int64_t m, int64_t stride,  \
                             T* acc, bool accumulate) {                                                           \
    sign_shift_sum_impl(maps, x, length, factor, lane_factor, count, m, stride, acc, accumulate);                \
  }                                                                                                               \
  NTK_PB_CLONES void scaled_copy_##S(const T* src, int64_t n, const T* lane_scale, const T* row_sign,             \
                                     T row_factor, T* dst, int64_t dst_stride) {                                  \
    scaled_copy_impl(src, n, lane_scale, row_sign, row_factor, dst, dst_stride);                                  \
  }                                                                                                               \
  NTK_PB_CLONES void axpy_##S(const T* src, int64_t n, const T* lane_scale, T* acc) {                             \
    axpy_impl(src, n, lane_scale, acc);                                                                           \
  }                                                                                                               \
  NTK_PB_CLONES void sumsq_##S(const T* src, int64_t n, T* out) { sumsq_impl(src, n, out); }                      \
  NTK_PB_CLONES void add_sumsq_##S(T* x, const T* v, int64_t n, T* vv, T* xx) { add_sumsq_impl(x, v, n, vv, xx); }

NTK_PB_INSTANCES(float, f)
NTK_PB_INSTANCES(double, d)

template <typename T>
void check_maps(const SignShift<T>* const* maps, const int64_t* length, int count, int64_t m) {
  for (int k = 0; k < count; ++k) {
    if (maps[k]->dim() != m) throw std::invalid_argument("sign_shift_sum: map dimension mismatch");
    if (length && (length[k] < 0 || length[k] > m)) throw std::invalid_argument("sign_shift_sum: bad source length");
  }
}

}  // namespace

void fwht_block(float* x, int64_t n) { fwht_signed_f(x, n, nullptr, nullptr, x, n); }
void fwht_block(double* x, int64_t n) { fwht_signed_d(x, n, nullptr, nullptr, x, n); }
void fwht_block_signed(const float* x, int64_t in_dim, const float* sign, const float* lane_scale, float* out,
                       int64_t n) {
  if (in_dim > n) throw std::invalid_argument("fwht_block_signed: input longer than the transform");
  fwht_signed_f(x, in_dim, sign, lane_scale, out, n);
}
void fwht_block_signed(const double* x, int64_t in_dim, const double* sign, const double* lane_scale, double* out,
                       int64_t n) {
  if (in_dim > n) throw std::invalid_argument("fwht_block_signed: input longer than the transform");
  fwht_signed_d(x, in_dim, sign, lane_scale, out, n);
}

void block_combine(const float* ta, const int32_t* ia, const float* tb, const int32_t* ib, int64_t rows,
                   float scale, float b_const, float* out, float* sq) {
  combine_f(ta, ia, tb, ib, rows, scale, b_const, out, sq);
}
void block_combine(const double* ta, const int32_t* ia, const double* tb, const int32_t* ib, int64_t rows,
                   double scale, double b_const, double* out, double* sq) {
  combine_d(ta, ia, tb, ib, rows, scale, b_const, out, sq);
}

void sign_shift_sum(const SignShift<float>* const* maps, const float* const* x, const int64_t* length,
                    const float* factor, const float* const* lane_factor, int count, int64_t m, int64_t stride,
                    float* acc, bool accumulate) {
  check_maps(maps, length, count, m);
  sss_f(maps, x, length, factor, lane_factor, count, m, stride, acc, accumulate);
}
void sign_shift_sum(const SignShift<double>* const* maps, const double* const* x, const int64_t* length,
                    const double* factor, const double* const* lane_factor, int count, int64_t m, int64_t stride,
                    double* acc, bool accumulate) {
  check_maps(maps, length, count, m);
  sss_d(maps, x, length, factor, lane_factor, count, m, stride, acc, accumulate);
}

void block_scaled_copy(const float* src, int64_t n, const float* lane_scale, const float* row_sign,
                       float row_factor, float* dst, int64_t dst_stride) {
  scaled_copy_f(src, n, lane_scale, row_sign, row_factor, dst, dst_stride);
}
void block_scaled_copy(const double* src, int64_t n, const double* lane_scale, const double* row_sign,
                       double row_factor, double* dst, int64_t dst_stride) {
  scaled_copy_d(src, n, lane_scale, row_sign, row_factor, dst, dst_stride);
}
void block_axpy(const float* src, int64_t n, const float* lane_scale, float* acc) { axpy_f(src, n, lane_scale, acc); }
void block_axpy(const double* src, int64_t n, const double* lane_scale, double* acc) {
  axpy_d(src, n, lane_scale, acc);
}
void block_sumsq(const float* src, int64_t n, float* out) { sumsq_f(src, n, out); }
void block_sumsq(const double* src, int64_t n, double* out) { sumsq_d(src, n, out); }
void block_add_sumsq(float* x, const float* v, int64_t n, float* vv, float* xx) { add_sumsq_f(x, v, n, vv, xx); }
void block_add_sumsq(double* x, const double* v, int64_t n, double* vv, double* xx) {
  add_sumsq_d(x, v, n, vv, xx);
}

// ------------------------------------------------------------ balanced rows

std::vector<int32_t> balanced_rows(int64_t rows, int64_t padded, uint64_t seed, uint64_t stream) {
  if (rows < 1 || padded < 1 || padded > (int64_t{1} << 30))
    throw std::invalid_argument("balanced_rows: bad sample size");
  std::vector<int32_t> out(static_cast<size_t>(rows));
  // Fisher–Yates on [0, padded), stopped after the entries a pass needs. The
  // full array is only materialised when it is not much larger than the
  // sample; otherwise the displaced entries live in a sorted side list (same
  // results, O(sample) memory).
  std::vector<int32_t> perm;
  for (int64_t pass = 0; pass * padded < rows; ++pass) {
    const int64_t count = std::min(padded, rows - pass * padded);
    const CounterRng rng(seed, sub_stream(stream, static_cast<uint64_t>(pass)));
    int32_t* dst = out.data() + pass * padded;
    if (padded <= std::max<int64_t>(4 * count, 1 << 16)) {
      perm.resize(static_cast<size_t>(padded));
      for (int64_t i = 0; i < padded; ++i) perm[i] = static_cast<int32_t>(i);
      for (int64_t i = 0; i < count; ++i) {
        const int64_t j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(i), static_cast<uint64_t>(padded - i)));
        std::swap(perm[i], perm[j]);
        dst[i] = perm[i];
      }
    } else {
      std::vector<std::pair<int64_t, int32_t>> moved;  // position -> value, for positions >= i
      auto get = [&](int64_t pos) {
        auto it = std::lower_bound(moved.begin(), moved.end(), std::make_pair(pos, INT32_MIN));
        return (it != moved.end() && it->first == pos) ? it->second : static_cast<int32_t>(pos);
      };
      auto set = [&](int64_t pos, int32_t value) {
        auto it = std::lower_bound(moved.begin(), moved.end(), std::make_pair(pos, INT32_MIN));
        if (it != moved.end() && it->first == pos)
          it->second = value;
        else
          moved.insert(it, {pos, value});
      };
      for (int64_t i = 0; i < count; ++i) {
        const int64_t j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(i), static_cast<uint64_t>(padded - i)));
        const int32_t vi = get(i), vj = get(j);
        dst[i] = vj;
        set(j, vi);
      }
    }
  }
  return out;
}

// ------------------------------------------------------------ BlockHadamard

template <typename T>
BlockHadamard<T>::BlockHadamard(int64_t in_dim, uint64_t seed, uint64_t stream)
    : in_dim_(in_dim), padded_(next_pow2(std::max<int64_t>(in_dim, 1))) {
  if (in_dim < 1) throw std::invalid_argument("BlockHadamard: input dimension must be >= 1");
  if (padded_ > (int64_t{1} << 30)) throw std::invalid_argument("BlockHadamard: input dimension too large");
  const CounterRng rng(seed, stream);
  signs_.resize(static_cast<size_t>(in_dim));
  for (int64_t i = 0; i < in_dim; ++i) signs_[i] = static_cast<T>(rng.sign(static_cast<uint64_t>(i)));
}

template <typename T>
void BlockHadamard<T>::transform_signed(T* buf) const {
  fwht_block_signed(buf, in_dim_, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr), buf, padded_);
}

// ---------------------------------------------------------- BlockTensorSrht

template <typename T>
BlockTensorSrht<T>::BlockTensorSrht(int64_t dim_a, int64_t dim_b, int64_t out_dim, uint64_t seed, uint64_t stream)
    : a_(dim_a, seed, sub_stream(stream, 0)), b_(dim_b, seed, sub_stream(stream, 1)) {
  if (out_dim < 1) throw std::invalid_argument("BlockTensorSrht: output dimension must be >= 1");
  const int64_t pa = a_.padded(), pb = b_.padded();
  if (pa * pb <= out_dim) {
    // The whole grid, out_dim / (pa pb) times over (every pass identical:
    // the exact tensor product, replicated).
    rows_a_.resize(static_cast<size_t>(out_dim));
    rows_b_.resize(static_cast<size_t>(out_dim));
    for (int64_t r = 0; r < out_dim; ++r) {
      const int64_t k = r % (pa * pb);
      rows_a_[r] = static_cast<int32_t>(k / pb);
      rows_b_[r] = static_cast<int32_t>(k % pb);
    }
  } else {
    rows_a_ = balanced_rows(out_dim, pa, seed, sub_stream(stream, 2));
    rows_b_ = balanced_rows(out_dim, pb, seed, sub_stream(stream, 3));
  }
}

template <typename T>
void BlockTensorSrht<T>::combine(const T* ta, const T* tb, T* out, int64_t rows, T factor, T* sq) const {
  const T scale = factor / static_cast<T>(std::sqrt(static_cast<double>(rows)));
  block_combine(ta, rows_a_.data(), tb, rows_b_.data(), rows, scale, b_.sign0(), out, sq);
}

// ----------------------------------------------------------- BlockPolySketch

template <typename T>
BlockPolySketch<T>::BlockPolySketch(int64_t in_dim, int64_t sketch_dim, int leaves, uint64_t seed, uint64_t stream)
    : in_dim_(in_dim), m_(sketch_dim), leaves_(leaves) {
  if (in_dim < 1 || sketch_dim < 1) throw std::invalid_argument("BlockPolySketch: dimensions must be >= 1");
  if (leaves < 2 || leaves > 1024 || (leaves & (leaves - 1)) != 0)
    throw std::invalid_argument("BlockPolySketch: leaves must be a power of two in [2, 1024]");
  leaf_padded_ = next_pow2(in_dim);
  node_padded_ = next_pow2(m_);
  TreeLayout tree = tree_layout(leaves_, leaf_padded_, node_padded_);
  nodes_ = tree_nodes<BlockTensorSrht<T>>(tree, leaves_, in_dim_, m_, seed, stream);
  levels_ = tree.levels;
  node_offset_ = std::move(tree.node);
  slot_offset_ = std::move(tree.slot);
}

template <typename T>
typename BlockPolySketch<T>::Workspace BlockPolySketch<T>::make_workspace() const {
  constexpr int L = kLanes<T>;
  Workspace ws;
  ws.memo.resize(slot_offset_.back() * L);
  ws.ready.assign(slot_offset_.size() - 1, 0);
  ws.value.resize(levels_ * m_ * L);
  ws.mixed.resize(levels_ * node_padded_ * L);
  return ws;
}

template <typename T>
int64_t BlockPolySketch<T>::workspace_bytes() const {
  const int64_t elements = slot_offset_.back() + levels_ * (m_ + node_padded_);
  return elements * kLanes<T> * static_cast<int64_t>(sizeof(T)) + static_cast<int64_t>(slot_offset_.size()) + 3 * 64;
}

template <typename T>
int64_t BlockPolySketch<T>::bytes() const {
  int64_t b = 0;
  for (const auto& node : nodes_) b += node.bytes();
  return b;
}

// Transformed child `side` of node (level, k) for degree j; nullptr stands
// for e1 (flat transform). The child covers leaves [first, first + 2^level).
template <typename T>
const T* BlockPolySketch<T>::child_t(const T* x, const T* lane_scale, int level, int64_t k, int side, int degree,
                                    Workspace& ws) const {
  constexpr int L = kLanes<T>;
  const int64_t s = slot(level, k, side);
  const int64_t first = (2 * k + side) << level;
  const int64_t size = int64_t{1} << level;
  if (first >= degree) return nullptr;
  const bool all_x = first + size <= degree;
  T* dst = all_x ? ws.memo.data() + slot_offset_[s] * L : ws.mixed.data() + level * node_padded_ * L;
  if (all_x && ws.ready[s]) return dst;
  const BlockTensorSrht<T>& node = nodes_[node_offset_[level] + k];
  const BlockHadamard<T>& hd = side == 0 ? node.side_a() : node.side_b();
  if (level == 0) {
    hd.apply(x, dst, lane_scale);
  } else {
    T* v = ws.value.data() + (level - 1) * m_ * L;
    node_value(x, lane_scale, level - 1, 2 * k + side, degree, v, ws);
    hd.apply(v, dst);
  }
  if (all_x) ws.ready[s] = 1;
  return dst;
}

template <typename T>
void BlockPolySketch<T>::node_value(const T* x, const T* lane_scale, int level, int64_t k, int degree, T* out,
                                    Workspace& ws, T* sq) const {
  const T* ta = child_t(x, lane_scale, level, k, 0, degree, ws);
  const T* tb = child_t(x, lane_scale, level, k, 1, degree, ws);
  if (!ta) throw std::logic_error("BlockPolySketch: constant node evaluated");
  nodes_[node_offset_[level] + k].combine(ta, tb, out, m_, T(1), sq);
}

template <typename T>
void BlockPolySketch<T>::apply(const T* x, const T* lane_scale, int count, const int* degree, T* const* out,
                               Workspace& ws, T* sq) const {
  std::fill(ws.ready.begin(), ws.ready.end(), 0);
  for (int i = 0; i < count; ++i) {
    if (degree[i] < 1 || degree[i] > leaves_) throw std::invalid_argument("BlockPolySketch: degree out of range");
    node_value(x, lane_scale, levels_ - 1, 0, degree[i], out[i], ws, sq ? sq + i * kLanes<T> : nullptr);
  }
}

template <typename T>
void BlockPolySketch<T>::apply_powers(const T* x, const T* lane_scale, int count, const int* level, T* const* out,
                                      Workspace& ws, T* sq) const {
  std::fill(ws.ready.begin(), ws.ready.end(), 0);
  for (int i = 0; i < count; ++i) {
    if (level[i] < 0 || level[i] >= levels_) throw std::invalid_argument("BlockPolySketch: level out of range");
    node_value(x, lane_scale, level[i], 0, 1 << (level[i] + 1), out[i], ws, sq ? sq + i * kLanes<T> : nullptr);
  }
}

template <typename T>
const T* BlockPolySketch<T>::leaf0_transform(const Workspace& ws) const {
  const int64_t s = slot(0, 0, 0);
  return ws.ready[s] ? ws.memo.data() + slot_offset_[s] * kLanes<T> : nullptr;
}

// ---------------------------------------------------------------- SignShift

template <typename T>
SignShift<T>::SignShift(int64_t m, uint64_t seed, uint64_t stream, int64_t shift) {
  if (m < 1) throw std::invalid_argument("SignShift: dimension must be >= 1");
  const CounterRng rng(seed, stream);
  signs_.resize(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) signs_[i] = static_cast<T>(rng.sign(static_cast<uint64_t>(i)));
  shift_ = shift < 0 ? static_cast<int64_t>(rng.below(static_cast<uint64_t>(m), static_cast<uint64_t>(m))) : shift % m;
}

// ------------------------------------------------------------- BalancedSrht

template <typename T>
BalancedSrht<T>::BalancedSrht(int64_t in_dim, int64_t out_dim, uint64_t seed, uint64_t stream)
    : in_dim_(in_dim), padded_(next_pow2(std::max<int64_t>(in_dim, 1))) {
  if (in_dim < 1 || out_dim < 1) throw std::invalid_argument("BalancedSrht: dimensions must be >= 1");
  const CounterRng rng(seed, sub_stream(stream, 0));
  signs_.resize(static_cast<size_t>(in_dim));
  for (int64_t i = 0; i < in_dim; ++i) signs_[i] = static_cast<T>(rng.sign(static_cast<uint64_t>(i)));
  rows_ = balanced_rows(out_dim, padded_, seed, sub_stream(stream, 1));
}

template <typename T>
void BalancedSrht<T>::apply(const T* x, T* out, T* work, T factor) const {
  for (int64_t i = 0; i < in_dim_; ++i) work[i] = signs_[i] * x[i];
  std::fill(work + in_dim_, work + padded_, T(0));
  fwht(work, padded_);
  const T scale = factor / static_cast<T>(std::sqrt(static_cast<double>(rows_.size())));
  const int64_t f = out_dim();
  for (int64_t r = 0; r < f; ++r) out[r] = scale * work[rows_[r]];
}

template class BlockHadamard<float>;
template class BlockHadamard<double>;
template class BlockTensorSrht<float>;
template class BlockTensorSrht<double>;
template class BlockPolySketch<float>;
template class BlockPolySketch<double>;
template class SignShift<float>;
template class SignShift<double>;
template class BalancedSrht<float>;
template class BalancedSrht<double>;

}  // namespace ntk
