#include "kernels/cntk_exact.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/threads.hpp"

#include "common/simd_clones.hpp"

namespace ntk {

namespace {

int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

using Layout = CntkLayout;

/// out[c] = sum_{d < Taps} base[d * stride + c] for c < n, summed in a
/// register in increasing d (Taps fixed at compile time: the tap loop
/// unrolls and the column loop vectorises).
template <int Taps>
inline void tap_sums_fixed(const double* base, int64_t stride, int64_t n, double* out) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) {
    double acc = base[c];
    for (int d = 1; d < Taps; ++d) acc += base[d * stride + c];
    out[c] = acc;
  }
}

/// tap_sums_fixed for a run-time number of taps (same order of summation).
inline void tap_sums(const double* base, int64_t stride, int64_t taps, int64_t n, double* out) {
  switch (taps) {
    case 1: tap_sums_fixed<1>(base, stride, n, out); return;
    case 2: tap_sums_fixed<2>(base, stride, n, out); return;
    case 3: tap_sums_fixed<3>(base, stride, n, out); return;
    case 4: tap_sums_fixed<4>(base, stride, n, out); return;
    case 5: tap_sums_fixed<5>(base, stride, n, out); return;
    case 6: tap_sums_fixed<6>(base, stride, n, out); return;
    case 7: tap_sums_fixed<7>(base, stride, n, out); return;
    default: break;
  }
  for (int64_t c = 0; c < n; ++c) {
    double acc = base[c];
    for (int64_t d = 1; d < taps; ++d) acc += base[d * stride + c];
    out[c] = acc;
  }
}

/// out (rows_out x cols_out) = q x q patch sums of in (rows_in x cols_in):
/// out[r][c] = sum_{d1, d2} in[r + d1 - offset][c + d2 - offset], taps outside
/// `in` being zero. Separable: rows first into tmp (rows_out x cols_in), then
/// columns. Each entry is summed over its taps in increasing order.
NTK_SIMD_CLONES void box_filter(const double* in, int64_t rows_in, int64_t cols_in, int64_t rows_out,
                           int64_t cols_out, int q, int offset, double* tmp, double* out) {
  for (int64_t r = 0; r < rows_out; ++r) {
    double* t = tmp + r * cols_in;
    const int64_t d_lo = std::max<int64_t>(0, offset - r);
    const int64_t d_hi = std::min<int64_t>(q, rows_in + offset - r);
    if (d_lo >= d_hi) {
      std::fill(t, t + cols_in, 0.0);
      continue;
    }
    tap_sums(in + (r + d_lo - offset) * cols_in, cols_in, d_hi - d_lo, cols_in, t);
  }
  // Columns whose q taps all lie inside the row: [inner_lo, inner_hi).
  const int64_t inner_lo = std::min<int64_t>(offset, cols_out);
  const int64_t inner_hi =
      std::max<int64_t>(inner_lo, std::min<int64_t>(cols_out, cols_in - (q - 1 - offset)));
  for (int64_t r = 0; r < rows_out; ++r) {
    const double* t = tmp + r * cols_in;
    double* o = out + r * cols_out;
    for (int64_t c = 0; c < cols_out; ++c) {
      if (c == inner_lo) {
        tap_sums(t + (inner_lo - offset), 1, q, inner_hi - inner_lo, o + inner_lo);
        c = inner_hi;
        if (c >= cols_out) break;
      }
      // A column near the edge ('same' padding): only its taps inside the row.
      const int64_t d_lo = std::max<int64_t>(0, offset - c);
      const int64_t d_hi = std::min<int64_t>(q, cols_in + offset - c);
      double acc = 0;
      for (int64_t d = d_lo; d < d_hi; ++d) acc += t[c + d - offset];
      o[c] = acc;
    }
  }
}

