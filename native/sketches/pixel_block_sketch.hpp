// Pixel-block sketches: the SRHT / TensorSRHT / PolySketch of docs/math.md#sketch-primitives applied
// to a block of kLanes<T> vectors at once (16 in float32, 8 in float64: one
// 64-byte cache line), stored interleaved: entry i of vector b at
// x[i * kLanes + b]. CNTKSketch runs the same sketches on every pixel of every
// image; with one vector at a time the first stages of the Walsh–Hadamard
// transform (strides 1, 2, 4) cannot use SIMD and the transform is bound by
// scalar work, while with interleaved blocks every butterfly is a full-width
// vector operation whatever the stride (about 7x faster at m = 2048).
//
// The random parameters (signs, sampled rows) follow the definitions of
// sketches/sketches.hpp exactly (H entries +-1, rows uniform with
// replacement, scale 1/sqrt(rows)), drawn from the counter RNG with the
// public sample_rows and CounterRng, so each object is a pure function of
// (seed, stream) and results never depend on thread count or batching.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "common/aligned_buffer.hpp"
#include "sketches/rng.hpp"

namespace ntk {

/// Vectors per block: one 64-byte line per entry.
template <typename T>
constexpr int kLanes = static_cast<int>(64 / sizeof(T));

/// In-place unnormalised Walsh–Hadamard transform of every vector of a block:
/// x holds n entries (n a power of two) of kLanes<T> lanes.
void fwht_block(float* x, int64_t n);
void fwht_block(double* x, int64_t n);

/// out (n entries) = H (D x), where (D x)[i] = sign[i] * lane_scale[lane] * x[i]
/// for i < in_dim and 0 beyond (x may equal out; lane_scale nullptr = 1).
/// The signs are applied block by block as the transform's first pass, so
/// they cost no extra pass over memory.
void fwht_block_signed(const float* x, int64_t in_dim, const float* sign, const float* lane_scale, float* out,
                       int64_t n);
void fwht_block_signed(const double* x, int64_t in_dim, const double* sign, const double* lane_scale,
                       double* out, int64_t n);

/// Row samples of a "balanced" SRHT: `rows` indices into [0, padded) taken
/// pass by pass from independent random permutations (pass k uses rows
/// k * padded .. (k + 1) * padded - 1), so each index appears floor or ceil of
/// rows / padded times. Every single sample is uniform, as with sampling
/// with replacement, so inner products stay unbiased; but the sampled rows of
/// H D x have exactly the right total energy whenever rows is a multiple of
/// padded (the transform is then orthogonal up to scale: no error at all)
/// and a finite-population correction (1 - rows/padded) on the variance
/// otherwise. This matters for CNTKSketch, whose Gram matrices are nearly
/// rank one: their error is that of a few norms, not an average over many
/// entries.
std::vector<int32_t> balanced_rows(int64_t rows, int64_t padded, uint64_t seed, uint64_t stream);

/// x -> H D x for a block: random signs D (stream `stream`), zero padding to
/// a power of two, unnormalised Walsh–Hadamard transform.
template <typename T>
class BlockHadamard {
 public:
  BlockHadamard() = default;
  BlockHadamard(int64_t in_dim, uint64_t seed, uint64_t stream);
  int64_t in_dim() const { return in_dim_; }
  int64_t padded() const { return padded_; }
  const T* signs() const { return signs_.data(); }
  /// The sign of coordinate 0: H D e1 = sign0 * (1, ..., 1).
  T sign0() const { return signs_.empty() ? T(1) : signs_[0]; }
  /// out (padded() entries) = H D (x * lane_scale) for x of in_dim() entries
  /// (x may equal out; lane_scale nullptr = 1).
  void apply(const T* x, T* out, const T* lane_scale = nullptr) const {
    fwht_block_signed(x, in_dim_, signs_.data(), lane_scale, out, padded_);
  }
  /// buf holds D x already in its first in_dim() entries: zero-pads and transforms.
  void transform_signed(T* buf) const;
  int64_t bytes() const { return static_cast<int64_t>(signs_.size() * sizeof(T)); }

