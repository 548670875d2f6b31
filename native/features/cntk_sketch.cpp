#include "features/cntk_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/parallel.hpp"
#include "sketches/fwht.hpp"

namespace ntk {

namespace {

// Each component draws from its own stream, named by (role, layer, index).
enum Role : uint64_t { kTree1 = 1, kTree0, kTensor, kCompress, kPatchZ, kPatchT, kOutNtk, kOutNngp };

uint64_t stream_of(Role role, int layer, int64_t index = 0) {
  return sub_stream(sub_stream(sub_stream(0x434e544b536b7463ULL, role), static_cast<uint64_t>(layer)),
                    static_cast<uint64_t>(index));
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("CNTKSketch: " + what);
}

std::vector<int> positive_degrees(const std::vector<double>& c) {
  std::vector<int> out;
  for (size_t j = 1; j < c.size(); ++j)
    if (c[j] > 0) out.push_back(static_cast<int>(j));
  return out;
}

int leaves_for(const std::vector<int>& degrees) {
  const int top = degrees.empty() ? 1 : degrees.back();
  return static_cast<int>(std::max<int64_t>(2, next_pow2(top)));
}

int index_of(const std::vector<int>& list, int value) {
  return static_cast<int>(std::find(list.begin(), list.end(), value) - list.begin());
}

}  // namespace

template <typename T>
struct CntkSketch<T>::Workspace {
  std::vector<std::vector<double>> norm;  // N^h, h = 1..L (index h - 1), rows x cols
  std::vector<AlignedBuffer<T>> ring;     // layers 1..L-1: q stored rows each
  AlignedBuffer<T> v, xi, ta, tb, q, phi, t, z, pooled;
  std::vector<typename BlockPolySketch<T>::Workspace> pw1, pw0;
  std::vector<int64_t> done;
  std::vector<T> final_in, final_work;
};

template <typename T>
CntkSketch<T>::CntkSketch(const CntkSketchConfig& config) : config_(config) {
  const CntkSketchConfig& c = config_;
  require(c.channels >= 1 && c.height >= 1 && c.width >= 1, "channels, height and width must be >= 1");
  require(c.depth >= 1 && c.filter >= 1, "depth and filter size must be >= 1");
  require(c.features >= 1, "features must be >= 1");
  require(c.sketch_dim >= 8 && (c.sketch_dim & (c.sketch_dim - 1)) == 0 && c.sketch_dim <= (int64_t{1} << 24),
          "sketch dimension must be a power of two in [8, 2^24]");
  require(c.filter <= std::min(c.height, c.width), "filter larger than the image");
  require(!c.same || c.filter % 2 == 1, "'same' padding needs an odd filter size");
  require(c.same || c.height - static_cast<int64_t>(c.depth) * (c.filter - 1) >= 1,
          "'valid' padding shrinks the image to nothing at this depth");
  require(c.same || c.width - static_cast<int64_t>(c.depth) * (c.filter - 1) >= 1,
          "'valid' padding shrinks the image to nothing at this depth");
  require(static_cast<int>(c.k1.size()) == c.depth && static_cast<int>(c.k0.size()) == c.depth,
          "one k1 and one k0 polynomial per layer required");
  for (const auto* list : {&c.k1, &c.k0})
    for (const auto& poly : *list) {
      require(!poly.empty() && poly.size() <= 65, "polynomials need 1..65 coefficients (degree <= 64)");
      bool any = false;
      for (double v : poly) {
        require(std::isfinite(v) && v >= 0, "polynomial coefficients must be finite and >= 0");
        any = any || v > 0;
      }
      require(any, "a polynomial is zero");
    }
  constexpr int L = kLanes<T>;
  const int64_t m = m_ = c.sketch_dim;
  const int q = c.filter, L_depth = c.depth;
  offset_ = c.same ? (q - 1) / 2 : 0;
  for (int h = 0; h <= L_depth; ++h) {
    rows_.push_back(c.same ? c.height : c.height - static_cast<int64_t>(h) * (q - 1));
    cols_.push_back(c.same ? c.width : c.width - static_cast<int64_t>(h) * (q - 1));
    blocks_.push_back((cols_.back() + L - 1) / L);
  }
  stride_.assign(static_cast<size_t>(L_depth) + 1, 0);
  for (int h = 1; h < L_depth; ++h)
    stride_[h] = std::max(blocks_[h] * L + offset_, blocks_[h + 1] * L + q - 1);

  auto make_pack = [&](const std::vector<double>& coeffs, const std::vector<int>& degrees,
                       const std::vector<int>& tree_degrees) {
    Pack p;
    p.has_const = coeffs[0] > 0;
    p.constant = static_cast<T>(std::sqrt(coeffs[0]));
    for (int j : degrees) {
      p.qi.push_back(index_of(tree_degrees, j));
      double f = std::sqrt(coeffs[j]);
      if (p.qi.size() == 1 && p.has_const) f *= std::sqrt(static_cast<double>(m) / static_cast<double>(m - 1));
      p.factor.push_back(static_cast<T>(f));
    }
    if (p.qi.empty()) {  // the constant alone: one block, zero beyond entry 0
      p.qi.push_back(-1);
      p.factor.push_back(T(0));
    }
    return p;
  };

  for (int h = 1; h <= L_depth; ++h) {
    Layer layer;
    layer.in_dim = h == 1 ? c.channels * q * q : m;
    const std::vector<double>& c1 = c.k1[h - 1];
    const std::vector<double>& c0 = c.k0[h - 1];
    const std::vector<int> d1 = positive_degrees(c1), d0 = positive_degrees(c0);
    if (c.shared_tree) {
      std::vector<int> all = d1;
      all.insert(all.end(), d0.begin(), d0.end());
      std::sort(all.begin(), all.end());
      all.erase(std::unique(all.begin(), all.end()), all.end());
      layer.deg1 = all;
      if (!all.empty()) layer.tree1 = BlockPolySketch<T>(layer.in_dim, m, leaves_for(all), c.seed, stream_of(kTree1, h));
      layer.p1 = make_pack(c1, d1, all);
      layer.p0 = make_pack(c0, d0, all);
    } else {
      layer.deg1 = d1;
      layer.deg0 = d0;
      if (!d1.empty()) layer.tree1 = BlockPolySketch<T>(layer.in_dim, m, leaves_for(d1), c.seed, stream_of(kTree1, h));
      if (!d0.empty()) layer.tree0 = BlockPolySketch<T>(layer.in_dim, m, leaves_for(d0), c.seed, stream_of(kTree0, h));
      layer.p1 = make_pack(c1, d1, d1);
      layer.p0 = make_pack(c0, d0, d0);
    }
    layer.tensor = BlockTensorSrht<T>(layer.in_dim, layer.p0.blocks() * m, m, c.seed, stream_of(kTensor, h));
    if (h < L_depth)
      for (int b = 0; b < layer.p1.blocks(); ++b) layer.compress.emplace_back(m, c.seed, stream_of(kCompress, h, b));
    if (h >= 2)
      for (int d = 0; d < q * q; ++d) {
        layer.patch_z.emplace_back(m, c.seed, stream_of(kPatchZ, h, d));
        layer.patch_t.emplace_back(m, c.seed, stream_of(kPatchT, h, d));
      }
    parameter_bytes_ += layer.tree1.bytes() + layer.tree0.bytes() + layer.tensor.bytes();
    for (const auto* maps : {&layer.compress, &layer.patch_z, &layer.patch_t})
      for (const auto& s : *maps) parameter_bytes_ += s.bytes();
    layers_.push_back(std::move(layer));
  }
  const int64_t b1 = layers_.back().p1.blocks();
  out_ntk_ = Srht<T>((1 + b1) * m, c.features, c.seed, stream_of(kOutNtk, 0));
  out_nngp_ = Srht<T>(b1 * m, c.features, c.seed, stream_of(kOutNngp, 0));
  parameter_bytes_ += out_ntk_.bytes() + out_nngp_.bytes();
}

template <typename T>
int64_t CntkSketch<T>::row_elements(int h, CntkFeatureKind kind) const {
  return (kind == CntkFeatureKind::Ntk ? 2 : 1) * m_ * stride_[h];
}

template <typename T>
typename CntkSketch<T>::Workspace CntkSketch<T>::make_workspace(CntkFeatureKind kind) const {
  constexpr int L = kLanes<T>;
  const bool ntk = kind == CntkFeatureKind::Ntk;
  const int depth = config_.depth, q = config_.filter;
  const int64_t m = m_;
  Workspace ws;
  for (int h = 1; h <= depth; ++h) ws.norm.emplace_back(static_cast<size_t>(rows_[h] * cols_[h]), 0.0);
  for (int h = 1; h < depth; ++h) ws.ring.emplace_back(q * row_elements(h, kind));
  int64_t in_dim = 0, in_pad = 0, packed0 = 0, degrees = 0, blocks1 = 0;
  for (const Layer& layer : layers_) {
    in_dim = std::max(in_dim, layer.in_dim);
    in_pad = std::max(in_pad, next_pow2(layer.in_dim));
    packed0 = std::max(packed0, layer.tensor.side_b().padded());
    degrees = std::max<int64_t>(degrees, static_cast<int64_t>(layer.deg1.size() + layer.deg0.size()));
    blocks1 = std::max<int64_t>(blocks1, layer.p1.blocks());
    ws.pw1.push_back(layer.deg1.empty() ? typename BlockPolySketch<T>::Workspace{} : layer.tree1.make_workspace());
    ws.pw0.push_back(layer.deg0.empty() || !ntk ? typename BlockPolySketch<T>::Workspace{}
                                                : layer.tree0.make_workspace());
  }
  ws.v.resize(in_dim * L);
  ws.q.resize(std::max<int64_t>(1, degrees) * m * L);
  ws.phi.resize(blocks1 * m * L);
  ws.z.resize(m * L);
  const int64_t b1 = layers_.back().p1.blocks();
  ws.pooled.resize((ntk ? 1 + b1 : b1) * m * L);
  if (ntk) {
    ws.xi.resize(in_dim * L);
    ws.ta.resize(in_pad * L);
    ws.tb.resize(packed0 * L);
    ws.t.resize(m * L);
  }
  ws.done.assign(static_cast<size_t>(depth) + 1, 0);
  const Srht<T>& out = ntk ? out_ntk_ : out_nngp_;
  ws.final_in.assign(static_cast<size_t>(out.in_dim()), T(0));
  ws.final_work.assign(static_cast<size_t>(out.work_size()), T(0));
  return ws;
}

template <typename T>
int64_t CntkSketch<T>::workspace_bytes(CntkFeatureKind kind) const {
  constexpr int L = kLanes<T>;
  const bool ntk = kind == CntkFeatureKind::Ntk;
  const int depth = config_.depth, q = config_.filter;
  const int64_t m = m_;
  int64_t elements = 0, bytes = 0;
  for (int h = 1; h <= depth; ++h) bytes += rows_[h] * cols_[h] * 8;
  for (int h = 1; h < depth; ++h) elements += q * row_elements(h, kind);
  int64_t in_dim = 0, in_pad = 0, packed0 = 0, degrees = 0, blocks1 = 0;
  for (const Layer& layer : layers_) {
    in_dim = std::max(in_dim, layer.in_dim);
    in_pad = std::max(in_pad, next_pow2(layer.in_dim));
    packed0 = std::max(packed0, layer.tensor.side_b().padded());
    degrees = std::max<int64_t>(degrees, static_cast<int64_t>(layer.deg1.size() + layer.deg0.size()));
    blocks1 = std::max<int64_t>(blocks1, layer.p1.blocks());
    if (!layer.deg1.empty()) bytes += layer.tree1.workspace_bytes();
    if (ntk && !layer.deg0.empty()) bytes += layer.tree0.workspace_bytes();
  }
  const int64_t b1 = layers_.back().p1.blocks();
  elements += (in_dim + std::max<int64_t>(1, degrees) * m + blocks1 * m + m + (ntk ? 1 + b1 : b1) * m) * L;
  if (ntk) elements += (in_dim + in_pad + packed0 + m) * L;
  const Srht<T>& out = ntk ? out_ntk_ : out_nngp_;
  elements += out.in_dim() + out.work_size();
  return bytes + elements * static_cast<int64_t>(sizeof(T));
}

namespace {

/// dst block b (m entries x L lanes) of a packed polynomial sketch, times a
/// per-lane factor (nullptr: 1).
template <typename T, typename PackT>
void write_pack(const PackT& p, T* const* qbuf, int64_t m, const T* lane_scale, T* dst) {
  constexpr int L = kLanes<T>;
  T ones[L];
  for (int l = 0; l < L; ++l) ones[l] = T(1);
  const T* s = lane_scale ? lane_scale : ones;
  for (int b = 0; b < p.blocks(); ++b) {
    T* out = dst + b * m * L;
    const T f = p.factor[b];
    const int qi = p.qi[b];
    int64_t i0 = 0;
    if (b == 0 && p.has_const) {
      for (int l = 0; l < L; ++l) out[l] = p.constant * s[l];
      i0 = 1;
    }
    if (qi < 0) {
      std::fill(out + i0 * L, out + m * L, T(0));
      continue;
    }
    // Entry i of the block takes row i - i0 of Q (the first block drops the
    // last sampled row when it holds the constant).
    const T* src = qbuf[qi];
    for (int64_t i = i0; i < m; ++i) {
      const T* row = src + (i - i0) * L;
#pragma omp simd
      for (int l = 0; l < L; ++l) out[i * L + l] = f * row[l] * s[l];
    }
  }
}

/// Stores a block (m x L, contiguous) into a stored row at column offset col
/// (entry i at row + i * stride + col).
template <typename T>
void store_block(const T* src, int64_t m, T* row, int64_t stride, int64_t col) {
  constexpr int L = kLanes<T>;
  for (int64_t i = 0; i < m; ++i) {
    T* d = row + i * stride + col;
#pragma omp simd
    for (int l = 0; l < L; ++l) d[l] = src[i * L + l];
  }
}

template <typename T>
void zero_block(int64_t m, T* row, int64_t stride, int64_t col) {
  constexpr int L = kLanes<T>;
  for (int64_t i = 0; i < m; ++i) std::fill(row + i * stride + col, row + i * stride + col + L, T(0));
}

template <typename T>
void add_block(const T* src, int64_t n, T* acc) {
  constexpr int L = kLanes<T>;
#pragma omp simd
  for (int64_t k = 0; k < n * L; ++k) acc[k] += src[k];
}

}  // namespace

template <typename T>
void CntkSketch<T>::compute_block(int h, int64_t r, int64_t c0, const T* x, T scale, Workspace& ws,
                                  CntkFeatureKind kind) const {
  constexpr int L = kLanes<T>;
  const bool ntk = kind == CntkFeatureKind::Ntk;
  const bool last = h == config_.depth;
  const int q = config_.filter;
  const int64_t m = m_;
  const Layer& layer = layers_[h - 1];
  const int64_t cols = cols_[h];

  // Exact diagonal, per-lane scales and the mask of live pixels (lanes past
  // the grid edge and pixels with N = 0 give zero features).
  T sn[L], inv[L], mask[L];
  bool any = false;
  for (int l = 0; l < L; ++l) {
    const int64_t c = c0 + l;
    const double n = c < cols ? ws.norm[h - 1][r * cols + c] : 0.0;
    const bool live = n > 0;
    any = any || live;
    sn[l] = static_cast<T>(std::sqrt(n));
    inv[l] = live ? static_cast<T>(1.0 / std::sqrt(n)) : T(0);
    mask[l] = live ? T(1) : T(0);
  }
  T* ring_row = nullptr;
  int64_t stride = 0;
  if (!last) {
    ring_row = ws.ring[h - 1].data() + (r % q) * row_elements(h, kind);
    stride = stride_[h];
  }
  const int64_t store_col = c0 + offset_;
  if (!any) {
    if (!last) {
      zero_block(m, ring_row, stride, store_col);
      if (ntk) zero_block(m, ring_row + m * stride, stride, store_col);
    }
    return;
  }

  // v (and xi): the patch of this block's pixels.
  T* v = ws.v.data();
  T* xi = ntk ? ws.xi.data() : nullptr;
  if (h == 1) {
    const int64_t H = config_.height, W = config_.width;
    int64_t k = 0;
    for (int64_t ch = 0; ch < config_.channels; ++ch)
      for (int d1 = 0; d1 < q; ++d1)
        for (int d2 = 0; d2 < q; ++d2, ++k) {
          const int64_t rr = r + d1 - offset_;
          T* dst = v + k * L;
          for (int l = 0; l < L; ++l) {
            const int64_t cc = c0 + l + d2 - offset_;
            dst[l] = (rr >= 0 && rr < H && cc >= 0 && cc < W) ? scale * x[(ch * H + rr) * W + cc] : T(0);
          }
        }
    if (ntk)
      for (int64_t i = 0; i < layer.in_dim; ++i)
        for (int l = 0; l < L; ++l) xi[i * L + l] = v[i * L + l] * mask[l];
  } else {
    const int64_t prev_rows = rows_[h - 1];
    const T* prev = ws.ring[h - 2].data();
    const int64_t prev_elems = row_elements(h - 1, kind), prev_stride = stride_[h - 1];
    const SignShift<T>* zmaps[64];
    const SignShift<T>* tmaps[64];
    const T* zsrc[64];
    const T* tsrc[64];
    std::vector<const SignShift<T>*> zm_big, tm_big;
    std::vector<const T*> zs_big, ts_big;
    const SignShift<T>** zm = zmaps;
    const SignShift<T>** tm = tmaps;
    const T** zs = zsrc;
    const T** ts = tsrc;
    if (q * q > 64) {
      zm_big.resize(q * q), tm_big.resize(q * q), zs_big.resize(q * q), ts_big.resize(q * q);
      zm = zm_big.data(), tm = tm_big.data(), zs = zs_big.data(), ts = ts_big.data();
    }
    int count = 0;
    for (int d1 = 0; d1 < q; ++d1) {
      const int64_t rr = r + d1 - offset_;
      if (rr < 0 || rr >= prev_rows) continue;
      const T* row = prev + (rr % q) * prev_elems;
      for (int d2 = 0; d2 < q; ++d2) {
        // Stored column of logical column c0 + d2 - offset is c0 + d2.
        zm[count] = &layer.patch_z[d1 * q + d2];
        tm[count] = &layer.patch_t[d1 * q + d2];
        zs[count] = row + c0 + d2;
        ts[count] = row + m * prev_stride + c0 + d2;
        ++count;
      }
    }
    const T inv_q = T(1) / static_cast<T>(q);
    sign_shift_sum(zm, zs, count, m, prev_stride, inv_q, v, false);
    if (ntk) {
      sign_shift_sum(tm, ts, count, m, prev_stride, inv_q, xi, false);
      for (int64_t i = 0; i < m; ++i)
#pragma omp simd
        for (int l = 0; l < L; ++l) xi[i * L + l] = (xi[i * L + l] + v[i * L + l]) * mask[l];
    }
    if (config_.sketch_norm) {
      double ss[L] = {};
      for (int64_t i = 0; i < m; ++i)
        for (int l = 0; l < L; ++l) ss[l] += static_cast<double>(v[i * L + l]) * v[i * L + l];
      for (int l = 0; l < L; ++l) inv[l] = (mask[l] != T(0) && ss[l] > 0) ? static_cast<T>(1.0 / std::sqrt(ss[l])) : T(0);
    }
  }
  // u = v / sqrt(N) in place.
  for (int64_t i = 0; i < layer.in_dim; ++i)
#pragma omp simd
    for (int l = 0; l < L; ++l) v[i * L + l] *= inv[l];

  // Q_j(u) for the degrees needed: tree1's degrees first, then tree0's.
  T* qbuf[128];
  const int n1 = static_cast<int>(layer.deg1.size());
  const int n0 = static_cast<int>(layer.deg0.size());
  for (int k = 0; k < n1 + n0; ++k) qbuf[k] = ws.q.data() + k * m * L;
  if (n1 > 0) {
    if (ntk || !config_.shared_tree) {
      layer.tree1.apply(v, n1, layer.deg1.data(), qbuf, ws.pw1[h - 1]);
    } else {
      // NNGP features need only P1's degrees (same values: each Q_j depends on j alone).
      int degs[128];
      T* outs[128];
      int count = 0;
      for (int b = 0; b < layer.p1.blocks(); ++b)
        if (layer.p1.qi[b] >= 0) {
          degs[count] = layer.deg1[layer.p1.qi[b]];
          outs[count++] = qbuf[layer.p1.qi[b]];
        }
      layer.tree1.apply(v, count, degs, outs, ws.pw1[h - 1]);
    }
  }
  if (ntk && n0 > 0) layer.tree0.apply(v, n0, layer.deg0.data(), qbuf + n1, ws.pw0[h - 1]);

  // phi = sqrt(N) P1-sketch; to the pooled sum (last layer) or compressed to z.
  T* phi = ws.phi.data();
  const int b1 = layer.p1.blocks();
  write_pack(layer.p1, qbuf, m, sn, phi);
  if (last) {
    add_block(phi, b1 * m, ws.pooled.data() + (ntk ? m * L : 0));
  } else {
    const SignShift<T>* cm[64];
    const T* cs[64];
    for (int b = 0; b < b1 && b < 64; ++b) {
      cm[b] = &layer.compress[b];
      cs[b] = phi + b * m * L;
    }
    sign_shift_sum(cm, cs, std::min(b1, 64), m, L, T(1), ws.z.data(), false);
    store_block(ws.z.data(), m, ring_row, stride, store_col);
  }
  if (!ntk) return;

  // t = TensorSRHT(xi, P0-sketch).
  T* tb = ws.tb.data();
  write_pack(layer.p0, config_.shared_tree ? qbuf : qbuf + n1, m, static_cast<const T*>(nullptr), tb);
  layer.tensor.side_b().apply_inplace(tb);
  layer.tensor.side_a().apply(xi, ws.ta.data());
  T* t = ws.t.data();
  layer.tensor.combine(ws.ta.data(), tb, t, m);
  if (last)
    add_block(t, m, ws.pooled.data());
  else
    store_block(t, m, ring_row + m * stride, stride, store_col);
}

template <typename T>
void CntkSketch<T>::compute_row(int h, int64_t r, const T* x, T scale, Workspace& ws, CntkFeatureKind kind) const {
  constexpr int L = kLanes<T>;
  for (int64_t b = 0; b < blocks_[h]; ++b) compute_block(h, r, b * L, x, scale, ws, kind);
}

template <typename T>
void CntkSketch<T>::transform_image(const T* x, T* out, Workspace& ws, CntkFeatureKind kind) const {
  constexpr int L = kLanes<T>;
  const CntkSketchConfig& c = config_;
  const int64_t H = c.height, W = c.width, C = c.channels;
  const int q = c.filter, depth = c.depth;
  const bool ntk = kind == CntkFeatureKind::Ntk;
  const int64_t size = C * H * W;
  double amax = 0;
  for (int64_t i = 0; i < size; ++i) amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
  if (amax == 0) {
    std::fill(out, out + c.features, T(0));
    return;
  }
  // Scale by a power of two (exact) so that the largest magnitude is in
  // [0.5, 1): squares can neither overflow nor underflow. The map is
  // positively homogeneous, so features are scaled back exactly.
  int exponent = 0;
  std::frexp(amax, &exponent);
  const T scale = static_cast<T>(std::ldexp(1.0, -exponent));

  // Exact normalisers: N^1 = |patch|^2, N^(h+1) = patch sum of N^h / q^2.
  {
    std::vector<double>& n1 = ws.norm[0];
    for (int64_t r = 0; r < rows_[1]; ++r)
      for (int64_t cc = 0; cc < cols_[1]; ++cc) {
        double s = 0;
        for (int64_t ch = 0; ch < C; ++ch)
          for (int d1 = 0; d1 < q; ++d1) {
            const int64_t rr = r + d1 - offset_;
            if (rr < 0 || rr >= H) continue;
            for (int d2 = 0; d2 < q; ++d2) {
              const int64_t c2 = cc + d2 - offset_;
              if (c2 < 0 || c2 >= W) continue;
              const double v = static_cast<double>(scale * x[(ch * H + rr) * W + c2]);
              s += v * v;
            }
          }
        n1[r * cols_[1] + cc] = s;
      }
    const double inv_q2 = 1.0 / (static_cast<double>(q) * q);
    for (int h = 2; h <= depth; ++h) {
      const std::vector<double>& prev = ws.norm[h - 2];
      std::vector<double>& cur = ws.norm[h - 1];
      for (int64_t r = 0; r < rows_[h]; ++r)
        for (int64_t cc = 0; cc < cols_[h]; ++cc) {
          double s = 0;
          for (int d1 = 0; d1 < q; ++d1) {
            const int64_t rr = r + d1 - offset_;
            if (rr < 0 || rr >= rows_[h - 1]) continue;
            for (int d2 = 0; d2 < q; ++d2) {
              const int64_t c2 = cc + d2 - offset_;
              if (c2 < 0 || c2 >= cols_[h - 1]) continue;
              s += prev[rr * cols_[h - 1] + c2];
            }
          }
          cur[r * cols_[h] + cc] = s * inv_q2;
        }
    }
  }

  ws.pooled.zero();
  // Wavefront over rows: after each row of layer h, layer h + 1 computes every
  // row whose taps are ready, so q stored rows per layer suffice.
  std::fill(ws.done.begin(), ws.done.end(), 0);
  auto ready = [&](int h, int64_t r) {
    if (h == 1) return true;
    const int64_t need = std::min<int64_t>(r - offset_ + q - 1, rows_[h - 1] - 1);
    return need < ws.done[h - 1];
  };
  // Iterative form of: advance(h) { while (row ready) { compute; advance(h + 1); } }
  int h = 1;
  while (h >= 1) {
    if (ws.done[h] < rows_[h] && ready(h, ws.done[h])) {
      compute_row(h, ws.done[h], x, scale, ws, kind);
      ++ws.done[h];
      if (h < depth) ++h;
    } else {
      --h;
    }
  }
  if (ws.done[depth] != rows_[depth]) throw std::logic_error("CNTKSketch: wavefront did not finish");

  // Mean over the last layer's pixels, then the final SRHT to `features`.
  const Srht<T>& final_srht = ntk ? out_ntk_ : out_nngp_;
  const int64_t dim = final_srht.in_dim();
  const T* pooled = ws.pooled.data();
  for (int64_t k = 0; k < dim; ++k) {
    T s = 0;
    for (int l = 0; l < L; ++l) s += pooled[k * L + l];
    ws.final_in[k] = s;
  }
  const double pixels = static_cast<double>(rows_[depth] * cols_[depth]);
  const T factor = static_cast<T>(std::ldexp(1.0, exponent) / pixels);
  final_srht.apply(ws.final_in.data(), out, ws.final_work.data(), factor);
}

template <typename T>
void CntkSketch<T>::transform(const T* x, int64_t n, T* out, CntkFeatureKind kind) const {
  const int64_t size = config_.channels * config_.height * config_.width, f = config_.features;
  parallel_rows(
      n, [&]() { return make_workspace(kind); },
      [&](int64_t i, Workspace& ws) { transform_image(x + i * size, out + i * f, ws, kind); });
}

template class CntkSketch<float>;
template class CntkSketch<double>;

}  // namespace ntk
