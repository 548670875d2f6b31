#include "maps/ntk_random_features.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/parallel.hpp"
#include "common/threads.hpp"
#include "maps/random_weights.hpp"
#include "linalg/blas.hpp"
#include "linalg/sparse.hpp"
#include "sketches/fwht.hpp"

namespace ntk {

namespace {

// Each component draws from its own stream, named by (role, layer).
enum Role : uint64_t { kStepW = 1, kArcW, kTensor, kFinal, kNngpW };

uint64_t stream_of(Role role, int layer) {
  return sub_stream(sub_stream(0x4e544b5266656174ULL, role), static_cast<uint64_t>(layer));
}

constexpr int64_t kMaxDim = int64_t{1} << 30;
constexpr int64_t kMaxElements = int64_t{1} << 40;

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("NTKRandomFeatures: " + what);
}

// Columns [col_begin, col_end) of W1 from `stream`, and the relative
// feature weights sqrt(K)/|w_j| (leverage) or 1. Orthogonal maps draw all
// their columns jointly (col_begin = 0; random_weights.hpp, structured_columns).
template <typename T>
void draw_arccos(int64_t rows, int64_t col_begin, int64_t col_end, uint64_t seed, uint64_t stream, bool leverage,
                 bool orthogonal, T* out, int64_t ldo, double* weight) {
  const int64_t count = col_end - col_begin;
  if (orthogonal)
    structured_columns(rows, col_end, seed, stream, true, leverage, out, ldo, weight);
  else if (leverage)
    leverage_columns(rows, col_begin, col_end, seed, stream, out, ldo, weight);
  else
    gaussian_columns(rows, col_begin, col_end, seed, stream, out, ldo);
  const double root = std::sqrt(static_cast<double>(rows));
  for (int64_t j = 0; j < count; ++j) weight[j] = leverage ? root / weight[j] : 1.0;
}

}  // namespace

template <typename T>
NtkRandomFeatures<T>::NtkRandomFeatures(const NtkRandomFeaturesConfig& config) : config_(config) {
  const NtkRandomFeaturesConfig& c = config_;
  const int64_t m0 = c.step_features, m1 = c.arccos_features, ms = c.sketch_features;
  require(c.input_dim >= 1 && c.input_dim <= kMaxDim, "input_dim must be in [1, 2^30]");
  require(c.depth >= 1, "depth must be >= 1");
  require(c.features >= 1 && m0 >= 1 && m1 >= 1 && ms >= 1, "feature counts must be >= 1");
  require(m0 <= kMaxDim && m1 <= kMaxDim && ms <= kMaxDim && c.features <= kMaxDim, "feature counts must be <= 2^30");
  require(m1 + ms >= c.features, "arccos_features + sketch_features must be >= features");
  require(m1 + ms <= kMaxDim, "arccos_features + sketch_features must be <= 2^30");
  const int64_t width = m0 + m1;
  require(width <= kMaxDim, "step_features + arccos_features must be <= 2^30 (BLAS leading dimensions are 32-bit)");
  for (int h = 0; h < c.depth; ++h) {
    const int64_t k = h == 0 ? c.input_dim : m1;
    require(k * width <= kMaxElements, "weight matrix too large");
    Layer layer;
    layer.in_dim = k;
    layer.w.allocate(k * width);
    layer.weight.resize(static_cast<size_t>(m1));
    // Orthogonal maps: step features gain from the antithetic pairs (their
    // constant part becomes exact) but hardly from orthogonality (they have
    // no linear part).
    if (c.orthogonal)
      structured_columns(k, m0, c.seed, stream_of(kStepW, h), false, false, layer.w.data(), width, nullptr);
    else
      gaussian_columns(k, 0, m0, c.seed, stream_of(kStepW, h), layer.w.data(), width);
    draw_arccos(k, 0, m1, c.seed, stream_of(kArcW, h), c.leverage, c.orthogonal, layer.w.data() + m0, width,
                layer.weight.data());
    layer.bscale.resize(static_cast<size_t>(m1));
    const double base = std::sqrt(2.0 / static_cast<double>(m1));
    for (int64_t j = 0; j < m1; ++j) layer.bscale[j] = static_cast<T>(base * layer.weight[j]);
    const int64_t side_a = h == 0 ? c.input_dim : m1 + ms;
    layer.tensor = TensorSrht<T>(side_a, m0, ms, c.seed, stream_of(kTensor, h));
    max_side_a_ = std::max(max_side_a_, layer.tensor.side_a().padded());
    layers_.push_back(std::move(layer));
  }
  if (m1 + ms != c.features) final_ = Srht<T>(m1 + ms, c.features, c.seed, stream_of(kFinal, 0));
}

