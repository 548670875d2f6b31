#include "sketches/poly_coeffs.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "kernels/arccos.hpp"

namespace ntk {

double arccos_kernel(ArcCosKernel kernel, double t) {
  return kernel == ArcCosKernel::K0 ? arccos_k0(t) : arccos_k1(t);
}

std::vector<double> taylor_series(ArcCosKernel kernel, int degree) {
  if (degree < 0) throw std::invalid_argument("degree must be >= 0");
  std::vector<double> c(static_cast<size_t>(degree) + 1, 0.0);
  if (kernel == ArcCosKernel::K0) {
    c[0] = 0.5;
  } else {
    c[0] = 1.0 / M_PI;
    if (degree >= 1) c[1] = 0.5;
  }
  // a_k = (2k)! / (4^k (k!)^2) by its ratio recurrence (no overflow).
  double a = 1.0;
  for (int k = 0;; ++k) {
    if (k > 0) a *= (2.0 * k - 1.0) / (2.0 * k);
    const int j = kernel == ArcCosKernel::K0 ? 2 * k + 1 : 2 * k + 2;
    if (j > degree) break;
    c[j] = kernel == ArcCosKernel::K0 ? a / (M_PI * (2.0 * k + 1.0))
                                      : a / (M_PI * (2.0 * k + 1.0) * (2.0 * k + 2.0));
  }
  return c;
}

namespace {
// Sets the largest coefficient to 1 - (sum of the others), so that P(1) = 1
// up to the rounding of one sum.
void pin_sum_to_one(std::vector<double>& c) {
  size_t top = 0;
  for (size_t j = 1; j < c.size(); ++j)
    if (c[j] > c[top]) top = j;
  double rest = 0;
  for (size_t j = 0; j < c.size(); ++j)
    if (j != top) rest += c[j];
  c[top] = std::max(0.0, 1.0 - rest);
}
}  // namespace

std::vector<double> taylor_folded(ArcCosKernel kernel, int degree) {
  std::vector<double> c = taylor_series(kernel, degree);
  size_t top = c.size() - 1;
  while (top > 0 && c[top] == 0.0) --top;
  double rest = 0;
  for (size_t j = 0; j < c.size(); ++j)
    if (j != top) rest += c[j];
  c[top] = 1.0 - rest;  // = c[top] + tail mass, > 0 since the full series sums to 1
  return c;
}

namespace {

// Least squares min |A_S z - b| over the columns S of A (column-major,
// rows x cols) by Householder QR; returns z (|S|).
std::vector<double> least_squares(const std::vector<double>& a, int64_t rows,
                                  const std::vector<int64_t>& cols_sel, const std::vector<double>& b) {
  const int64_t k = static_cast<int64_t>(cols_sel.size());
  std::vector<double> q(static_cast<size_t>(rows * k));
  for (int64_t c = 0; c < k; ++c)
    std::copy(a.begin() + cols_sel[c] * rows, a.begin() + (cols_sel[c] + 1) * rows, q.begin() + c * rows);
  std::vector<double> y = b;
  std::vector<double> diag(static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) {
    double* col = q.data() + c * rows;
    double norm = 0;
    for (int64_t r = c; r < rows; ++r) norm = std::hypot(norm, col[r]);
    const double alpha = col[c] > 0 ? -norm : norm;
    diag[c] = alpha;
    if (norm == 0) continue;
    col[c] -= alpha;  // v = x - alpha e1, stored in place
    double vnorm2 = 0;
    for (int64_t r = c; r < rows; ++r) vnorm2 += col[r] * col[r];
    if (vnorm2 == 0) continue;
    auto reflect = [&](double* w) {
      double dot = 0;
      for (int64_t r = c; r < rows; ++r) dot += col[r] * w[r];
      const double f = 2 * dot / vnorm2;
      for (int64_t r = c; r < rows; ++r) w[r] -= f * col[r];
    };
    for (int64_t c2 = c + 1; c2 < k; ++c2) reflect(q.data() + c2 * rows);
    reflect(y.data());
  }
  std::vector<double> z(static_cast<size_t>(k), 0.0);
  for (int64_t c = k - 1; c >= 0; --c) {
    double s = y[c];
    for (int64_t c2 = c + 1; c2 < k; ++c2) s -= q[c2 * rows + c] * z[c2];
    z[c] = diag[c] != 0 ? s / diag[c] : 0.0;
  }
  return z;
}

}  // namespace

std::vector<double> nnls(const std::vector<double>& a, int64_t rows, int64_t cols,
                         const std::vector<double>& b) {
  std::vector<double> x(static_cast<size_t>(cols), 0.0);
  std::vector<bool> passive(static_cast<size_t>(cols), false);
  double anorm = 0;
  for (double v : a) anorm = std::max(anorm, std::fabs(v));
  const double tol = 10 * std::numeric_limits<double>::epsilon() * anorm * static_cast<double>(std::max(rows, cols));
  auto gradient = [&]() {
    std::vector<double> r = b;
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t i = 0; i < rows; ++i) r[i] -= a[c * rows + i] * x[c];
    std::vector<double> w(static_cast<size_t>(cols), 0.0);
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t i = 0; i < rows; ++i) w[c] += a[c * rows + i] * r[i];
    return w;
  };
  for (int outer = 0; outer < 3 * cols + 10; ++outer) {
    const std::vector<double> w = gradient();
    int64_t t = -1;
    for (int64_t c = 0; c < cols; ++c)
      if (!passive[c] && w[c] > tol && (t < 0 || w[c] > w[t])) t = c;
    if (t < 0) break;
    passive[t] = true;
    for (int inner = 0; inner < 3 * cols + 10; ++inner) {
      std::vector<int64_t> sel;
      for (int64_t c = 0; c < cols; ++c)
        if (passive[c]) sel.push_back(c);
      const std::vector<double> z = least_squares(a, rows, sel, b);
      bool feasible = true;
      for (double v : z) feasible = feasible && v > 0;
      if (feasible) {
        std::fill(x.begin(), x.end(), 0.0);
        for (size_t i = 0; i < sel.size(); ++i) x[sel[i]] = z[i];
        break;
      }
      // Step from x towards z until the first passive variable hits zero;
      // that one (and any other at or below zero) leaves the passive set.
      double step = 1;
      int64_t hit = -1;
      for (size_t i = 0; i < sel.size(); ++i) {
        if (z[i] > 0) continue;
        const double s = x[sel[i]] / (x[sel[i]] - z[i]);
        if (hit < 0 || s < step) {
          step = s;
          hit = sel[i];
        }
      }
      for (size_t i = 0; i < sel.size(); ++i) x[sel[i]] += step * (z[i] - x[sel[i]]);
      if (hit >= 0) x[hit] = 0;
      for (int64_t c : sel) {
        if (x[c] <= 0) {
          x[c] = 0;
          passive[c] = false;
        }
      }
    }
  }
  return x;
}

