#include "sketches/sketches.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "sketches/fwht.hpp"
#include "sketches/tree_layout.hpp"

namespace ntk {

namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

// Padded transforms are indexed with int32 row samples.
constexpr int64_t kMaxPadded = int64_t{1} << 30;

}  // namespace

// ---------------------------------------------------------------- CountSketch

template <typename T>
CountSketch<T>::CountSketch(int64_t in_dim, int64_t out_dim, uint64_t seed, uint64_t stream)
    : in_dim_(in_dim), out_dim_(out_dim), rng_(seed, stream) {
  require(in_dim >= 1 && out_dim >= 1, "CountSketch: dimensions must be >= 1");
}

template <typename T>
void CountSketch<T>::apply(const RowView<T>& x, T* out) const {
  std::fill(out, out + out_dim_, T(0));
  int64_t bucket;
  T sign;
  if (x.dense) {
    for (int64_t i = 0; i < x.dim; ++i) {
      const T v = x.dense[i];
      if (v == T(0)) continue;  // dense rows are often mostly zeros: skip the hash
      hash(i, &bucket, &sign);
      out[bucket] += sign * v;
    }
  } else {
    for (int64_t k = 0; k < x.nnz; ++k) {
      hash(x.index[k], &bucket, &sign);
      out[bucket] += sign * x.value[k];
    }
  }
}

// ------------------------------------------------------------- SignedHadamard

template <typename T>
SignedHadamard<T>::SignedHadamard(int64_t in_dim, uint64_t seed, uint64_t stream)
    : in_dim_(in_dim), padded_(next_pow2(std::max<int64_t>(in_dim, 1))) {
  require(in_dim >= 1, "SRHT: input dimension must be >= 1");
  require(padded_ <= kMaxPadded, "SRHT: input dimension too large");
  const CounterRng rng(seed, stream);
  signs_.resize(static_cast<size_t>(in_dim));
  for (int64_t i = 0; i < in_dim; ++i) signs_[i] = static_cast<T>(rng.sign(static_cast<uint64_t>(i)));
}

template <typename T>
void SignedHadamard<T>::apply(const T* x, T* out) const {
  const T* s = signs_.data();
  for (int64_t i = 0; i < in_dim_; ++i) out[i] = s[i] * x[i];
  std::fill(out + in_dim_, out + padded_, T(0));
  fwht(out, padded_);
}

template <typename T>
void SignedHadamard<T>::apply(const RowView<T>& x, T* out) const {
  if (x.dense) return apply(x.dense, out);
  std::fill(out, out + padded_, T(0));
  for (int64_t k = 0; k < x.nnz; ++k) out[x.index[k]] = signs_[x.index[k]] * x.value[k];
  fwht(out, padded_);
}

std::vector<int32_t> sample_rows(int64_t rows, int64_t padded, uint64_t seed, uint64_t stream) {
  require(rows >= 1 && padded >= 1 && padded <= kMaxPadded, "SRHT: bad sample size");
  const CounterRng rng(seed, stream);
  std::vector<int32_t> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    out[r] = static_cast<int32_t>(rng.below(static_cast<uint64_t>(r), static_cast<uint64_t>(padded)));
  return out;
}

// ----------------------------------------------------------------------- SRHT

template <typename T>
Srht<T>::Srht(int64_t in_dim, int64_t out_dim, uint64_t seed, uint64_t stream)
    : hd_(in_dim, seed, sub_stream(stream, 0)) {
  rows_ = sample_rows(out_dim, hd_.padded(), seed, sub_stream(stream, 1));
}

template <typename T>
void Srht<T>::apply(const RowView<T>& x, T* out, T* work, T factor) const {
  hd_.apply(x, work);
  const T scale = factor / static_cast<T>(std::sqrt(static_cast<double>(rows_.size())));
  const int64_t m = out_dim();
  for (int64_t r = 0; r < m; ++r) out[r] = scale * work[rows_[r]];
}