template <typename T>
int64_t NtkRandomFeatures<T>::parameter_bytes() const {
  int64_t bytes = final_.bytes();
  for (const Layer& l : layers_)
    bytes += static_cast<int64_t>(l.w.size() * sizeof(T) + l.weight.size() * sizeof(double) +
                                  l.bscale.size() * sizeof(T)) +
             l.tensor.bytes();
  if (extra_ready_.load()) bytes += static_cast<int64_t>((extra_.w.size() + extra_.scale.size()) * sizeof(T));
  return bytes;
}

template <typename T>
int64_t NtkRandomFeatures<T>::nngp_extra_bytes() const {
  if (extra_ready_.load()) return 0;
  const int64_t f = config_.features, m1 = config_.arccos_features;
  const int64_t extra_cols = config_.orthogonal && f != m1 ? f : std::max<int64_t>(0, f - m1);
  return static_cast<int64_t>(sizeof(T)) * (layers_.back().in_dim * extra_cols + config_.features) +
         static_cast<int64_t>(sizeof(double)) * extra_cols;
}

template <typename T>
int64_t NtkRandomFeatures<T>::call_bytes(FeatureKernel kernel, bool dense, int threads) const {
  const NtkRandomFeaturesConfig& c = config_;
  const bool ntk = kernel == FeatureKernel::Ntk;
  const int64_t m0 = c.step_features, m1 = c.arccos_features, ms = c.sketch_features;
  const int64_t cwidth = ntk ? m0 + m1 : std::max(m1, c.features);
  const int64_t stride = ntk ? m1 + ms : m1;
  const bool zbuffers = c.depth > 1 || (ntk && final_srht());
  int64_t elements = kBlockRows * cwidth + (zbuffers ? 2 * kBlockRows * stride : 0) + (dense ? kBlockRows * c.input_dim : 0);
  if (ntk) {
    const int64_t per_thread = max_side_a_ + next_pow2(m0) + (final_srht() ? final_.work_size() : 0);
    elements += static_cast<int64_t>(std::max(threads, 1)) * per_thread;
  }
  return elements * static_cast<int64_t>(sizeof(T)) + (c.normalize ? kBlockRows * 8 : 0);
}

template <typename T>
int64_t NtkRandomFeatures<T>::workspace_bytes() const {
  const int64_t m0 = config_.step_features;
  return (max_side_a_ + next_pow2(m0) + (final_srht() ? final_.work_size() : 0)) * static_cast<int64_t>(sizeof(T));
}

