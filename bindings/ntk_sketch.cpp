// NtkSketchMap: the native half of the NTKSketch class.
//   new NtkSketchMap({ inputDim, depth, features, sketchDim, seed, dtype, k1: Float64Array[], k0: Float64Array[],
//                      normalize?: true, exactCopies?: true, backend?: 'cpu' | 'cuda' })
//     backend 'cuda': a GPU copy of the map is built here, once, and keeps its parameters on the device
//   new NtkSketchMap({ pool: NtkSketchMap, kept: { rows: Int32Array, scales: Float64Array, kernel: 'ntk' | 'nngp' } })
//     only those output rows of the pool's `kernel` features, each block normalised over its kept rows; it
//     shares the pool's layers (they stay alive while either map holds them, the pool's dispose() included)
//     and runs on the CPU whatever the pool's backend
//   .transform({ x, n, out, kernel } | { indptr, indices, values, n, out, kernel }, async)  (feature_map.hpp)
//     on the backend chosen when the map was built
//   .dispose(): drops the parameters (running jobs and kept-rows maps keep theirs)
//   .info() -> { parameterBytes, workspaceBytes, deviceBytes }  (parameterBytes: what this map owns)
//   .constantRows(kernel) -> Int32Array: output rows that are the same for every seed
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

// Marks NtkSketchMap objects, so that a pool argument is unwrapped only when it is one.
constexpr napi_type_tag kNtkSketchMapTag = {0x6e746b536b657463ULL, 0x4d6170506f6f6c31ULL};

class NtkSketchMap : public FeatureMapBinding<NtkSketchMap, ntk::NtkSketch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return define(env, "NtkSketchMap", {InstanceMethod("constantRows", &NtkSketchMap::ConstantRows)});
  }

  explicit NtkSketchMap(const Napi::CallbackInfo& info) : FeatureMapBinding(info) {
    const Options o(info, 0, "NtkSketchMap");
    if (o.has("pool"))
      keep_rows_of(o);
    else
      build(o);
    info.This().As<Napi::Object>().TypeTag(&kNtkSketchMapTag);
  }

 private:
  friend FeatureMapBinding;

  void build(const Options& o) {
    Napi::Env env = o.env();
    if (o.has("kept")) throw Napi::TypeError::New(env, "NtkSketchMap.kept needs NtkSketchMap.pool");
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
    const bool cuda = o.cuda();
    map_.build(env, dtype, c);
    if (cuda) build_device(env);
  }

  // A kept-rows map of another NtkSketchMap's CPU map (a CUDA pool keeps its CPU map beside the GPU copy).
  void keep_rows_of(const Options& o) {
    Napi::Env env = o.env();
    const Napi::Value v = o.value("pool");
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kNtkSketchMapTag))
      throw Napi::TypeError::New(env, "NtkSketchMap.pool must be an NtkSketchMap");
    const NtkSketchMap* pool = Unwrap(v.As<Napi::Object>());
    if (!pool->map_.live()) throw Napi::Error::New(env, "NtkSketchMap.pool: the map has been disposed");
    if (o.cuda())
      throw Napi::RangeError::New(env, "NtkSketchMap: kept rows run on the CPU; the 'cuda' backend is not available");
    const auto k = o.object("kept");
    if (!k) throw Napi::TypeError::New(env, "NtkSketchMap.kept is required with pool");
    ntk::NtkSketchKept kept;
    kept.rows = k->int32s("rows");
    if (kept.rows.empty()) throw Napi::RangeError::New(env, "NtkSketchMap.kept.rows must not be empty");
    kept.scales = k->float64s("scales", static_cast<int64_t>(kept.rows.size()));
    kept.kernel = k->kernel();
    pool->map_.visit([&](auto cpu) {
      using T = typename std::decay_t<decltype(*cpu)>::Scalar;
      map_.adopt(env, construct_map(env, [&] { return std::make_shared<const ntk::NtkSketch<T>>(cpu, kept); }));
    });
  }

  // Uploads the parameters once; they stay on the device until dispose() and the last job are done.
  void build_device(Napi::Env env) {
    try {
      map_.visit([&](auto map) { map_.run_on(ntk::ntk_sketch_on_cuda(map)); });
    } catch (const std::exception& e) {
      throw Napi::RangeError::New(env, std::string("backend 'cuda': ") + e.what());
    }
  }

  // A map with kept rows transforms its own kernel only.
  template <typename T>
  static void before_transform(Napi::Env env, const ntk::NtkSketch<T>& map, ntk::FeatureKernel kernel) {
    if (map.kept() && kernel != map.kept_kernel())
      throw Napi::RangeError::New(env, "kernel: the kept rows are of the other kernel's features");
  }

  template <typename T>
  void add_info(Napi::Object& o, const ntk::NtkSketch<T>& map) const {
    o.Set("workspaceBytes", static_cast<double>(map.workspace_bytes()));
    o.Set("deviceBytes", static_cast<double>(map_.runner_bytes<T>()));
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
};

}  // namespace

void register_ntk_sketch(Napi::Env env, Napi::Object exports) {
  exports.Set("NtkSketchMap", NtkSketchMap::Define(env));
}

}  // namespace ntk_bindings
