// Named options objects for the native constructors and calls: each field is
// read by name, with its type checked, so that nothing ties a value to a
// position in an argument list. The TypeScript layer has validated the values
// (with messages for users); these checks only keep a wrong call from
// reaching the core.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "maps/feature_kernel.hpp"

namespace ntk_bindings {

class Options {
 public:
  /// info[index] as an options object; `what` names the call in errors.
  Options(const Napi::CallbackInfo& info, size_t index, const char* what) : env_(info.Env()), what_(what) {
    if (info.Length() <= index || !info[index].IsObject() || info[index].IsArray())
      throw Napi::TypeError::New(env_, what_ + ": expected an options object");
    object_ = info[index].As<Napi::Object>();
  }

  Napi::Env env() const { return env_; }
  bool has(const char* key) const { return object_.Has(key) && !object_.Get(key).IsUndefined(); }
  Napi::Value get(const char* key) const { return object_.Get(key); }
  /// A field that must be present (any type; the caller checks it).
  Napi::Value value(const char* key) const { return required(key); }

  /// A non-negative integer field in [min, max].
  int64_t integer(const char* key, int64_t min = 0, int64_t max = INT64_MAX) const {
    const int64_t v = size_arg(required(key), name(key).c_str());
    if (v < min || v > max) throw Napi::RangeError::New(env_, name(key) + " is out of range");
    return v;
  }
  /// A number field (its range is the TypeScript layer's to check).
  double number(const char* key) const {
    const Napi::Value v = required(key);
    if (!v.IsNumber()) throw Napi::TypeError::New(env_, name(key) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  /// A required boolean field.
  bool boolean(const char* key) const {
    const Napi::Value v = required(key);
    if (!v.IsBoolean()) throw Napi::TypeError::New(env_, name(key) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  /// An optional boolean field, `fallback` when absent.
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const Napi::Value v = get(key);
    if (!v.IsBoolean()) throw Napi::TypeError::New(env_, name(key) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  std::string string(const char* key) const {
    const Napi::Value v = required(key);
    if (!v.IsString()) throw Napi::TypeError::New(env_, name(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  DType dtype(const char* key = "dtype") const {
    const std::string d = string(key);
    if (d == "float32") return DType::Float32;
    if (d == "float64") return DType::Float64;
    throw Napi::RangeError::New(env_, name(key) + " must be 'float32' or 'float64'");
  }
  ntk::FeatureKernel kernel(const char* key = "kernel") const {
    const std::string k = string(key);
    if (k == "ntk") return ntk::FeatureKernel::Ntk;
    if (k == "nngp") return ntk::FeatureKernel::Nngp;
    throw Napi::RangeError::New(env_, name(key) + " must be 'ntk' or 'nngp'");
  }
  /// The backend the map is built for: true for 'cuda', false for 'cpu' (or absent).
  bool cuda(const char* key = "backend") const {
    if (!has(key)) return false;
    const std::string b = string(key);
    if (b != "cpu" && b != "cuda") throw Napi::RangeError::New(env_, name(key) + " must be 'cpu' or 'cuda'");
    return b == "cuda";
  }
  /// One Float64Array of coefficients per layer (depth of them).
  std::vector<std::vector<double>> coefficients(const char* key, int depth) const {
    const Napi::Value v = required(key);
    if (!v.IsArray()) throw Napi::TypeError::New(env_, name(key) + " must be an array of Float64Array");
    auto arr = v.As<Napi::Array>();
    if (static_cast<int>(arr.Length()) != depth)
      throw Napi::RangeError::New(env_, name(key) + " must hold one polynomial per layer");
    std::vector<std::vector<double>> out;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      const Napi::Value item = arr.Get(i);
      if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
        throw Napi::TypeError::New(env_, name(key) + " entries must be Float64Array");
      auto f = item.As<Napi::Float64Array>();
      out.emplace_back(f.Data(), f.Data() + f.ElementLength());
    }
    return out;
  }
  /// An Int32Array field, copied.
  std::vector<int32_t> int32s(const char* key) const {
    const Napi::Value v = required(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw Napi::TypeError::New(env_, name(key) + " must be an Int32Array");
    auto a = v.As<Napi::Int32Array>();
    return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
  }
  /// A Float64Array field of exactly `count` values, copied.
  std::vector<double> float64s(const char* key, int64_t count) const {
    const double* p = typed_data<double>(required(key), name(key).c_str(), count);
    return std::vector<double>(p, p + count);
  }
  /// A nested options object, when present.
  std::optional<Options> object(const char* key) const {
    if (!has(key)) return std::nullopt;
    const Napi::Value v = get(key);
    if (!v.IsObject() || v.IsArray()) throw Napi::TypeError::New(env_, name(key) + " must be an object");
    return Options(env_, v.As<Napi::Object>(), name(key));
  }

 private:
  Options(Napi::Env env, Napi::Object object, std::string what) : env_(env), object_(object), what_(std::move(what)) {}
  std::string name(const char* key) const { return what_ + "." + key; }
  Napi::Value required(const char* key) const {
    if (!has(key)) throw Napi::TypeError::New(env_, name(key) + " is required");
    return get(key);
  }

  Napi::Env env_;
  Napi::Object object_;
  std::string what_;
};

}  // namespace ntk_bindings
