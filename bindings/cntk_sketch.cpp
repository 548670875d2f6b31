// CntkSketchMap: the native half of the CNTKSketch class.
//   new CntkSketchMap(channels, height, width, depth, filterSize, same, features, sketchDim, seed, dtype,
//                     k1[], k0[], renormalise)
//   .transform(x, n, out, kernel, async)
//   .info() -> { parameterBytes, workspaceBytes: { ntk, nngp }, outHeight, outWidth }
// cntkSketchPolynomial(kernel, approximation, degree, layer) -> Float64Array
// The map is immutable and shared with running jobs (shared_ptr), so an async
// job keeps it alive even if the JavaScript object is collected meanwhile.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "features/cntk_sketch.hpp"
#include "job.hpp"

namespace ntk_bindings {

namespace {

std::vector<std::vector<double>> polynomial_list(const Napi::Value& v, const char* name, int depth) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be an array of Float64Array");
  auto arr = v.As<Napi::Array>();
  if (static_cast<int>(arr.Length()) != depth)
    throw Napi::RangeError::New(v.Env(), std::string(name) + " must hold one polynomial per layer");
  std::vector<std::vector<double>> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const Napi::Value item = arr.Get(i);
    if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw Napi::TypeError::New(v.Env(), std::string(name) + " entries must be Float64Array");
    auto f = item.As<Napi::Float64Array>();
    out.emplace_back(f.Data(), f.Data() + f.ElementLength());
  }
  return out;
}

ntk::CntkFeatureKind kind_arg(const Napi::Value& v) {
  const std::string k = v.ToString().Utf8Value();
  if (k == "ntk") return ntk::CntkFeatureKind::Ntk;
  if (k == "nngp") return ntk::CntkFeatureKind::Nngp;
  throw Napi::RangeError::New(v.Env(), "kernel must be 'ntk' or 'nngp'");
}

class CntkSketchMap : public Napi::ObjectWrap<CntkSketchMap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CntkSketchMap",
                       {InstanceMethod("transform", &CntkSketchMap::Transform),
                        InstanceMethod("info", &CntkSketchMap::Info)});
  }

  explicit CntkSketchMap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CntkSketchMap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 13) throw Napi::TypeError::New(env, "CntkSketchMap: expected 13 arguments");
    ntk::CntkSketchConfig c;
    c.channels = size_arg(info[0], "channels");
    c.height = size_arg(info[1], "height");
    c.width = size_arg(info[2], "width");
    const int64_t depth = size_arg(info[3], "depth");
    const int64_t filter = size_arg(info[4], "filterSize");
    if (depth > 1000 || filter > 1000000) throw Napi::RangeError::New(env, "depth or filterSize out of range");
    c.depth = static_cast<int>(depth);
    c.filter = static_cast<int>(filter);
    c.same = info[5].ToBoolean();
    c.features = size_arg(info[6], "features");
    c.sketch_dim = size_arg(info[7], "sketchDim");
    c.seed = static_cast<uint64_t>(size_arg(info[8], "seed"));
    const std::string dtype = info[9].ToString().Utf8Value();
    if (dtype != "float32" && dtype != "float64") throw Napi::RangeError::New(env, "dtype must be 'float32' or 'float64'");
    c.k1 = polynomial_list(info[10], "k1", c.depth);
    c.k0 = polynomial_list(info[11], "k0", c.depth);
    c.renormalise = info[12].ToBoolean();
    // Sizes whose products could overflow int64 are refused before any work.
    if (c.channels > (int64_t{1} << 20) || c.height > (int64_t{1} << 20) || c.width > (int64_t{1} << 20) ||
        c.features > (int64_t{1} << 30))
      throw Napi::RangeError::New(env, "CntkSketchMap: size out of range");
    try {
      if (dtype == "float32")
        f32_ = std::make_shared<const ntk::CntkSketch<float>>(c);
      else
        f64_ = std::make_shared<const ntk::CntkSketch<double>>(c);
    } catch (const std::exception& e) {
      throw Napi::RangeError::New(env, e.what());
    }
  }

 private:
  const ntk::CntkSketchConfig& config() const { return f32_ ? f32_->config() : f64_->config(); }

  template <typename T>
  Napi::Value transform_typed(const Napi::CallbackInfo& info, std::shared_ptr<const ntk::CntkSketch<T>> map) {
    const ntk::CntkSketchConfig& c = map->config();
    const int64_t n = size_arg(info[1], "n");
    const T* x = typed_data<T>(info[0], "X", n * c.channels * c.height * c.width);
    T* out = typed_data<T>(info[2], "out", n * c.features);
    const ntk::CntkFeatureKind kind = kind_arg(info[3]);
    auto job = [=]() { map->transform(x, n, out, kind); };
    return run_job(info.Env(), info[4].ToBoolean(), job, {info[0], info[2]});
  }

  Napi::Value Transform(const Napi::CallbackInfo& info) {
    if (info.Length() < 5) throw Napi::TypeError::New(info.Env(), "transform: expected 5 arguments");
    return f32_ ? transform_typed<float>(info, f32_) : transform_typed<double>(info, f64_);
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    Napi::Object ws = Napi::Object::New(env);
    if (f32_) {
      o.Set("parameterBytes", static_cast<double>(f32_->parameter_bytes()));
      ws.Set("ntk", static_cast<double>(f32_->workspace_bytes(ntk::CntkFeatureKind::Ntk)));
      ws.Set("nngp", static_cast<double>(f32_->workspace_bytes(ntk::CntkFeatureKind::Nngp)));
      o.Set("outHeight", static_cast<double>(f32_->grid_rows(config().depth)));
      o.Set("outWidth", static_cast<double>(f32_->grid_cols(config().depth)));
    } else {
      o.Set("parameterBytes", static_cast<double>(f64_->parameter_bytes()));
      ws.Set("ntk", static_cast<double>(f64_->workspace_bytes(ntk::CntkFeatureKind::Ntk)));
      ws.Set("nngp", static_cast<double>(f64_->workspace_bytes(ntk::CntkFeatureKind::Nngp)));
      o.Set("outHeight", static_cast<double>(f64_->grid_rows(config().depth)));
      o.Set("outWidth", static_cast<double>(f64_->grid_cols(config().depth)));
    }
    o.Set("workspaceBytes", ws);
    return o;
  }

  std::shared_ptr<const ntk::CntkSketch<float>> f32_;
  std::shared_ptr<const ntk::CntkSketch<double>> f64_;
};