/// Per-thread scratch: six slabs of at most H x W entries in one 64-byte
/// aligned block, so that every thread's slabs have the same alignment (the
/// vectorised loops then split every slab row the same way on every thread).
class Workspace {
 public:
  Workspace(const Layout& lay, int64_t rows_of_displacements)
      : stride_((lay.pixels + 7) / 8 * 8),
        block_(static_cast<double*>(::operator new(sizeof(double) * 6 * stride_, std::align_val_t(64)))),
        part_t(rows_of_displacements),
        part_s(rows_of_displacements) {}
  ~Workspace() { ::operator delete(block_, std::align_val_t(64)); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  Workspace(Workspace&& o) noexcept
      : stride_(o.stride_), block_(o.block_), part_t(std::move(o.part_t)), part_s(std::move(o.part_s)) {
    o.block_ = nullptr;
  }
  Workspace& operator=(Workspace&&) = delete;

  double* slab(int k) { return block_ + k * stride_; }

 private:
  int64_t stride_;
  double* block_;

 public:
  std::vector<double> part_t, part_s;  ///< per displacement row of one pair
};

/// Channel inner products S^0_D(p) = <x_p, z_(p+D)> on the slab of
/// displacement D: x-side pixels start at (ai, aj), z-side at (bi, bj).
NTK_SIMD_CLONES void cross_slab(const double* px, const double* pz, int64_t channels, int64_t width, int64_t ai,
                int64_t aj, int64_t bi, int64_t bj, int64_t rows, int64_t cols, double* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = px + ((ai + r) * width + aj) * channels;
    const double* zr = pz + ((bi + r) * width + bj) * channels;
    double* o = out + r * cols;
    if (channels == 1) {
      for (int64_t c = 0; c < cols; ++c) o[c] = xr[c] * zr[c];
    } else {
      for (int64_t c = 0; c < cols; ++c) {
        const double* a = xr + c * channels;
        const double* b = zr + c * channels;
        double s = 0;
        for (int64_t k = 0; k < channels; ++k) s += a[k] * b[k];
        o[c] = s;
      }
    }
  }
}

/// Pointers to the normalisers of layer h of an image, offset to a slab origin.
struct Norms {
  const double* s;    ///< sqrt N^h
  const double* inv;  ///< 1 / sqrt N^h (0 where N^h = 0)
};

Norms norms_at(const Layout& lay, const double* image, int h, int64_t i0, int64_t j0) {
  const int64_t grid = lay.gh[h] * lay.gw[h];
  const double* s = image + lay.norm_off[h] + i0 * lay.gw[h] + j0;
  return {s, s + grid};
}

/// The dual activation of layer h on a slab: sigma_out <- Sigma * post,
/// t_out <- T * post, where post is the 1/q^2 of the next patch sum (1 at
/// the last layer). Element-wise, so the outputs may alias the inputs
/// (in place; at layer 1 xi is gamma itself, as Xi^1 = Gamma^1).
NTK_SIMD_CLONES void dual_layer(const double* gamma, const double* xi, double* sigma_out, double* t_out,
                           int64_t rows, int64_t cols, int64_t ld_norm, Norms nx, Norms nz,
                           bool self, double post) {
  for (int64_t r = 0; r < rows; ++r) {
    const double* sx = nx.s + r * ld_norm;
    const double* ix = nx.inv + r * ld_norm;
    const double* sz = nz.s + r * ld_norm;
    const double* iz = nz.inv + r * ld_norm;
    const double* gr = gamma + r * cols;
    const double* xr = xi + r * cols;
    double* so = sigma_out + r * cols;
    double* to = t_out + r * cols;
    if (self) {
      for (int64_t c = 0; c < cols; ++c) {
        double sigma, t;
        cntk_dual_step_self(xr[c], sx[c] * sz[c], &sigma, &t);
        so[c] = sigma * post;
        to[c] = t * post;
      }
    } else {
#pragma omp simd
      for (int64_t c = 0; c < cols; ++c) {
        double sigma, t;
        cntk_dual_step(gr[c], xr[c], sx[c] * sz[c], ix[c] * iz[c], &sigma, &t);
        so[c] = sigma * post;
        to[c] = t * post;
      }
    }
  }
}

/// Plain sum of a slab in a fixed order (row sums, then rows in order): never
/// vectorised, so the rounding does not depend on the alignment of buffers.
double slab_sum(const double* v, int64_t rows, int64_t cols) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = v + r * cols;
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += row[c];
    total += s;
  }
  return total;
}

