#include "linalg/blas.hpp"

#include "common/threads.hpp"
#include "linalg/fma_gemm.hpp"

#include <cblas.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

// LAPACK's Fortran interface (shipped by OpenBLAS and reference LAPACK). The
// trailing size_t arguments are the hidden lengths of character arguments.
extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
             double* b, const int* ldb, int* info, size_t);
void dpocon_(const char* uplo, const int* n, const double* a, const int* lda,
             const double* anorm, double* rcond, double* work, int* iwork, int* info, size_t);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
             double* w, double* work, const int* lwork, int* iwork, const int* liwork,
             int* info, size_t, size_t);
#ifdef NTK_HAVE_OPENBLAS_EXTENSIONS
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
#endif
}

namespace ntk {

namespace {
int checked_int(int64_t v, const char* what) {
  if (v < 0 || v > 2147483647) throw std::length_error(std::string(what) + " exceeds the 32-bit BLAS index range");
  return static_cast<int>(v);
}

// alpha op(A) op(B) + beta C through fma_gemm: alpha = 1 with beta = 0 or 1
// (every caller in the core) runs in place; anything else scales a product
// computed into scratch.
template <typename T>
void gemm_one(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
              int64_t ldb, T beta, T* c, int64_t ldc, GemmStore store) {
  if (m <= 0 || n <= 0) return;
  if (alpha == T(1) && (beta == T(0) || beta == T(1))) {
    fma_gemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta == T(1), store);
    return;
  }
  std::vector<T> product(static_cast<size_t>(m * n));
  fma_gemm(ta, tb, m, n, k, a, lda, b, ldb, product.data(), n, false, store);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = store == GemmStore::Upper ? i : 0; j < n; ++j) {
      T& cij = c[i * ldc + j];
      cij = beta == T(0) ? alpha * product[i * n + j] : alpha * product[i * n + j] + beta * cij;
    }
}

}  // namespace

void gemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                 const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                 double* c, int64_t ldc) {
  gemm_one(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, GemmStore::Full);
}

void gemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc) {
  gemm_one(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, GemmStore::Full);
}

namespace {

// Tiles C (m x n) into fixed kGemmTile tiles and runs serial(ta, tb, mi, nj, k,
// alpha, A tile, lda, B tile, ldb, beta, C tile, ldc) on each, in parallel.
template <typename T, typename Serial>
void gemm_tiled(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, Serial serial) {
  if (m == 0 || n == 0) return;
  const int64_t tm = (m + kGemmTile - 1) / kGemmTile, tn = (n + kGemmTile - 1) / kGemmTile;
#pragma omp parallel for schedule(dynamic) num_threads(thread_count())
  for (int64_t t = 0; t < tm * tn; ++t) {
    const int64_t i0 = (t / tn) * kGemmTile, j0 = (t % tn) * kGemmTile;
    const int64_t mi = std::min(kGemmTile, m - i0), nj = std::min(kGemmTile, n - j0);
    // op(A) rows i0.. and op(B) columns j0..: offset along the stored layout.
    const T* at = ta ? a + i0 : a + i0 * lda;
    const T* bt = tb ? b + j0 * ldb : b + j0;
    serial(ta, tb, mi, nj, k, alpha, at, lda, bt, ldb, beta, c + i0 * ldc + j0, ldc);
  }
}

// One call of the BLAS library's own GEMM.
void vendor_serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, checked_int(m, "m"),
              checked_int(n, "n"), checked_int(k, "k"), alpha, a, checked_int(lda, "lda"), b, checked_int(ldb, "ldb"),
              beta, c, checked_int(ldc, "ldc"));
}
void vendor_serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
                   const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, checked_int(m, "m"),
              checked_int(n, "n"), checked_int(k, "k"), alpha, a, checked_int(lda, "lda"), b, checked_int(ldb, "ldb"),
              beta, c, checked_int(ldc, "ldc"));
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
          int64_t ldc) {
  gemm_tiled(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
             [](auto... args) { gemm_serial(args...); });
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  gemm_tiled(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
             [](auto... args) { gemm_serial(args...); });
}

template <typename T>
void gemm_vendor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                 const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  gemm_tiled(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
             [](auto... args) { vendor_serial(args...); });
}

template void gemm_vendor<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                                 int64_t, float, float*, int64_t);
template void gemm_vendor<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                                  int64_t, double, double*, int64_t);

void syrk_upper_at_a(int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
                     double beta, double* c, int64_t ldc) {
  if (n == 0) return;
  const int64_t tn = (n + kGemmTile - 1) / kGemmTile;
  // Upper-triangle tiles (bi <= bj), enumerated in a fixed order.
#pragma omp parallel for schedule(dynamic) num_threads(thread_count())
  for (int64_t t = 0; t < tn * tn; ++t) {
    const int64_t bi = t / tn, bj = t % tn;
    if (bi > bj) continue;
    const int64_t i0 = bi * kGemmTile, j0 = bj * kGemmTile;
    const int64_t ni = std::min(kGemmTile, n - i0), nj = std::min(kGemmTile, n - j0);
    gemm_one(true, false, ni, nj, k, alpha, a + i0, lda, a + j0, lda, beta, c + i0 * ldc + j0, ldc,
             bi == bj ? GemmStore::Upper : GemmStore::Full);
  }
}

