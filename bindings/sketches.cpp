// Sketch primitives and polynomial coefficients (native/sketches/), for the
// NTKSketch class and for tests/diagnostics. Synchronous; rows in parallel.
//   arccosPolynomial(kernel 'k0'|'k1', approximation 'taylor'|'nnls', degree, lower) -> Float64Array
//   layerLowerBounds(depth) -> Float64Array
//   polyKernelPackedDim(inDim, sketchDim, coeffs) -> number
//   sketchPrimitive({ kind, x, n, inDim, indptr: Int32Array | null, indices: Int32Array | null, out, ...kind fields })
//     x is n x inDim, CSR when indptr is not null; out is n x the kind's width, of x's element type:
//       'fwht'        (dense, inDim a power of two)           out n x inDim
//       'countsketch' { seed, outDim }                         out n x outDim
//       'srht'        { seed, outDim }                         out n x outDim
//       'tensorsrht'  { seed, outDim, y (n x inDimY, dense), inDimY }   out n x outDim
//       'polysketch'  { seed, degree (leaves), sketchDim }     out n x degree * sketchDim
//       'polykernel'  { seed, coefficients, sketchDim, outDim (0: packed) }   out n x (outDim or the packed width)
//     A table maps each kind to the function that runs it; each reads only its own fields.
#include <napi.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "common/parallel.hpp"
#include "options.hpp"
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

/// The rows a primitive reads: x (n x inDim), dense, or CSR when indptr is not null.
template <typename T>
struct Rows {
  int64_t n = 0, in_dim = 0;
  const T* x = nullptr;
  const int32_t* indptr = nullptr;
  const int32_t* indices = nullptr;

  bool sparse() const { return indptr != nullptr; }
  ntk::RowView<T> operator()(int64_t i) const {
    return sparse() ? ntk::RowView<T>::sparse_row(indices + indptr[i], x + indptr[i], indptr[i + 1] - indptr[i], in_dim)
                    : ntk::RowView<T>::dense_row(x + i * in_dim, in_dim);
  }
};

template <typename T>
Rows<T> rows_of(const Options& o) {
  Rows<T> r;
  r.n = o.integer("n");
  r.in_dim = o.integer("inDim");
  const Napi::Value vindptr = o.get("indptr");
  int64_t x_len = r.n * r.in_dim;
  if (!vindptr.IsNull()) {
    const CsrStructure csr = csr_structure(vindptr, o.get("indices"), r.n, r.in_dim);
    r.indptr = csr.indptr;
    r.indices = csr.indices;
    x_len = csr.nnz;
  }
  r.x = typed_data<T>(o.get("x"), "x", x_len);
  return r;
}

/// The n x width output.
template <typename T>
T* out_of(const Options& o, const Rows<T>& r, int64_t width) {
  return typed_data<T>(o.get("out"), "out", r.n * width);
}

uint64_t seed_of(const Options& o) { return static_cast<uint64_t>(o.integer("seed")); }

// One function per primitive, each reading the fields it uses beyond the rows.

template <typename T>
void walsh_hadamard(const Options& o, const Rows<T>& r) {
  // Unnormalised Walsh–Hadamard transform of each dense row (tests).
  if (r.sparse() || r.in_dim != ntk::next_pow2(r.in_dim))
    throw Napi::RangeError::New(o.env(), "fwht needs dense rows of power-of-two length");
  T* out = out_of(o, r, r.in_dim);
  std::copy(r.x, r.x + r.n * r.in_dim, out);
  for (int64_t i = 0; i < r.n; ++i) ntk::fwht(out + i * r.in_dim, r.in_dim);
}

template <typename T>
void count_sketch(const Options& o, const Rows<T>& r) {
  const int64_t out_dim = o.integer("outDim");
  const ntk::CountSketch<T> s(r.in_dim, out_dim, seed_of(o), 0);
  T* out = out_of(o, r, out_dim);
  ntk::parallel_rows(r.n, [] { return 0; }, [&](int64_t i, int&) { s.apply(r(i), out + i * out_dim); });
}

template <typename T>
void srht(const Options& o, const Rows<T>& r) {
  const int64_t out_dim = o.integer("outDim");
  const ntk::Srht<T> s(r.in_dim, out_dim, seed_of(o), 0);
  T* out = out_of(o, r, out_dim);
  ntk::parallel_rows(
      r.n, [&] { return std::vector<T>(static_cast<size_t>(s.work_size())); },
      [&](int64_t i, std::vector<T>& work) { s.apply(r(i), out + i * out_dim, work.data()); });
}

