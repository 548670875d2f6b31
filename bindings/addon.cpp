// Module entry point of the ntk-sketch addon.
#include <napi.h>

#include "bindings.hpp"
#include "common/threads.hpp"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ntk::init_threads();
  ntk_bindings::register_backends(env, exports);
  ntk_bindings::register_ntk_kernel(env, exports);
  ntk_bindings::register_cntk_kernel(env, exports);
  ntk_bindings::register_ridge(env, exports);
  ntk_bindings::register_column_selection(env, exports);
  ntk_bindings::register_sketches(env, exports);
  ntk_bindings::register_ntk_sketch(env, exports);
  ntk_bindings::register_ntk_random_features(env, exports);
  ntk_bindings::register_cntk_sketch(env, exports);
  ntk_bindings::register_result_memory(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(ntk_sketch, Init)
