#include "maps/column_selection.hpp"

#include <cmath>

#include "common/threads.hpp"

namespace ntk {

template <typename T>
void gather_scaled_columns(const T* pool, int64_t rows, int64_t m, const int32_t* columns, const double* scales,
                           int64_t k, bool normalize, T* out) {
#pragma omp parallel for schedule(static) num_threads(thread_count())
  for (int64_t i = 0; i < rows; ++i) {
    const T* src = pool + i * m;
    T* dst = out + i * k;
    double factor = 1;
    if (normalize) {
      double full = 0, kept = 0;
      for (int64_t j = 0; j < m; ++j) full += static_cast<double>(src[j]) * static_cast<double>(src[j]);
      for (int64_t t = 0; t < k; ++t) {
        const double v = static_cast<double>(src[columns[t]]) * scales[t];
        kept += v * v;
      }
      factor = kept > 0 ? std::sqrt(full / kept) : 0.0;
    }
    for (int64_t t = 0; t < k; ++t) dst[t] = static_cast<T>(static_cast<double>(src[columns[t]]) * scales[t] * factor);
  }
}

template void gather_scaled_columns<float>(const float*, int64_t, int64_t, const int32_t*, const double*, int64_t, bool,
                                           float*);
template void gather_scaled_columns<double>(const double*, int64_t, int64_t, const int32_t*, const double*, int64_t,
                                            bool, double*);

}  // namespace ntk
