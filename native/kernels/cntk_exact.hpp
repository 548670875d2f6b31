// Exact convolutional NTK / CNN-GP with global average pooling (docs/math.md#convolutional-ntk).
//
// Images are C x H x W (row-major), L conv layers of q x q filters, stride 1,
// padding 'valid' (each layer shrinks the grid by q - 1) or 'same' (zero
// padding, odd q). For a pair of images x, z the pixel-pair tensors
// M_{p,p'} of docs/math.md#cntk-grid-padding-and-patch-sum are never stored whole: the patch sum
// P[M]_{p,p'} = sum_d M_{p+d, p'+d} only couples entries with the same
// displacement D = p' - p, so for each D the slab M_D(p) = M_{p, p+D} evolves
// on its own through all L layers, and P acts on it as a q x q box filter
// (zero outside the slab for 'same', shrinking it for 'valid'). The slab of a
// displacement is at most H x W, so one pair needs O(HW) scratch and runs in
// cache; the total work is still O((HW)^2 L (q + arccos)) per pair.
//
// The per-entry arithmetic (one pixel pair through the dual activation) and
// the slab geometry are NTK_HD so that a CUDA version can share them.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common/host_device.hpp"
#include "kernels/arccos.hpp"

namespace ntk {

/// Shape and architecture of an exact CNTK computation.
struct CntkShape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int depth = 1;    ///< L, number of conv layers (>= 1)
  int filter = 1;   ///< q, filter edge (>= 1; odd for 'same')
  bool same = false;  ///< 'same' zero padding (else 'valid')
};

/// Edge of the pixel grid after layer h (h = 0: the image itself), given the
/// image edge: unchanged with 'same' padding, shrunk by h (q - 1) with 'valid'.
NTK_HD int64_t cntk_grid_edge(int64_t edge, int h, int filter, bool same) {
  return same ? edge : edge - static_cast<int64_t>(h) * (filter - 1);
}

/// Offset of the first tap of a patch relative to the output pixel: 0 for
/// 'valid', (q - 1) / 2 for 'same' (patch centred on the pixel).
NTK_HD int cntk_patch_offset(int filter, bool same) { return same ? (filter - 1) / 2 : 0; }

/// The dual activation on one pixel pair of layer h (docs/math.md#convolutional-ntk):
///   rho = Gamma / sqrt(N_x N_z),  Sigma = sqrt(N_x N_z) k1(rho),
///   dSigma = k0(rho),  T = Xi dSigma + Sigma.
/// scale = sqrt(N_x(p)) sqrt(N_z(p')); inv_scale = 1 / scale, or 0 when a
/// normaliser is 0 (then Sigma = 0 and Xi = 0, so T = 0: no NaN).
NTK_HD void cntk_dual_step(double gamma, double xi, double scale, double inv_scale, double* sigma,
                           double* t) {
  double k0, k1;
  arccos_k0_k1(gamma * inv_scale, &k0, &k1);
  *sigma = scale * k1;
  *t = xi * k0 + *sigma;
}

/// The same step for a pixel with itself (p = p' of an image paired with
/// itself): rho = 1 exactly, so Sigma = N(p) and T = Xi + N(p).
NTK_HD void cntk_dual_step_self(double xi, double scale, double* sigma, double* t) {
  *sigma = scale;
  *t = xi + scale;
}

/// One output entry of the q x q box filter (the patch sum P restricted to
/// one displacement) on a rows x cols slab `in` (row-major, leading dimension
/// ld): sum over the taps (d1, d2) in [q]^2 of in[r + d1 - offset][c + d2 - offset],
/// taps outside the slab being zero. Reference form for device code; the CPU
/// path uses the separable version of the same sum.
NTK_HD double cntk_box_entry(const double* in, int64_t rows, int64_t cols, int64_t ld, int filter,
                             int offset, int64_t r, int64_t c) {
  double s = 0;
  for (int d1 = 0; d1 < filter; ++d1) {
    const int64_t rr = r + d1 - offset;
    if (rr < 0 || rr >= rows) continue;
    for (int d2 = 0; d2 < filter; ++d2) {
      const int64_t cc = c + d2 - offset;
      if (cc < 0 || cc >= cols) continue;
      s += in[rr * ld + cc];
    }
  }
  return s;
}

/// Throws std::invalid_argument when the shape is unusable (non-positive
/// sizes, even filter with 'same', filter larger than the image, or a 'valid'
/// grid that shrinks to nothing).
void cntk_check_shape(const CntkShape& shape);

/// Derived sizes and the offsets of the per-image data made by cntk_prepare.
struct CntkLayout {
  int64_t channels, height, width, pixels;
  int depth, filter, offset;
  bool same;
  double inv_q2;
  std::vector<int64_t> gh, gw;      ///< grid edges per layer, h = 0..L
  std::vector<int64_t> norm_off;    ///< offset of sqrt N^h (h = 1..L); reciprocals follow
  int64_t per_image;

  explicit CntkLayout(const CntkShape& s)
      : channels((cntk_check_shape(s), s.channels)),
        height(s.height),
        width(s.width),
        pixels(s.height * s.width),
        depth(s.depth),
        filter(s.filter),
        offset(cntk_patch_offset(s.filter, s.same)),
        same(s.same),
        inv_q2(1.0 / (static_cast<double>(s.filter) * s.filter)),
        gh(s.depth + 1),
        gw(s.depth + 1),
        norm_off(s.depth + 1, 0) {
    for (int h = 0; h <= depth; ++h) {
      gh[h] = cntk_grid_edge(height, h, filter, same);
      gw[h] = cntk_grid_edge(width, h, filter, same);
    }
    int64_t off = 1 + pixels * channels;  // [0]: exponent; then the pixels
    for (int h = 1; h <= depth; ++h) {
      norm_off[h] = off;
      off += 2 * gh[h] * gw[h];
    }
    per_image = off;
  }
};

