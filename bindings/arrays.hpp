// Typed-array access for the bindings. The TypeScript layer validates every
// argument first; these checks only keep a wrong call from reaching memory.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <type_traits>

namespace ntk_bindings {

enum class DType { Float32, Float64 };

inline DType dtype_of(const Napi::Value& v, const char* name) {
  if (v.IsTypedArray()) {
    const auto t = v.As<Napi::TypedArray>().TypedArrayType();
    if (t == napi_float32_array) return DType::Float32;
    if (t == napi_float64_array) return DType::Float64;
  }
  throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a Float32Array or Float64Array");
}

/// Pointer to the elements of a typed array of element type T holding at
/// least `count` elements.
template <typename T>
T* typed_data(const Napi::Value& v, const char* name, int64_t count) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  constexpr napi_typedarray_type want =
      std::is_same_v<T, float> ? napi_float32_array : napi_float64_array;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want)
    throw Napi::TypeError::New(v.Env(), std::string(name) + (std::is_same_v<T, float>
                                                                 ? " must be a Float32Array"
                                                                 : " must be a Float64Array"));
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(arr.ElementLength()) < count)
    throw Napi::RangeError::New(v.Env(), std::string(name) + " is too short");
  return arr.Data();
}

inline int64_t size_arg(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<int64_t>(d)))
    throw Napi::RangeError::New(v.Env(), std::string(name) + " must be a non-negative integer");
  return static_cast<int64_t>(d);
}

}  // namespace ntk_bindings
