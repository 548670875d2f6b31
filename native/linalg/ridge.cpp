#include "linalg/ridge.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "linalg/blas.hpp"

namespace ntk {

template <typename T>
void gram_accumulate(const T* phi, int64_t n, int64_t m, const double* y, int64_t k, double* a,
                     double* b) {
  const int64_t chunk = 512;
  std::vector<double> pbuf;
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t rows = std::min(chunk, n - r0);
    const double* p;
    const double* yy = y ? y + r0 * k : nullptr;
    if constexpr (std::is_same_v<T, double>) {
      p = phi + r0 * m;
    } else {
      pbuf.assign(phi + r0 * m, phi + (r0 + rows) * m);
      p = pbuf.data();
    }
    syrk_upper_at_a(m, rows, 1.0, p, m, 1.0, a, m);
    if (yy && k > 0) gemm(true, false, m, k, rows, 1.0, p, m, yy, k, 1.0, b, k);
  }
}

void symmetrize_from_upper(int64_t n, double* a) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j) a[i * n + j] = a[j * n + i];
}

RidgeSolveResult ridge_solve(const double* a, int64_t m, const double* b, int64_t k,
                             double lambda, double* w) {
  std::vector<double> f(a, a + m * m);
  symmetrize_from_upper(m, f.data());
  double anorm = 0;
  for (int64_t i = 0; i < m; ++i) {
    f[i * m + i] += lambda;
  }
  for (int64_t j = 0; j < m; ++j) {
    double s = 0;
    for (int64_t i = 0; i < m; ++i) s += std::fabs(f[i * m + j]);
    anorm = std::max(anorm, s);
  }
  RidgeSolveResult res{cholesky(m, f.data()), 0.0};
  if (res.info != 0) return res;
  res.rcond = cholesky_rcond(m, f.data(), anorm);
  std::copy(b, b + m * k, w);
  cholesky_solve(m, f.data(), k, w);
  return res;
}

int symmetric_eigh(const double* a, int64_t m, double* evals, double* vt) {
  std::copy(a, a + m * m, vt);
  symmetrize_from_upper(m, vt);
  return symmetric_eigen(m, vt, evals);
}

template void gram_accumulate<float>(const float*, int64_t, int64_t, const double*, int64_t,
                                     double*, double*);
template void gram_accumulate<double>(const double*, int64_t, int64_t, const double*, int64_t,
                                      double*, double*);

}  // namespace ntk
