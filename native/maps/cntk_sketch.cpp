#include "maps/cntk_sketch.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/parallel.hpp"
#include "sketches/fwht.hpp"
#include "sketches/rng.hpp"

namespace ntk {

namespace {

// Each component draws from its own stream, named by (role, layer, index).
enum Role : uint64_t { kTree = 1, kTensor = 4, kCompress, kPatchZ, kPatchT, kOutNtk, kOutNngp };

uint64_t stream_of(Role role, int layer, int64_t index = 0) {
  return sub_stream(sub_stream(sub_stream(0x434e544b536b7463ULL, role), static_cast<uint64_t>(layer)),
                    static_cast<uint64_t>(index));
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("CNTKSketch: " + what);
}

int leaves_for(const std::vector<int>& degrees) {
  const int top = degrees.empty() ? 1 : degrees.back();
  return static_cast<int>(std::max<int64_t>(2, next_pow2(top)));
}

constexpr int kMaxQ = 64;       // degrees per layer (coefficients up to degree 64)
constexpr int kMaxTaps = 64;    // q^2 sources on the stack; more go to the heap

}  // namespace

std::vector<double> cntk_sketch_polynomial(ArcCosKernel kernel, PolyApprox approx, int degree, int layer) {
  if (degree < 1 || degree > kMaxQ) throw std::invalid_argument("CNTKSketch polynomial: degree must be in [1, 64]");
  if (layer < 1) throw std::invalid_argument("CNTKSketch polynomial: layer must be >= 1");
  if (approx == PolyApprox::Taylor || layer == 1) return arccos_polynomial(kernel, approx, degree, layer == 1 ? -1.0 : 0.0);
  std::vector<int> support = {0, 1};
  for (int j = 2; j <= degree; j *= 2) support.push_back(j);
  const double lower = 0.0;
  const int64_t points = 512, rows = points + 3, cols = static_cast<int64_t>(support.size());
  const double weight = 1e5;  // the sum-to-one row, as in nnls_fit
  std::vector<double> a(static_cast<size_t>(rows * cols)), b(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    double t;
    if (i < points)
      t = 0.5 * (1 + lower) + 0.5 * (1 - lower) * std::cos(3.14159265358979323846 * (static_cast<double>(i) + 0.5) / points);
    else
      t = i == points ? lower : 1.0;
    const bool constraint = i == rows - 1;
    for (int64_t c = 0; c < cols; ++c) a[c * rows + i] = constraint ? weight : std::pow(t, support[c]);
    b[i] = constraint ? weight : arccos_kernel(kernel, t);
  }
  const std::vector<double> c = nnls(a, rows, cols, b);
  double sum = 0;
  for (double v : c) sum += v;
  if (!(sum > 0)) throw std::runtime_error("CNTKSketch polynomial: degenerate fit");
  std::vector<double> out(static_cast<size_t>(degree) + 1, 0.0);
  for (size_t j = 0; j < support.size(); ++j) out[support[j]] = c[j] / sum;
  return out;
}

template <typename T>
struct CntkSketch<T>::Workspace {
  std::vector<std::vector<double>> norm;   // N^h, h = 1..L (index h - 1), rows x cols
  std::vector<std::vector<double>> xnorm;  // M^h, the diagonal of Xi^h
  std::vector<AlignedBuffer<T>> ring;      // layers 1..L-1: q stored rows each
  AlignedBuffer<T> v, xi, ta, tb, q, t, z, pooled;
  std::vector<typename BlockPolySketch<T>::Workspace> pw;
  std::vector<int64_t> done;
  std::vector<T> final_in, final_work;
};

template <typename T>
typename CntkSketch<T>::Pack CntkSketch<T>::make_pack(const std::vector<double>& coeffs, const Layer& layer) const {
  Pack p;
  p.has_const = coeffs[0] > 0;
  p.constant = static_cast<T>(std::sqrt(coeffs[0]));
  for (size_t qi = 0; qi < layer.qdeg.size(); ++qi) {
    const int j = layer.qdeg[qi];
    if (j >= static_cast<int>(coeffs.size()) || !(coeffs[j] > 0)) continue;
    PackBlock b;
    b.qi = static_cast<int>(qi);
    b.rows = layer.qrows[qi];
    b.offset = p.dim;
    b.raw_factor = static_cast<T>(std::sqrt(coeffs[j]));
    double f = std::sqrt(coeffs[j]);
    if (p.blocks.empty() && p.has_const) {
      b.with_const = true;
      f *= std::sqrt(static_cast<double>(b.rows) / static_cast<double>(b.rows - 1));
    }
    b.factor = static_cast<T>(f);
    p.dim += b.rows;
    p.blocks.push_back(b);
  }
  if (p.blocks.empty()) {  // the constant alone
    PackBlock b;
    b.rows = 1;
    b.with_const = true;
    p.dim = 1;
    p.blocks.push_back(b);
  }
  return p;
}

namespace {

void check_config(const CntkSketchConfig& c) {
  require(c.channels >= 1 && c.height >= 1 && c.width >= 1, "channels, height and width must be >= 1");
  require(c.depth >= 1 && c.filter >= 1, "depth and filter size must be >= 1");
  require(c.features >= 1, "features must be >= 1");
  require(c.sketch_dim >= 8 && (c.sketch_dim & (c.sketch_dim - 1)) == 0 && c.sketch_dim <= (int64_t{1} << 24),
          "sketch dimension must be a power of two in [8, 2^24]");
  require(c.filter <= std::min(c.height, c.width), "filter larger than the image");
  require(!c.same || c.filter % 2 == 1, "'same' padding needs an odd filter size");
  require(c.same || std::min(c.height, c.width) - static_cast<int64_t>(c.depth) * (c.filter - 1) >= 1,
          "'valid' padding shrinks the image to nothing at this depth");
  require(static_cast<int>(c.k1.size()) == c.depth && static_cast<int>(c.k0.size()) == c.depth,
          "one k1 and one k0 polynomial per layer required");
  for (const auto* list : {&c.k1, &c.k0})
    for (const auto& poly : *list) {
      require(!poly.empty() && poly.size() <= kMaxQ + 1, "polynomials need 1..65 coefficients (degree <= 64)");
      bool any = false;
      for (double v : poly) {
        require(std::isfinite(v) && v >= 0, "polynomial coefficients must be finite and >= 0");
        any = any || v > 0;
      }
      require(any, "a polynomial is zero");
    }
}

}  // namespace

template <typename T>
CntkSketch<T>::CntkSketch(const CntkSketchConfig& config) : config_(config) {
  const CntkSketchConfig& c = config_;
  check_config(c);
  m_ = c.sketch_dim;
  plan_grids();
  ntk_direct_ = c.features >= 2 ? c.features / 2 : 0;
  for (int h = 1; h <= c.depth; ++h) layers_.push_back(make_layer(h));
  const Layer& last = layers_.back();
  if (ntk_direct_ > 0)
    out_ntk_ = BalancedSrht<T>(last.p1.dim, c.features - ntk_direct_, c.seed, stream_of(kOutNtk, 0));
  else
    out_ntk_ = BalancedSrht<T>(last.t_dim + last.p1.dim, c.features, c.seed, stream_of(kOutNtk, 0));
  out_nngp_ = BalancedSrht<T>(last.p1.dim, c.features, c.seed, stream_of(kOutNngp, 0));
  parameter_bytes_ += out_ntk_.bytes() + out_nngp_.bytes();
}

// The grid of every layer (h = 0: the image), the blocks of kLanes pixels
// per row, and the width of the stored rows.
template <typename T>
void CntkSketch<T>::plan_grids() {
  constexpr int L = kLanes<T>;
  const CntkSketchConfig& c = config_;
  const int q = c.filter, depth = c.depth;
  offset_ = c.same ? (q - 1) / 2 : 0;
  for (int h = 0; h <= depth; ++h) {
    rows_.push_back(c.same ? c.height : c.height - static_cast<int64_t>(h) * (q - 1));
    cols_.push_back(c.same ? c.width : c.width - static_cast<int64_t>(h) * (q - 1));
    blocks_.push_back((cols_.back() + L - 1) / L);
  }
  // Stored rows: logical column c at c + offset, zero margins, and a width
  // that is a whole number of cache lines (each entry of a row aligned).
  stride_.assign(static_cast<size_t>(depth) + 1, 0);
  for (int h = 1; h < depth; ++h)
    stride_[h] = (std::max(blocks_[h] * L + offset_, blocks_[h + 1] * L + q - 1) + L - 1) / L * L;
}

// Layer h (1-based): its polynomial sketches, packs and TensorSRHT, and the
// sign-and-shift maps that carry z and t to the next layer.
template <typename T>
typename CntkSketch<T>::Layer CntkSketch<T>::make_layer(int h) {
  const CntkSketchConfig& c = config_;
  const int64_t m = m_;
  Layer layer;
  layer.in_dim = h == 1 ? c.channels * c.filter * c.filter : m;
  plan_degrees(layer, h);
  layer.p1 = make_pack(c.k1[h - 1], layer);
  layer.p0 = make_pack(c.k0[h - 1], layer);
  layer.t_dim = (h == c.depth && ntk_direct_ > 0) ? ntk_direct_ : m;
  layer.tensor = BlockTensorSrht<T>(layer.in_dim, layer.p0.dim, layer.t_dim, c.seed, stream_of(kTensor, h));
  if (h < c.depth) {
    for (size_t b = 0; b < layer.p1.blocks.size(); ++b) layer.compress.emplace_back(m, c.seed, stream_of(kCompress, h, b));
    const CounterRng rng(c.seed, stream_of(kCompress, h, 1 << 20));
    layer.const_index = static_cast<int64_t>(rng.below(0, static_cast<uint64_t>(m)));
    layer.const_sign = static_cast<T>(rng.sign(1));
  }
  if (h >= 2) draw_patch_maps(layer, h);
  parameter_bytes_ += layer.tree.bytes() + layer.tensor.bytes();
  for (const auto* maps : {&layer.compress, &layer.patch_z, &layer.patch_t})
    for (const auto& s : *maps) parameter_bytes_ += s.bytes();
  return layer;
}

// The degrees j >= 1 that P1^h or P0^h use, the Q_j that sketch them (rows
// and degrees), and the tree that computes them.
template <typename T>
void CntkSketch<T>::plan_degrees(Layer& layer, int h) const {
  const CntkSketchConfig& c = config_;
  const int64_t m = m_;
  const std::vector<double>& c1 = c.k1[h - 1];
  const std::vector<double>& c0 = c.k0[h - 1];
  auto used = [&](int j) {
    return (j < static_cast<int>(c1.size()) && c1[j] > 0) || (j < static_cast<int>(c0.size()) && c0[j] > 0);
  };
  for (int j = 1; j <= kMaxQ; ++j)
    if (used(j)) layer.degrees.push_back(j);
  // All-x mode: the sketched degrees other than 1 are powers of two, and u
  // fills the leaves exactly (in_dim = m): Q_1 is then leaf 0's transform.
  bool pow2 = !layer.degrees.empty() && layer.in_dim == m;
  for (int j : layer.degrees) pow2 = pow2 && (j == 1 || (j & (j - 1)) == 0);
  if (pow2 && layer.degrees.size() > 1 && layer.degrees[0] == 1) {
    layer.q1_leaf = true;
    layer.degrees.erase(layer.degrees.begin());
  }
  for (int j : layer.degrees) {
    layer.qdeg.push_back(j);
    layer.qrows.push_back(m);
  }
  if (layer.q1_leaf) {
    layer.qdeg.push_back(1);
    layer.qrows.push_back(m);
  }
  if (layer.degrees.empty()) return;
  layer.tree = BlockPolySketch<T>(layer.in_dim, m, leaves_for(layer.degrees), c.seed, stream_of(kTree, h));
  layer.powers = true;
  for (int j : layer.degrees) {
    int lv = -1;
    for (int k = 0; (2 << k) <= j; ++k)
      if ((2 << k) == j) lv = k;
    layer.powers = layer.powers && lv >= 0;
    layer.levels.push_back(lv);
  }
  if (!layer.powers && layer.q1_leaf) {  // not all powers of two after all: the general tree computes Q_1
    layer.q1_leaf = false;
    layer.degrees.insert(layer.degrees.begin(), 1);
    layer.qdeg.pop_back();
    layer.qrows.pop_back();
    layer.qdeg.insert(layer.qdeg.begin(), 1);
    layer.qrows.insert(layer.qrows.begin(), m);
    layer.levels.clear();
  }
}

// Layers h >= 2: the sign-and-shift maps of the q^2 taps from the previous
// layer's z (to v) and t (to xi). Taps of one patch row share a random shift
// plus their column offset: the q sources of a row then read neighbouring
// rows of one stored block (cache hits), while every pair of taps still has
// distinct shifts, so their cross terms involve different coordinates.
template <typename T>
void CntkSketch<T>::draw_patch_maps(Layer& layer, int h) const {
  const uint64_t seed = config_.seed;
  const int q = config_.filter;
  const int64_t m = m_;
  const CounterRng rng(seed, stream_of(kPatchZ, h, 1 << 20));
  for (int d1 = 0; d1 < q; ++d1) {
    const int64_t rz = static_cast<int64_t>(rng.below(2 * d1, static_cast<uint64_t>(m)));
    const int64_t rt = static_cast<int64_t>(rng.below(2 * d1 + 1, static_cast<uint64_t>(m)));
    for (int d2 = 0; d2 < q; ++d2) {
      layer.patch_z.emplace_back(m, seed, stream_of(kPatchZ, h, d1 * q + d2), rz + d2);
      layer.patch_t.emplace_back(m, seed, stream_of(kPatchT, h, d1 * q + d2), rt + d2);
    }
  }
}

template <typename T>
int64_t CntkSketch<T>::row_elements(int h, FeatureKernel kind) const {
  return (kind == FeatureKernel::Ntk ? 2 : 1) * m_ * stride_[h];
}

namespace {

struct Sizes {
  int64_t in_dim = 0, in_pad = 0, packed0 = 0, qtotal = 0, t_dim = 0;
};

/// The largest per-layer sizes, which one workspace serves for every layer.
template <typename Layer>
Sizes max_sizes(const std::vector<Layer>& layers) {
  Sizes s;
  for (const Layer& layer : layers) {
    s.in_dim = std::max(s.in_dim, layer.in_dim);
    s.in_pad = std::max(s.in_pad, next_pow2(layer.in_dim));
    s.packed0 = std::max(s.packed0, layer.tensor.side_b().padded());
    int64_t qt = 0;
    for (int64_t r : layer.qrows) qt += r;
    s.qtotal = std::max(s.qtotal, qt);
    s.t_dim = std::max(s.t_dim, layer.t_dim);
  }
  return s;
}

}  // namespace

template <typename T>
typename CntkSketch<T>::Workspace CntkSketch<T>::make_workspace(FeatureKernel kind) const {
  constexpr int L = kLanes<T>;
  const bool ntk = kind == FeatureKernel::Ntk;
  const int depth = config_.depth, q = config_.filter;
  const int64_t m = m_;
  Workspace ws;
  for (int h = 1; h <= depth; ++h) ws.norm.emplace_back(static_cast<size_t>(rows_[h] * cols_[h]), 0.0);
  if (ntk)
    for (int h = 1; h <= depth; ++h) ws.xnorm.emplace_back(static_cast<size_t>(rows_[h] * cols_[h]), 0.0);
  for (int h = 1; h < depth; ++h) ws.ring.emplace_back(q * row_elements(h, kind));
  const Sizes s = max_sizes(layers_);
  for (const Layer& layer : layers_)
    ws.pw.push_back(layer.degrees.empty() ? typename BlockPolySketch<T>::Workspace{} : layer.tree.make_workspace());
  ws.v.resize(s.in_dim * L);
  ws.q.resize(std::max<int64_t>(1, s.qtotal) * L);
  ws.z.resize(m * L);
  const Layer& last = layers_.back();
  ws.pooled.resize(((ntk ? last.t_dim : 0) + last.p1.dim) * L);
  if (ntk) {
    ws.xi.resize(m * L);
    ws.ta.resize(s.in_pad * L);
    ws.tb.resize(s.packed0 * L);
    ws.t.resize(s.t_dim * L);
  }
  ws.done.assign(static_cast<size_t>(depth) + 1, 0);
  const BalancedSrht<T>& out = ntk ? out_ntk_ : out_nngp_;
  ws.final_in.assign(static_cast<size_t>(last.t_dim + last.p1.dim), T(0));
  ws.final_work.assign(static_cast<size_t>(out.work_size()), T(0));
  return ws;
}

template <typename T>
int64_t CntkSketch<T>::workspace_bytes(FeatureKernel kind) const {
  constexpr int L = kLanes<T>;
  const bool ntk = kind == FeatureKernel::Ntk;
  const int depth = config_.depth, q = config_.filter;
  const int64_t m = m_;
  int64_t elements = 0, bytes = 0;
  for (int h = 1; h <= depth; ++h) bytes += rows_[h] * cols_[h] * 8 * (ntk ? 2 : 1);
  for (int h = 1; h < depth; ++h) elements += q * row_elements(h, kind);
  const Sizes s = max_sizes(layers_);
  for (const Layer& layer : layers_)
    if (!layer.degrees.empty()) bytes += layer.tree.workspace_bytes();
  const Layer& last = layers_.back();
  elements += (s.in_dim + std::max<int64_t>(1, s.qtotal) + m + (ntk ? last.t_dim : 0) + last.p1.dim) * L;
  if (ntk) elements += (m + s.in_pad + s.packed0 + s.t_dim) * L;
  const BalancedSrht<T>& out = ntk ? out_ntk_ : out_nngp_;
  elements += last.t_dim + last.p1.dim + out.work_size();
  return bytes + elements * static_cast<int64_t>(sizeof(T)) + 64 * 16;
}

namespace {

/// acc += the packed sketch: const_scale scales the constant, qscale
/// (kLanes per Q buffer) each Q.
template <typename T, typename PackT>
void accumulate_pack(const PackT& p, T* const* qbuf, const T* const_scale, const T* qscale, T* acc) {
  constexpr int L = kLanes<T>;
  for (const auto& b : p.blocks) {
    T* out = acc + b.offset * L;
    int64_t i0 = 0;
    if (b.with_const) {
      for (int l = 0; l < L; ++l) out[l] += p.constant * const_scale[l];
      i0 = 1;
    }
    if (b.qi < 0) continue;
    T ls[L];
    for (int l = 0; l < L; ++l) ls[l] = b.factor * qscale[b.qi * L + l];
    block_axpy(qbuf[b.qi], b.rows - i0, ls, out + i0 * L);
  }
}

/// dst = the packed sketch, entry i of every lane times sign[i] and the
/// scales: the signed input of a Hadamard transform.
template <typename T, typename PackT>
void write_pack_signed(const PackT& p, T* const* qbuf, const T* sign, const T* const_scale, const T* qscale, T* dst) {
  constexpr int L = kLanes<T>;
  for (const auto& b : p.blocks) {
    T* out = dst + b.offset * L;
    const T* s = sign + b.offset;
    int64_t i0 = 0;
    if (b.with_const) {
      for (int l = 0; l < L; ++l) out[l] = s[0] * p.constant * const_scale[l];
      i0 = 1;
    }
    if (b.qi < 0) {
      std::fill(out + i0 * L, out + b.rows * L, T(0));
      continue;
    }
    T ls[L];
    for (int l = 0; l < L; ++l) ls[l] = b.factor * qscale[b.qi * L + l];
    block_scaled_copy(qbuf[b.qi], b.rows - i0, ls, s + i0, T(1), out + i0 * L, L);
  }
}

/// Stores a block (m x L, contiguous) times a per-lane factor into a stored
/// row at column offset col (entry i at row + i * stride + col).
template <typename T>
void store_block(const T* src, int64_t m, const T* lane_scale, T* row, int64_t stride, int64_t col) {
  block_scaled_copy(src, m, lane_scale, static_cast<const T*>(nullptr), T(1), row + col, stride);
}

template <typename T>
void zero_block(int64_t m, T* row, int64_t stride, int64_t col) {
  constexpr int L = kLanes<T>;
  for (int64_t i = 0; i < m; ++i) std::fill(row + i * stride + col, row + i * stride + col + L, T(0));
}

/// Per-lane 1 / sqrt(sq), 0 where sq = 0.
template <typename T>
void inverse_roots(const T* sq, int count, T* out) {
  for (int k = 0; k < count * kLanes<T>; ++k) out[k] = sq[k] > 0 ? T(1) / std::sqrt(sq[k]) : T(0);
}

}  // namespace

/// One block of kLanes pixels of layer h (row r, columns c0..c0 + kLanes - 1)
/// and what every step of compute_block shares about it.
template <typename T>
struct CntkSketch<T>::PixelBlock {
  static constexpr int L = kLanes<T>;
  int h = 0;
  int64_t r = 0, c0 = 0;
  FeatureKernel kind = FeatureKernel::Ntk;
  bool ntk = false, last = false;
  // Per lane: sqrt(N) (the norm of z and phi), sqrt(M) (of xi and t), the
  // scale of u = v * inv, and the mask of live pixels (lanes past the grid
  // edge and pixels with N = 0 give zero features).
  T sn[L], sm[L], inv[L], mask[L], ones[L];
  bool any = false;
  // Layers h < L: where the block is stored in its ring row (z entry i at
  // row + i * stride + col, t the same m * stride further).
  T* row = nullptr;
  int64_t stride = 0, col = 0;
};

/// The taps of a patch on the previous layer's stored rows: per tap, the
/// sign-and-shift maps of z and t, the stored entries they read, and the
/// factor 1/q. On the stack up to kMaxTaps taps, on the heap beyond.
template <typename T>
struct CntkSketch<T>::PatchTaps {
  const SignShift<T>* zm_small[kMaxTaps];
  const SignShift<T>* tm_small[kMaxTaps];
  const T* zs_small[kMaxTaps];
  const T* ts_small[kMaxTaps];
  T f_small[kMaxTaps];
  std::vector<const SignShift<T>*> zm_big, tm_big;
  std::vector<const T*> zs_big, ts_big;
  std::vector<T> f_big;
  const SignShift<T>** zm = zm_small;
  const SignShift<T>** tm = tm_small;
  const T** zs = zs_small;
  const T** ts = ts_small;
  T* fac = f_small;
  int count = 0;

