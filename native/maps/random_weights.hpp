// Gaussian weight matrices drawn from the counter RNG (sketches/rng.hpp), for
// random-feature maps.
//
// Every column is a pure function of (seed, stream, column index): columns
// can be drawn in any order, on any number of threads, or later on demand
// (a map can add columns without changing the earlier ones), and the result
// is bit-identical every time.
//
// Normals come from a ziggurat (Marsaglia and Tsang 2000, in Doornik's 2005
// double-precision form, 128 layers): entry (k, j) is drawn from the 64-bit
// counter value at position q = j * rows + k (53 bits for the uniform, 7 for
// the layer), accepted at once with probability ~0.99; the rare wedge, tail
// and retry steps take further values from a second stream at positions
// 64 q + c. About 3 ns per normal, against ~25 ns for Box–Muller (whose log
// and sincos dominate the cost of drawing a map).
#pragma once

#include <cstdint>

#include "sketches/rng.hpp"

namespace ntk {

/// Standard normal number `q` of the stream pair (main, aux); see above.
double ziggurat_normal(const CounterRng& main, const CounterRng& aux, uint64_t q);

/// Fills columns [col_begin, col_end) of a row-major matrix with independent
/// N(0, 1) entries: out[k * ldo + (j - col_begin)] = entry (k, j) for
/// k < rows. Parallel over blocks of columns.
template <typename T>
void gaussian_columns(int64_t rows, int64_t col_begin, int64_t col_end, uint64_t seed, uint64_t stream, T* out,
                      int64_t ldo);

/// Same layout, columns drawn from the leverage-score density
/// q(w) = (|w|^2 / rows) N(w; 0, I_rows) with the exact O(rows) sampler
/// w = (g / |g|) |h|, g ~ N(0, I_rows) (the columns of gaussian_columns with
/// this stream) and h ~ N(0, I_(rows+2)) (a stream of its own).
/// norms[j - col_begin] = |w_j| = |h|.
template <typename T>
void leverage_columns(int64_t rows, int64_t col_begin, int64_t col_end, uint64_t seed, uint64_t stream, T* out,
                      int64_t ldo, double* norms);

/// structured_columns orthogonalises a block of k directions in `rows`
/// dimensions only when k * kMinOrthogonalShare >= rows (see there).
constexpr int64_t kMinOrthogonalShare = 8;

/// Columns [0, count) of a row-major rows x count matrix (ld ldo), each
/// distributed as its plain or leverage counterpart above, but drawn jointly
/// to lower the variance of random features built on them:
///   - antithetic pairs: with P = ceil(count / 2) directions, column P + i is
///     minus column i (i < count - P). For a relu feature this makes the odd
///     part of relu(z) = z/2 + |z|/2 cancel between the two columns; for a step
///     feature the constant part of step(z) = 1/2 + sign(z)/2 becomes exact.
///   - orthogonal blocks (orthogonal = true): directions come in consecutive
///     blocks of `rows`, and within a block they are the Q factor (positive
///     diagonal R, hence Haar distributed) of the block's Gaussian columns
///     (gaussian_columns with `stream`), each scaled by the length of its own
///     Gaussian column (chi_rows, independent of Q), or by the leverage length
///     |h| of leverage_columns. A full block then sums the linear part
///     z/2 exactly: sum_j (w_j . x)(w_j . y) is proportional to <x, y>.
///     A block of fewer than rows / kMinOrthogonalShare directions keeps its
///     independent columns: k random directions in `rows` dimensions are
///     nearly orthogonal already (the variance saved is ~k / rows), and the
///     O(rows k^2) orthogonalisation and its rows x k float64 scratch would
///     not pay (high-dimensional inputs).
/// Every column is marginally N(0, I) (or the leverage density), so features
/// stay unbiased; only their errors become negatively correlated.
/// norms (count entries, may be null) receives |w_j|.
/// Cost: the draw, plus O(rows k^2) per orthogonalised block of k directions
/// (Cholesky QR in float64: one pass when 2k <= rows, two otherwise), with
/// 8 (rows k + k^2) bytes of scratch.
template <typename T>
void structured_columns(int64_t rows, int64_t count, uint64_t seed, uint64_t stream, bool orthogonal, bool leverage,
                        T* out, int64_t ldo, double* norms);

}  // namespace ntk
