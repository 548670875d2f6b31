// NtkSketchMap: the native half of the NTKSketch class.
//   new NtkSketchMap(inputDim, depth, features, sketchDim, seed, dtype, k1[], k0[], normalize = true,
//                    exactCopies = true, keptRows?: Int32Array, keptScales?: Float64Array, keptKernel?: 'ntk' | 'nngp')
//     (kept rows: only those output rows, each block normalised over its kept rows; CPU only)
//   .transform(x, n, out, kernel, async, backend = 'cpu')
//   .transformCsr(indptr, indices, values, n, out, kernel, async, backend = 'cpu')
//   .dispose(): drops the parameters (running jobs keep theirs)
//   .info() -> { parameterBytes, workspaceBytes }
//   .constantRows(kernel) -> Int32Array: output rows that are the same for every seed
//   (x / values: Float32Array or Float64Array whatever the dtype; see feature_map.hpp)
#include <napi.h>

#include "arrays.hpp"
#include "cuda/cuda_backend.hpp"
#include "bindings.hpp"
#include "feature_map.hpp"
#include "maps/ntk_sketch.hpp"

namespace ntk_bindings {

namespace {

class NtkSketchMap : public Napi::ObjectWrap<NtkSketchMap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NtkSketchMap",
                       {InstanceMethod("transform", &NtkSketchMap::Transform),
                        InstanceMethod("transformCsr", &NtkSketchMap::TransformCsr),
                        InstanceMethod("info", &NtkSketchMap::Info),
                        InstanceMethod("constantRows", &NtkSketchMap::ConstantRows),
                        InstanceMethod("dispose", &NtkSketchMap::Dispose)});
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
    const DType dtype = dtype_name_arg(info[5]);
    c.k1 = coefficient_list(info[6], "k1", c.depth);
    c.k0 = coefficient_list(info[7], "k0", c.depth);
    // Diagnostics only (the TypeScript class always normalises).
    if (info.Length() > 8 && !info[8].IsUndefined()) c.normalize = info[8].ToBoolean();
    if (info.Length() > 9 && !info[9].IsUndefined()) c.exact_copies = info[9].ToBoolean();
    if (info.Length() > 10 && !info[10].IsUndefined()) {
      if (info.Length() < 13) throw Napi::TypeError::New(env, "NtkSketchMap: keptRows needs keptScales and keptKernel");
      if (!info[10].IsTypedArray() || info[10].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, "keptRows must be an Int32Array");
      auto rows = info[10].As<Napi::Int32Array>();
      const int64_t k = static_cast<int64_t>(rows.ElementLength());
      const double* scales = typed_data<double>(info[11], "keptScales", k);
      c.kept_rows.assign(rows.Data(), rows.Data() + k);
      c.kept_scales.assign(scales, scales + k);
      c.kept_kernel = kernel_arg(info[12]);
      if (k == 0) throw Napi::RangeError::New(env, "keptRows must not be empty");
    }
    map_.build(env, dtype, c);
  }

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    map_.dispose(info.Env());
    return info.Env().Undefined();
  }

  // The GPU versions of the transforms (cuda/cuda_backend.hpp).
  struct CudaTransform {
    // X of the other dtype: few large chunks (each call is a round trip to the device).
    static constexpr int64_t kConvertChunkBytes = int64_t{256} << 20;

    template <typename T>
    void dense(const ntk::NtkSketch<T>& map, const T* x, int64_t n, T* out, ntk::FeatureKernel kernel) const {
      ntk::ntk_sketch_transform_cuda(map, x, n, out, kernel);
    }
    template <typename T>
    void csr(const ntk::NtkSketch<T>& map, const int32_t* indptr, const int32_t* indices, const T* values, int64_t n,
             T* out, ntk::FeatureKernel kernel) const {
      ntk::ntk_sketch_transform_csr_cuda(map, indptr, indices, values, n, out, kernel);
    }
  };

  // A map with kept rows runs on the CPU only and transforms its own kernel only.
  template <typename Map>
  static void check_kept(const Napi::CallbackInfo& info, const Map& map, size_t kernel_index, bool cuda) {
    if (!map.kept()) return;
    if (cuda) throw Napi::RangeError::New(info.Env(), "NTKSketch with kept rows: the 'cuda' backend is not available");
    if (info.Length() > kernel_index && kernel_arg(info[kernel_index]) != map.config().kept_kernel)
      throw Napi::RangeError::New(info.Env(), "kernel: the kept rows are of the other kernel's features");
  }

  Napi::Value Transform(const Napi::CallbackInfo& info) {
    const bool cuda = cuda_backend_arg(info, 5);
    return map_.visit([&](auto map) {
      check_kept(info, *map, 3, cuda);
      return cuda ? transform_dense(info, map, map->config().input_dim, CudaTransform())
                  : transform_dense(info, map, map->config().input_dim);
    });
  }

  Napi::Value TransformCsr(const Napi::CallbackInfo& info) {
    const bool cuda = cuda_backend_arg(info, 7);
    return map_.visit([&](auto map) {
      check_kept(info, *map, 5, cuda);
      return cuda ? transform_csr(info, map, map->config().input_dim, CudaTransform())
                  : transform_csr(info, map, map->config().input_dim);
    });
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    return map_.visit([&](auto map) {
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("parameterBytes", static_cast<double>(map->parameter_bytes()));
      o.Set("workspaceBytes", static_cast<double>(map->workspace_bytes()));
      return o;
    });
  }

  Napi::Value ConstantRows(const Napi::CallbackInfo& info) {
    if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), "constantRows: expected the kernel");
    const ntk::FeatureKernel kernel = kernel_arg(info[0]);
    return map_.visit([&](auto map) {
      const std::vector<int64_t> rows = map->constant_rows(kernel);
      Napi::Int32Array out = Napi::Int32Array::New(info.Env(), rows.size());
      for (size_t i = 0; i < rows.size(); ++i) out[i] = static_cast<int32_t>(rows[i]);
      return out;
    });
  }

  TypedMap<ntk::NtkSketch> map_;
};

}  // namespace

void register_ntk_sketch(Napi::Env env, Napi::Object exports) {
  exports.Set("NtkSketchMap", NtkSketchMap::Define(env));
}

}  // namespace ntk_bindings
