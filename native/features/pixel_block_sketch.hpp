// Pixel-block sketches: the SRHT / TensorSRHT / PolySketch of SPEC §3 applied
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

#include "sketches/rng.hpp"

namespace ntk {

/// Vectors per block: one 64-byte line per entry.
template <typename T>
constexpr int kLanes = static_cast<int>(64 / sizeof(T));

/// A 64-byte aligned, zero-initialised buffer (no copies: move only).
template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t n) { resize(n); }
  ~AlignedBuffer() { release(); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  /// Reallocates to n zeroed entries.
  void resize(int64_t n);
  void zero();
  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  void release() {
    if (data_) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
  }
  T* data_ = nullptr;
  int64_t size_ = 0;
};

/// In-place unnormalised Walsh–Hadamard transform of every vector of a block:
/// x holds n entries (n a power of two) of kLanes<T> lanes.
void fwht_block(float* x, int64_t n);
void fwht_block(double* x, int64_t n);

/// x -> H D x for a block: random signs D (stream `stream`), zero padding to
/// a power of two, unnormalised Walsh–Hadamard transform.
template <typename T>
class BlockHadamard {
 public:
  BlockHadamard() = default;
  BlockHadamard(int64_t in_dim, uint64_t seed, uint64_t stream);
  int64_t in_dim() const { return in_dim_; }
  int64_t padded() const { return padded_; }
  /// The sign of coordinate 0: H D e1 = sign0 * (1, ..., 1).
  T sign0() const { return signs_.empty() ? T(1) : signs_[0]; }
  /// out (padded() entries) = H D x for x of in_dim() entries (out != x).
  void apply(const T* x, T* out) const;
  /// buf (padded() entries, the first in_dim() holding x) = H D x in place.
  void apply_inplace(T* buf) const;
  int64_t bytes() const { return static_cast<int64_t>(signs_.size() * sizeof(T)); }

 private:
  int64_t in_dim_ = 0, padded_ = 0;
  std::vector<T> signs_;
};

/// out[r] = scale * ta[ia[r]] * tb[ib[r]] (lane-wise) for r < rows; tb null
/// means the flat transform b_const * (1, ..., 1) of e1.
void block_combine(const float* ta, const int32_t* ia, const float* tb, const int32_t* ib, int64_t rows,
                   float scale, float b_const, float* out);
void block_combine(const double* ta, const int32_t* ia, const double* tb, const int32_t* ib, int64_t rows,
                   double scale, double b_const, double* out);

/// TensorSRHT of two blocks: T(x, y) = (H D1 x)_P1 * (H D2 y)_P2 / sqrt(m).
template <typename T>
class BlockTensorSrht {
 public:
  BlockTensorSrht() = default;
  BlockTensorSrht(int64_t dim_a, int64_t dim_b, int64_t out_dim, uint64_t seed, uint64_t stream);
  int64_t out_dim() const { return static_cast<int64_t>(rows_a_.size()); }
  const BlockHadamard<T>& side_a() const { return a_; }
  const BlockHadamard<T>& side_b() const { return b_; }
  /// Combines transformed blocks (tb == nullptr: e1 on side b), first `rows`
  /// sampled rows, scale factor / sqrt(rows).
  void combine(const T* ta, const T* tb, T* out, int64_t rows, T factor = T(1)) const;
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
/// m of its padded^2 products).
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

  /// For k < count: out[k] (m entries) = Q_{degree[k]}(x), all m sampled rows
  /// (scale 1/sqrt(m)). x holds in_dim() entries.
  void apply(const T* x, int count, const int* degree, T* const* out, Workspace& ws) const;

 private:
  int64_t slot(int level, int64_t k, int side) const { return 2 * (node_offset_[level] + k) + side; }
  const T* child_t(const T* x, int level, int64_t k, int side, int degree, Workspace& ws) const;
  void node_value(const T* x, int level, int64_t k, int degree, T* out, Workspace& ws) const;

  int64_t in_dim_ = 0, m_ = 0, leaf_padded_ = 0, node_padded_ = 0;
  int leaves_ = 0, levels_ = 0;
  std::vector<int64_t> node_offset_, slot_offset_;
  std::vector<BlockTensorSrht<T>> nodes_;
};

/// A sign-and-shift map R^m -> R^m, x -> s .* roll(x, r): out[i] = s[i] x[(i - r) mod m].
/// Summing such maps with independent signs over the blocks of a
/// concatenation is a CountSketch whose hash is a random cyclic shift per
/// block: E <sum_k S_k a_k, sum_k S_k b_k> = sum_k <a_k, b_k>, with the
/// variance of a CountSketch to m when the blocks' entries are spread out
/// (they are: every block comes out of an SRHT-type sketch).
template <typename T>
class SignShift {
 public:
  SignShift() = default;
  SignShift(int64_t m, uint64_t seed, uint64_t stream);
  int64_t dim() const { return static_cast<int64_t>(signs_.size()); }
  int64_t shift() const { return shift_; }
  const T* signs() const { return signs_.data(); }
  int64_t bytes() const { return static_cast<int64_t>(signs_.size() * sizeof(T)); }

 private:
  std::vector<T> signs_;
  int64_t shift_ = 0;
};

/// acc[i] (= or +=) factor * sum_k s_k[i] x_k[(i - r_k) mod m], i < m, lane-wise,
/// for blocks x_k whose entry j lies at x_k + j * stride (stride in elements;
/// lanes contiguous, unaligned allowed) and maps of dimension m (count may be 0). Tiled
/// over i so that acc stays in L1 while all sources are added, in the fixed
/// order k = 0, 1, ... (results do not depend on anything else).
void sign_shift_sum(const SignShift<float>* const* maps, const float* const* x, int count, int64_t m,
                    int64_t stride, float factor, float* acc, bool accumulate);
void sign_shift_sum(const SignShift<double>* const* maps, const double* const* x, int count, int64_t m,
                    int64_t stride, double factor, double* acc, bool accumulate);

}  // namespace ntk
