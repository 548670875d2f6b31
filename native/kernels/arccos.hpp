// Arc-cosine kernels of ReLU networks and the fully connected NTK recursion,
// normalised so that k(1) = 1 (docs/math.md#arc-cosine-kernels). Shared by the CPU and CUDA paths.
#pragma once

#include <cmath>

#include "common/host_device.hpp"

namespace ntk {

/// Clamps a cosine that rounding pushed past +-1.
NTK_HD double clamp_cosine(double t) { return t > 1.0 ? 1.0 : (t < -1.0 ? -1.0 : t); }

/// Both arc-cosine kernels at once: *k0 = k0(t), *k1 = k1(t), without calling
/// acos and branch-free (selects only), so loops over kernel entries
/// vectorise. The complement angle phi = pi - arccos t = pi/2 + arcsin t comes from fdlibm's rational arcsin
/// on [0, 1/2]: arcsin s = s + s R(s^2) for |t| <= 1/2, and
/// arcsin t = pi/2 - 2 arcsin sqrt((1 - t)/2) beyond, so phi keeps full
/// relative accuracy near t = -1 (where pi - acos t cancels). Absolute error
/// about 2e-16 for k0 and 3e-16 for k1 (as acos-based code), relative error
/// of k0 about 4e-16; (1 - t)(1 + t) keeps sqrt(1 - t^2) accurate near +-1.
/// t is clamped to [-1, 1].
NTK_HD void arccos_k0_k1(double t, double* k0, double* k1) {
  t = t > 1.0 ? 1.0 : t;
  t = t < -1.0 ? -1.0 : t;
  const double a = fabs(t);
  const bool small = a <= 0.5;
  // Both arms are computed, then selected: no control flow.
  const double z_small = a * a;
  const double z_large = (1.0 - a) * 0.5;
  const double z = small ? z_small : z_large;
  const double root = sqrt(z);
  const double s = small ? a : root;
  const double p =
      z * (1.66666666666666657415e-01 +
           z * (-3.25565818622400915405e-01 +
                z * (2.01212532134862925881e-01 +
                     z * (-4.00555345006794114027e-02 +
                          z * (7.91534994289814532176e-04 + z * 3.47933107596021167570e-05)))));
  const double q = 1.0 + z * (-2.40339491173441421878e+00 +
                              z * (2.02094576023350569471e+00 +
                                   z * (-6.88283971605453293030e-01 + z * 7.70381505559019352791e-02)));
  const double r = s + s * (p / q);  // arcsin s
  const double half_pi = 1.57079632679489655800e+00;
  const double pi = 3.14159265358979311600e+00;
  const double inv_pi = 0.318309886183790671538;
  const double phi_small = half_pi + copysign(r, t);
  const double phi_pos = pi - 2.0 * r;
  const double phi_neg = 2.0 * r;
  const double phi_large = t > 0 ? phi_pos : phi_neg;
  const double phi = small ? phi_small : phi_large;
  *k0 = phi * inv_pi;
  *k1 = (sqrt((1.0 - t) * (1.0 + t)) + t * phi) * inv_pi;
}

/// k0(t) = (pi - arccos t) / pi: the kernel of the ReLU derivative (step).
NTK_HD double arccos_k0(double t) {
  double k0, k1;
  arccos_k0_k1(t, &k0, &k1);
  return k0;
}

/// k1(t) = (sqrt(1 - t^2) + t (pi - arccos t)) / pi: the ReLU kernel.
NTK_HD double arccos_k1(double t) {
  double k0, k1;
  arccos_k0_k1(t, &k0, &k1);
  return k1;
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