int cholesky(int64_t n, double* a) {
  const int lda = checked_int(n, "n");
  // Row-major lower triangle == column-major upper triangle, so the factor
  // L (A = L L^T, row-major lower) is what LAPACK's 'U' factorisation of the
  // same memory produces, and dpotrs/dpocon('U') accept it. The row-major
  // strictly upper part is left untouched, as dpotrf('U') would.
  //
  // Right-looking blocked algorithm on fixed kGemmTile blocks: the diagonal
  // block by serial dpotrf, the panel by serial dtrsm per block row, the
  // trailing update by serial GEMM/SYRK per block, blocks in parallel. Every
  // block sees the same sequence of calls whatever the thread count.
  const int64_t nb = kGemmTile;
  const int64_t blocks = (n + nb - 1) / nb;
  auto at = [&](int64_t i, int64_t j) { return a + i * n + j; };
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t k0 = k * nb, kn = std::min(nb, n - k0);
    const int knn = static_cast<int>(kn);
    int info = 0;
    dpotrf_("U", &knn, at(k0, k0), &lda, &info, 1);
    if (info != 0) return static_cast<int>(k0) + info;
#pragma omp parallel for schedule(dynamic) num_threads(thread_count())
    for (int64_t i = k + 1; i < blocks; ++i) {
      const int64_t i0 = i * nb, in = std::min(nb, n - i0);
      // A_ik <- A_ik L_kk^-T
      cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit,
                  static_cast<int>(in), knn, 1.0, at(k0, k0), lda, at(i0, k0), lda);
    }
    const int64_t rest = blocks - k - 1;
#pragma omp parallel for schedule(dynamic) num_threads(thread_count())
    for (int64_t t = 0; t < rest * rest; ++t) {
      const int64_t i = k + 1 + t / rest, j = k + 1 + t % rest;
      if (j > i) continue;  // lower blocks only
      const int64_t i0 = i * nb, in = std::min(nb, n - i0);
      const int64_t j0 = j * nb, jn = std::min(nb, n - j0);
      if (i == j) {
        // Lower triangle of A_ii -= A_ik A_ik^T.
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, static_cast<int>(in), knn, -1.0,
                    at(i0, k0), lda, 1.0, at(i0, i0), lda);
      } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(in), static_cast<int>(jn), knn, -1.0,
                    at(i0, k0), lda, at(j0, k0), lda, 1.0, at(i0, j0), lda);
      }
    }
  }
  return 0;
}

void triangular_solve_rows(int64_t rows, int64_t n, const double* factor, double* b, int64_t ldb) {
  if (rows <= 0 || n <= 0) return;
  const int nn = checked_int(n, "n"), ld = checked_int(ldb, "ldb");
  const int64_t blocks = (rows + kGemmTile - 1) / kGemmTile;
#pragma omp parallel for schedule(dynamic) num_threads(thread_count()) if (blocks > 1)
  for (int64_t t = 0; t < blocks; ++t) {
    const int64_t r0 = t * kGemmTile, rn = std::min(kGemmTile, rows - r0);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, static_cast<int>(rn), nn, 1.0,
                factor, nn, b + r0 * ldb, ld);
  }
}

double cholesky_rcond(int64_t n, const double* factor, double anorm) {
  const int nn = checked_int(n, "n");
  std::vector<double> work(3 * static_cast<size_t>(std::max(nn, 1)));
  std::vector<int> iwork(static_cast<size_t>(std::max(nn, 1)));
  double rcond = 0;
  int info = 0;
  dpocon_("U", &nn, factor, &nn, &anorm, &rcond, work.data(), iwork.data(), &info, 1);
  return info == 0 ? rcond : 0.0;
}

void cholesky_solve(int64_t n, const double* factor, int64_t nrhs, double* b) {
  const int nn = checked_int(n, "n");
  const int nr = checked_int(nrhs, "nrhs");
  if (nn == 0 || nr == 0) return;
  // Row-major n x nrhs is column-major nrhs x n: transpose into LAPACK layout.
  std::vector<double> bt(static_cast<size_t>(n) * nrhs);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < nrhs; ++j) bt[j * n + i] = b[i * nrhs + j];
  int info = 0;
  dpotrs_("U", &nn, &nr, factor, &nn, bt.data(), &nn, &info, 1);
  if (info != 0) throw std::runtime_error("dpotrs failed");
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < nrhs; ++j) b[i * nrhs + j] = bt[j * n + i];
}

int symmetric_eigen(int64_t n, double* a, double* w) {
  const int nn = checked_int(n, "n");
  if (nn == 0) return 0;
  int info = 0;
  int lwork = -1, liwork = -1;
  double wq = 0;
  int iq = 0;
  dsyevd_("V", "U", &nn, a, &nn, w, &wq, &lwork, &iq, &liwork, &info, 1, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(wq) + 1;
  liwork = iq;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(std::max(liwork, 1)));
  // Column-major eigenvectors in columns == row-major eigenvectors in rows.
  dsyevd_("V", "U", &nn, a, &nn, w, work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  return info;
}

void blas_set_threads(int n) {
#ifdef NTK_HAVE_OPENBLAS_EXTENSIONS
  openblas_set_num_threads(n);
#else
  (void)n;
#endif
}

int blas_threads() {
#ifdef NTK_HAVE_OPENBLAS_EXTENSIONS
  return openblas_get_num_threads();
#else
  return -1;
#endif
}

std::string blas_core_name() {
#ifdef NTK_HAVE_OPENBLAS_EXTENSIONS
  const char* name = openblas_get_corename();
  return name ? name : "";
#else
  return "";
#endif
}

std::string blas_description() {
#ifdef NTK_HAVE_OPENBLAS_EXTENSIONS
  const std::string cfg = openblas_get_config() ? openblas_get_config() : "";
  return cfg.rfind("OpenBLAS", 0) == 0 ? cfg : "OpenBLAS " + cfg;
#else
  return "CBLAS (vendor unknown)";
#endif
}

}  // namespace ntk
