#include "kernels/ntk_exact.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/simd_clones.hpp"
#include "common/threads.hpp"
#include "kernels/arccos.hpp"
#include "linalg/blas.hpp"

namespace ntk {

template <typename T>
void normalize_rows(const T* x, int64_t n, int64_t d, std::vector<double>& unit,
                    std::vector<double>& norms) {
  unit.assign(static_cast<size_t>(n * d), 0.0);
  norms.assign(static_cast<size_t>(n), 0.0);
#pragma omp parallel for schedule(static) num_threads(thread_count())
  for (int64_t i = 0; i < n; ++i) {
    const T* row = x + i * d;
    // Scale by the largest magnitude first so that squaring cannot overflow
    // or underflow (norms of 1e200 or 1e-200 are fine).
    double amax = 0;
    for (int64_t k = 0; k < d; ++k) amax = std::max(amax, std::fabs(static_cast<double>(row[k])));
    if (amax == 0) continue;
    double ss = 0;
    for (int64_t k = 0; k < d; ++k) {
      const double v = static_cast<double>(row[k]) / amax;
      ss += v * v;
    }
    const double scaled_norm = std::sqrt(ss);
    norms[i] = amax * scaled_norm;
    double* u = unit.data() + i * d;
    for (int64_t k = 0; k < d; ++k) u[k] = (static_cast<double>(row[k]) / amax) / scaled_norm;
  }
}

namespace {

// The recursion for a run of cosines, layer by layer so that the inner loop
// over entries vectorises (the arccos is branch-free).
NTK_SIMD_CLONES void ntk_recursion(const double* cosine, int64_t count, int depth, double* theta,
                                   double* sigma) {
  for (int64_t j = 0; j < count; ++j) {
    const double r = clamp_cosine(cosine[j]);
    sigma[j] = r;
    theta[j] = r;
  }
  for (int h = 0; h < depth; ++h) {
#pragma omp simd
    for (int64_t j = 0; j < count; ++j) {
      double k0, k1;
      arccos_k0_k1(sigma[j], &k0, &k1);
      theta[j] = theta[j] * k0 + k1;
      sigma[j] = k1;
    }
  }
}

}  // namespace

template <typename T>
void ntk_exact(const T* x, int64_t n, const T* z, int64_t m, int64_t d, bool symmetric,
               int depth, T* ntk, T* nngp, JobFlags flags) {
  if (n < 0 || m < 0 || d < 0 || depth < 0) throw std::invalid_argument("negative size");
  if (symmetric) m = n;
  std::vector<double> ux, nx, uz_own, nz_own;
  normalize_rows(x, n, d, ux, nx);
  if (!symmetric) normalize_rows(z, m, d, uz_own, nz_own);
  const std::vector<double>& uz = symmetric ? ux : uz_own;
  const std::vector<double>& nz = symmetric ? nx : nz_own;

  // Fixed tiles: each output is produced by the same serial GEMM call and the
  // same recursion whatever the thread count, so results are bit-identical.
  const int64_t tile = kGemmTile;
  const int64_t ti = (n + tile - 1) / tile, tj = (m + tile - 1) / tile;
#pragma omp parallel num_threads(thread_count())
  {
    std::vector<double> cosines(static_cast<size_t>(tile * tile)), theta(tile), sigma(tile);
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < ti * tj; ++t) {
      const int64_t bi = t / tj, bj = t % tj;
      if (symmetric && bj > bi) continue;  // lower triangle of tiles only
      if (flags.cancelled()) continue;
      const int64_t i0 = bi * tile, j0 = bj * tile;
      const int64_t ni = std::min(tile, n - i0), nj = std::min(tile, m - j0);
      if (d > 0) {
        gemm_serial(false, true, ni, nj, d, 1.0, ux.data() + i0 * d, d, uz.data() + j0 * d, d, 0.0,
                    cosines.data(), nj);
      } else {
        std::fill(cosines.begin(), cosines.end(), 0.0);
      }
      for (int64_t i = i0; i < i0 + ni; ++i) {
        double* c = cosines.data() + (i - i0) * nj;
        // The diagonal of the symmetric case uses the exact cosine 1.
        if (symmetric && i >= j0 && i < j0 + nj && nx[i] > 0) c[i - j0] = 1.0;
        ntk_recursion(c, nj, depth, theta.data(), sigma.data());
        for (int64_t j = j0; j < j0 + nj; ++j) {
          const double scale = nx[i] * nz[j];
          if (ntk) ntk[i * m + j] = static_cast<T>(scale * theta[j - j0]);
          if (nngp) nngp[i * m + j] = static_cast<T>(scale * sigma[j - j0]);
        }
      }
      flags.done(1);
    }
  }
  if (flags.cancelled()) throw JobCancelled();
  if (symmetric) {
    // Mirror the lower triangle in cache-friendly tiles.
    const int64_t mt = 64;
#pragma omp parallel for schedule(dynamic) num_threads(thread_count())
    for (int64_t ib = 0; ib < n; ib += mt) {
      for (int64_t jb = 0; jb <= ib; jb += mt) {
        for (int64_t i = ib; i < std::min(n, ib + mt); ++i) {
          for (int64_t j = jb; j < std::min(i, jb + mt); ++j) {
            if (ntk) ntk[j * n + i] = ntk[i * n + j];
            if (nngp) nngp[j * n + i] = nngp[i * n + j];
          }
        }
      }
    }
  }
}

template void normalize_rows<float>(const float*, int64_t, int64_t, std::vector<double>&,
                                    std::vector<double>&);
template void normalize_rows<double>(const double*, int64_t, int64_t, std::vector<double>&,
                                     std::vector<double>&);
template void ntk_exact<float>(const float*, int64_t, const float*, int64_t, int64_t, bool, int,
                               float*, float*, JobFlags);
template void ntk_exact<double>(const double*, int64_t, const double*, int64_t, int64_t, bool,
                                int, double*, double*, JobFlags);

}  // namespace ntk
