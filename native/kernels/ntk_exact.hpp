// Exact fully connected NTK / NNGP Gram matrices (docs/math.md#fully-connected-ntk).
#pragma once

#include <cstdint>
#include <vector>

#include "common/threads.hpp"

namespace ntk {

/// Row norms (float64, overflow-safe scaling) and the rows divided by them
/// (zero rows stay zero, with norm 0). x is n x d row-major.
template <typename T>
void normalize_rows(const T* x, int64_t n, int64_t d, std::vector<double>& unit,
                    std::vector<double>& norms);

/// Computes ntk = Theta^L(X, Z) and nngp = Sigma^L(X, Z), n x m row-major.
/// symmetric means Z = X (z and m are ignored; one triangle of tiles is
/// computed, then mirrored; the diagonal uses the exact cosine 1). Cosines
/// come from float64 GEMMs of the normalised rows on fixed tiles, whatever T
/// is, fused with the recursion; outputs are written in T. Either output may
/// be nullptr. `flags` count one unit per tile of rows (256 x 256 entries)
/// and can stop the call between tiles (it then throws JobCancelled).
template <typename T>
void ntk_exact(const T* x, int64_t n, const T* z, int64_t m, int64_t d, bool symmetric,
               int depth, T* ntk, T* nngp, JobFlags flags = {});

}  // namespace ntk