template <typename T>
void Srht<T>::apply(const T* x, T* out, T* work, T factor) const {
  apply(RowView<T>::dense_row(x, hd_.in_dim()), out, work, factor);
}

// ----------------------------------------------------------------- TensorSRHT

template <typename T>
void tensor_combine(const T* ta, const int32_t* ia, const T* tb, const int32_t* ib, int64_t rows,
                    T factor, T* out) {
  const T scale = factor / static_cast<T>(std::sqrt(static_cast<double>(rows)));
  for (int64_t r = 0; r < rows; ++r) out[r] = scale * ta[ia[r]] * tb[ib[r]];
}

template <typename T>
TensorSrht<T>::TensorSrht(int64_t dim_a, int64_t dim_b, int64_t out_dim, uint64_t seed, uint64_t stream)
    : a_(dim_a, seed, sub_stream(stream, 0)), b_(dim_b, seed, sub_stream(stream, 1)) {
  rows_a_ = sample_rows(out_dim, a_.padded(), seed, sub_stream(stream, 2));
  rows_b_ = sample_rows(out_dim, b_.padded(), seed, sub_stream(stream, 3));
}

template <typename T>
void TensorSrht<T>::apply(const RowView<T>& x, const RowView<T>& y, T* out, T* wa, T* wb) const {
  a_.apply(x, wa);
  b_.apply(y, wb);
  combine(wa, wb, out, out_dim());
}

// ----------------------------------------------------------------- PolySketch

template <typename T>
PolySketch<T>::PolySketch(int64_t in_dim, int64_t sketch_dim, int leaves, uint64_t seed, uint64_t stream)
    : in_dim_(in_dim), m_(sketch_dim), leaves_(leaves) {
  require(in_dim >= 1 && sketch_dim >= 1, "PolySketch: dimensions must be >= 1");
  require(leaves >= 2 && leaves <= 1024 && (leaves & (leaves - 1)) == 0,
          "PolySketch: leaves must be a power of two in [2, 1024]");
  if (in_dim > sketch_dim) {
    for (int i = 0; i < leaves; ++i) cs_.emplace_back(in_dim, sketch_dim, seed, sub_stream(stream, 100000 + i));
    leaf_dim_ = sketch_dim;
  } else {
    leaf_dim_ = in_dim;
  }
  leaf_padded_ = next_pow2(leaf_dim_);
  node_padded_ = next_pow2(m_);
  TreeLayout tree = tree_layout(leaves_, leaf_padded_, node_padded_);
  nodes_ = tree_nodes<TensorSrht<T>>(tree, leaves_, leaf_dim_, m_, seed, stream);
  levels_ = tree.levels;
  node_offset_ = std::move(tree.node);
  slot_offset_ = std::move(tree.slot);

  // A child covering only leaves >= j stands for e1 (x) ... (x) e1, itself a
  // unit vector: it is replaced by e1 of the child's dimension, which keeps
  // <.,.> = 1 exactly and whose transform H D e1 = +-(1, ..., 1) is flat, so
  // the product with it adds no more variance than an SRHT. (Sketching the
  // e1 sub-tree instead gives Gaussian-like entries and about 3x the
  // variance per level.) These are the same for every input: computed once.
  const_t_.assign(static_cast<size_t>(slot_offset_.back()), T(0));
  std::vector<T> e1(static_cast<size_t>(std::max(leaf_dim_, m_)), T(0));
  e1[0] = T(1);
  for (int l = 0; l < levels_; ++l)
    for (int64_t k = 0; k < (leaves_ >> (l + 1)); ++k)
      for (int side = 0; side < 2; ++side) {
        const TensorSrht<T>& node = nodes_[node_offset_[l] + k];
        (side == 0 ? node.side_a() : node.side_b()).apply(e1.data(), const_t_.data() + slot_offset_[slot(l, k, side)]);
      }
}

