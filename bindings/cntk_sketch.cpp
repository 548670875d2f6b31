// CntkSketchMap: the native half of the CNTKSketch class.
//   new CntkSketchMap({ channels, height, width, depth, filterSize, padding: 'valid' | 'same', features, sketchDim,
//                       seed, dtype, k1: Float64Array[], k0: Float64Array[], renormalise?: true })
//   .transform({ x, n, out, kernel }, async)     dense images only: CSR arguments are a TypeError
//   .dispose(): drops the parameters (running jobs keep theirs)
//   .info() -> { parameterBytes, workspaceBytes: { ntk, nngp }, outHeight, outWidth }
// cntkSketchPolynomial(kernel, approximation, degree, layer) -> Float64Array
#include <napi.h>

#include <exception>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "feature_map.hpp"
#include "options.hpp"
#include "maps/cntk_sketch.hpp"
#include "polynomials.hpp"

namespace ntk_bindings {

namespace {

class CntkSketchMap : public FeatureMapBinding<CntkSketchMap, ntk::CntkSketch> {
 public:
  static Napi::Function Define(Napi::Env env) { return define(env, "CntkSketchMap", {}); }

  explicit CntkSketchMap(const Napi::CallbackInfo& info) : FeatureMapBinding(info) {
    Napi::Env env = info.Env();
    const Options o(info, 0, "CntkSketchMap");
    ntk::CntkSketchConfig c;
    c.channels = o.integer("channels", 1);
    c.height = o.integer("height", 1);
    c.width = o.integer("width", 1);
    c.depth = static_cast<int>(o.integer("depth", 1, 1000));
    c.filter = static_cast<int>(o.integer("filterSize", 1, 1000000));
    const std::string padding = o.string("padding");
    if (padding != "same" && padding != "valid") throw Napi::RangeError::New(env, "CntkSketchMap.padding must be 'valid' or 'same'");
    c.same = padding == "same";
    c.features = o.integer("features", 1);
    c.sketch_dim = o.integer("sketchDim", 1);
    c.seed = static_cast<uint64_t>(o.integer("seed"));
    const DType dtype = o.dtype();
    c.k1 = o.coefficients("k1", c.depth);
    c.k0 = o.coefficients("k0", c.depth);
    c.renormalise = o.boolean("renormalise", true);
    // Sizes whose products could overflow int64 are refused before any work.
    if (c.channels > (int64_t{1} << 20) || c.height > (int64_t{1} << 20) || c.width > (int64_t{1} << 20) ||
        c.features > (int64_t{1} << 30))
      throw Napi::RangeError::New(env, "CntkSketchMap: size out of range");
    map_.build(env, dtype, c);
  }

 private:
  friend FeatureMapBinding;

  template <typename T>
  void add_info(Napi::Object& o, const ntk::CntkSketch<T>& map) const {
    Napi::Object ws = Napi::Object::New(o.Env());
    ws.Set("ntk", static_cast<double>(map.workspace_bytes(ntk::FeatureKernel::Ntk)));
    ws.Set("nngp", static_cast<double>(map.workspace_bytes(ntk::FeatureKernel::Nngp)));
    o.Set("outHeight", static_cast<double>(map.grid_rows(map.config().depth)));
    o.Set("outWidth", static_cast<double>(map.grid_cols(map.config().depth)));
    o.Set("workspaceBytes", ws);
  }
};

/// cntkSketchPolynomial(kernel 'k0' | 'k1', approximation 'taylor' | 'nnls', degree, layer) -> Float64Array
Napi::Value CntkSketchPolynomial(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "cntkSketchPolynomial: expected 4 arguments");
  const PolynomialArgs p = polynomial_args(info);
  const int64_t layer = size_arg(info[3], "layer");
  if (p.degree < 1 || p.degree > 64 || layer < 1 || layer > 1000) throw Napi::RangeError::New(env, "degree or layer out of range");
  std::vector<double> c;
  try {
    c = ntk::cntk_sketch_polynomial(p.kernel, p.approx, static_cast<int>(p.degree), static_cast<int>(layer));
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  return to_float64(env, c);
}

}  // namespace

void register_cntk_sketch(Napi::Env env, Napi::Object exports) {
  exports.Set("CntkSketchMap", CntkSketchMap::Define(env));
  exports.Set("cntkSketchPolynomial", Napi::Function::New(env, CntkSketchPolynomial, "cntkSketchPolynomial"));
}

}  // namespace ntk_bindings
