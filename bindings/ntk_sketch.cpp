// NtkSketchMap: the native half of the NTKSketch class.
//   new NtkSketchMap({ inputDim, depth, features, sketchDim, seed, dtype, k1: Float64Array[], k0: Float64Array[],
//                      normalize?: true, exactCopies?: true, backend?: 'cpu' | 'cuda',
//                      kept?: { rows: Int32Array, scales: Float64Array, kernel: 'ntk' | 'nngp' } })
//     backend 'cuda': a GPU copy of the map is built here, once, and keeps its parameters on the device;
//     kept: only those output rows, each block normalised over its kept rows (CPU only)
//   .transform(x, n, out, kernel, async)          on the backend chosen when the map was built
//   .transformCsr(indptr, indices, values, n, out, kernel, async)
//   .dispose(): drops the parameters (running jobs keep theirs)
//   .info() -> { parameterBytes, workspaceBytes, deviceBytes }
//   .constantRows(kernel) -> Int32Array: output rows that are the same for every seed
//   (x / values: Float32Array or Float64Array whatever the dtype; see feature_map.hpp)
#include <napi.h>

#include <memory>
#include <string>
#include <type_traits>

#include "arrays.hpp"
#include "cuda/cuda_backend.hpp"
#include "bindings.hpp"
#include "feature_map.hpp"
#include "options.hpp"
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
    const Options o(info, 0, "NtkSketchMap");
    ntk::NtkSketchConfig c;
    c.input_dim = o.integer("inputDim", 1);
    c.depth = static_cast<int>(o.integer("depth", 1, 1000));
    c.features = o.integer("features", 1);
    c.sketch_dim = o.integer("sketchDim", 1);
    c.seed = static_cast<uint64_t>(o.integer("seed"));
    const DType dtype = o.dtype();
    c.k1 = o.coefficients("k1", c.depth);
    c.k0 = o.coefficients("k0", c.depth);
    c.normalize = o.boolean("normalize", true);  // false: diagnostics (the plain product sketch)
    c.exact_copies = o.boolean("exactCopies", true);
    if (const auto kept = o.object("kept")) {
      const std::vector<int32_t> rows = kept->int32s("rows");
      if (rows.empty()) throw Napi::RangeError::New(env, "NtkSketchMap.kept.rows must not be empty");
      const std::vector<double> scales = kept->float64s("scales", static_cast<int64_t>(rows.size()));
      c.kept_rows.assign(rows.begin(), rows.end());
      c.kept_scales = scales;
      c.kept_kernel = kept->kernel();
    }
    const bool cuda = o.cuda();
    if (cuda && !c.kept_rows.empty())
      throw Napi::RangeError::New(env, "NTKSketch with kept rows: the 'cuda' backend is not available");
    map_.build(env, dtype, c);
    if (cuda) build_device(env);
  }

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    device_f32_.reset();
    device_f64_.reset();
    map_.dispose(info.Env());
    return info.Env().Undefined();
  }

  // The GPU copy's transforms: the device map, whatever CPU map the call passes.
  template <typename T>
  struct DeviceTransform {
    // X of the other dtype: few large chunks (each call is a round trip to the device).
    static constexpr int64_t kConvertChunkBytes = int64_t{256} << 20;
    std::shared_ptr<const ntk::FeatureMap<T>> device;

    template <typename M>
    void dense(const M&, const T* x, int64_t n, T* out, ntk::FeatureKernel kernel) const {
      device->transform(x, n, out, kernel);
    }
    template <typename M>
    void csr(const M&, const int32_t* indptr, const int32_t* indices, const T* values, int64_t n, T* out,
             ntk::FeatureKernel kernel) const {
      device->transform_csr(indptr, indices, values, n, out, kernel);
    }
  };

  // Uploads the parameters once; they stay on the device until dispose() and the last job are done.
  void build_device(Napi::Env env) {
    try {
      map_.visit([&](auto map) {
        using T = typename std::decay_t<decltype(*map)>::Scalar;
        auto device = ntk::ntk_sketch_on_cuda<T>(map);
        if constexpr (std::is_same_v<T, float>)
          device_f32_ = std::move(device);
        else
          device_f64_ = std::move(device);
      });
    } catch (const std::exception& e) {
      throw Napi::RangeError::New(env, std::string("backend 'cuda': ") + e.what());
    }
  }

  template <typename T>
  std::shared_ptr<const ntk::FeatureMap<T>> device() const {
    if constexpr (std::is_same_v<T, float>)
      return device_f32_;
    else
      return device_f64_;
  }

  // A map with kept rows transforms its own kernel only.
  template <typename Map>
  static void check_kept(const Napi::CallbackInfo& info, const Map& map, size_t kernel_index) {
    if (!map.kept()) return;
    if (info.Length() > kernel_index && kernel_arg(info[kernel_index]) != map.config().kept_kernel)
      throw Napi::RangeError::New(info.Env(), "kernel: the kept rows are of the other kernel's features");
  }

  Napi::Value Transform(const Napi::CallbackInfo& info) {
    return map_.visit([&](auto map) {
      using T = typename std::decay_t<decltype(*map)>::Scalar;
      check_kept(info, *map, 3);
      if (auto d = device<T>()) return transform_dense(info, map, map->config().input_dim, DeviceTransform<T>{d});
      return transform_dense(info, map, map->config().input_dim);
    });
  }

  Napi::Value TransformCsr(const Napi::CallbackInfo& info) {
    return map_.visit([&](auto map) {
      using T = typename std::decay_t<decltype(*map)>::Scalar;
      check_kept(info, *map, 5);
      if (auto d = device<T>()) return transform_csr(info, map, map->config().input_dim, DeviceTransform<T>{d});
      return transform_csr(info, map, map->config().input_dim);
    });
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    return map_.visit([&](auto map) {
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("parameterBytes", static_cast<double>(map->parameter_bytes()));
      o.Set("workspaceBytes", static_cast<double>(map->workspace_bytes()));
      using T = typename std::decay_t<decltype(*map)>::Scalar;
      const auto d = device<T>();
      o.Set("deviceBytes", static_cast<double>(d ? d->parameter_bytes() : 0));
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
  // The GPU copy (backend 'cuda'), of the form that was built.
  std::shared_ptr<const ntk::FeatureMap<float>> device_f32_;
  std::shared_ptr<const ntk::FeatureMap<double>> device_f64_;
};

}  // namespace

void register_ntk_sketch(Napi::Env env, Napi::Object exports) {
  exports.Set("NtkSketchMap", NtkSketchMap::Define(env));
}

}  // namespace ntk_bindings
