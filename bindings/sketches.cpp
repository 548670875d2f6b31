// Sketch primitives and polynomial coefficients (native/sketches/), for the
// NTKSketch class and for tests/diagnostics. Synchronous; rows in parallel.
//   arccosPolynomial(kernel 'k0'|'k1', approximation 'taylor'|'nnls', degree, lower) -> Float64Array
//   layerLowerBounds(depth) -> Float64Array
//   polyKernelPackedDim(inDim, sketchDim, coeffs) -> number
//   sketchPrimitive(kind ('fwht' | 'countsketch' | 'srht' | 'tensorsrht' | 'polysketch' | 'polykernel'), seed, inDim, outDim, degree, coeffs | null,
//                   x, n, indptr | null, indices | null, y | null, inDimY, out)
#include <napi.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "common/parallel.hpp"
#include "polynomials.hpp"
#include "sketches/fwht.hpp"
#include "sketches/poly_coeffs.hpp"
#include "sketches/sketches.hpp"

namespace ntk_bindings {

namespace {

std::vector<double> float64_vector(const Napi::Value& v, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a Float64Array");
  auto f = v.As<Napi::Float64Array>();
  return std::vector<double>(f.Data(), f.Data() + f.ElementLength());
}

Napi::Value ArccosPolynomial(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "arccosPolynomial: expected 4 arguments");
  const PolynomialArgs p = polynomial_args(info);
  if (p.degree < 1 || p.degree > 64) throw Napi::RangeError::New(env, "degree must be in [1, 64]");
  const double lower = info[3].As<Napi::Number>().DoubleValue();
  if (!(lower >= -1 && lower < 1)) throw Napi::RangeError::New(env, "lower must be in [-1, 1)");
  return to_float64(env, ntk::arccos_polynomial(p.kernel, p.approx, static_cast<int>(p.degree), lower));
}

Napi::Value LayerLowerBounds(const Napi::CallbackInfo& info) {
  const int64_t depth = size_arg(info[0], "depth");
  if (depth > 100000) throw Napi::RangeError::New(info.Env(), "depth too large");
  return to_float64(info.Env(), ntk::layer_lower_bounds(static_cast<int>(depth)));
}

Napi::Value PolyKernelPackedDim(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t in_dim = size_arg(info[0], "inDim");
  const int64_t m = size_arg(info[1], "sketchDim");
  const auto coeffs = float64_vector(info[2], "coeffs");
  try {
    // Seed-independent; the shape is what is asked for.
    const ntk::PolyKernelSketch<float> s(in_dim, m, coeffs, 0, 0, 0);
    return Napi::Number::New(env, static_cast<double>(s.packed_dim()));
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(env, e.what());
  }
}

template <typename T>
void run_primitive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kind = info[0].ToString().Utf8Value();
  const uint64_t seed = static_cast<uint64_t>(size_arg(info[1], "seed"));
  const int64_t in_dim = size_arg(info[2], "inDim");
  const int64_t out_dim = size_arg(info[3], "outDim");
  const int64_t degree = size_arg(info[4], "degree");
  const int64_t n = size_arg(info[7], "n");
  const bool sparse = !info[8].IsNull();
  const int32_t* indptr = nullptr;
  const int32_t* indices = nullptr;
  int64_t x_len = n * in_dim;
  if (sparse) {
    const CsrStructure csr = csr_structure(info[8], info[9], n, in_dim);
    indptr = csr.indptr;
    indices = csr.indices;
    x_len = csr.nnz;
  }
  const T* x = typed_data<T>(info[6], "x", x_len);
  auto row = [&](int64_t i) {
    return sparse ? ntk::RowView<T>::sparse_row(indices + indptr[i], x + indptr[i], indptr[i + 1] - indptr[i], in_dim)
                  : ntk::RowView<T>::dense_row(x + i * in_dim, in_dim);
  };
  try {
    if (kind == "fwht") {
      // Unnormalised Walsh–Hadamard transform of each dense row (tests).
      if (sparse || in_dim != ntk::next_pow2(in_dim)) throw Napi::RangeError::New(env, "fwht needs dense rows of power-of-two length");
      T* out = typed_data<T>(info[12], "out", n * in_dim);
      std::copy(x, x + n * in_dim, out);
      for (int64_t i = 0; i < n; ++i) ntk::fwht(out + i * in_dim, in_dim);
    } else if (kind == "countsketch") {
      const ntk::CountSketch<T> s(in_dim, out_dim, seed, 0);
      T* out = typed_data<T>(info[12], "out", n * out_dim);
      ntk::parallel_rows(n, [] { return 0; }, [&](int64_t i, int&) { s.apply(row(i), out + i * out_dim); });
    } else if (kind == "srht") {
      const ntk::Srht<T> s(in_dim, out_dim, seed, 0);
      T* out = typed_data<T>(info[12], "out", n * out_dim);
      ntk::parallel_rows(
          n, [&] { return std::vector<T>(static_cast<size_t>(s.work_size())); },
          [&](int64_t i, std::vector<T>& work) { s.apply(row(i), out + i * out_dim, work.data()); });
    } else if (kind == "tensorsrht") {
      const int64_t in_dim_y = size_arg(info[11], "inDimY");
      const T* y = typed_data<T>(info[10], "y", n * in_dim_y);
      const ntk::TensorSrht<T> s(in_dim, in_dim_y, out_dim, seed, 0);
      T* out = typed_data<T>(info[12], "out", n * out_dim);
      using Work = std::pair<std::vector<T>, std::vector<T>>;
      ntk::parallel_rows(
          n,
          [&] {
            return Work(std::vector<T>(static_cast<size_t>(s.side_a().padded())),
                        std::vector<T>(static_cast<size_t>(s.side_b().padded())));
          },
          [&](int64_t i, Work& w) {
            s.apply(row(i), ntk::RowView<T>::dense_row(y + i * in_dim_y, in_dim_y), out + i * out_dim,
                    w.first.data(), w.second.data());
          });
    } else if (kind == "polysketch") {
      const int leaves = static_cast<int>(degree);
      const ntk::PolySketch<T> s(in_dim, out_dim, leaves, seed, 0);
      const int64_t width = leaves * out_dim;
      T* out = typed_data<T>(info[12], "out", n * width);
      std::vector<int> degrees(static_cast<size_t>(leaves));
      const std::vector<int64_t> rows(static_cast<size_t>(leaves), out_dim);
      const std::vector<T> factors(static_cast<size_t>(leaves), T(1));
      for (int j = 0; j < leaves; ++j) degrees[j] = j + 1;
      ntk::parallel_rows(
          n, [&] { return s.make_workspace(); },
          [&](int64_t i, typename ntk::PolySketch<T>::Workspace& ws) {
            std::vector<T*> outs(static_cast<size_t>(leaves));
            for (int j = 0; j < leaves; ++j) outs[j] = out + i * width + j * out_dim;
            s.apply(row(i), leaves, degrees.data(), rows.data(), factors.data(), outs.data(), ws);
          });
    } else if (kind == "polykernel") {
      const auto coeffs = float64_vector(info[5], "coeffs");
      // outDim = SRHT rows, or 0 for the packed sketch; sketch dim from degree slot.
      const ntk::PolyKernelSketch<T> s(in_dim, degree, coeffs, out_dim, seed, 0);
      const int64_t width = s.out_dim();
      T* out = typed_data<T>(info[12], "out", n * width);
      ntk::parallel_rows(
          n, [&] { return s.make_workspace(); },
          [&](int64_t i, typename ntk::PolyKernelSketch<T>::Workspace& ws) { s.apply(row(i), out + i * width, ws); });
    } else {
      throw Napi::RangeError::New(env, "unknown sketch kind " + kind);
    }
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(env, e.what());
  }
}

Napi::Value SketchPrimitive(const Napi::CallbackInfo& info) {
  if (info.Length() < 13) throw Napi::TypeError::New(info.Env(), "sketchPrimitive: expected 13 arguments");
  if (dtype_of(info[6], "x") == DType::Float32)
    run_primitive<float>(info);
  else
    run_primitive<double>(info);
  return info.Env().Undefined();
}

}  // namespace

void register_sketches(Napi::Env env, Napi::Object exports) {
  exports.Set("arccosPolynomial", Napi::Function::New(env, ArccosPolynomial, "arccosPolynomial"));
  exports.Set("layerLowerBounds", Napi::Function::New(env, LayerLowerBounds, "layerLowerBounds"));
  exports.Set("polyKernelPackedDim", Napi::Function::New(env, PolyKernelPackedDim, "polyKernelPackedDim"));
  exports.Set("sketchPrimitive", Napi::Function::New(env, SketchPrimitive, "sketchPrimitive"));
}

}  // namespace ntk_bindings