/// Sums over the displacements D = (dy, dx), dx ascending, of sum_p T^L_D(p)
/// and sum_p Sigma^L_D(p) for one pair of prepared images.
void displacement_row(const Layout& lay, const double* px, const double* pz, bool self_pair,
                      int64_t dy, Workspace& ws, double* sum_t, double* sum_s) {
  const int L = lay.depth;
  const int64_t ady = std::abs(dy);
  const int64_t ai = std::max<int64_t>(0, -dy), bi = std::max<int64_t>(0, dy);
  const int64_t wl = lay.gw[L];
  double acc_t = 0, acc_s = 0;
  for (int64_t dx = -(wl - 1); dx <= wl - 1; ++dx) {
    const int64_t adx = std::abs(dx);
    const int64_t aj = std::max<int64_t>(0, -dx), bj = std::max<int64_t>(0, dx);
    const bool self = self_pair && dx == 0 && dy == 0;
    int64_t rows = lay.height - ady, cols = lay.width - adx;
    double* s0 = ws.slab(0);
    double* tmp = ws.slab(5);
    cross_slab(px + 1, pz + 1, lay.channels, lay.width, ai, aj, bi, bj, rows, cols, s0);
    const double* gin = s0;
    const double* xin = nullptr;
    double* g = ws.slab(1);
    double* x = ws.slab(2);
    double* g_next = ws.slab(3);
    double* x_next = ws.slab(4);
    for (int h = 1; h <= L; ++h) {
      const int64_t rout = lay.gh[h] - ady, cout = lay.gw[h] - adx;
      box_filter(gin, rows, cols, rout, cout, lay.filter, lay.offset, tmp, g);
      const double* xi = g;  // Xi^1 = Gamma^1
      if (h > 1) {
        box_filter(xin, rows, cols, rout, cout, lay.filter, lay.offset, tmp, x);
        xi = x;
      }
      const Norms nx = norms_at(lay, px, h, ai, aj);
      const Norms nz = norms_at(lay, pz, h, bi, bj);
      const double post = h < L ? lay.inv_q2 : 1.0;
      dual_layer(g, xi, g, x, rout, cout, lay.gw[h], nx, nz, self, post);
      if (h < L) {
        gin = g;
        xin = x;
        std::swap(g, g_next);
        std::swap(x, x_next);
      } else {
        acc_t += slab_sum(x, rout, cout);
        acc_s += slab_sum(g, rout, cout);
      }
      rows = rout;
      cols = cout;
    }
  }
  *sum_t = acc_t;
  *sum_s = acc_s;
}

}  // namespace

void cntk_check_shape(const CntkShape& s) {
  if (s.channels < 1 || s.height < 1 || s.width < 1)
    throw std::invalid_argument("cntk: image dimensions must be positive");
  if (s.depth < 1) throw std::invalid_argument("cntk: depth must be at least 1");
  if (s.filter < 1) throw std::invalid_argument("cntk: filter size must be at least 1");
  if (s.filter > s.height || s.filter > s.width)
    throw std::invalid_argument("cntk: filter larger than the image");
  if (s.same && s.filter % 2 == 0)
    throw std::invalid_argument("cntk: 'same' padding needs an odd filter size");
  if (cntk_grid_edge(s.height, s.depth, s.filter, s.same) < 1 ||
      cntk_grid_edge(s.width, s.depth, s.filter, s.same) < 1)
    throw std::invalid_argument("cntk: 'valid' layers shrink the grid to nothing");
}

int64_t cntk_prep_doubles(const CntkShape& shape) { return Layout(shape).per_image; }

int64_t cntk_scratch_bytes(const CntkShape& shape) {
  const Layout lay(shape);
  return static_cast<int64_t>(sizeof(double)) * (6 * ((lay.pixels + 7) / 8 * 8) + 2 * (2 * lay.gh[lay.depth] - 1));
}

template <typename T>
void cntk_prepare(const T* x, int64_t n, const CntkShape& shape, double* prep) {
  const Layout lay(shape);
  if (n < 0) throw std::invalid_argument("cntk: negative image count");
  const int threads = thread_count();
  // Scratch is allocated here, outside the parallel region, so that an
  // allocation failure is an exception of the caller rather than a crash.
  std::vector<std::vector<double>> scratch(threads, std::vector<double>(3 * lay.pixels));
  const int64_t hw = lay.pixels, C = lay.channels;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < n; ++i) {
    double* buf = scratch[thread_index()].data();
    double* cur = buf;
    double* next = buf + hw;
    double* tmp = buf + 2 * hw;
    const T* img = x + i * C * hw;
    double* out = prep + i * lay.per_image;
    double amax = 0;
    for (int64_t k = 0; k < C * hw; ++k) amax = std::max(amax, std::fabs(static_cast<double>(img[k])));
    int e = 0;
    if (amax > 0) std::frexp(amax, &e);  // amax = f 2^e, f in [0.5, 1)
    out[0] = static_cast<double>(e);
    double* pix = out + 1;
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t c = 0; c < C; ++c) pix[p * C + c] = std::ldexp(static_cast<double>(img[c * hw + p]), -e);
    // |x_p|^2 in the same order as cross_slab's channel sums.
    for (int64_t p = 0; p < hw; ++p) {
      const double* a = pix + p * C;
      double s = 0;
      if (C == 1) {
        s = a[0] * a[0];
      } else {
        for (int64_t c = 0; c < C; ++c) s += a[c] * a[c];
      }
      cur[p] = s;
    }
    for (int h = 1; h <= lay.depth; ++h) {
      if (h > 1)
        for (int64_t p = 0; p < lay.gh[h - 1] * lay.gw[h - 1]; ++p) cur[p] *= lay.inv_q2;
      box_filter(cur, lay.gh[h - 1], lay.gw[h - 1], lay.gh[h], lay.gw[h], lay.filter, lay.offset, tmp,
                 next);
      const int64_t grid = lay.gh[h] * lay.gw[h];
      double* s = out + lay.norm_off[h];
      double* inv = s + grid;
      for (int64_t p = 0; p < grid; ++p) {
        const double v = next[p];
        s[p] = std::sqrt(v);
        inv[p] = v > 0 ? 1.0 / s[p] : 0.0;
      }
      std::swap(cur, next);
    }
  }
}

