// Function multi-versioning for the core's hot loops: the library is built
// for baseline x86-64 (portable), and functions marked NTK_SIMD_CLONES are
// also compiled for x86-64-v3 (AVX2/FMA) and x86-64-v4 (AVX-512); the loader
// picks the best for the CPU once. Every thread runs the same version, so
// results do not depend on the thread count (they may differ in the last bits
// between CPU generations, as FMA contraction differs).
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__CUDACC__)
#define NTK_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NTK_SIMD_CLONES
#endif