 private:
  int64_t in_dim_ = 0, padded_ = 0;
  std::vector<T> signs_;
};

/// out[r] = scale * ta[ia[r]] * tb[ib[r]] (lane-wise) for r < rows; tb null
/// means the flat transform b_const * (1, ..., 1) of e1. When sq is not
/// null, sq[lane] = sum_r out[r]^2 (the squared norm of each output vector).
void block_combine(const float* ta, const int32_t* ia, const float* tb, const int32_t* ib, int64_t rows,
                   float scale, float b_const, float* out, float* sq);
void block_combine(const double* ta, const int32_t* ia, const double* tb, const int32_t* ib, int64_t rows,
                   double scale, double b_const, double* out, double* sq);

/// TensorSRHT of two blocks: T(x, y) = (H D1 x)_P1 * (H D2 y)_P2 / sqrt(m),
/// with balanced samples: when the grid of index pairs is no larger than m
/// it is enumerated m / (a b) times (the exact tensor product, replicated),
/// else each side's indices come from balanced_rows and pair up at random.
template <typename T>
class BlockTensorSrht {
 public:
  BlockTensorSrht() = default;
  BlockTensorSrht(int64_t dim_a, int64_t dim_b, int64_t out_dim, uint64_t seed, uint64_t stream);
  int64_t out_dim() const { return static_cast<int64_t>(rows_a_.size()); }
  const BlockHadamard<T>& side_a() const { return a_; }
  const BlockHadamard<T>& side_b() const { return b_; }
  /// Combines transformed blocks (tb == nullptr: e1 on side b), first `rows`
  /// sampled rows, scale factor / sqrt(rows); sq (kLanes entries, optional)
  /// receives each output vector's squared norm.
  void combine(const T* ta, const T* tb, T* out, int64_t rows, T factor = T(1), T* sq = nullptr) const;
  int64_t bytes() const {
    return a_.bytes() + b_.bytes() + static_cast<int64_t>((rows_a_.size() + rows_b_.size()) * sizeof(int32_t));
  }

 private:
  BlockHadamard<T> a_, b_;
  std::vector<int32_t> rows_a_, rows_b_;
};

/// PolySketch (Ahle et al. 2020) of a block, as PolySketch<T> in
/// sketches.hpp: a complete binary tree of TensorSRHTs over p = 2^k leaves;
/// degree j puts x at leaves 0..j-1 and e1 at the others, a sub-tree of e1
/// leaves is e1 itself (its transform is flat, +-1), and all-x sub-trees are
/// computed once per block and shared by the degrees asked for together.
/// Leaves take the input itself (any dimension: the leaf TensorSRHT samples
/// m of its padded^2 products, or enumerates them all when there are at most m).
template <typename T>
class BlockPolySketch {
 public:
  struct Workspace {
    AlignedBuffer<T> memo;    // transformed all-x children, one slot each
    std::vector<unsigned char> ready;
    AlignedBuffer<T> value;   // per level: a node value before transforming
    AlignedBuffer<T> mixed;   // per level: a transformed mixed child
  };

  BlockPolySketch() = default;
  BlockPolySketch(int64_t in_dim, int64_t sketch_dim, int leaves, uint64_t seed, uint64_t stream);
  int leaves() const { return leaves_; }
  int64_t in_dim() const { return in_dim_; }
  int64_t sketch_dim() const { return m_; }
  Workspace make_workspace() const;
  int64_t workspace_bytes() const;
  int64_t bytes() const;

  /// For k < count: out[k] (m entries) = Q_{degree[k]}(x * lane_scale), all m
  /// sampled rows (scale 1/sqrt(m)). x holds in_dim() entries; lane_scale
  /// (nullptr = 1) multiplies each lane's vector first, at no extra cost.
  /// sq (optional, count x kLanes) receives the squared norms of the outputs.
  void apply(const T* x, const T* lane_scale, int count, const int* degree, T* const* out, Workspace& ws,
             T* sq = nullptr) const;
  /// The all-x node values (level, 0), i.e. sketches of degree 2^(level + 1)
  /// that share their sub-trees: for k < count, out[k] (m entries) = the value
  /// of node (level[k], 0) with x at every leaf. Each is a valid Q_(2^(level+1))
  /// (the root is Q_leaves), at the cost of one tree for all of them.
  void apply_powers(const T* x, const T* lane_scale, int count, const int* level, T* const* out, Workspace& ws,
                    T* sq = nullptr) const;
  /// H D (x * lane_scale) of leaf 0 (leaf_padded() entries), as computed by
  /// the last apply / apply_powers that reached it (nullptr if none did):
  /// divided by sqrt(leaf_padded()) it is an exact isometric image of x,
  /// i.e. an error-free, spread-out "Q_1(x)" that costs nothing more.
  const T* leaf0_transform(const Workspace& ws) const;
  int64_t leaf_padded() const { return leaf_padded_; }

 private:
  int64_t slot(int level, int64_t k, int side) const { return 2 * (node_offset_[level] + k) + side; }
  const T* child_t(const T* x, const T* lane_scale, int level, int64_t k, int side, int degree, Workspace& ws) const;
  void node_value(const T* x, const T* lane_scale, int level, int64_t k, int degree, T* out, Workspace& ws,
                  T* sq = nullptr) const;