  explicit PatchTaps(int taps) {
    if (taps > kMaxTaps) {
      zm_big.resize(taps), tm_big.resize(taps), zs_big.resize(taps), ts_big.resize(taps), f_big.resize(taps);
      zm = zm_big.data(), tm = tm_big.data(), zs = zs_big.data(), ts = ts_big.data(), fac = f_big.data();
    }
  }
  PatchTaps(const PatchTaps&) = delete;
  PatchTaps& operator=(const PatchTaps&) = delete;
};

// Layer h's features of one block of pixels at row r: the patch v (and xi),
// the polynomial sketches Q_j(u), then phi (pooled, or compressed to z and
// stored for the next layer) and, for NTK features, t = TensorSRHT(xi, P0).
template <typename T>
void CntkSketch<T>::compute_block(int h, int64_t r, int64_t c0, const T* x, T scale, Workspace& ws,
                                  FeatureKernel kind) const {
  constexpr int L = kLanes<T>;
  PixelBlock b = pixel_block(h, r, c0, ws, kind);
  if (!b.any) {
    if (!b.last) {
      zero_block(m_, b.row, b.stride, b.col);
      if (b.ntk) zero_block(m_, b.row + m_ * b.stride, b.stride, b.col);
    }
    return;
  }
  // v (and xi): the patch of this block's pixels; xs rescales xi.
  T* v = ws.v.data();
  const T* xi = v;  // layer 1: Xi^1 = Gamma^1, exact
  const T* xs = b.ones;
  T xs_buf[L];
  if (h == 1) {
    first_layer_patch(r, c0, x, scale, v);
  } else {
    xi = patch_sums(b, ws, xs_buf);
    if (config_.renormalise) xs = xs_buf;
  }
  T* qbuf[kMaxQ];
  T qn[kMaxQ * L];
  sketch_q(b, v, ws, qbuf, qn);
  if (b.last)
    pool_phi(b, qbuf, qn, ws);
  else
    compress_phi(b, qbuf, qn, ws);
  if (b.ntk) tensor_part(b, xi, xs, qbuf, qn, ws);
}

// The block's exact diagonals, per-lane scales and mask, and its place in
// the ring of stored rows.
template <typename T>
typename CntkSketch<T>::PixelBlock CntkSketch<T>::pixel_block(int h, int64_t r, int64_t c0, Workspace& ws,
                                                              FeatureKernel kind) const {
  constexpr int L = kLanes<T>;
  PixelBlock b;
  b.h = h;
  b.r = r;
  b.c0 = c0;
  b.kind = kind;
  b.ntk = kind == FeatureKernel::Ntk;
  b.last = h == config_.depth;
  const int64_t cols = cols_[h];
  for (int l = 0; l < L; ++l) {
    const int64_t c = c0 + l;
    const double n = c < cols ? ws.norm[h - 1][r * cols + c] : 0.0;
    const double mx = (b.ntk && c < cols) ? ws.xnorm[h - 1][r * cols + c] : 0.0;
    const bool live = n > 0;
    b.any = b.any || live;
    b.sn[l] = static_cast<T>(std::sqrt(n));
    b.sm[l] = static_cast<T>(std::sqrt(mx));
    b.inv[l] = live ? static_cast<T>(1.0 / std::sqrt(n)) : T(0);
    b.mask[l] = live ? T(1) : T(0);
    b.ones[l] = T(1);
  }
  if (!b.last) {
    b.row = ws.ring[h - 1].data() + (r % config_.filter) * row_elements(h, kind);
    b.stride = stride_[h];
  }
  b.col = c0 + offset_;
  return b;
}

// Layer 1's v: the raw patches (C q^2 entries per lane) of the scaled image,
// zero outside it.
template <typename T>
void CntkSketch<T>::first_layer_patch(int64_t r, int64_t c0, const T* x, T scale, T* v) const {
  constexpr int L = kLanes<T>;
  const int q = config_.filter;
  const int64_t H = config_.height, W = config_.width;
  int64_t k = 0;
  for (int64_t ch = 0; ch < config_.channels; ++ch)
    for (int d1 = 0; d1 < q; ++d1)
      for (int d2 = 0; d2 < q; ++d2, ++k) {
        const int64_t rr = r + d1 - offset_;
        T* dst = v + k * L;
        if (rr < 0 || rr >= H) {
          std::fill(dst, dst + L, T(0));
          continue;
        }
        const T* src = x + (ch * H + rr) * W;
        for (int l = 0; l < L; ++l) {
          const int64_t cc = c0 + l + d2 - offset_;
          dst[l] = (cc >= 0 && cc < W) ? scale * src[cc] : T(0);
        }
      }
}

// Layers h >= 2: v = (1/q) sum_d S_d(z_(p+d)) into ws.v, and for NTK
// features xi = v + (1/q) sum_d S'_d(t_(p+d)) into ws.xi; returns xi. When
// renormalising, b.inv becomes 1 / |v| and xs (kLanes) sqrt(M) / |xi|.
template <typename T>
const T* CntkSketch<T>::patch_sums(PixelBlock& b, Workspace& ws, T* xs) const {
  constexpr int L = kLanes<T>;
  const int64_t m = m_;
  const bool renorm = config_.renormalise;
  const int64_t prev_stride = stride_[b.h - 1];
  PatchTaps taps(config_.filter * config_.filter);
  gather_taps(b, ws, taps);
  T* v = ws.v.data();
  const T* xi = v;
  const int64_t* all = nullptr;
  const T* const* no_lanes = nullptr;
  sign_shift_sum(taps.zm, taps.zs, all, taps.fac, no_lanes, taps.count, m, prev_stride, v, false);
  T vv[L] = {}, xx[L] = {};
  if (b.ntk) {
    T* x2 = ws.xi.data();
    sign_shift_sum(taps.tm, taps.ts, all, taps.fac, no_lanes, taps.count, m, prev_stride, x2, false);
    block_add_sumsq(x2, v, m, vv, xx);
    xi = x2;
  } else if (renorm) {
    block_sumsq(v, m, vv);
  }
  if (renorm) {
    for (int l = 0; l < L; ++l) {
      b.inv[l] = (b.mask[l] != T(0) && vv[l] > 0) ? T(1) / std::sqrt(vv[l]) : T(0);
      xs[l] = (b.mask[l] != T(0) && xx[l] > 0) ? b.sm[l] / std::sqrt(xx[l]) : T(0);
    }
  }
  return xi;
}

// The taps of the block's patches that fall inside layer h - 1's grid
// (rows outside it are zero padding; columns are, by the stored margins).
template <typename T>
void CntkSketch<T>::gather_taps(const PixelBlock& b, Workspace& ws, PatchTaps& taps) const {
  const int q = config_.filter;
  const Layer& layer = layers_[b.h - 1];
  const int64_t prev_rows = rows_[b.h - 1];
  const T* prev = ws.ring[b.h - 2].data();
  const int64_t prev_elems = row_elements(b.h - 1, b.kind), prev_stride = stride_[b.h - 1];
  const T inv_q = T(1) / static_cast<T>(q);
  int count = 0;
  for (int d1 = 0; d1 < q; ++d1) {
    const int64_t rr = b.r + d1 - offset_;
    if (rr < 0 || rr >= prev_rows) continue;
    const T* row = prev + (rr % q) * prev_elems;
    for (int d2 = 0; d2 < q; ++d2) {
      // Stored column of logical column c0 + d2 - offset is c0 + d2.
      taps.zm[count] = &layer.patch_z[d1 * q + d2];
      taps.tm[count] = &layer.patch_t[d1 * q + d2];
      taps.zs[count] = row + b.c0 + d2;
      taps.ts[count] = row + m_ * prev_stride + b.c0 + d2;
      taps.fac[count] = inv_q;
      ++count;
    }
  }
  taps.count = count;
}

// Q_j(u) for every degree of the layer into qbuf (in ws.q, or the tree's
// leaf 0 for Q_1 in all-x mode), u = v * inv per lane (applied by the
// leaves), and qn (kLanes per Q): the factors that rescale each to unit norm
// (or, with renormalise = false, the mask, and 1/sqrt(m) for the leaf).
template <typename T>
void CntkSketch<T>::sketch_q(const PixelBlock& b, const T* v, Workspace& ws, T** qbuf, T* qn) const {
  constexpr int L = kLanes<T>;
  const Layer& layer = layers_[b.h - 1];
  const bool renorm = config_.renormalise;
  const int nl = static_cast<int>(layer.degrees.size());
  const int nq = static_cast<int>(layer.qdeg.size());
  T qsq[kMaxQ * L];
  int64_t off = 0;
  for (int k = 0; k < nl; ++k) {
    qbuf[k] = ws.q.data() + off * L;
    off += layer.qrows[k];
  }
  std::fill(qsq, qsq + nq * L, T(0));
  const bool tree_ran = nl > 0 && run_tree(b, v, ws, qbuf, qsq);
  if (layer.q1_leaf) q1_from_leaf(b, v, ws, qbuf, qsq + (nq - 1) * L, tree_ran);
  if (renorm) {
    inverse_roots(qsq, nq, qn);
  } else {
    for (int k = 0; k < nq * L; ++k) qn[k] = b.mask[k % L];
  }
  if (layer.q1_leaf && !renorm)  // H D u / sqrt(m) (with renormalisation: leaf / |leaf|)
    for (int l = 0; l < L; ++l) qn[(nq - 1) * L + l] /= std::sqrt(static_cast<T>(m_));
}

// The tree's Q_j (j = layer.degrees) that these features need, with their
// squared norms into qsq; NNGP features need only P1's degrees (the same
// values: each Q_j depends on j alone).
// Whether the tree ran (false when no degree was needed for these features).
template <typename T>
bool CntkSketch<T>::run_tree(const PixelBlock& b, const T* v, Workspace& ws, T* const* qbuf, T* qsq) const {
  constexpr int L = kLanes<T>;
  const Layer& layer = layers_[b.h - 1];
  auto needed = [&](int qi) {
    if (b.ntk) return true;
    for (const auto& blk : layer.p1.blocks)
      if (blk.qi == qi) return true;
    return false;
  };
  int arg[kMaxQ], idx[kMaxQ];
  T* outs[kMaxQ];
  T sq[kMaxQ * L];
  int count = 0;
  for (size_t k = 0; k < layer.degrees.size(); ++k) {
    const int qi = static_cast<int>(k);
    if (!needed(qi)) continue;
    idx[count] = qi;
    arg[count] = layer.powers ? layer.levels[k] : layer.degrees[k];
    outs[count++] = qbuf[qi];
  }
  if (count == 0) return false;
  if (layer.powers)
    layer.tree.apply_powers(v, b.inv, count, arg, outs, ws.pw[b.h - 1], sq);
  else
    layer.tree.apply(v, b.inv, count, arg, outs, ws.pw[b.h - 1], sq);
  for (int k = 0; k < count; ++k) std::copy(sq + k * L, sq + (k + 1) * L, qsq + idx[k] * L);
  return true;
}

// All-x mode: Q_1 = H D u / sqrt(m), leaf 0's transform, left by the tree
// (it is always computed: every power of two >= 2 uses leaf 0), as the last
// Q; its squared norm into sq (kLanes). When the tree did not run for this
// block, the workspace still holds an earlier block's leaf: never reuse it.
template <typename T>
void CntkSketch<T>::q1_from_leaf(const PixelBlock& b, const T* v, Workspace& ws, T** qbuf, T* sq, bool tree_ran) const {
  const Layer& layer = layers_[b.h - 1];
  const int nq = static_cast<int>(layer.qdeg.size());
  const T* leaf = tree_ran ? layer.tree.leaf0_transform(ws.pw[b.h - 1]) : nullptr;
  if (!leaf) {  // no other degree was needed (NNGP with P1 = c0 + c1 t): compute the leaf alone
    const int level0 = 0;
    layer.tree.apply_powers(v, b.inv, 1, &level0, qbuf, ws.pw[b.h - 1]);
    leaf = layer.tree.leaf0_transform(ws.pw[b.h - 1]);
  }
  qbuf[nq - 1] = const_cast<T*>(leaf);
  block_sumsq(leaf, m_, sq);
}

// Last layer: the pooled sum += phi = sqrt(N) P1-sketch.
template <typename T>
void CntkSketch<T>::pool_phi(const PixelBlock& b, T* const* qbuf, const T* qn, Workspace& ws) const {
  constexpr int L = kLanes<T>;
  const Layer& layer = layers_[b.h - 1];
  const int nq = static_cast<int>(layer.qdeg.size());
  T qs[kMaxQ * L];
  for (int k = 0; k < nq * L; ++k) qs[k] = qn[k] * b.sn[k % L];
  accumulate_pack(layer.p1, qbuf, b.sn, qs, ws.pooled.data() + (b.ntk ? layer.t_dim * L : 0));
}

// Layers h < L: z = sum_b S_b(P1 block b) plus phi's constant, rescaled to
// sqrt(N) (renormalising) and stored for the next layer.
template <typename T>
void CntkSketch<T>::compress_phi(const PixelBlock& b, T* const* qbuf, const T* qn, Workspace& ws) const {
  constexpr int L = kLanes<T>;
  const Layer& layer = layers_[b.h - 1];
  const int64_t m = m_;
  const SignShift<T>* cm[kMaxQ];
  const T* cs[kMaxQ];
  const T* cl[kMaxQ];
  int64_t len[kMaxQ];
  T cf[kMaxQ];
  int count = 0;
  for (size_t k = 0; k < layer.p1.blocks.size(); ++k) {
    const PackBlock& blk = layer.p1.blocks[k];
    if (blk.qi < 0) continue;
    cm[count] = &layer.compress[k];
    cs[count] = qbuf[blk.qi];
    cl[count] = qn + blk.qi * L;
    len[count] = layer.qrows[blk.qi];
    cf[count] = blk.raw_factor;
    ++count;
  }
  T* z = ws.z.data();
  sign_shift_sum(cm, cs, len, cf, cl, count, m, L, z, false);
  if (layer.p1.has_const)
    for (int l = 0; l < L; ++l) z[layer.const_index * L + l] += layer.const_sign * layer.p1.constant * b.mask[l];
  T zs[L];
  if (config_.renormalise) {
    T zz[L];
    block_sumsq(z, m, zz);
    for (int l = 0; l < L; ++l) zs[l] = zz[l] > 0 ? b.sn[l] / std::sqrt(zz[l]) : T(0);
  } else {
    std::copy(b.sn, b.sn + L, zs);
  }
  store_block(z, m, zs, b.row, b.stride, b.col);
}

// NTK features: t = TensorSRHT(xi * xs, P0-sketch) (masked lanes get a zero
// P0 side, hence t = 0), rescaled to sqrt(M) (renormalising); pooled at the
// last layer, else stored after z.
template <typename T>
void CntkSketch<T>::tensor_part(const PixelBlock& b, const T* xi, const T* xs, T* const* qbuf, const T* qn,
                                Workspace& ws) const {
  constexpr int L = kLanes<T>;
  const Layer& layer = layers_[b.h - 1];
  const bool renorm = config_.renormalise;
  T* tb = ws.tb.data();
  write_pack_signed(layer.p0, qbuf, layer.tensor.side_b().signs(), b.mask, qn, tb);
  layer.tensor.side_b().transform_signed(tb);
  layer.tensor.side_a().apply(xi, ws.ta.data(), xs);
  T* t = ws.t.data();
  T tt[L], tsc[L];
  const int64_t td = layer.t_dim;
  layer.tensor.combine(ws.ta.data(), tb, t, td, T(1), tt);
  for (int l = 0; l < L; ++l) tsc[l] = renorm ? (tt[l] > 0 ? b.sm[l] / std::sqrt(tt[l]) : T(0)) : T(1);
  if (b.last)
    block_axpy(t, td, tsc, ws.pooled.data());
  else
    store_block(t, m_, tsc, b.row + m_ * b.stride, b.stride, b.col);
}

template <typename T>
void CntkSketch<T>::transform_image(const T* x, T* out, Workspace& ws, FeatureKernel kind) const {
  const CntkSketchConfig& c = config_;
  const int64_t size = c.channels * c.height * c.width;
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
  exact_diagonals(x, scale, ws, kind);
  run_wavefront(x, scale, ws, kind);
  pool_features(exponent, out, ws, kind);
}

// grid h's map of the patch sums of grid h - 1's value(row, col).
template <typename T>
template <typename Value>
std::vector<double> CntkSketch<T>::patch_sum(int h, Value value) const {
  const int q = config_.filter;
  std::vector<double> out_map(static_cast<size_t>(rows_[h] * cols_[h]));
  for (int64_t r = 0; r < rows_[h]; ++r)
    for (int64_t cc = 0; cc < cols_[h]; ++cc) {
      double s = 0;
      for (int d1 = 0; d1 < q; ++d1) {
        const int64_t rr = r + d1 - offset_;
        if (rr < 0 || rr >= rows_[h - 1]) continue;
        for (int d2 = 0; d2 < q; ++d2) {
          const int64_t c2 = cc + d2 - offset_;
          if (c2 < 0 || c2 >= cols_[h - 1]) continue;
          s += value(rr, c2);
        }
      }
      out_map[r * cols_[h] + cc] = s;
    }
  return out_map;
}

// Exact diagonals of the scaled image, in float64: N^1 = |patch|^2,
// N^(h+1) = patch sum of N^h / q^2; M^1 = N^1, M^(h+1) = patch sum of
// (M^h + N^h) / q^2 (NTK features).
template <typename T>
void CntkSketch<T>::exact_diagonals(const T* x, T scale, Workspace& ws, FeatureKernel kind) const {
  const CntkSketchConfig& c = config_;
  const int64_t H = c.height, W = c.width, C = c.channels;
  const int q = c.filter, depth = c.depth;
  const double inv_q2 = 1.0 / (static_cast<double>(q) * q);
  ws.norm[0] = patch_sum(1, [&](int64_t rr, int64_t c2) {
    double s = 0;
    for (int64_t ch = 0; ch < C; ++ch) {
      const double v = static_cast<double>(scale * x[(ch * H + rr) * W + c2]);
      s += v * v;
    }
    return s;
  });
  for (int h = 2; h <= depth; ++h) {
    const std::vector<double>& prev = ws.norm[h - 2];
    const int64_t pc = cols_[h - 1];
    ws.norm[h - 1] = patch_sum(h, [&](int64_t rr, int64_t c2) { return prev[rr * pc + c2] * inv_q2; });
  }
  if (kind != FeatureKernel::Ntk) return;
  ws.xnorm[0] = ws.norm[0];
  for (int h = 2; h <= depth; ++h) {
    const std::vector<double>& pm = ws.xnorm[h - 2];
    const std::vector<double>& pn = ws.norm[h - 2];
    const int64_t pc = cols_[h - 1];
    ws.xnorm[h - 1] = patch_sum(h, [&](int64_t rr, int64_t c2) { return (pm[rr * pc + c2] + pn[rr * pc + c2]) * inv_q2; });
  }
}

// Every block of every layer, in a wavefront over rows: after each row of
// layer h, layer h + 1 computes every row whose taps are ready before layer
// h writes another, so q stored rows per layer suffice (a ring indexed by
// row mod q). The last layer's blocks add to ws.pooled.
template <typename T>
void CntkSketch<T>::run_wavefront(const T* x, T scale, Workspace& ws, FeatureKernel kind) const {
  constexpr int L = kLanes<T>;
  const int q = config_.filter, depth = config_.depth;
  ws.pooled.zero();
  std::fill(ws.done.begin(), ws.done.end(), 0);
  auto ready = [&](int h, int64_t r) {
    if (h == 1) return true;
    const int64_t need = std::min<int64_t>(r - offset_ + q - 1, rows_[h - 1] - 1);
    return need < ws.done[h - 1];
  };
  int h = 1;
  while (h >= 1) {
    if (ws.done[h] < rows_[h] && ready(h, ws.done[h])) {
      for (int64_t b = 0; b < blocks_[h]; ++b) compute_block(h, ws.done[h], b * L, x, scale, ws, kind);
      ++ws.done[h];
      if (h < depth) ++h;
    } else {
      --h;
    }
  }
  if (ws.done[depth] != rows_[depth]) throw std::logic_error("CNTKSketch: wavefront did not finish");
}

// Mean over the last layer's pixels (lanes summed in a fixed order), times
// the inverse of the input scaling 2^-exponent; the pooled t as it is (NTK),
// then the final SRHT of the pooled phi (or of everything when f = 1).
template <typename T>
void CntkSketch<T>::pool_features(int exponent, T* out, Workspace& ws, FeatureKernel kind) const {
  constexpr int L = kLanes<T>;
  const bool ntk = kind == FeatureKernel::Ntk;
  const int depth = config_.depth;
  const Layer& last = layers_.back();
  const int64_t dim = (ntk ? last.t_dim : 0) + last.p1.dim;
  const T* pooled = ws.pooled.data();
  for (int64_t k = 0; k < dim; ++k) {
    T s = 0;
    for (int l = 0; l < L; ++l) s += pooled[k * L + l];
    ws.final_in[k] = s;
  }
  const double pixels = static_cast<double>(rows_[depth] * cols_[depth]);
  const T factor = static_cast<T>(std::ldexp(1.0, exponent) / pixels);
  if (ntk && ntk_direct_ > 0) {
    for (int64_t k = 0; k < ntk_direct_; ++k) out[k] = factor * ws.final_in[k];
    out_ntk_.apply(ws.final_in.data() + last.t_dim, out + ntk_direct_, ws.final_work.data(), factor);
  } else {
    (ntk ? out_ntk_ : out_nngp_).apply(ws.final_in.data(), out, ws.final_work.data(), factor);
  }
}

template <typename T>
void CntkSketch<T>::transform(const T* x, int64_t n, T* out, FeatureKernel kind) const {
  const int64_t size = config_.channels * config_.height * config_.width, f = config_.features;
  // Multiply-adds per image, roughly: every pixel of every layer sketches
  // vectors of m entries with transforms of log2(m) passes.
  int64_t log_m = 1;
  while ((int64_t{1} << log_m) < m_) ++log_m;
  const int64_t image_work = config_.height * config_.width * config_.depth * m_ * log_m;
  parallel_rows(
      n, image_work, [&]() { return make_workspace(kind); },
      [&](int64_t i, Workspace& ws) { transform_image(x + i * size, out + i * f, ws, kind); });
}

template <typename T>
int64_t CntkSketch<T>::input_dim() const {
  return config_.channels * config_.height * config_.width;
}

template <typename T>
int64_t CntkSketch<T>::workspace_bytes() const {
  return std::max(workspace_bytes(FeatureKernel::Ntk), workspace_bytes(FeatureKernel::Nngp));
}

template <typename T>
void CntkSketch<T>::transform_csr(const int32_t*, const int32_t*, const T*, int64_t, T*, FeatureKernel) const {
  throw std::invalid_argument("CNTKSketch reads dense images only");
}

template class CntkSketch<float>;
template class CntkSketch<double>;

}  // namespace ntk
