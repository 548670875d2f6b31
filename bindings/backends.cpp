// backends(), setThreads(n)
#include <napi.h>

#include <string>

#include "bindings.hpp"
#include "common/simd.hpp"
#include "common/threads.hpp"
#include "cuda/cuda_backend.hpp"
#include "linalg/blas.hpp"

namespace ntk_bindings {

namespace {

// How this addon was compiled, for reports of a prebuilt or copied addon
// (no build folder beside it to read the flags from).
std::string build_description() {
#if defined(__clang__)
  std::string text = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  std::string text = std::string("gcc ") + __VERSION__;
#else
  std::string text = "unknown compiler";
#endif
#ifdef NDEBUG
  text += ", NDEBUG";
#endif
#if defined(__SANITIZE_ADDRESS__)
  text += ", AddressSanitizer";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  text += ", AddressSanitizer";
#endif
#endif
  return text;
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("available", true);
  cpu.Set("blas", ntk::blas_description());
  cpu.Set("blasCore", ntk::blas_core_name());
  cpu.Set("blasThreads", ntk::blas_threads());
  cpu.Set("threads", ntk::thread_setting());
  cpu.Set("openmp", ntk::have_openmp());
  cpu.Set("simd", ntk::simd_level_name(ntk::simd_level()));
  cpu.Set("compiler", build_description());

  const ntk::CudaInfo ci = ntk::cuda_info();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", ci.compiled);
  cuda.Set("available", ci.available);
  if (!ci.available) cuda.Set("reason", ci.reason);
  cuda.Set("runtimeVersion", ci.runtime_version);
  Napi::Array devices = Napi::Array::New(env, ci.devices.size());
  for (size_t i = 0; i < ci.devices.size(); ++i) {
    const auto& dev = ci.devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", dev.index);
    o.Set("name", dev.name);
    o.Set("memoryBytes", static_cast<double>(dev.memory_bytes));
    o.Set("computeCapability", std::to_string(dev.compute_major) + "." + std::to_string(dev.compute_minor));
    devices.Set(static_cast<uint32_t>(i), o);
  }
  cuda.Set("devices", devices);

  Napi::Object out = Napi::Object::New(env);
  out.Set("cpu", cpu);
  out.Set("cuda", cuda);
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const double n = info[0].As<Napi::Number>().DoubleValue();
  ntk::set_thread_count(static_cast<int>(n));
  return info.Env().Undefined();
}

}  // namespace

void register_backends(Napi::Env env, Napi::Object exports) {
  exports.Set("backends", Napi::Function::New(env, Backends, "backends"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
}

}  // namespace ntk_bindings
