#include "common/simd.hpp"

#include <cstdlib>
#include <cstring>

namespace ntk {

namespace {

SimdLevel detect() {
  SimdLevel level = SimdLevel::Baseline;
#if NTK_X86_SIMD
  __builtin_cpu_init();
  // libgcc / compiler-rt check the OS-enabled register state (XCR0) too.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = SimdLevel::Avx2;
  if (level == SimdLevel::Avx2 && __builtin_cpu_supports("avx512f")) level = SimdLevel::Avx512;
#endif
  if (const char* cap = std::getenv("NTK_SKETCH_SIMD")) {
    SimdLevel limit = level;
    if (std::strcmp(cap, "baseline") == 0) limit = SimdLevel::Baseline;
    if (std::strcmp(cap, "avx2") == 0) limit = SimdLevel::Avx2;
    if (static_cast<int>(limit) < static_cast<int>(level)) level = limit;
  }
  return level;
}

}  // namespace

SimdLevel simd_level() {
  static const SimdLevel level = detect();
  return level;
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512:
      return "avx512";
    case SimdLevel::Avx2:
      return "avx2";
    default:
      return "baseline";
  }
}

}  // namespace ntk