template <typename T>
const typename NtkRandomFeatures<T>::NngpExtra& NtkRandomFeatures<T>::nngp_extra() const {
  std::call_once(extra_once_, [this]() {
    const NtkRandomFeaturesConfig& c = config_;
    const int64_t m1 = c.arccos_features, f = c.features;
    const Layer& last = layers_.back();
    NngpExtra e;
    std::vector<double> weight(last.weight.begin(), last.weight.begin() + std::min(m1, f));
    if (c.orthogonal && f != m1) {
      e.full = true;
      e.w.allocate(last.in_dim * f);
      weight.resize(static_cast<size_t>(f));
      draw_arccos(last.in_dim, 0, f, c.seed, stream_of(kNngpW, c.depth - 1), c.leverage, true, e.w.data(), f,
                  weight.data());
    } else if (f > m1) {
      e.w.allocate(last.in_dim * (f - m1));
      weight.resize(static_cast<size_t>(f));
      draw_arccos(last.in_dim, m1, f, c.seed, stream_of(kArcW, c.depth - 1), c.leverage, false, e.w.data(), f - m1,
                  weight.data() + m1);
    }
    e.scale.resize(static_cast<size_t>(f));
    const double base = std::sqrt(2.0 / static_cast<double>(f));
    for (int64_t j = 0; j < f; ++j) e.scale[j] = static_cast<T>(base * weight[j]);
    extra_ = std::move(e);
    extra_ready_.store(true);
  });
  return extra_;
}

template <typename T>
void NtkRandomFeatures<T>::copy_weights(int h, T* step, T* arccos, double* weight) const {
  const Layer& l = layers_.at(static_cast<size_t>(h));
  const int64_t m0 = config_.step_features, m1 = config_.arccos_features, width = m0 + m1;
  for (int64_t k = 0; k < l.in_dim; ++k) {
    std::copy(l.w.data() + k * width, l.w.data() + k * width + m0, step + k * m0);
    std::copy(l.w.data() + k * width + m0, l.w.data() + (k + 1) * width, arccos + k * m1);
  }
  std::copy(l.weight.begin(), l.weight.end(), weight);
}

namespace {

// Layer-1 input of a block: dense rows (zero-padded to a full block) through
// GEMM tiles, or CSR rows through the sparse product.
template <typename T>
struct DenseInput {
  static constexpr bool kDense = true;
  const T* x;
  int64_t d;
  std::vector<T> pad;
  const T* block = nullptr;

  void begin_block(int64_t start, int64_t rows, int64_t block_rows) {
    if (rows == block_rows) {
      block = x + start * d;
      return;
    }
    if (pad.empty()) pad.assign(static_cast<size_t>(block_rows * d), T(0));
    std::copy(x + start * d, x + (start + rows) * d, pad.begin());
    std::fill(pad.begin() + rows * d, pad.end(), T(0));
    block = pad.data();
  }
  RowView<T> row(int64_t i) const { return RowView<T>::dense_row(block + i * d, d); }
};

template <typename T>
struct CsrInput {
  static constexpr bool kDense = false;
  const int32_t* indptr;
  const int32_t* indices;
  const T* values;
  int64_t d;
  int64_t start = 0;

  void begin_block(int64_t s, int64_t, int64_t) { start = s; }
  void product(int64_t rows, const T* b, int64_t ncols, int64_t ldb, T* c, int64_t ldc) const {
    csr_times_dense(rows, ncols, indptr + start, indices, values, b, ldb, c, ldc);
  }
  RowView<T> row(int64_t i) const {
    const int64_t begin = indptr[start + i], end = indptr[start + i + 1];
    return RowView<T>::sparse_row(indices + begin, values + begin, end - begin, d);
  }
};

template <typename T>
struct RowScratch {
  std::vector<T> wa, wb, work;
};

// Columns [begin, end) of the GEMM output come from B (ld ldb), column 0 of B
// being output column `begin`.
template <typename T>
struct Segment {
  int64_t begin, end;
  const T* b;
  int64_t ldb;
};

// Euclidean norm in float64, scaled by the largest magnitude so that squares
// cannot overflow or underflow.
template <typename T>
double norm_of(const T* v, int64_t count) {
  double amax = 0;
  for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(static_cast<double>(v[i])));
  if (amax == 0) return 0;
  double ss = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double t = static_cast<double>(v[i]) / amax;
    ss += t * t;
  }
  return amax * std::sqrt(ss);
}

