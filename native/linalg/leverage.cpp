#include "linalg/leverage.hpp"

#include <algorithm>
#include <vector>

#include "common/threads.hpp"
#include "linalg/blas.hpp"
#include "linalg/ridge.hpp"

namespace ntk {

namespace {

constexpr int64_t kColumnBlock = 512;

// block (cols x n, row-major) = Phi[:, c0 .. c0 + cols)^T in float64: the
// layout that both the Gram update (A^T A) and the row-wise triangular solve take.
template <typename T>
void load_columns(const T* phi, int64_t n, int64_t m, int64_t c0, int64_t cols, double* block) {
#pragma omp parallel for schedule(static) num_threads(thread_count())
  for (int64_t j = 0; j < cols; ++j) {
    double* row = block + j * n;
    for (int64_t r = 0; r < n; ++r) row[r] = static_cast<double>(phi[r * m + c0 + j]);
  }
}

}  // namespace

template <typename T>
LeverageResult ridge_leverage_scores(const T* phi, int64_t n, int64_t m, double lambda_rel, double* scores) {
  LeverageResult res;
  std::fill(scores, scores + m, 0.0);
  if (n == 0 || m == 0) return res;
  std::vector<double> gram(n * n, 0.0), block(std::min(kColumnBlock, m) * n);
  for (int64_t c0 = 0; c0 < m; c0 += kColumnBlock) {
    const int64_t cols = std::min(kColumnBlock, m - c0);
    load_columns(phi, n, m, c0, cols, block.data());
    syrk_upper_at_a(n, cols, 1.0, block.data(), n, 1.0, gram.data(), n);
  }
  symmetrize_from_upper(n, gram.data());
  double trace = 0;
  for (int64_t i = 0; i < n; ++i) trace += gram[i * n + i];
  if (trace == 0) return res;  // every feature is zero on these rows
  res.lambda = lambda_rel * trace / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) gram[i * n + i] += res.lambda;
  res.info = cholesky(n, gram.data());
  if (res.info != 0) return res;
  // With G + lambda I = L L^T, phi^T (G + lambda I)^-1 phi = |L^-1 phi|^2.
  // Each block is converted again rather than kept from the first pass: an
  // n x m float64 copy of Phi would dwarf the Gram matrix.
  for (int64_t c0 = 0; c0 < m; c0 += kColumnBlock) {
    const int64_t cols = std::min(kColumnBlock, m - c0);
    load_columns(phi, n, m, c0, cols, block.data());
    triangular_solve_rows(cols, n, gram.data(), block.data(), n);
#pragma omp parallel for schedule(static) num_threads(thread_count())
    for (int64_t j = 0; j < cols; ++j) {
      const double* q = block.data() + j * n;
      double s = 0;
      for (int64_t r = 0; r < n; ++r) s += q[r] * q[r];
      scores[c0 + j] = s;
    }
  }
  return res;
}

template LeverageResult ridge_leverage_scores<float>(const float*, int64_t, int64_t, double, double*);
template LeverageResult ridge_leverage_scores<double>(const double*, int64_t, int64_t, double, double*);

}  // namespace ntk
