#include "features/pixel_block_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "sketches/fwht.hpp"
#include "sketches/sketches.hpp"

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

namespace ntk {

// ------------------------------------------------------------ AlignedBuffer

template <typename T>
void AlignedBuffer<T>::resize(int64_t n) {
  release();
  size_ = 0;
  if (n <= 0) return;
  // Round up to whole cache lines so vector loops may run to the line end.
  const int64_t bytes = (n * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64;
  data_ = static_cast<T*>(::operator new(static_cast<size_t>(bytes), std::align_val_t(64)));
  size_ = n;
  std::memset(data_, 0, static_cast<size_t>(bytes));
}

template <typename T>
void AlignedBuffer<T>::zero() {
  if (data_) std::memset(data_, 0, static_cast<size_t>(size_ * sizeof(T)));
}

// ---------------------------------------------------------------- FWHT

namespace {

template <typename T, int L>
inline void block_radix2(T* __restrict x, int64_t n, int64_t h) {
  const int64_t run = h * L;
  for (int64_t i = 0; i < n; i += 2 * h) {
    T* __restrict a = x + i * L;
    T* __restrict b = a + run;
#pragma omp simd
    for (int64_t k = 0; k < run; ++k) {
      const T u = a[k], v = b[k];
      a[k] = u + v;
      b[k] = u - v;
    }
  }
}

template <typename T, int L>
inline void block_radix4(T* __restrict x, int64_t n, int64_t h) {
  const int64_t run = h * L;
  for (int64_t i = 0; i < n; i += 4 * h) {
    T* __restrict a = x + i * L;
    T* __restrict b = a + run;
    T* __restrict c = b + run;
    T* __restrict d = c + run;
#pragma omp simd
    for (int64_t k = 0; k < run; ++k) {
      const T s0 = a[k] + b[k], d0 = a[k] - b[k];
      const T s1 = c[k] + d[k], d1 = c[k] - d[k];
      a[k] = s0 + s1;
      b[k] = d0 + d1;
      c[k] = s0 - s1;
      d[k] = d0 - d1;
    }
  }
}

// Stages with stride in [h_begin, h_end) over n entries: radix-4 pairs, one
// radix-2 stage first when their number is odd.
template <typename T, int L>
inline void block_stages(T* x, int64_t n, int64_t h_begin, int64_t h_end) {
  int64_t count = 0;
  for (int64_t h = h_begin; h < h_end; h <<= 1) ++count;
  int64_t h = h_begin;
  if (count % 2 == 1) {
    block_radix2<T, L>(x, n, h);
    h <<= 1;
  }
  for (; h < h_end; h <<= 2) block_radix4<T, L>(x, n, h);
}

template <typename T>
inline void fwht_block_impl(T* x, int64_t n) {
  constexpr int L = kLanes<T>;
  if (n < 1 || (n & (n - 1)) != 0) throw std::invalid_argument("fwht_block: length must be a power of two");
  // Short strides block by block (16 KiB, in L1), then the long strides.
  const int64_t block = std::min<int64_t>(n, 256);
  for (int64_t b = 0; b < n; b += block) block_stages<T, L>(x + b * L, block, 1, block);
  block_stages<T, L>(x, n, block, n);
}

template <typename T>
inline void combine_impl(const T* __restrict ta, const int32_t* ia, const T* __restrict tb, const int32_t* ib,
                         int64_t rows, T scale, T b_const, T* __restrict out) {
  constexpr int L = kLanes<T>;
  if (tb) {
    for (int64_t r = 0; r < rows; ++r) {
      const T* __restrict pa = ta + static_cast<int64_t>(ia[r]) * L;
      const T* __restrict pb = tb + static_cast<int64_t>(ib[r]) * L;
      T* __restrict o = out + r * L;
#pragma omp simd
      for (int l = 0; l < L; ++l) o[l] = scale * pa[l] * pb[l];
    }
  } else {
    const T s = scale * b_const;
    for (int64_t r = 0; r < rows; ++r) {
      const T* __restrict pa = ta + static_cast<int64_t>(ia[r]) * L;
      T* __restrict o = out + r * L;
#pragma omp simd
      for (int l = 0; l < L; ++l) o[l] = s * pa[l];
    }
  }
}

template <typename T>
inline void signs_impl(const T* __restrict s, const T* __restrict x, int64_t n, T* __restrict out) {
  constexpr int L = kLanes<T>;
  for (int64_t i = 0; i < n; ++i) {
    const T si = s[i];
#pragma omp simd
    for (int l = 0; l < L; ++l) out[i * L + l] = si * x[i * L + l];
  }
}

// acc[i] += f * s[i] * x[j * stride] for i in [i0, i1), j = i - r (no wrap).
template <typename T>
inline void shift_segment(const T* __restrict s, const T* __restrict x, int64_t stride, int64_t i0, int64_t i1,
                          int64_t r, T factor, T* __restrict acc) {
  constexpr int L = kLanes<T>;
  for (int64_t i = i0; i < i1; ++i) {
    const T f = factor * s[i];
    const T* __restrict p = x + (i - r) * stride;
    T* __restrict a = acc + i * L;
#pragma omp simd
    for (int l = 0; l < L; ++l) a[l] += f * p[l];
  }
}

template <typename T>
inline void sign_shift_sum_impl(const SignShift<T>* const* maps, const T* const* x, int count, int64_t m,
                                int64_t stride, T factor, T* acc, bool accumulate) {
  constexpr int L = kLanes<T>;
  constexpr int64_t kTile = 128;  // 8 KiB of acc per tile
  for (int64_t i0 = 0; i0 < m; i0 += kTile) {
    const int64_t i1 = std::min(m, i0 + kTile);
    if (!accumulate) std::fill(acc + i0 * L, acc + i1 * L, T(0));
    for (int k = 0; k < count; ++k) {
      const T* s = maps[k]->signs();
      const int64_t r = maps[k]->shift();
      // i < r reads x[i - r + m], i >= r reads x[i - r].
      const int64_t split = std::min(std::max(r, i0), i1);
      if (i0 < split) shift_segment(s, x[k], stride, i0, split, r - m, factor, acc);
      if (split < i1) shift_segment(s, x[k], stride, split, i1, r, factor, acc);
    }
  }
}

NTK_PB_CLONES void fwht_block_f(float* x, int64_t n) { fwht_block_impl(x, n); }
NTK_PB_CLONES void fwht_block_d(double* x, int64_t n) { fwht_block_impl(x, n); }
NTK_PB_CLONES void combine_f(const float* ta, const int32_t* ia, const float* tb, const int32_t* ib, int64_t rows,
                             float scale, float b_const, float* out) {
  combine_impl(ta, ia, tb, ib, rows, scale, b_const, out);
}
NTK_PB_CLONES void combine_d(const double* ta, const int32_t* ia, const double* tb, const int32_t* ib, int64_t rows,
                             double scale, double b_const, double* out) {
  combine_impl(ta, ia, tb, ib, rows, scale, b_const, out);
}
NTK_PB_CLONES void signs_f(const float* s, const float* x, int64_t n, float* out) { signs_impl(s, x, n, out); }
NTK_PB_CLONES void signs_d(const double* s, const double* x, int64_t n, double* out) { signs_impl(s, x, n, out); }
NTK_PB_CLONES void sss_f(const SignShift<float>* const* maps, const float* const* x, int count, int64_t m, int64_t stride,
                         float factor, float* acc, bool accumulate) {
  sign_shift_sum_impl(maps, x, count, m, stride, factor, acc, accumulate);
}
NTK_PB_CLONES void sss_d(const SignShift<double>* const* maps, const double* const* x, int count, int64_t m, int64_t stride,
                         double factor, double* acc, bool accumulate) {
  sign_shift_sum_impl(maps, x, count, m, stride, factor, acc, accumulate);
}

inline void apply_signs(const float* s, const float* x, int64_t n, float* out) { signs_f(s, x, n, out); }
inline void apply_signs(const double* s, const double* x, int64_t n, double* out) { signs_d(s, x, n, out); }

}  // namespace

void fwht_block(float* x, int64_t n) { fwht_block_f(x, n); }
void fwht_block(double* x, int64_t n) { fwht_block_d(x, n); }

void block_combine(const float* ta, const int32_t* ia, const float* tb, const int32_t* ib, int64_t rows,
                          float scale, float b_const, float* out) {
  combine_f(ta, ia, tb, ib, rows, scale, b_const, out);
}
void block_combine(const double* ta, const int32_t* ia, const double* tb, const int32_t* ib, int64_t rows,
                           double scale, double b_const, double* out) {
  combine_d(ta, ia, tb, ib, rows, scale, b_const, out);
}

void sign_shift_sum(const SignShift<float>* const* maps, const float* const* x, int count, int64_t m,
                           int64_t stride, float factor, float* acc, bool accumulate) {
  for (int k = 0; k < count; ++k)
    if (maps[k]->dim() != m) throw std::invalid_argument("sign_shift_sum: map dimension mismatch");
  sss_f(maps, x, count, m, stride, factor, acc, accumulate);
}
void sign_shift_sum(const SignShift<double>* const* maps, const double* const* x, int count, int64_t m,
                            int64_t stride, double factor, double* acc, bool accumulate) {
  for (int k = 0; k < count; ++k)
    if (maps[k]->dim() != m) throw std::invalid_argument("sign_shift_sum: map dimension mismatch");
  sss_d(maps, x, count, m, stride, factor, acc, accumulate);
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
void BlockHadamard<T>::apply(const T* x, T* out) const {
  constexpr int L = kLanes<T>;
  apply_signs(signs_.data(), x, in_dim_, out);
  std::fill(out + in_dim_ * L, out + padded_ * L, T(0));
  fwht_block(out, padded_);
}

template <typename T>
void BlockHadamard<T>::apply_inplace(T* buf) const {
  constexpr int L = kLanes<T>;
  apply_signs(signs_.data(), buf, in_dim_, buf);
  std::fill(buf + in_dim_ * L, buf + padded_ * L, T(0));
  fwht_block(buf, padded_);
}

// ---------------------------------------------------------- BlockTensorSrht

template <typename T>
BlockTensorSrht<T>::BlockTensorSrht(int64_t dim_a, int64_t dim_b, int64_t out_dim, uint64_t seed, uint64_t stream)
    : a_(dim_a, seed, sub_stream(stream, 0)), b_(dim_b, seed, sub_stream(stream, 1)) {
  rows_a_ = sample_rows(out_dim, a_.padded(), seed, sub_stream(stream, 2));
  rows_b_ = sample_rows(out_dim, b_.padded(), seed, sub_stream(stream, 3));
}

template <typename T>
void BlockTensorSrht<T>::combine(const T* ta, const T* tb, T* out, int64_t rows, T factor) const {
  const T scale = factor / static_cast<T>(std::sqrt(static_cast<double>(rows)));
  block_combine(ta, rows_a_.data(), tb, rows_b_.data(), rows, scale, b_.sign0(), out);
}

// ----------------------------------------------------------- BlockPolySketch

template <typename T>
BlockPolySketch<T>::BlockPolySketch(int64_t in_dim, int64_t sketch_dim, int leaves, uint64_t seed, uint64_t stream)
    : in_dim_(in_dim), m_(sketch_dim), leaves_(leaves) {
  if (in_dim < 1 || sketch_dim < 1) throw std::invalid_argument("BlockPolySketch: dimensions must be >= 1");
  if (leaves < 2 || leaves > 1024 || (leaves & (leaves - 1)) != 0)
    throw std::invalid_argument("BlockPolySketch: leaves must be a power of two in [2, 1024]");
  while ((1 << levels_) < leaves_) ++levels_;
  leaf_padded_ = next_pow2(in_dim);
  node_padded_ = next_pow2(m_);
  node_offset_.assign(static_cast<size_t>(levels_) + 1, 0);
  for (int l = 0; l < levels_; ++l) node_offset_[l + 1] = node_offset_[l] + (leaves_ >> (l + 1));
  for (int l = 0; l < levels_; ++l) {
    const int64_t child_dim = l == 0 ? in_dim_ : m_;
    for (int64_t k = 0; k < (leaves_ >> (l + 1)); ++k)
      nodes_.emplace_back(child_dim, child_dim, m_, seed, sub_stream(stream, node_offset_[l] + k));
  }
  slot_offset_.assign(2 * nodes_.size() + 1, 0);
  for (int l = 0; l < levels_; ++l)
    for (int64_t k = 0; k < (leaves_ >> (l + 1)); ++k)
      for (int side = 0; side < 2; ++side) {
        const int64_t s = slot(l, k, side);
        slot_offset_[s + 1] = slot_offset_[s] + (l == 0 ? leaf_padded_ : node_padded_);
      }
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
const T* BlockPolySketch<T>::child_t(const T* x, int level, int64_t k, int side, int degree, Workspace& ws) const {
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
    hd.apply(x, dst);
  } else {
    T* v = ws.value.data() + (level - 1) * m_ * L;
    node_value(x, level - 1, 2 * k + side, degree, v, ws);
    hd.apply(v, dst);
  }
  if (all_x) ws.ready[s] = 1;
  return dst;
}

template <typename T>
void BlockPolySketch<T>::node_value(const T* x, int level, int64_t k, int degree, T* out, Workspace& ws) const {
  const T* ta = child_t(x, level, k, 0, degree, ws);
  const T* tb = child_t(x, level, k, 1, degree, ws);
  if (!ta) throw std::logic_error("BlockPolySketch: constant node evaluated");
  nodes_[node_offset_[level] + k].combine(ta, tb, out, m_);
}

template <typename T>
void BlockPolySketch<T>::apply(const T* x, int count, const int* degree, T* const* out, Workspace& ws) const {
  std::fill(ws.ready.begin(), ws.ready.end(), 0);
  for (int i = 0; i < count; ++i) {
    if (degree[i] < 1 || degree[i] > leaves_) throw std::invalid_argument("BlockPolySketch: degree out of range");
    node_value(x, levels_ - 1, 0, degree[i], out[i], ws);
  }
}

// ---------------------------------------------------------------- SignShift

template <typename T>
SignShift<T>::SignShift(int64_t m, uint64_t seed, uint64_t stream) {
  if (m < 1) throw std::invalid_argument("SignShift: dimension must be >= 1");
  const CounterRng rng(seed, stream);
  signs_.resize(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) signs_[i] = static_cast<T>(rng.sign(static_cast<uint64_t>(i)));
  shift_ = static_cast<int64_t>(rng.below(static_cast<uint64_t>(m), static_cast<uint64_t>(m)));
}

template class AlignedBuffer<float>;
template class AlignedBuffer<double>;
template class BlockHadamard<float>;
template class BlockHadamard<double>;
template class BlockTensorSrht<float>;
template class BlockTensorSrht<double>;
template class BlockPolySketch<float>;
template class BlockPolySketch<double>;
template class SignShift<float>;
template class SignShift<double>;

}  // namespace ntk