template <typename T>
double row_norm(const RowView<T>& r) {
  return r.dense ? norm_of(r.dense, r.dim) : norm_of(r.value, r.nnz);
}

// Scales v (count entries) to Euclidean norm `target` (zero vectors stay zero).
template <typename T>
void rescale(T* v, int64_t count, double target) {
  const double n = norm_of(v, count);
  if (n == 0) return;
  const T s = static_cast<T>(target / n);
  for (int64_t i = 0; i < count; ++i) v[i] *= s;
}

// Below this many rows a row pass runs on the calling thread.
constexpr int64_t kParallelRows = 32;
// Below this many flops a block's GEMM tiles run on the calling thread.
constexpr double kParallelFlops = 4e6;

template <typename Make, typename Fn>
void for_rows(int64_t rows, Make make, Fn fn) {
  if (rows < kParallelRows || thread_count() == 1) {
    auto ws = make();
    for (int64_t i = 0; i < rows; ++i) fn(i, ws);
    return;
  }
  parallel_rows(rows, make, fn);
}

}  // namespace

// What one transform call shares across its blocks of rows and layers: the
// shapes, and the buffers every block reuses.
template <typename T>
struct NtkRandomFeatures<T>::Pass {
  bool ntk = false;
  bool direct = false;  // the last layer writes into out (no final SRHT)
  const NngpExtra* extra = nullptr;
  int64_t cwidth = 0;  // columns of C: [step | arc-cosine] (NTK), arc-cosine (NNGP)
  int64_t stride = 0;  // entries of a row of z: z_ntk (m1 + ms) or z_nngp (m1)
  T step_value = T(0);
  T* out = nullptr;
  std::vector<double> xnorm;  // |x| of each row of the block (normalize)
  std::vector<T> cbuf;        // C, the GEMM output of a block
  std::vector<T> zbuf[2];     // z of alternate layers
  std::vector<Segment<T>> segments;
  std::vector<std::array<int64_t, 3>> tiles;  // {segment, j0, j1}
};

// The epilogue of a layer's GEMM: nonlinearity and scaling of the computed
// output C[i0:i1, j0:j1], real rows only, and of the antithetic partners:
// step features stay in C (the TensorSRHT reads them), arc-cosine features
// go to their place in z_ntk / z_nngp (or the output).
template <typename T>
struct NtkRandomFeatures<T>::Epilogue {
  T* c;
  int64_t cwidth;
  T* z;  // row i of the arc-cosine features at z + i * ldz
  int64_t ldz;
  int64_t rows;        // real rows of the block
  int64_t off, marc;   // the arc-cosine columns of C: [off, off + marc)
  int64_t m0, dir0, dir1;  // step columns; columns computed per group (pairs)
  T step_value;
  const T* bscale;
  bool pairs;

  inline void operator()(int64_t i0, int64_t i1, int64_t j0, int64_t j1) const {
    const T step = step_value;
    i1 = std::min(i1, rows);
    const int64_t s1 = std::min(j1, off), a0 = std::max(j0, off);
    for (int64_t i = i0; i < i1; ++i) {
      T* ci = c + i * cwidth;
      for (int64_t j = j0; j < s1; ++j) {
        const T v = ci[j];
        ci[j] = v > T(0) ? step : T(0);
        if (pairs && j + dir0 < m0) ci[j + dir0] = v < T(0) ? step : T(0);
      }
      T* zi = z + i * ldz - off;
      for (int64_t j = a0; j < j1; ++j) {
        const T v = ci[j];
        zi[j] = std::max(v, T(0)) * bscale[j - off];
        const int64_t p = j + dir1;
        if (pairs && p < off + marc) zi[p] = std::max(-v, T(0)) * bscale[p - off];
      }
    }
  }
};

