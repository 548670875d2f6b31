// In-place fast Walsh–Hadamard transform (unnormalised: entries of H are +-1,
// so H H = n I). n must be a power of two.
#pragma once

#include <cstdint>

namespace ntk {

void fwht(float* x, int64_t n);
void fwht(double* x, int64_t n);

/// Smallest power of two >= n (n >= 1).
inline int64_t next_pow2(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace ntk
