// Sparse (CSR) times dense products.
#pragma once

#include <cstdint>

namespace ntk {

/// C (rows x n, row stride ldc) = A B for the CSR rows of A (row i holds
/// entries indptr[i] .. indptr[i+1]-1 of indices/values, column indices in
/// [0, k)) and the row-major dense B (k x n, row stride ldb). Rows in
/// parallel (OpenMP); each row is summed over its entries in stored order, so
/// results do not depend on the thread count.
void csr_times_dense(int64_t rows, int64_t n, const int32_t* indptr, const int32_t* indices, const float* values,
                     const float* b, int64_t ldb, float* c, int64_t ldc);
void csr_times_dense(int64_t rows, int64_t n, const int32_t* indptr, const int32_t* indices, const double* values,
                     const double* b, int64_t ldb, double* c, int64_t ldc);

}  // namespace ntk