template <typename T>
template <typename Input>
void NtkRandomFeatures<T>::run(Input& input, int64_t n, T* out, FeatureKernel kernel) const {
  const int64_t B = kBlockRows;
  Pass p = make_pass(kernel, out);
  for (int64_t start = 0; start < n; start += B) {
    const int64_t rows = std::min(B, n - start);
    input.begin_block(start, rows, B);
    if (rows < B)  // padded rows feed the next GEMMs: keep them zero
      for (auto& z : p.zbuf)
        if (!z.empty()) std::fill(z.begin() + rows * p.stride, z.end(), T(0));
    const T* zprev = nullptr;
    for (int h = 0; h < config_.depth; ++h) zprev = run_layer(p, input, h, start, rows, zprev);
  }
}

template <typename T>
typename NtkRandomFeatures<T>::Pass NtkRandomFeatures<T>::make_pass(FeatureKernel kernel, T* out) const {
  const NtkRandomFeaturesConfig& c = config_;
  const int64_t B = kBlockRows, m0 = c.step_features, m1 = c.arccos_features, ms = c.sketch_features;
  Pass p;
  p.ntk = kernel == FeatureKernel::Ntk;
  p.direct = !p.ntk || !final_srht();
  p.extra = p.ntk ? nullptr : &nngp_extra();
  p.cwidth = p.ntk ? m0 + m1 : std::max(m1, c.features);
  p.stride = p.ntk ? m1 + ms : m1;
  p.step_value = static_cast<T>(std::sqrt(2.0 / static_cast<double>(m0)));
  p.out = out;
  p.xnorm.resize(c.normalize ? static_cast<size_t>(B) : 0);
  p.cbuf.resize(static_cast<size_t>(B * p.cwidth));
  if (c.depth > 1 || !p.direct)
    for (auto& z : p.zbuf) z.assign(static_cast<size_t>(B * p.stride), T(0));
  return p;
}

// Layer h of the block of rows [start, start + rows): C = (its input) [W0 |
// W1] with the epilogue, then the row pass; returns z, the next layer's input.
template <typename T>
template <typename Input>
const T* NtkRandomFeatures<T>::run_layer(Pass& p, Input& input, int h, int64_t start, int64_t rows,
                                         const T* zprev) const {
  const NtkRandomFeaturesConfig& c = config_;
  const int64_t m0 = c.step_features, m1 = c.arccos_features, f = c.features;
  const Layer& layer = layers_[static_cast<size_t>(h)];
  const bool last = h + 1 == c.depth;
  T* znext = p.zbuf[h % 2].data();
  int64_t ldnext = p.stride;
  if (last && p.direct) {
    znext = p.out + start * f;
    ldnext = f;
  }
  // Column groups of C: step features [0, m0) (NTK only), then the
  // arc-cosine features [off, off + marc). With antithetic pairs only the
  // first `directions` columns of a group are computed: the GEMM of column
  // P + i would give exactly minus that of column i.
  const int64_t off = p.ntk ? m0 : 0;  // first arc-cosine column of C
  const int64_t marc = !p.ntk && last ? f : m1;
  const bool pairs = c.orthogonal;  // antithetic weight columns (structured_columns)
  const int64_t dir0 = pairs ? (m0 + 1) / 2 : m0, dir1 = pairs ? (marc + 1) / 2 : marc;
  plan_segments(p, layer, last, dir0, dir1);
  const T* bscale = p.ntk || !last ? layer.bscale.data() : p.extra->scale.data();
  const Epilogue epilogue{p.cbuf.data(), p.cwidth, znext, ldnext, rows, off, marc, m0, dir0, dir1,
                          p.step_value, bscale, pairs};
  bool epilogue_done = true;
  if (h == 0 && !Input::kDense) {
    // CSR rows: sparse-dense product per row; the epilogue runs in the row pass.
    if constexpr (!Input::kDense)
      for (const Segment<T>& sg : p.segments)
        input.product(rows, sg.b, sg.end - sg.begin, sg.ldb, p.cbuf.data() + sg.begin, p.cwidth);
    epilogue_done = false;
  } else {
    const T* a = zprev;
    int64_t lda = p.stride, k = m1;
    if constexpr (Input::kDense) {
      if (h == 0) {
        a = input.block;
        lda = k = c.input_dim;
      }
    }
    gemm_tiles(p, a, lda, k, epilogue);
  }
  if (p.ntk || !epilogue_done || c.normalize)
    row_pass(p, input, h, start, rows, zprev, znext, ldnext, epilogue_done ? nullptr : &epilogue);
  return znext;
}

