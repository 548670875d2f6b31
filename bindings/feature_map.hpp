// What the bindings of the feature maps (NtkSketchMap, NtkRandomFeaturesMap,
// CntkSketchMap) share: argument parsing, and transform calls that run as
// jobs on the map in the float32 or float64 form it was built in.
#pragma once

#include <napi.h>

#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "maps/feature_kernel.hpp"
#include "job.hpp"

namespace ntk_bindings {

inline ntk::FeatureKernel kernel_arg(const Napi::Value& v) {
  const std::string k = v.ToString().Utf8Value();
  if (k == "ntk") return ntk::FeatureKernel::Ntk;
  if (k == "nngp") return ntk::FeatureKernel::Nngp;
  throw Napi::RangeError::New(v.Env(), "kernel must be 'ntk' or 'nngp'");
}

/// The dtype named by a string argument ('float32' or 'float64').
inline DType dtype_name_arg(const Napi::Value& v) {
  const std::string dtype = v.ToString().Utf8Value();
  if (dtype == "float32") return DType::Float32;
  if (dtype == "float64") return DType::Float64;
  throw Napi::RangeError::New(v.Env(), "dtype must be 'float32' or 'float64'");
}

/// One polynomial's coefficients (a Float64Array) per layer.
inline std::vector<std::vector<double>> coefficient_list(const Napi::Value& v, const char* name, int depth) {
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

/// An immutable native map Map<float> or Map<double>, shared with running
/// jobs (shared_ptr) so that an async job keeps it alive even if the
/// JavaScript object is collected meanwhile.
///
/// The map's parameter bytes are reported to V8 as external memory: a small
/// JavaScript object holding hundreds of MiB of weights must count as such,
/// or a loop that builds and drops maps grows the process until the
/// collector happens to run for other reasons.
template <template <typename> class Map>
class TypedMap {
 public:
  TypedMap() = default;
  TypedMap(const TypedMap&) = delete;
  TypedMap& operator=(const TypedMap&) = delete;
  ~TypedMap() {
    int64_t ignored = 0;
    if (env_ && reported_ != 0) napi_adjust_external_memory(env_, -reported_, &ignored);
  }

  /// Reports `bytes` (the map's current total) to V8, adjusting by the
  /// change since the last report.
  void track(Napi::Env env, int64_t bytes) {
    if (bytes == reported_) return;
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reported_);
    env_ = env;
    reported_ = bytes;
  }

  /// Builds the map; its errors become RangeErrors (out of memory: `out_of_memory` when given).
  template <typename Config>
  void build(Napi::Env env, DType dtype, const Config& config, const char* out_of_memory = nullptr) {
    try {
      if (dtype == DType::Float32)
        f32_ = std::make_shared<const Map<float>>(config);
      else
        f64_ = std::make_shared<const Map<double>>(config);
    } catch (const std::bad_alloc& e) {
      throw Napi::RangeError::New(env, out_of_memory ? out_of_memory : e.what());
    } catch (const std::exception& e) {
      throw Napi::RangeError::New(env, e.what());
    }
    env_ = env;
    visit([&](const auto& map) { track(env, map->parameter_bytes()); });
  }

  /// f(map) with the shared_ptr of the form that was built; throws once
  /// disposed (the TypeScript layer refuses such calls first).
  template <typename F>
  decltype(auto) visit(F&& f) const {
    if (!f32_ && !f64_) throw Napi::Error::New(Napi::Env(env_), "the map has been disposed");
    return f32_ ? f(f32_) : f(f64_);
  }

  /// Drops this object's reference to the map (jobs still running hold
  /// their own) and reports the memory as released.
  void dispose(Napi::Env env) {
    f32_.reset();
    f64_.reset();
    track(env, 0);
  }

 private:
  std::shared_ptr<const Map<float>> f32_;
  std::shared_ptr<const Map<double>> f64_;
  napi_env env_ = nullptr;
  int64_t reported_ = 0;
};

/// Runs a map's own CPU transforms (the default of the calls below).
struct CpuTransform {
  template <typename M, typename T>
  void dense(const M& map, const T* x, int64_t n, T* out, ntk::FeatureKernel kernel) const {
    map.transform(x, n, out, kernel);
  }
  template <typename M, typename T>
  void csr(const M& map, const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
           ntk::FeatureKernel kernel) const {
    map.transform_csr(indptr, indices, values, n, out, kernel);
  }
};

/// transform(x, n, out, kernel, async): features of n dense inputs of `input_dim` values each,
/// computed by run.dense(map, ...).
template <typename T, template <typename> class Map, typename Run = CpuTransform>
Napi::Value transform_dense(const Napi::CallbackInfo& info, std::shared_ptr<const Map<T>> map, int64_t input_dim,
                            Run run = Run()) {
  if (info.Length() < 5) throw Napi::TypeError::New(info.Env(), "transform: expected 5 arguments");
  const int64_t n = size_arg(info[1], "n");
  const T* x = typed_data<T>(info[0], "X", n * input_dim);
  T* out = typed_data<T>(info[2], "out", n * map->features());
  const ntk::FeatureKernel kernel = kernel_arg(info[3]);
  auto job = [=]() { run.dense(*map, x, n, out, kernel); };
  return run_job(info.Env(), info[4].ToBoolean(), job, {info[0], info[2]});
}

/// transformCsr(indptr, indices, values, n, out, kernel, async): features of n CSR rows of `input_dim` columns.
template <typename T, template <typename> class Map, typename Run = CpuTransform>
Napi::Value transform_csr(const Napi::CallbackInfo& info, std::shared_ptr<const Map<T>> map, int64_t input_dim,
                          Run run = Run()) {
  if (info.Length() < 7) throw Napi::TypeError::New(info.Env(), "transformCsr: expected 7 arguments");
  const int64_t n = size_arg(info[3], "n");
  // The TypeScript layer has validated the structure; recheck what guards
  // memory (indices are read through) at O(nnz).
  const CsrStructure csr = csr_structure(info[0], info[1], n, input_dim);
  const T* values = typed_data<T>(info[2], "values", csr.nnz);
  T* out = typed_data<T>(info[4], "out", n * map->features());
  const ntk::FeatureKernel kernel = kernel_arg(info[5]);
  auto job = [=]() { run.csr(*map, csr.indptr, csr.indices, values, n, out, kernel); };
  return run_job(info.Env(), info[6].ToBoolean(), job, {info[0], info[1], info[2], info[4]});
}

}  // namespace ntk_bindings
