// Polynomial approximations of the arc-cosine kernels with non-negative
// coefficients and P(1) = 1 (docs/math.md#polynomial-approximations-of-k0-and-k1). Non-negative coefficients are
// what makes a polynomial a valid dot-product kernel that the polynomial
// sketch can reproduce (phi = [sqrt(c0), sqrt(c1) Q1 x, ...]); P(1) = 1 keeps
// unit vectors at unit norm through the layers, as k0(1) = k1(1) = 1.
#pragma once

#include <cstdint>
#include <vector>

namespace ntk {

enum class ArcCosKernel { K0, K1 };
enum class PolyApprox { Taylor, Nnls };

/// k0 or k1 at t (clamped to [-1, 1]).
double arccos_kernel(ArcCosKernel kernel, double t);

/// The first degree + 1 Taylor coefficients at 0 (docs/math.md#taylor-series), untruncated.
std::vector<double> taylor_series(ArcCosKernel kernel, int degree);

/// Taylor series truncated at `degree` with the tail mass 1 - sum(c) added to
/// the highest-degree non-zero term, so P(1) = 1. Both series have a fixed
/// parity after their first terms (k0 odd, k1 even), so folding into a term of
/// that parity also keeps P(-1) = k(-1) = 0 exact.
std::vector<double> taylor_folded(ArcCosKernel kernel, int degree);

/// Non-negative least-squares fit of `kernel` on [lower, 1] (Chebyshev
/// points, which weight the ends where the kernels are least smooth) with
/// sum(c) = 1 enforced by a heavily weighted row, then renormalised.
std::vector<double> nnls_fit(ArcCosKernel kernel, int degree, double lower);

/// Dispatches to taylor_folded (lower is ignored) or nnls_fit.
std::vector<double> arccos_polynomial(ArcCosKernel kernel, PolyApprox approx, int degree, double lower);

/// Smallest cosine that can enter each layer h = 1..depth of the NTK
/// recursion: alpha[0] = -1, alpha[h] = k1(alpha[h-1]) (k1 is increasing).
std::vector<double> layer_lower_bounds(int depth);

/// Horner evaluation of sum_j c[j] t^j.
double poly_eval(const std::vector<double>& c, double t);

/// Lawson–Hanson non-negative least squares: min |A x - b| subject to x >= 0.
/// A is rows x cols, column-major. Returns x (cols).
std::vector<double> nnls(const std::vector<double>& a, int64_t rows, int64_t cols,
                         const std::vector<double>& b);

}  // namespace ntk
