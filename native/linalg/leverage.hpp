// Ridge leverage scores of the columns of a feature matrix: how much each
// feature matters to ridge regression on a set of rows. They let a large
// pool of random features be cut down to the columns that carry the data
// (Bach 2017; Avron et al. 2017: sampling features in proportion to these
// scores needs about d_eff(lambda) features, not the worst case).
#pragma once

#include <cstdint>

namespace ntk {

struct LeverageResult {
  int info = 0;        ///< 0, or the order of the first non-positive Cholesky pivot
  double lambda = 0;   ///< the absolute lambda used
};

/// scores[j] = phi_j^T (G + lambda I)^-1 phi_j for every column phi_j of the
/// row-major n x m matrix Phi, where G = Phi Phi^T (n x n) and
/// lambda = lambda_rel * trace(G) / n. Their sum is d_eff(lambda) =
/// trace(G (G + lambda I)^-1) <= n. All in float64; columns are handled in
/// fixed blocks (cost O(n^2 m + n^3), memory O(n^2 + n * 512)), so the
/// scores are bit-identical for any thread count. A zero Phi gives zeros.
template <typename T>
LeverageResult ridge_leverage_scores(const T* phi, int64_t n, int64_t m, double lambda_rel, double* scores);

}  // namespace ntk
