// Marks functions that are compiled for both the CPU path and CUDA kernels, so
// the arithmetic is written (and tested) once.
#pragma once

#if defined(__CUDACC__)
#define NTK_HD __host__ __device__ inline
#else
#define NTK_HD inline
#endif
