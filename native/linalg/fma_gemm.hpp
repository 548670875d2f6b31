// The core's own matrix product, reproducible by construction.
//
// Optimised BLAS libraries round a product differently depending on where an
// element sits in the call: OpenBLAS's Haswell/Zen SGEMM kernels, for one,
// give a row of A B a different last bit when the same row is the 1st or the
// 14th of the call, and small or edge shapes take other code paths on most
// kernel families. A feature map whose rows can arrive in any batch split
// cannot promise bit-identical output on top of that, so every product whose
// rows are data (features, exact kernels, ridge statistics, predictions) runs
// here instead.
//
// The contract: every element of the result is ONE chain of fused
// multiply-adds over k in ascending order,
//     c = fma(a[i][k-1], b[k-1][j], ... fma(a[i][0], b[0][j], c0)),
// with c0 = 0 (overwrite) or the element's current value (accumulate). The
// value therefore depends only on the row of op(A), the column of op(B) and
// c0: not on the shapes, the element's position, the blocking, the thread
// count or the vector instruction set (AVX-512, AVX2 and the portable
// std::fma path compute the same chain). Accumulating row blocks one after
// the other gives the same bits as one call over all rows.
#pragma once

#include <cstdint>

namespace ntk {

/// Which part of C a call may write.
enum class GemmStore { Full, Upper };

/// C (m x n, row-major, ld ldc) = op(A) op(B) when !accumulate, or continues
/// each element's chain from C when accumulate. op(A) is m x k (A stored k x m
/// when trans_a), op(B) is k x n (B stored n x k when trans_b). With
/// GemmStore::Upper only elements with column >= row (in C's own indices) are
/// written, the rest are neither read nor changed. Single-threaded: callers
/// parallelise over output tiles.
template <typename T>
void fma_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
              const T* b, int64_t ldb, T* c, int64_t ldc, bool accumulate,
              GemmStore store = GemmStore::Full);

}  // namespace ntk