template <typename T>
typename PolySketch<T>::Workspace PolySketch<T>::make_workspace() const {
  Workspace ws;
  ws.child_t.assign(static_cast<size_t>(slot_offset_.empty() ? 0 : slot_offset_.back()), T(0));
  ws.ready.assign(slot_offset_.empty() ? 0 : slot_offset_.size() - 1, 0);
  ws.value.assign(static_cast<size_t>(levels_ * m_), T(0));
  ws.mixed_t.assign(static_cast<size_t>(levels_ * node_padded_), T(0));
  if (!cs_.empty()) ws.leaf.assign(static_cast<size_t>(m_), T(0));
  return ws;
}

template <typename T>
int64_t PolySketch<T>::workspace_bytes() const {
  const int64_t slots = slot_offset_.empty() ? 0 : static_cast<int64_t>(slot_offset_.size()) - 1;
  const int64_t elements = (slot_offset_.empty() ? 0 : slot_offset_.back()) + levels_ * (m_ + node_padded_) +
                           (cs_.empty() ? 0 : m_);
  return elements * static_cast<int64_t>(sizeof(T)) + slots;
}

template <typename T>
int64_t PolySketch<T>::bytes() const {
  int64_t b = static_cast<int64_t>(const_t_.size() * sizeof(T));
  for (const auto& node : nodes_) b += node.bytes();
  return b;
}

// Transformed value of child `side` of node (level, k) for degree j: the child
// covers leaves [f, f + 2^level). Leaves >= j hold e1, leaves < j hold x.
template <typename T>
const T* PolySketch<T>::child_t(const RowView<T>& x, int level, int64_t k, int side, int degree,
                                Workspace& ws) const {
  const int64_t s = slot(level, k, side);
  const int64_t first = (2 * k + side) << level;
  const int64_t size = int64_t{1} << level;
  if (first >= degree) return const_t_.data() + slot_offset_[s];
  const bool all_x = first + size <= degree;
  T* dst = all_x ? ws.child_t.data() + slot_offset_[s] : ws.mixed_t.data() + level * node_padded_;
  if (all_x && ws.ready[s]) return dst;
  const TensorSrht<T>& node = nodes_[node_offset_[level] + k];
  const SignedHadamard<T>& hd = side == 0 ? node.side_a() : node.side_b();
  if (level == 0) {
    const int64_t leaf = first;
    if (!cs_.empty()) {
      cs_[leaf].apply(x, ws.leaf.data());
      hd.apply(ws.leaf.data(), dst);
    } else {
      hd.apply(x, dst);
    }
  } else {
    T* v = ws.value.data() + (level - 1) * m_;
    node_value(x, level - 1, 2 * k + side, degree, v, m_, T(1), ws);
    hd.apply(v, dst);
  }
  if (all_x) ws.ready[s] = 1;
  return dst;
}

template <typename T>
void PolySketch<T>::node_value(const RowView<T>& x, int level, int64_t k, int degree, T* out, int64_t rows,
                               T factor, Workspace& ws) const {
  const T* ta = child_t(x, level, k, 0, degree, ws);
  const T* tb = child_t(x, level, k, 1, degree, ws);
  nodes_[node_offset_[level] + k].combine(ta, tb, out, rows, factor);
}

template <typename T>
void PolySketch<T>::apply(const RowView<T>& x, int count, const int* degree, const int64_t* rows,
                          const T* factor, T* const* out, Workspace& ws) const {
  std::fill(ws.ready.begin(), ws.ready.end(), 0);
  for (int i = 0; i < count; ++i) {
    if (degree[i] < 1 || degree[i] > leaves_ || rows[i] < 1 || rows[i] > m_)
      throw std::invalid_argument("PolySketch: degree or rows out of range");
    node_value(x, levels_ - 1, 0, degree[i], out[i], rows[i], factor[i], ws);
  }
}

// ------------------------------------------------------------ PolyKernelSketch