template <typename T>
void cntk_exact_rows(const double* prep_x, int64_t n, const double* prep_z, int64_t m,
                     bool symmetric, const CntkShape& shape, int64_t row_begin, int64_t row_end,
                     T* ntk, T* nngp) {
  const Layout lay(shape);
  if (!cntk_resolve_rows(prep_x, n, &prep_z, &m, symmetric, row_begin, row_end)) return;
  const int64_t npairs = cntk_pair_count(symmetric, m, row_begin, row_end);
  const int64_t hl = lay.gh[lay.depth];
  const int64_t ndy = 2 * hl - 1;
  const int threads = thread_count();

  auto finish = [&](int64_t i, int64_t j, const double* part_t, const double* part_s) {
    cntk_finish_pair(lay, prep_x, prep_z, m, symmetric, i, j, part_t, part_s, ntk, nngp);
  };

  std::vector<Workspace> spaces;
  spaces.reserve(threads);
  for (int t = 0; t < threads; ++t) spaces.emplace_back(lay, ndy);

  if (npairs >= 4 * static_cast<int64_t>(threads)) {
    // Many pairs: one pair per task.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t k = 0; k < npairs; ++k) {
      Workspace& ws = spaces[thread_index()];
      int64_t i, j;
      cntk_pair_index(symmetric, m, row_begin, k, &i, &j);
      const double* px = prep_x + i * lay.per_image;
      const double* pz = prep_z + j * lay.per_image;
      const bool self = symmetric && i == j;
      for (int64_t r = 0; r < ndy; ++r)
        displacement_row(lay, px, pz, self, r - (hl - 1), ws, &ws.part_t[r], &ws.part_s[r]);
      finish(i, j, ws.part_t.data(), ws.part_s.data());
    }
  } else {
    // Few pairs: each pair split over its displacement rows.
    std::vector<double> part_t(ndy), part_s(ndy);
    for (int64_t k = 0; k < npairs; ++k) {
      int64_t i, j;
      cntk_pair_index(symmetric, m, row_begin, k, &i, &j);
      const double* px = prep_x + i * lay.per_image;
      const double* pz = prep_z + j * lay.per_image;
      const bool self = symmetric && i == j;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
      for (int64_t r = 0; r < ndy; ++r)
        displacement_row(lay, px, pz, self, r - (hl - 1), spaces[thread_index()], &part_t[r], &part_s[r]);
      finish(i, j, part_t.data(), part_s.data());
    }
  }
}

template <typename T>
void cntk_exact(const T* x, int64_t n, const T* z, int64_t m, bool symmetric,
                const CntkShape& shape, T* ntk, T* nngp) {
  const Layout lay(shape);
  std::vector<double> px(static_cast<size_t>(n * lay.per_image));
  cntk_prepare(x, n, shape, px.data());
  std::vector<double> pz;
  if (!symmetric) {
    pz.resize(static_cast<size_t>(m * lay.per_image));
    cntk_prepare(z, m, shape, pz.data());
  }
  cntk_exact_rows(px.data(), n, symmetric ? nullptr : pz.data(), m, symmetric, shape, 0, n, ntk,
                  nngp);
}

template void cntk_prepare<float>(const float*, int64_t, const CntkShape&, double*);
template void cntk_prepare<double>(const double*, int64_t, const CntkShape&, double*);
template void cntk_exact_rows<float>(const double*, int64_t, const double*, int64_t, bool,
                                     const CntkShape&, int64_t, int64_t, float*, float*);
template void cntk_exact_rows<double>(const double*, int64_t, const double*, int64_t, bool,
                                      const CntkShape&, int64_t, int64_t, double*, double*);
template void cntk_exact<float>(const float*, int64_t, const float*, int64_t, bool,
                                const CntkShape&, float*, float*);
template void cntk_exact<double>(const double*, int64_t, const double*, int64_t, bool,
                                 const CntkShape&, double*, double*);

}  // namespace ntk
