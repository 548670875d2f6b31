// Which vector instruction set the hot kernels (FWHT, sampled products) use.
//
// The library is compiled for baseline x86-64; the kernels also have AVX2 and
// AVX-512 versions (function-level target attributes) picked once at run
// time. Every version computes the same arithmetic in the same order, so the
// results are bit-identical whichever runs. NTK_SKETCH_SIMD=baseline|avx2|avx512
// in the environment caps the choice (tests use it to check that identity).
#pragma once

namespace ntk {

enum class SimdLevel { Baseline = 0, Avx2 = 1, Avx512 = 2 };

/// Detected once: the best level the CPU and OS support, capped by
/// NTK_SKETCH_SIMD.
SimdLevel simd_level();
const char* simd_level_name(SimdLevel level);

}  // namespace ntk

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define NTK_X86_SIMD 1
#define NTK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define NTK_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define NTK_X86_SIMD 0
#endif
