// Arguments and results of the functions returning polynomial coefficients
// (arccosPolynomial, cntkSketchPolynomial).
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "sketches/poly_coeffs.hpp"

namespace ntk_bindings {

struct PolynomialArgs {
  ntk::ArcCosKernel kernel;
  ntk::PolyApprox approx;
  int64_t degree;
};

/// (kernel 'k0' | 'k1', approximation 'taylor' | 'nnls', degree) from the first three arguments.
inline PolynomialArgs polynomial_args(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kernel = info[0].ToString().Utf8Value();
  const std::string approx = info[1].ToString().Utf8Value();
  if (kernel != "k0" && kernel != "k1") throw Napi::RangeError::New(env, "kernel must be 'k0' or 'k1'");
  if (approx != "taylor" && approx != "nnls") throw Napi::RangeError::New(env, "approximation must be 'taylor' or 'nnls'");
  return {kernel == "k0" ? ntk::ArcCosKernel::K0 : ntk::ArcCosKernel::K1,
          approx == "taylor" ? ntk::PolyApprox::Taylor : ntk::PolyApprox::Nnls, size_arg(info[2], "degree")};
}

inline Napi::Float64Array to_float64(Napi::Env env, const std::vector<double>& v) {
  auto out = Napi::Float64Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[i];
  return out;
}

}  // namespace ntk_bindings
