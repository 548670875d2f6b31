// Arc-cosine kernels of ReLU networks and the fully connected NTK recursion,
// normalised so that k(1) = 1 (SPEC §2). Shared by the CPU and CUDA paths.
#pragma once

#include <cmath>

#include "common/host_device.hpp"

namespace ntk {

/// Clamps a cosine that rounding pushed past +-1.
NTK_HD double clamp_cosine(double t) { return t > 1.0 ? 1.0 : (t < -1.0 ? -1.0 : t); }

/// k0(t) = (pi - arccos t) / pi: the kernel of the ReLU derivative (step).
NTK_HD double arccos_k0(double t) {
  t = clamp_cosine(t);
  return (M_PI - acos(t)) / M_PI;
}

/// k1(t) = (sqrt(1 - t^2) + t (pi - arccos t)) / pi: the ReLU kernel.
/// (1 - t)(1 + t) instead of 1 - t^2 keeps accuracy near t = +-1.
NTK_HD double arccos_k1(double t) {
  t = clamp_cosine(t);
  return (sqrt((1.0 - t) * (1.0 + t)) + t * (M_PI - acos(t))) / M_PI;
}

/// Both arc-cosine kernels at once (one arccos): *k0 = k0(t), *k1 = k1(t).
NTK_HD void arccos_k0_k1(double t, double* k0, double* k1) {
  t = clamp_cosine(t);
  const double angle_complement = M_PI - acos(t);
  *k0 = angle_complement / M_PI;
  *k1 = (sqrt((1.0 - t) * (1.0 + t)) + t * angle_complement) / M_PI;
}

/// Normalised fully connected NTK and NNGP for inputs whose cosine is rho:
/// Theta^L(x,z) = |x||z| * theta, Sigma^L(x,z) = |x||z| * sigma.
/// Recursion: rho^0 = rho, theta^0 = rho;
///   rho^h = k1(rho^(h-1)), theta^h = theta^(h-1) k0(rho^(h-1)) + rho^h.
NTK_HD void ntk_normalized(double rho, int depth, double* theta, double* sigma) {
  double r = clamp_cosine(rho);
  double th = r;
  for (int h = 0; h < depth; ++h) {
    double d0, d1;
    arccos_k0_k1(r, &d0, &d1);
    r = d1;
    th = th * d0 + r;
  }
  *theta = th;
  *sigma = r;
}

}  // namespace ntk
