// Ridge regression building blocks in float64: streaming normal equations,
// Cholesky solves with a condition estimate, and the eigendecomposition that
// gives a whole lambda path (docs/math.md#ridge-regression).
#pragma once

#include <cstdint>

namespace ntk {

/// A(upper) += Phi^T Phi and B += Phi^T Y for a batch of n rows.
/// phi is n x m, y is n x k (row-major), A is m x m, B is m x k (float64).
/// Rows are converted to float64 in fixed-size chunks, so the sums are
/// reproducible and float32 features lose nothing in the accumulation.
template <typename T>
void gram_accumulate(const T* phi, int64_t n, int64_t m, const double* y, int64_t k, double* a,
                     double* b);

/// Copies the upper triangle of a row-major n x n matrix onto the lower one.
void symmetrize_from_upper(int64_t n, double* a);

struct RidgeSolveResult {
  int info;      ///< 0, or the order of the first non-positive pivot
  double rcond;  ///< reciprocal 1-norm condition number of A + lambda I
};

/// W = (A + lambda I)^-1 B for a symmetric A (its upper triangle is read; m x m) and B
/// (m x k). W is m x k. On a failed factorisation W is left untouched.
RidgeSolveResult ridge_solve(const double* a, int64_t m, const double* b, int64_t k,
                             double lambda, double* w);

/// Eigendecomposition of a symmetric m x m matrix (upper triangle read): ascending
/// eigenvalues into evals, eigenvectors as the rows of vt (V^T). Returns info.
int symmetric_eigh(const double* a, int64_t m, double* evals, double* vt);

}  // namespace ntk