// The column groups of C that go through the GEMM, each with its weights:
// [W0 | W1] (NTK), or W1 with, at the last layer, the NNGP extra columns.
template <typename T>
void NtkRandomFeatures<T>::plan_segments(Pass& p, const Layer& layer, bool last, int64_t dir0, int64_t dir1) const {
  const int64_t m0 = config_.step_features, m1 = config_.arccos_features, f = config_.features, width = m0 + m1;
  p.segments.clear();
  if (p.ntk) {
    p.segments.push_back({0, dir0, layer.w.data(), width});
    p.segments.push_back({m0, m0 + dir1, layer.w.data() + m0, width});
  } else if (last && p.extra->full) {
    p.segments.push_back({0, dir1, p.extra->w.data(), f});
  } else {
    p.segments.push_back({0, std::min(m1, dir1), layer.w.data() + m0, width});
    if (last && dir1 > m1) p.segments.push_back({m1, dir1, p.extra->w.data(), f - m1});
  }
}

// C = a (kBlockRows x k, ld lda) times the segments' weights, in fixed
// 256 x 256 output tiles, one single-threaded BLAS call each (as linalg
// gemm()), each followed by its epilogue while in cache.
template <typename T>
void NtkRandomFeatures<T>::gemm_tiles(Pass& p, const T* a, int64_t lda, int64_t k, const Epilogue& epilogue) const {
  const int64_t B = kBlockRows, cwidth = p.cwidth;
  const std::vector<Segment<T>>& segments = p.segments;
  std::vector<std::array<int64_t, 3>>& tiles = p.tiles;
  T* C = p.cbuf.data();
  tiles.clear();
  for (size_t g = 0; g < segments.size(); ++g)
    for (int64_t j0 = segments[g].begin; j0 < segments[g].end; j0 += kGemmTile)
      tiles.push_back({static_cast<int64_t>(g), j0, std::min(segments[g].end, j0 + kGemmTile)});
  const int64_t row_tiles = B / kGemmTile, count = row_tiles * static_cast<int64_t>(tiles.size());
  const double flops = 2.0 * B * k * cwidth;
  const bool parallel = count > 1 && flops >= kParallelFlops && thread_count() > 1;
#pragma omp parallel for schedule(dynamic) num_threads(thread_count()) if (parallel)
  for (int64_t t = 0; t < count; ++t) {
    const int64_t i0 = (t / static_cast<int64_t>(tiles.size())) * kGemmTile;
    const auto& tile = tiles[static_cast<size_t>(t % static_cast<int64_t>(tiles.size()))];
    const Segment<T>& sg = segments[static_cast<size_t>(tile[0])];
    const int64_t j0 = tile[1], j1 = tile[2];
    gemm_serial(false, false, kGemmTile, j1 - j0, k, T(1), a + i0 * lda, lda, sg.b + (j0 - sg.begin), sg.ldb, T(0),
                C + i0 * cwidth + j0, cwidth);
    epilogue(i0, i0 + kGemmTile, j0, j1);
  }
}