template <typename T>
void tensor_srht(const Options& o, const Rows<T>& r) {
  const int64_t out_dim = o.integer("outDim");
  const int64_t in_dim_y = o.integer("inDimY");
  const T* y = typed_data<T>(o.get("y"), "y", r.n * in_dim_y);
  const ntk::TensorSrht<T> s(r.in_dim, in_dim_y, out_dim, seed_of(o), 0);
  T* out = out_of(o, r, out_dim);
  using Work = std::pair<std::vector<T>, std::vector<T>>;
  ntk::parallel_rows(
      r.n,
      [&] {
        return Work(std::vector<T>(static_cast<size_t>(s.side_a().padded())),
                    std::vector<T>(static_cast<size_t>(s.side_b().padded())));
      },
      [&](int64_t i, Work& w) {
        s.apply(r(i), ntk::RowView<T>::dense_row(y + i * in_dim_y, in_dim_y), out + i * out_dim, w.first.data(),
                w.second.data());
      });
}

template <typename T>
void poly_sketch(const Options& o, const Rows<T>& r) {
  // degree leaves Q_1 x .. Q_degree x, each sketchDim wide, side by side.
  const int leaves = static_cast<int>(o.integer("degree", 0, 1 << 20));  // an int; PolySketch checks the rest
  const int64_t sketch_dim = o.integer("sketchDim");
  const ntk::PolySketch<T> s(r.in_dim, sketch_dim, leaves, seed_of(o), 0);
  const int64_t width = leaves * sketch_dim;
  T* out = out_of(o, r, width);
  std::vector<int> degrees(static_cast<size_t>(leaves));
  const std::vector<int64_t> rows(static_cast<size_t>(leaves), sketch_dim);
  const std::vector<T> factors(static_cast<size_t>(leaves), T(1));
  for (int j = 0; j < leaves; ++j) degrees[j] = j + 1;
  ntk::parallel_rows(
      r.n, [&] { return s.make_workspace(); },
      [&](int64_t i, typename ntk::PolySketch<T>::Workspace& ws) {
        std::vector<T*> outs(static_cast<size_t>(leaves));
        for (int j = 0; j < leaves; ++j) outs[j] = out + i * width + j * sketch_dim;
        s.apply(r(i), leaves, degrees.data(), rows.data(), factors.data(), outs.data(), ws);
      });
}

template <typename T>
void poly_kernel_sketch(const Options& o, const Rows<T>& r) {
  const auto coeffs = float64_vector(o.get("coefficients"), "coefficients");
  const int64_t sketch_dim = o.integer("sketchDim");
  const int64_t out_dim = o.integer("outDim");  // SRHT rows, or 0 for the packed sketch
  const ntk::PolyKernelSketch<T> s(r.in_dim, sketch_dim, coeffs, out_dim, seed_of(o), 0);
  const int64_t width = s.out_dim();
  T* out = out_of(o, r, width);
  ntk::parallel_rows(
      r.n, [&] { return s.make_workspace(); },
      [&](int64_t i, typename ntk::PolyKernelSketch<T>::Workspace& ws) { s.apply(r(i), out + i * width, ws); });
}

/// A primitive for each element type of x.
struct Primitive {
  void (*f32)(const Options&, const Rows<float>&);
  void (*f64)(const Options&, const Rows<double>&);
};

const std::map<std::string, Primitive>& primitives() {
  static const std::map<std::string, Primitive> table = {
      {"fwht", {walsh_hadamard<float>, walsh_hadamard<double>}},
      {"countsketch", {count_sketch<float>, count_sketch<double>}},
      {"srht", {srht<float>, srht<double>}},
      {"tensorsrht", {tensor_srht<float>, tensor_srht<double>}},
      {"polysketch", {poly_sketch<float>, poly_sketch<double>}},
      {"polykernel", {poly_kernel_sketch<float>, poly_kernel_sketch<double>}},
  };
  return table;
}

Napi::Value SketchPrimitive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Options o(info, 0, "sketchPrimitive");
  const std::string kind = o.string("kind");
  const auto it = primitives().find(kind);
  if (it == primitives().end()) throw Napi::RangeError::New(env, "unknown sketch kind " + kind);
  const bool f32 = dtype_of(o.get("x"), "x") == DType::Float32;
  try {
    if (f32)
      it->second.f32(o, rows_of<float>(o));
    else
      it->second.f64(o, rows_of<double>(o));
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    // The sketches' constructors refuse bad dimensions with std::invalid_argument.
    throw Napi::RangeError::New(env, e.what());
  }
  return env.Undefined();
}

}  // namespace

void register_sketches(Napi::Env env, Napi::Object exports) {
  exports.Set("arccosPolynomial", Napi::Function::New(env, ArccosPolynomial, "arccosPolynomial"));
  exports.Set("layerLowerBounds", Napi::Function::New(env, LayerLowerBounds, "layerLowerBounds"));
  exports.Set("polyKernelPackedDim", Napi::Function::New(env, PolyKernelPackedDim, "polyKernelPackedDim"));
  exports.Set("sketchPrimitive", Napi::Function::New(env, SketchPrimitive, "sketchPrimitive"));
}

}  // namespace ntk_bindings