std::vector<double> nnls_fit(ArcCosKernel kernel, int degree, double lower) {
  if (degree < 1) throw std::invalid_argument("degree must be >= 1");
  if (!(lower >= -1.0 && lower < 1.0)) throw std::invalid_argument("lower must be in [-1, 1)");
  const int64_t points = 512;
  const int64_t rows = points + 3;
  const int64_t cols = degree + 1;
  // Sum-to-one row weight: large against the O(sqrt(points)) residual scale.
  const double weight = 1e5;
  std::vector<double> a(static_cast<size_t>(rows * cols)), b(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    double t;
    if (i < points)
      t = 0.5 * (1 + lower) + 0.5 * (1 - lower) * std::cos(M_PI * (static_cast<double>(i) + 0.5) / points);
    else
      t = i == points ? lower : 1.0;
    const bool constraint = i == rows - 1;
    double p = 1;
    for (int64_t c = 0; c < cols; ++c) {
      a[c * rows + i] = constraint ? weight : p;
      p *= t;
    }
    b[i] = constraint ? weight : arccos_kernel(kernel, t);
  }
  std::vector<double> c = nnls(a, rows, cols, b);
  double sum = 0;
  for (double v : c) sum += v;
  if (!(sum > 0)) throw std::runtime_error("nnls_fit: degenerate fit");
  for (double& v : c) v /= sum;
  pin_sum_to_one(c);
  return c;
}

std::vector<double> arccos_polynomial(ArcCosKernel kernel, PolyApprox approx, int degree, double lower) {
  return approx == PolyApprox::Taylor ? taylor_folded(kernel, degree) : nnls_fit(kernel, degree, lower);
}

std::vector<double> layer_lower_bounds(int depth) {
  std::vector<double> alpha(static_cast<size_t>(std::max(depth, 0)));
  double a = -1.0;
  for (int h = 0; h < depth; ++h) {
    alpha[h] = a;
    a = arccos_k1(a);
  }
  return alpha;
}

double poly_eval(const std::vector<double>& c, double t) {
  double s = 0;
  for (size_t j = c.size(); j-- > 0;) s = s * t + c[j];
  return s;
}

}  // namespace ntk