  int64_t in_dim_ = 0, m_ = 0, leaf_padded_ = 0, node_padded_ = 0;
  int leaves_ = 0, levels_ = 0;
  std::vector<int64_t> node_offset_, slot_offset_;
  std::vector<BlockTensorSrht<T>> nodes_;
};

/// A sign-and-shift map R^m -> R^m, x -> s .* roll(x, r): out[i] = s[i] x[(i - r) mod m].
/// Summing such maps with independent signs over the blocks of a
/// concatenation is a CountSketch whose hash is a cyclic shift per block:
/// E <sum_k S_k a_k, sum_k S_k b_k> = sum_k <a_k, b_k>, with the variance of
/// a CountSketch to m when the blocks' entries are spread out (they are:
/// every block comes out of an SRHT-type sketch) and the shifts differ.
template <typename T>
class SignShift {
 public:
  SignShift() = default;
  /// Random signs; the shift is random (shift < 0) or the one given (mod m).
  SignShift(int64_t m, uint64_t seed, uint64_t stream, int64_t shift = -1);
  int64_t dim() const { return static_cast<int64_t>(signs_.size()); }
  int64_t shift() const { return shift_; }
  const T* signs() const { return signs_.data(); }
  int64_t bytes() const { return static_cast<int64_t>(signs_.size() * sizeof(T)); }

 private:
  std::vector<T> signs_;
  int64_t shift_ = 0;
};

/// acc[i] (= or +=) sum_k factor[k] lane_factor[k] s_k[i] x_k[(i - r_k) mod m],
/// i < m, lane-wise, for blocks x_k whose entry j lies at x_k + j * stride
/// (stride in elements; lanes contiguous, unaligned allowed) and maps of
/// dimension m (count may be 0). Source k has length[k] <= m entries (length
/// nullptr: all m; the missing entries count as zeros). lane_factor
/// (optional) gives kLanes factors per source. Tiled over i so that acc stays
/// in L1 while all sources are added in the fixed order k = 0, 1, ...;
/// sources whose shifts differ by a few rows share cache lines within a tile.
void sign_shift_sum(const SignShift<float>* const* maps, const float* const* x, const int64_t* length,
                    const float* factor, const float* const* lane_factor, int count, int64_t m, int64_t stride,
                    float* acc, bool accumulate);
void sign_shift_sum(const SignShift<double>* const* maps, const double* const* x, const int64_t* length,
                    const double* factor, const double* const* lane_factor, int count, int64_t m, int64_t stride,
                    double* acc, bool accumulate);

/// Lane-wise helpers on blocks of n entries (SIMD clones like the sketches):
/// dst[i] (at dst + i * dst_stride, any alignment) = row_factor * row_sign[i]
/// (nullptr: 1) * lane_scale * src[i];  acc[i] += lane_scale * src[i];
/// out = per-lane sum of squares;  x += v with the sums of squares of v and of
/// the new x. lane_scale holds kLanes entries.
void block_scaled_copy(const float* src, int64_t n, const float* lane_scale, const float* row_sign,
                       float row_factor, float* dst, int64_t dst_stride);
void block_scaled_copy(const double* src, int64_t n, const double* lane_scale, const double* row_sign,
                       double row_factor, double* dst, int64_t dst_stride);
void block_axpy(const float* src, int64_t n, const float* lane_scale, float* acc);
void block_axpy(const double* src, int64_t n, const double* lane_scale, double* acc);
void block_sumsq(const float* src, int64_t n, float* out);
void block_sumsq(const double* src, int64_t n, double* out);
void block_add_sumsq(float* x, const float* v, int64_t n, float* vv, float* xx);
void block_add_sumsq(double* x, const double* v, int64_t n, double* vv, double* xx);

/// A single-vector SRHT R^d -> R^f with balanced rows (see balanced_rows):
/// S(x) = (H D x)_P / sqrt(f).
template <typename T>
class BalancedSrht {
 public:
  BalancedSrht() = default;
  BalancedSrht(int64_t in_dim, int64_t out_dim, uint64_t seed, uint64_t stream);
  int64_t in_dim() const { return in_dim_; }
  int64_t out_dim() const { return static_cast<int64_t>(rows_.size()); }
  int64_t work_size() const { return padded_; }
  /// out = factor * S(x); work holds work_size() entries.
  void apply(const T* x, T* out, T* work, T factor) const;
  int64_t bytes() const { return static_cast<int64_t>(signs_.size() * sizeof(T) + rows_.size() * sizeof(int32_t)); }

 private:
  int64_t in_dim_ = 0, padded_ = 0;
  std::vector<T> signs_;
  std::vector<int32_t> rows_;
};

}  // namespace ntk
