// Thin, typed wrappers over CBLAS and LAPACK (row-major callers).
//
// Every matrix in the core is row-major and contiguous. LAPACK routines are
// column-major; the wrappers only expose operations on symmetric matrices, for
// which both layouts coincide, or transpose explicitly.
//
// Determinism: every product whose rows are data (gemm, gemm_serial,
// syrk_upper_at_a) runs on the core's own kernel (linalg/fma_gemm.hpp), where
// each element is one chain of fused multiply-adds over k in order, so its
// value does not depend on the element's position, the call's shape, the
// thread count, the vector instruction set or the BLAS library's kernel
// family. With alpha = 1 and beta = 1 the chain continues from C, so
// accumulating row blocks one after another equals one call over all rows.
// The factorisations (Cholesky, triangular solves, eigendecomposition) act on
// Gram matrices of a fixed size and stay on LAPACK/BLAS, single-threaded on
// fixed tiles: bit-identical on one machine for any thread count, rounded
// differently by another kernel family.
#pragma once

#include <cstdint>
#include <string>

namespace ntk {

/// Output tile edge of the parallel products (fixed: results must not depend
/// on the thread count).
constexpr int64_t kGemmTile = 256;

/// C = alpha * op(A) op(B) + beta * C, row-major, float64.
/// op(A) is m x k, op(B) is k x n, C is m x n. Parallel over kGemmTile tiles.
/// alpha = 1 with beta = 0 or 1 is the exact fma_gemm contract; other values
/// scale the fma_gemm product.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
          double* c, int64_t ldc);

/// Single-precision GEMM with the same conventions.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
          float* c, int64_t ldc);

/// Single-threaded GEMM (the same arithmetic), for callers that tile themselves.
void gemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                 const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                 double* c, int64_t ldc);
void gemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                 float* c, int64_t ldc);

/// The BLAS library's own GEMM on the same kGemmTile tiles: what the core
/// used before fma_gemm, kept for benchmarks that compare the two. Its
/// rounding depends on the kernel family and on where a row sits in a tile.
template <typename T>
void gemm_vendor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                 const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

/// C(upper triangle) = alpha * A^T A + beta * C for row-major A (k x n), C (n x n).
/// Parallel over kGemmTile tiles of the upper triangle.
void syrk_upper_at_a(int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
                     double beta, double* c, int64_t ldc);

/// Cholesky factorisation of a symmetric positive definite n x n matrix in
/// place (lower factor). Returns LAPACK's info (0 on success, > 0 when the
/// leading minor of that order is not positive definite).
int cholesky(int64_t n, double* a);

/// B <- B L^-T for a row-major lower-triangular n x n factor L (as cholesky()
/// leaves it) and a row-major rows x n matrix B (ld ldb): each row b of B
/// becomes the solution q of L q^T = b^T. Rows are independent, so the work is
/// split into fixed kGemmTile-row blocks, one single-threaded call each.
void triangular_solve_rows(int64_t rows, int64_t n, const double* factor, double* b, int64_t ldb);

/// Reciprocal condition number (1-norm) of an SPD matrix from its Cholesky
/// factor and the 1-norm of the original matrix.
double cholesky_rcond(int64_t n, const double* factor, double anorm);

/// Solves A X = B with the Cholesky factor of A; B is row-major n x nrhs and
/// is overwritten by X.
void cholesky_solve(int64_t n, const double* factor, int64_t nrhs, double* b);

/// Symmetric eigendecomposition: eigenvalues ascending into w, and a (n x n,
/// row-major) overwritten so that row i of a is eigenvector i (that is, a
/// holds V^T). Returns LAPACK's info.
int symmetric_eigen(int64_t n, double* a, double* w);

/// Sets the BLAS library's thread count (no-op when it has no such control).
/// The core sets it to 1 at start-up (see the determinism note above).
void blas_set_threads(int n);

/// Name of the BLAS kernel family in use (e.g. OpenBLAS's core name), or "".
std::string blas_core_name();

/// Human-readable description of the BLAS library (vendor, build config).
std::string blas_description();

/// BLAS thread count as reported by the library (or -1 when unknown).
int blas_threads();

}  // namespace ntk