template <typename T>
PolyKernelSketch<T>::PolyKernelSketch(int64_t in_dim, int64_t sketch_dim, const std::vector<double>& coeffs,
                                      int64_t out_dim, uint64_t seed, uint64_t stream)
    : coeffs_(coeffs) {
  require(!coeffs.empty(), "PolyKernelSketch: no coefficients");
  for (double c : coeffs) require(std::isfinite(c) && c >= 0, "PolyKernelSketch: coefficients must be finite and >= 0");
  require(sketch_dim >= 2, "PolyKernelSketch: sketch dimension must be >= 2");
  has_constant_ = coeffs[0] > 0;
  for (size_t j = 1; j < coeffs.size(); ++j)
    if (coeffs[j] > 0) degrees_.push_back(static_cast<int>(j));
  int64_t offset = has_constant_ ? 1 : 0;
  for (size_t b = 0; b < degrees_.size(); ++b) {
    const int64_t rows = (b == 0 && has_constant_) ? sketch_dim - 1 : sketch_dim;
    rows_.push_back(rows);
    offsets_.push_back(offset);
    factors_.push_back(static_cast<T>(std::sqrt(coeffs[degrees_[b]])));
    offset += rows;
  }
  packed_dim_ = offset;
  require(packed_dim_ >= 1, "PolyKernelSketch: the polynomial is zero");
  if (!degrees_.empty()) {
    const int leaves = static_cast<int>(std::max<int64_t>(2, next_pow2(degrees_.back())));
    poly_ = PolySketch<T>(in_dim, sketch_dim, leaves, seed, sub_stream(stream, 0));
  }
  if (out_dim > 0) srht_ = Srht<T>(packed_dim_, out_dim, seed, sub_stream(stream, 1));
}

template <typename T>
typename PolyKernelSketch<T>::Workspace PolyKernelSketch<T>::make_workspace() const {
  Workspace ws;
  if (!degrees_.empty()) ws.poly = poly_.make_workspace();
  if (srht_.out_dim() > 0) {
    ws.packed.assign(static_cast<size_t>(packed_dim_), T(0));
    ws.work.assign(static_cast<size_t>(srht_.work_size()), T(0));
  }
  return ws;
}

template <typename T>
int64_t PolyKernelSketch<T>::workspace_bytes() const {
  const int64_t own = srht_.out_dim() > 0 ? packed_dim_ + srht_.work_size() : 0;
  return (degrees_.empty() ? 0 : poly_.workspace_bytes()) + own * static_cast<int64_t>(sizeof(T));
}

template <typename T>
void PolyKernelSketch<T>::apply_packed(const RowView<T>& x, T* packed, Workspace& ws) const {
  if (has_constant_) packed[0] = static_cast<T>(std::sqrt(coeffs_[0]));
  if (degrees_.empty()) return;
  T* outs[64];
  const int count = static_cast<int>(degrees_.size());
  std::vector<T*> many;
  T** out = outs;
  if (count > 64) {
    many.resize(static_cast<size_t>(count));
    out = many.data();
  }
  for (int b = 0; b < count; ++b) out[b] = packed + offsets_[b];
  poly_.apply(x, count, degrees_.data(), rows_.data(), factors_.data(), out, ws.poly);
}

template <typename T>
void PolyKernelSketch<T>::apply(const RowView<T>& x, T* out, Workspace& ws, T factor) const {
  if (srht_.out_dim() > 0) {
    apply_packed(x, ws.packed.data(), ws);
    srht_.apply(ws.packed.data(), out, ws.work.data(), factor);
  } else {
    apply_packed(x, out, ws);
    if (factor != T(1))
      for (int64_t i = 0; i < packed_dim_; ++i) out[i] *= factor;
  }
}

template class CountSketch<float>;
template class CountSketch<double>;
template class SignedHadamard<float>;
template class SignedHadamard<double>;
template class Srht<float>;
template class Srht<double>;
template class TensorSrht<float>;
template class TensorSrht<double>;
template class PolySketch<float>;
template class PolySketch<double>;
template class PolyKernelSketch<float>;
template class PolyKernelSketch<double>;
template void tensor_combine<float>(const float*, const int32_t*, const float*, const int32_t*, int64_t, float,
                                    float*);
template void tensor_combine<double>(const double*, const int32_t*, const double*, const int32_t*, int64_t,
                                     double, double*);

}  // namespace ntk
