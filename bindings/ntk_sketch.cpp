// NtkSketchMap: the native half of the NTKSketch class.
//   new NtkSketchMap(inputDim, depth, features, sketchDim, seed, dtype, k1[], k0[], normalize = true)
//   .transform(x, n, out, kernel, async)
//   .transformCsr(indptr, indices, values, n, out, kernel, async)
//   .info() -> { parameterBytes, workspaceBytes }
// The map is immutable and shared with running jobs (shared_ptr), so an async
// job keeps it alive even if the JavaScript object is collected meanwhile.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "features/ntk_sketch.hpp"
#include "job.hpp"

namespace ntk_bindings {

namespace {

std::vector<std::vector<double>> coefficient_list(const Napi::Value& v, const char* name, int depth) {
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

ntk::FeatureKernel kernel_arg(const Napi::Value& v) {
  const std::string k = v.ToString().Utf8Value();
  if (k == "ntk") return ntk::FeatureKernel::Ntk;
  if (k == "nngp") return ntk::FeatureKernel::Nngp;
  throw Napi::RangeError::New(v.Env(), "kernel must be 'ntk' or 'nngp'");
}

class NtkSketchMap : public Napi::ObjectWrap<NtkSketchMap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NtkSketchMap",
                       {InstanceMethod("transform", &NtkSketchMap::Transform),
                        InstanceMethod("transformCsr", &NtkSketchMap::TransformCsr),
                        InstanceMethod("info", &NtkSketchMap::Info)});
  }

  explicit NtkSketchMap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NtkSketchMap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 8) throw Napi::TypeError::New(env, "NtkSketchMap: expected 8 arguments");
    ntk::NtkSketchConfig c;
    c.input_dim = size_arg(info[0], "inputDim");
    c.depth = static_cast<int>(size_arg(info[1], "depth"));
    c.features = size_arg(info[2], "features");
    c.sketch_dim = size_arg(info[3], "sketchDim");
    c.seed = static_cast<uint64_t>(size_arg(info[4], "seed"));
    const std::string dtype = info[5].ToString().Utf8Value();
    if (dtype != "float32" && dtype != "float64") throw Napi::RangeError::New(env, "dtype must be 'float32' or 'float64'");
    c.k1 = coefficient_list(info[6], "k1", c.depth);
    c.k0 = coefficient_list(info[7], "k0", c.depth);
    // Diagnostics only (the TypeScript class always normalises).
    if (info.Length() > 8 && !info[8].IsUndefined()) c.normalize = info[8].ToBoolean();
    try {
      if (dtype == "float32")
        f32_ = std::make_shared<const ntk::NtkSketch<float>>(c);
      else
        f64_ = std::make_shared<const ntk::NtkSketch<double>>(c);
    } catch (const std::exception& e) {
      throw Napi::RangeError::New(env, e.what());
    }
  }

 private:
  int64_t features() const { return f32_ ? f32_->features() : f64_->features(); }
  int64_t input_dim() const { return f32_ ? f32_->config().input_dim : f64_->config().input_dim; }

  template <typename T>
  Napi::Value transform_typed(const Napi::CallbackInfo& info, std::shared_ptr<const ntk::NtkSketch<T>> map) {
    const int64_t n = size_arg(info[1], "n");
    const T* x = typed_data<T>(info[0], "X", n * input_dim());
    T* out = typed_data<T>(info[2], "out", n * features());
    const ntk::FeatureKernel kernel = kernel_arg(info[3]);
    auto job = [=]() { map->transform(x, n, out, kernel); };
    return run_job(info.Env(), info[4].ToBoolean(), job, {info[0], info[2]});
  }

  Napi::Value Transform(const Napi::CallbackInfo& info) {
    if (info.Length() < 5) throw Napi::TypeError::New(info.Env(), "transform: expected 5 arguments");
    return f32_ ? transform_typed<float>(info, f32_) : transform_typed<double>(info, f64_);
  }

  template <typename T>
  Napi::Value transform_csr_typed(const Napi::CallbackInfo& info, std::shared_ptr<const ntk::NtkSketch<T>> map) {
    Napi::Env env = info.Env();
    const int64_t n = size_arg(info[3], "n");
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env, "indptr and indices must be Int32Array");
    auto indptr = info[0].As<Napi::Int32Array>();
    auto indices = info[1].As<Napi::Int32Array>();
    if (static_cast<int64_t>(indptr.ElementLength()) < n + 1) throw Napi::RangeError::New(env, "indptr is too short");
    const int64_t nnz = indptr[static_cast<size_t>(n)];
    if (nnz < 0 || static_cast<int64_t>(indices.ElementLength()) < nnz)
      throw Napi::RangeError::New(env, "indices is too short");
    // The TypeScript layer has validated the structure; recheck what guards
    // memory (indices are written through) at O(nnz).
    const int64_t d = input_dim();
    for (int64_t i = 0; i < n; ++i)
      if (indptr[static_cast<size_t>(i)] > indptr[static_cast<size_t>(i + 1)] || indptr[static_cast<size_t>(i)] < 0)
        throw Napi::RangeError::New(env, "indptr must be non-decreasing from 0");
    for (int64_t k = 0; k < nnz; ++k)
      if (indices[static_cast<size_t>(k)] < 0 || indices[static_cast<size_t>(k)] >= d)
        throw Napi::RangeError::New(env, "indices out of range");
    const T* values = typed_data<T>(info[2], "values", nnz);
    T* out = typed_data<T>(info[4], "out", n * features());
    const ntk::FeatureKernel kernel = kernel_arg(info[5]);
    const int32_t* ip = indptr.Data();
    const int32_t* ix = indices.Data();
    auto job = [=]() { map->transform_csr(ip, ix, values, n, out, kernel); };
    return run_job(env, info[6].ToBoolean(), job, {info[0], info[1], info[2], info[4]});
  }

  Napi::Value TransformCsr(const Napi::CallbackInfo& info) {
    if (info.Length() < 7) throw Napi::TypeError::New(info.Env(), "transformCsr: expected 7 arguments");
    return f32_ ? transform_csr_typed<float>(info, f32_) : transform_csr_typed<double>(info, f64_);
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("parameterBytes", static_cast<double>(f32_ ? f32_->parameter_bytes() : f64_->parameter_bytes()));
    o.Set("workspaceBytes", static_cast<double>(f32_ ? f32_->workspace_bytes() : f64_->workspace_bytes()));
    return o;
  }

  std::shared_ptr<const ntk::NtkSketch<float>> f32_;
  std::shared_ptr<const ntk::NtkSketch<double>> f64_;
};

}  // namespace

void register_ntk_sketch(Napi::Env env, Napi::Object exports) {
  exports.Set("NtkSketchMap", NtkSketchMap::Define(env));
}

}  // namespace ntk_bindings