// The row pass of layer h (NTK, the CSR epilogue when csr_epilogue is given,
// or normalisation): per row, b rescaled to |x|, then (NTK) the TensorSRHT
// of the previous z_ntk with a, and at the last layer the final SRHT.
template <typename T>
template <typename Input>
void NtkRandomFeatures<T>::row_pass(Pass& p, Input& input, int h, int64_t start, int64_t rows, const T* zprev,
                                    T* znext, int64_t ldnext, const Epilogue* csr_epilogue) const {
  const NtkRandomFeaturesConfig& c = config_;
  const int64_t m0 = c.step_features, m1 = c.arccos_features, f = c.features;
  const bool last = h + 1 == c.depth, normalize = c.normalize, ntk = p.ntk;
  const Layer& layer = layers_[static_cast<size_t>(h)];
  auto make_scratch = [&]() {
    RowScratch<T> s;
    if (ntk) {
      s.wa.resize(static_cast<size_t>(max_side_a_));
      s.wb.resize(static_cast<size_t>(next_pow2(m0)));
      if (final_srht()) s.work.resize(static_cast<size_t>(final_.work_size()));
    }
    return s;
  };
  for_rows(rows, make_scratch, [&](int64_t i, RowScratch<T>& s) {
    if (csr_epilogue)
      for (const Segment<T>& sg : p.segments) (*csr_epilogue)(i, i + 1, sg.begin, sg.end);
    if (normalize && h == 0) p.xnorm[static_cast<size_t>(i)] = row_norm(input.row(i));
    const double nx = normalize ? p.xnorm[static_cast<size_t>(i)] : 0;
    T* zi = znext + i * ldnext;
    // b estimates Sigma^h(x, x) = |x|^2 exactly known: rescale to it.
    if (normalize) rescale(zi, !ntk && last ? f : m1, nx);
    if (!ntk) return;
    const RowView<T> prev = h == 0 ? input.row(i) : RowView<T>::dense_row(zprev + i * p.stride, p.stride);
    tensor_row(layer, h, prev, p.cbuf.data() + i * p.cwidth, zi + m1, s.wa.data(), s.wb.data(), nx);
    if (last && !p.direct) final_row(zi, p.out + (start + i) * f, s.work.data(), nx);
  });
}

// The TensorSRHT combine of one row: t = TensorSRHT_h(z_ntk^(h-1) = prev, a
// = the row's step features) into t (ms entries), wa and wb its scratch.
template <typename T>
void NtkRandomFeatures<T>::tensor_row(const Layer& layer, int h, const RowView<T>& prev, const T* a, T* t, T* wa,
                                      T* wb, double nx) const {
  const int64_t ms = config_.sketch_features;
  layer.tensor.side_a().apply(prev, wa);
  layer.tensor.side_b().apply(a, wb);
  layer.tensor.combine(wa, wb, t, ms);
  // T estimates Theta^(h-1)(x, x) dSigma^h(x, x) = h |x|^2 (h 1-based).
  if (config_.normalize) rescale(t, ms, std::sqrt(static_cast<double>(h + 1)) * nx);
}

// The final SRHT of one row: o (features) = SRHT(z_ntk^L), rescaled to
// Theta^L(x, x) = (L + 1) |x|^2 when normalising.
template <typename T>
void NtkRandomFeatures<T>::final_row(const T* z, T* o, T* work, double nx) const {
  final_.apply(z, o, work);
  if (config_.normalize) rescale(o, config_.features, std::sqrt(static_cast<double>(config_.depth + 1)) * nx);
}

template <typename T>
void NtkRandomFeatures<T>::transform(const T* x, int64_t n, T* out, FeatureKernel kernel) const {
  if (n <= 0) return;
  DenseInput<T> input{x, config_.input_dim, {}, nullptr};
  run(input, n, out, kernel);
}

template <typename T>
void NtkRandomFeatures<T>::transform_csr(const int32_t* indptr, const int32_t* indices, const T* values, int64_t n,
                                         T* out, FeatureKernel kernel) const {
  if (n <= 0) return;
  CsrInput<T> input{indptr, indices, values, config_.input_dim, 0};
  run(input, n, out, kernel);
}

template class NtkRandomFeatures<float>;
template class NtkRandomFeatures<double>;

}  // namespace ntk