/// cntkSketchPolynomial(kernel 'k0' | 'k1', approximation 'taylor' | 'nnls', degree, layer) -> Float64Array
Napi::Value CntkSketchPolynomial(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) throw Napi::TypeError::New(env, "cntkSketchPolynomial: expected 4 arguments");
  const std::string kernel = info[0].ToString().Utf8Value();
  const std::string approx = info[1].ToString().Utf8Value();
  if (kernel != "k0" && kernel != "k1") throw Napi::RangeError::New(env, "kernel must be 'k0' or 'k1'");
  if (approx != "taylor" && approx != "nnls") throw Napi::RangeError::New(env, "approximation must be 'taylor' or 'nnls'");
  const int64_t degree = size_arg(info[2], "degree");
  const int64_t layer = size_arg(info[3], "layer");
  if (degree < 1 || degree > 64 || layer < 1 || layer > 1000) throw Napi::RangeError::New(env, "degree or layer out of range");
  std::vector<double> c;
  try {
    c = ntk::cntk_sketch_polynomial(kernel == "k0" ? ntk::ArcCosKernel::K0 : ntk::ArcCosKernel::K1,
                                    approx == "taylor" ? ntk::PolyApprox::Taylor : ntk::PolyApprox::Nnls,
                                    static_cast<int>(degree), static_cast<int>(layer));
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(env, e.what());
  }
  auto out = Napi::Float64Array::New(env, c.size());
  for (size_t i = 0; i < c.size(); ++i) out[i] = c[i];
  return out;
}

}  // namespace

void register_cntk_sketch(Napi::Env env, Napi::Object exports) {
  exports.Set("CntkSketchMap", CntkSketchMap::Define(env));
  exports.Set("cntkSketchPolynomial", Napi::Function::New(env, CntkSketchPolynomial, "cntkSketchPolynomial"));
}

}  // namespace ntk_bindings
