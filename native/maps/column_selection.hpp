// The columns a LeverageSelection keeps of its pool map's features.
#pragma once

#include <cstdint>

namespace ntk {

/// out (rows x k) = pool[:, columns[t]] * scales[t] for the rows x m pool
/// features. With `normalize`, each output row is then rescaled to the norm
/// of its pool row (sums in float64; a row whose kept part is zero stays zero).
/// Rows run in parallel, each in a fixed order: bit-identical for any thread count.
template <typename T>
void gather_scaled_columns(const T* pool, int64_t rows, int64_t m, const int32_t* columns, const double* scales,
                           int64_t k, bool normalize, T* out);

}  // namespace ntk
