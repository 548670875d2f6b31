// NtkRandomFeaturesMap: the native half of the NTKRandomFeatures class.
//   new NtkRandomFeaturesMap({ inputDim, depth, features, stepFeatures, arcCosineFeatures, sketchFeatures,
//                              seed, dtype, leverage?: false, normalize?: true, orthogonal?: false })
//   .transform({ x, n, out, kernel } | { indptr, indices, values, n, out, kernel }, async)  (feature_map.hpp)
//   .dispose(): drops the parameters (running jobs keep theirs)
//   .info() -> { parameterBytes, nngpExtraBytes, finalSrht, callBytes: { ntkDense, ntkCsr, nngpDense, nngpCsr } }
//               (callBytes: per call, block buffers plus per-thread scratch for the current thread count)
//   .weights(layer) -> { inputDim, step, arcCosine, weight }
// The map is immutable: its lazily drawn NNGP columns are drawn once, under
// std::call_once.
#include <napi.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "common/threads.hpp"
#include "feature_map.hpp"
#include "options.hpp"
#include "maps/ntk_random_features.hpp"

namespace ntk_bindings {

namespace {

class NtkRandomFeaturesMap : public FeatureMapBinding<NtkRandomFeaturesMap, ntk::NtkRandomFeatures> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return define(env, "NtkRandomFeaturesMap", {InstanceMethod("weights", &NtkRandomFeaturesMap::Weights)});
  }

  explicit NtkRandomFeaturesMap(const Napi::CallbackInfo& info) : FeatureMapBinding(info) {
    Napi::Env env = info.Env();
    const Options o(info, 0, "NtkRandomFeaturesMap");
    ntk::NtkRandomFeaturesConfig c;
    c.input_dim = o.integer("inputDim", 1);
    c.depth = static_cast<int>(o.integer("depth", 1, 1000));
    c.features = o.integer("features", 1);
    c.step_features = o.integer("stepFeatures", 1);
    c.arccos_features = o.integer("arcCosineFeatures", 1);
    c.sketch_features = o.integer("sketchFeatures", 1);
    c.leverage = o.boolean("leverage", false);
    c.seed = static_cast<uint64_t>(o.integer("seed"));
    const DType dtype = o.dtype();
    c.normalize = o.boolean("normalize", true);
    c.orthogonal = o.boolean("orthogonal", false);
    map_.build(env, dtype, c, "NTKRandomFeatures: out of memory while drawing the weights");
  }

 private:
  friend FeatureMapBinding;

  // The first NNGP call draws the NNGP-only weights: report them up front.
  template <typename T>
  void before_transform(Napi::Env env, const ntk::NtkRandomFeatures<T>& map, ntk::FeatureKernel kernel) {
    if (kernel == ntk::FeatureKernel::Nngp) map_.track(env, map.parameter_bytes() + map.nngp_extra_bytes());
  }

  template <typename T>
  void add_info(Napi::Object& o, const ntk::NtkRandomFeatures<T>& map) const {
    o.Set("nngpExtraBytes", static_cast<double>(map.nngp_extra_bytes()));
    o.Set("finalSrht", map.final_srht());
    const int threads = ntk::thread_setting();  // the most a call may use
    Napi::Object call = Napi::Object::New(o.Env());
    call.Set("ntkDense", static_cast<double>(map.call_bytes(ntk::FeatureKernel::Ntk, true, threads)));
    call.Set("ntkCsr", static_cast<double>(map.call_bytes(ntk::FeatureKernel::Ntk, false, threads)));
    call.Set("nngpDense", static_cast<double>(map.call_bytes(ntk::FeatureKernel::Nngp, true, threads)));
    call.Set("nngpCsr", static_cast<double>(map.call_bytes(ntk::FeatureKernel::Nngp, false, threads)));
    o.Set("callBytes", call);
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
    return map_.visit([&](auto map) { return weights_typed(info, *map); });
  }
};

}  // namespace

void register_ntk_random_features(Napi::Env env, Napi::Object exports) {
  exports.Set("NtkRandomFeaturesMap", NtkRandomFeaturesMap::Define(env));
}

}  // namespace ntk_bindings
