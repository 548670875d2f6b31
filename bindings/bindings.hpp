// Each binding file registers its functions on the addon's exports.
#pragma once

#include <napi.h>

namespace ntk_bindings {

void register_backends(Napi::Env env, Napi::Object exports);
void register_cntk_kernel(Napi::Env env, Napi::Object exports);
void register_column_selection(Napi::Env env, Napi::Object exports);
void register_ntk_kernel(Napi::Env env, Napi::Object exports);
void register_ridge(Napi::Env env, Napi::Object exports);
void register_sketches(Napi::Env env, Napi::Object exports);
void register_ntk_sketch(Napi::Env env, Napi::Object exports);
void register_ntk_random_features(Napi::Env env, Napi::Object exports);
void register_cntk_sketch(Napi::Env env, Napi::Object exports);
void register_result_memory(Napi::Env env, Napi::Object exports);

}  // namespace ntk_bindings
