// Sampled products of transformed vectors: the inner loop of every product
// sketch (TensorSRHT-style blocks of NTKSketch). Row r of the result is
// prod_p src[p][index[p][r]]; the sum of squares comes back so the caller can
// rescale without a second pass over the sources.
#pragma once

#include <cstdint>

namespace ntk {

/// out[r] = prod_{p < parts} src[p][index[p][r]] for r < rows (parts >= 1);
/// returns sum_r out[r]^2 (accumulated in a fixed, vectorised order: the same
/// bits on every run of a given machine).
double gather_product(const float* const* src, const int32_t* const* index, int parts, int64_t rows, float* out);
double gather_product(const double* const* src, const int32_t* const* index, int parts, int64_t rows, double* out);

/// x[i] *= s, and sum of squares of x (fixed order).
void scale_in_place(float* x, int64_t n, float s);
void scale_in_place(double* x, int64_t n, double s);
double sum_squares(const float* x, int64_t n);
double sum_squares(const double* x, int64_t n);

}  // namespace ntk
