// Sampled products of transformed vectors: the inner loop of every product
// sketch (the blocks and tree nodes of NTKSketch). Row r of the result is
//   v_r = f_r * prod_p src_p[index_p[r]] * w_r
// with an optional contiguous first factor f and optional weights w; the sum
// of squares comes back so the caller can rescale without a second pass.
//
// Vectorised with AVX-512 / AVX2 gathers where available (common/simd.hpp).
// The products are computed in the same order everywhere and the squares are
// summed in 16 interleaved lanes (lane = r mod 16, multiply and add not
// fused) reduced in a fixed order, so every instruction set gives the same
// bits.
#pragma once

#include <cstdint>

namespace ntk {

/// out[r] = (first ? first[r] : 1) * prod_{p < parts} src[p][index[p][r]]
///          * (weights ? weights[r] : 1), for r < rows; returns sum_r out[r]^2.
/// first == nullptr requires parts >= 1; out == nullptr only sums.
double product_rows(const float* first, int parts, const float* const* src, const int32_t* const* index,
                    const float* weights, int64_t rows, float* out);
double product_rows(const double* first, int parts, const double* const* src, const int32_t* const* index,
                    const double* weights, int64_t rows, double* out);

/// x[i] *= s.
void scale_in_place(float* x, int64_t n, float s);
void scale_in_place(double* x, int64_t n, double s);
/// out[i] = a[i] * b[i] (i < n), then zeros up to `padded`.
void multiply_pad(const float* a, const float* b, int64_t n, int64_t padded, float* out);
void multiply_pad(const double* a, const double* b, int64_t n, int64_t padded, double* out);
/// sum_i x[i]^2 in the same 16-lane order as product_rows.
double sum_squares(const float* x, int64_t n);
double sum_squares(const double* x, int64_t n);

}  // namespace ntk
