// Counter-based random numbers: every value is a pure function of
// (seed, stream, index), so there is no sequential state. Any value can be
// computed on its own, in any order, on any thread, and a sketch's random
// parameters never depend on thread count or batch split.
//
// The mixer is the splitmix64 finaliser (a bijection of 64-bit words with
// good avalanche); a key is derived per (seed, stream) and values are
// mix64(key + (index + 1) * golden), i.e. splitmix64 evaluated at position
// `index` of the sequence started at `key`.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/host_device.hpp"

namespace ntk {

NTK_HD uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

/// A child stream id, deterministic in (parent, tag): lets composite sketches
/// give each part its own stream without a global numbering scheme.
NTK_HD uint64_t sub_stream(uint64_t parent, uint64_t tag) {
  return mix64(parent + kGolden * (tag + 1)) ^ (tag * 0xd6e8feb86659fd93ULL);
}

class CounterRng {
 public:
  NTK_HD CounterRng(uint64_t seed, uint64_t stream)
      : key_(mix64(mix64(seed ^ 0x5851f42d4c957f2dULL) ^ mix64(stream + kGolden))) {}

  /// 64 random bits at position `index`.
  NTK_HD uint64_t bits(uint64_t index) const { return mix64(key_ + (index + 1) * kGolden); }

  /// Uniform in [0, 1) with 53 random bits.
  NTK_HD double uniform(uint64_t index) const {
    return static_cast<double>(bits(index) >> 11) * 0x1.0p-53;
  }

  /// +1 or -1 with probability 1/2 each.
  NTK_HD int sign(uint64_t index) const { return (bits(index) >> 63) ? -1 : 1; }

  /// Integer in [0, n) (multiply-shift: bias below n / 2^64, negligible).
  NTK_HD uint64_t below(uint64_t index, uint64_t n) const { return mulhi(bits(index), n); }

  /// Standard normal by Box–Muller from positions 2 index and 2 index + 1.
  NTK_HD double normal(uint64_t index) const {
    // u1 in (0, 1] so that log(u1) is finite.
    const double u1 = (static_cast<double>(bits(2 * index) >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = uniform(2 * index + 1);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
  }

  /// High 64 bits of a * b.
  NTK_HD static uint64_t mulhi(uint64_t a, uint64_t b) {
#if defined(__CUDA_ARCH__)
    return __umul64hi(a, b);
#elif defined(__SIZEOF_INT128__)
    return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#else
    const uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32, b_lo = b & 0xffffffffULL, b_hi = b >> 32;
    const uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    const uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffULL) + lo_hi;
    return hi_hi + (hi_lo >> 32) + (cross >> 32);
#endif
  }

 private:
  uint64_t key_;
};

}  // namespace ntk
