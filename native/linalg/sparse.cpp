#include "linalg/sparse.hpp"

#include <algorithm>

#include "common/threads.hpp"

namespace ntk {

namespace {

// Output columns per pass: a strip of C's row stays in L1 while every stored
// entry of the row adds its row of B to it.
constexpr int64_t kStrip = 1024;

template <typename T>
void csr_dense(int64_t rows, int64_t n, const int32_t* indptr, const int32_t* indices, const T* values, const T* b,
               int64_t ldb, T* c, int64_t ldc) {
  if (rows <= 0 || n <= 0) return;
#pragma omp parallel for schedule(dynamic, 4) num_threads(thread_count())
  for (int64_t i = 0; i < rows; ++i) {
    T* ci = c + i * ldc;
    const int64_t begin = indptr[i], end = indptr[i + 1];
    for (int64_t j0 = 0; j0 < n; j0 += kStrip) {
      const int64_t j1 = std::min(n, j0 + kStrip);
      std::fill(ci + j0, ci + j1, T(0));
      for (int64_t e = begin; e < end; ++e) {
        const T v = values[e];
        const T* brow = b + static_cast<int64_t>(indices[e]) * ldb;
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) ci[j] += v * brow[j];
      }
    }
  }
}

}  // namespace

void csr_times_dense(int64_t rows, int64_t n, const int32_t* indptr, const int32_t* indices, const float* values,
                     const float* b, int64_t ldb, float* c, int64_t ldc) {
  csr_dense(rows, n, indptr, indices, values, b, ldb, c, ldc);
}

void csr_times_dense(int64_t rows, int64_t n, const int32_t* indptr, const int32_t* indices, const double* values,
                     const double* b, int64_t ldb, double* c, int64_t ldc) {
  csr_dense(rows, n, indptr, indices, values, b, ldb, c, ldc);
}

}  // namespace ntk
