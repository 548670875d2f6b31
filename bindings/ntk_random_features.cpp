// NtkRandomFeaturesMap: the native half of the NTKRandomFeatures class.
//   new NtkRandomFeaturesMap(inputDim, depth, features, stepFeatures, arcCosineFeatures,
//                            sketchFeatures, leverage, seed, dtype, normalize)
//   .transform(x, n, out, kernel, async)
//   .transformCsr(indptr, indices, values, n, out, kernel, async)
//   .info() -> { parameterBytes, nngpExtraBytes, finalSrht, callBytes: { ntkDense, ntkCsr, nngpDense, nngpCsr } }
//               (callBytes: per call, block buffers plus per-thread scratch for the current thread count)
//   .weights(layer) -> { inputDim, step, arcCosine, weight }
// The map is immutable (its lazily drawn NNGP columns are drawn once, under
// std::call_once) and shared with running jobs (shared_ptr).
#include <napi.h>

#include <memory>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "common/threads.hpp"
#include "features/ntk_random_features.hpp"
#include "job.hpp"

namespace ntk_bindings {

namespace {

ntk::RandomFeatureKernel rf_kernel_arg(const Napi::Value& v) {
  const std::string k = v.ToString().Utf8Value();
  if (k == "ntk") return ntk::RandomFeatureKernel::Ntk;
  if (k == "nngp") return ntk::RandomFeatureKernel::Nngp;
  throw Napi::RangeError::New(v.Env(), "kernel must be 'ntk' or 'nngp'");
}

class NtkRandomFeaturesMap : public Napi::ObjectWrap<NtkRandomFeaturesMap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NtkRandomFeaturesMap",
                       {InstanceMethod("transform", &NtkRandomFeaturesMap::Transform),
                        InstanceMethod("transformCsr", &NtkRandomFeaturesMap::TransformCsr),
                        InstanceMethod("info", &NtkRandomFeaturesMap::Info),
                        InstanceMethod("weights", &NtkRandomFeaturesMap::Weights)});
  }

  explicit NtkRandomFeaturesMap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NtkRandomFeaturesMap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 10) throw Napi::TypeError::New(env, "NtkRandomFeaturesMap: expected 10 arguments");
    ntk::NtkRandomFeaturesConfig c;
    c.input_dim = size_arg(info[0], "inputDim");
    const int64_t depth = size_arg(info[1], "depth");
    if (depth < 1 || depth > 1000) throw Napi::RangeError::New(env, "depth must be in [1, 1000]");
    c.depth = static_cast<int>(depth);
    c.features = size_arg(info[2], "features");
    c.step_features = size_arg(info[3], "stepFeatures");
    c.arccos_features = size_arg(info[4], "arcCosineFeatures");
    c.sketch_features = size_arg(info[5], "sketchFeatures");
    c.leverage = info[6].ToBoolean();
    c.seed = static_cast<uint64_t>(size_arg(info[7], "seed"));
    const std::string dtype = info[8].ToString().Utf8Value();
    if (dtype != "float32" && dtype != "float64") throw Napi::RangeError::New(env, "dtype must be 'float32' or 'float64'");
    c.normalize = info[9].ToBoolean();
    try {
      if (dtype == "float32")
        f32_ = std::make_shared<const ntk::NtkRandomFeatures<float>>(c);
      else
        f64_ = std::make_shared<const ntk::NtkRandomFeatures<double>>(c);
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(env, "NTKRandomFeatures: out of memory while drawing the weights");
    } catch (const std::exception& e) {
      throw Napi::RangeError::New(env, e.what());
    }
  }

 private:
  int64_t features() const { return f32_ ? f32_->features() : f64_->features(); }
  int64_t input_dim() const { return f32_ ? f32_->config().input_dim : f64_->config().input_dim; }

  template <typename T>
  Napi::Value transform_typed(const Napi::CallbackInfo& info, std::shared_ptr<const ntk::NtkRandomFeatures<T>> map) {
    const int64_t n = size_arg(info[1], "n");
    const T* x = typed_data<T>(info[0], "X", n * input_dim());
    T* out = typed_data<T>(info[2], "out", n * features());
    const ntk::RandomFeatureKernel kernel = rf_kernel_arg(info[3]);
    auto job = [=]() { map->transform(x, n, out, kernel); };
    return run_job(info.Env(), info[4].ToBoolean(), job, {info[0], info[2]});
  }

  Napi::Value Transform(const Napi::CallbackInfo& info) {
    if (info.Length() < 5) throw Napi::TypeError::New(info.Env(), "transform: expected 5 arguments");
    return f32_ ? transform_typed<float>(info, f32_) : transform_typed<double>(info, f64_);
  }

  template <typename T>
  Napi::Value transform_csr_typed(const Napi::CallbackInfo& info, std::shared_ptr<const ntk::NtkRandomFeatures<T>> map) {
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
    // memory (indices address rows of the weights) at O(nnz).
    const int64_t d = input_dim();
    if (indptr[0] != 0) throw Napi::RangeError::New(env, "indptr must start at 0");
    for (int64_t i = 0; i < n; ++i)
      if (indptr[static_cast<size_t>(i)] > indptr[static_cast<size_t>(i + 1)])
        throw Napi::RangeError::New(env, "indptr must be non-decreasing from 0");
    for (int64_t k = 0; k < nnz; ++k)
      if (indices[static_cast<size_t>(k)] < 0 || indices[static_cast<size_t>(k)] >= d)
        throw Napi::RangeError::New(env, "indices out of range");
    const T* values = typed_data<T>(info[2], "values", nnz);
    T* out = typed_data<T>(info[4], "out", n * features());
    const ntk::RandomFeatureKernel kernel = rf_kernel_arg(info[5]);
    const int32_t* ip = indptr.Data();
    const int32_t* ix = indices.Data();
    auto job = [=]() { map->transform_csr(ip, ix, values, n, out, kernel); };
    return run_job(env, info[6].ToBoolean(), job, {info[0], info[1], info[2], info[4]});
  }

  Napi::Value TransformCsr(const Napi::CallbackInfo& info) {
    if (info.Length() < 7) throw Napi::TypeError::New(info.Env(), "transformCsr: expected 7 arguments");
    return f32_ ? transform_csr_typed<float>(info, f32_) : transform_csr_typed<double>(info, f64_);
  }

  template <typename T>
  Napi::Value info_typed(Napi::Env env, const ntk::NtkRandomFeatures<T>& map) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("parameterBytes", static_cast<double>(map.parameter_bytes()));
    o.Set("nngpExtraBytes", static_cast<double>(map.nngp_extra_bytes()));
    o.Set("finalSrht", map.final_srht());
    const int threads = ntk::thread_count();
    Napi::Object call = Napi::Object::New(env);
    call.Set("ntkDense", static_cast<double>(map.call_bytes(ntk::RandomFeatureKernel::Ntk, true, threads)));
    call.Set("ntkCsr", static_cast<double>(map.call_bytes(ntk::RandomFeatureKernel::Ntk, false, threads)));
    call.Set("nngpDense", static_cast<double>(map.call_bytes(ntk::RandomFeatureKernel::Nngp, true, threads)));
    call.Set("nngpCsr", static_cast<double>(map.call_bytes(ntk::RandomFeatureKernel::Nngp, false, threads)));
    o.Set("callBytes", call);
    return o;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    return f32_ ? info_typed(info.Env(), *f32_) : info_typed(info.Env(), *f64_);
  }

  template <typename T>
  Napi::Value weights_typed(const Napi::CallbackInfo& info, const ntk::NtkRandomFeatures<T>& map) {
    Napi::Env env = info.Env();
    const int64_t layer = size_arg(info[0], "layer");
    if (layer >= map.config().depth) throw Napi::RangeError::New(env, "layer must be below depth");
    const int64_t k = map.layer_input_dim(static_cast<int>(layer));
    const int64_t m0 = map.config().step_features, m1 = map.config().arccos_features;
    auto step = Napi::TypedArrayOf<T>::New(env, static_cast<size_t>(k * m0));
    auto arccos = Napi::TypedArrayOf<T>::New(env, static_cast<size_t>(k * m1));
    auto weight = Napi::Float64Array::New(env, static_cast<size_t>(m1));
    map.copy_weights(static_cast<int>(layer), step.Data(), arccos.Data(), weight.Data());
    Napi::Object o = Napi::Object::New(env);
    o.Set("inputDim", static_cast<double>(k));
    o.Set("step", step);
    o.Set("arcCosine", arccos);
    o.Set("weight", weight);
    return o;
  }

  Napi::Value Weights(const Napi::CallbackInfo& info) {
    if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "weights: expected 1 argument");
    return f32_ ? weights_typed(info, *f32_) : weights_typed(info, *f64_);
  }

  std::shared_ptr<const ntk::NtkRandomFeatures<float>> f32_;
  std::shared_ptr<const ntk::NtkRandomFeatures<double>> f64_;
};

}  // namespace

void register_ntk_random_features(Napi::Env env, Napi::Object exports) {
  exports.Set("NtkRandomFeaturesMap", NtkRandomFeaturesMap::Define(env));
}

}  // namespace ntk_bindings