/// Pair (i, j) of the k-th pair counted from row_begin: row-major over the
/// n x m result, or over the lower triangle j <= i when symmetric.
NTK_HD void cntk_pair_index(bool symmetric, int64_t m, int64_t row_begin, int64_t k, int64_t* i, int64_t* j) {
  if (!symmetric) {
    *i = row_begin + k / m;
    *j = k % m;
    return;
  }
  const int64_t g = row_begin * (row_begin + 1) / 2 + k;
  int64_t r = static_cast<int64_t>((sqrt(8.0 * static_cast<double>(g) + 1.0) - 1.0) / 2.0);
  while (r > 0 && r * (r + 1) / 2 > g) --r;
  while ((r + 1) * (r + 2) / 2 <= g) ++r;
  *i = r;
  *j = g - r * (r + 1) / 2;
}

/// Checks the row range of a cntk_exact_rows call and resolves Z = X when
/// symmetric (m = n, prep_z = prep_x); false when there is nothing to compute.
inline bool cntk_resolve_rows(const double* prep_x, int64_t n, const double** prep_z, int64_t* m, bool symmetric,
                              int64_t row_begin, int64_t row_end) {
  if (symmetric) {
    *m = n;
    *prep_z = prep_x;
  }
  if (n < 0 || *m < 0 || row_begin < 0 || row_end < row_begin || row_end > n)
    throw std::invalid_argument("cntk: bad row range");
  return row_end > row_begin && *m > 0;
}

/// Pairs in the rows [row_begin, row_end) of an n x m result (lower triangle when symmetric).
inline int64_t cntk_pair_count(bool symmetric, int64_t m, int64_t row_begin, int64_t row_end) {
  return symmetric ? row_end * (row_end + 1) / 2 - row_begin * (row_begin + 1) / 2 : (row_end - row_begin) * m;
}

/// Finishes pair (i, j) from its per-displacement-row sums (2 gh[L] - 1 of
/// each): sums them in order, takes the means over pixel pairs, scales back
/// by the images' powers of two and writes (i, j) (and (j, i) when
/// symmetric) of the outputs that are not nullptr.
template <typename T>
void cntk_finish_pair(const CntkLayout& lay, const double* prep_x, const double* prep_z, int64_t m, bool symmetric,
                      int64_t i, int64_t j, const double* part_t, const double* part_s, T* ntk, T* nngp) {
  const int64_t side = lay.gh[lay.depth] * lay.gw[lay.depth];
  const int64_t ndy = 2 * lay.gh[lay.depth] - 1;
  const double count = static_cast<double>(side) * static_cast<double>(side);
  double st = 0, ss = 0;
  for (int64_t k = 0; k < ndy; ++k) {
    st += part_t[k];
    ss += part_s[k];
  }
  const int e = static_cast<int>(prep_x[i * lay.per_image]) + static_cast<int>(prep_z[j * lay.per_image]);
  const double vt = std::ldexp(st / count, e), vs = std::ldexp(ss / count, e);
  if (ntk) {
    ntk[i * m + j] = static_cast<T>(vt);
    if (symmetric && i != j) ntk[j * m + i] = static_cast<T>(vt);
  }
  if (nngp) {
    nngp[i * m + j] = static_cast<T>(vs);
    if (symmetric && i != j) nngp[j * m + i] = static_cast<T>(vs);
  }
}

/// Doubles of per-image data made by cntk_prepare: the power-of-two exponent
/// the image was scaled by, its scaled pixels (pixel-major: H W x C), and for
/// each layer h = 1..L the normalisers sqrt(N^h(p)) and their reciprocals.
int64_t cntk_prep_doubles(const CntkShape& shape);

/// Bytes of scratch each thread of cntk_exact_rows uses.
int64_t cntk_scratch_bytes(const CntkShape& shape);

/// Per-image data for cntk_exact_rows, computed once per image: x holds n
/// images of C x H x W; prep receives n * cntk_prep_doubles(shape) doubles.
/// Each image is scaled by a power of two (exact) so that its largest
/// magnitude is in [0.5, 1): squares can neither overflow nor underflow, and
/// the kernel is homogeneous, so results are scaled back exactly.
/// N^1 = patch sum of |x_p|^2, N^(h+1) = patch sum of N^h / q^2.
template <typename T>
void cntk_prepare(const T* x, int64_t n, const CntkShape& shape, double* prep);

/// Exact CNTK (mean over pixel pairs of T^L) and CNN-GP (mean of Sigma^L) for
/// the rows [row_begin, row_end) of the n x m result, from prepared images.
/// symmetric means Z = X (prep_z and m are ignored): rows hold the pairs
/// j <= i, and each is also written to (j, i); a pair of an image with itself
/// uses the exact cosine 1 on p = p'. Outputs are n x m row-major in T (either
/// may be nullptr); everything is computed in float64. Parallel over pairs
/// (or, when a block has fewer pairs than threads, over displacement rows of
/// one pair); every pair is summed in the same fixed order either way, so
/// results are bit-identical for any thread count and any row blocking.
template <typename T>
void cntk_exact_rows(const double* prep_x, int64_t n, const double* prep_z, int64_t m,
                     bool symmetric, const CntkShape& shape, int64_t row_begin, int64_t row_end,
                     T* ntk, T* nngp);

/// Convenience: cntk_prepare for X (and Z) and cntk_exact_rows over all rows.
template <typename T>
void cntk_exact(const T* x, int64_t n, const T* z, int64_t m, bool symmetric,
                const CntkShape& shape, T* ntk, T* nngp);

}  // namespace ntk
