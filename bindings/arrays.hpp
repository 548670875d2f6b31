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

/// A CSR matrix's structure, checked so that native code reading it stays in
/// bounds: indptr starts at 0 and does not decrease, indices lie in [0, cols).
struct CsrStructure {
  const int32_t* indptr;
  const int32_t* indices;
  int64_t nnz;
};

inline CsrStructure csr_structure(const Napi::Value& indptr_v, const Napi::Value& indices_v, int64_t rows, int64_t cols) {
  Napi::Env env = indptr_v.Env();
  if (!indptr_v.IsTypedArray() || indptr_v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !indices_v.IsTypedArray() || indices_v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "indptr and indices must be Int32Array");
  auto indptr = indptr_v.As<Napi::Int32Array>();
  auto indices = indices_v.As<Napi::Int32Array>();
  if (static_cast<int64_t>(indptr.ElementLength()) < rows + 1) throw Napi::RangeError::New(env, "indptr is too short");
  if (indptr[0] != 0) throw Napi::RangeError::New(env, "indptr must start at 0");
  for (int64_t i = 0; i < rows; ++i)
    if (indptr[static_cast<size_t>(i)] > indptr[static_cast<size_t>(i + 1)])
      throw Napi::RangeError::New(env, "indptr must be non-decreasing from 0");
  const int64_t nnz = indptr[static_cast<size_t>(rows)];
  if (static_cast<int64_t>(indices.ElementLength()) < nnz) throw Napi::RangeError::New(env, "indices is too short");
  for (int64_t k = 0; k < nnz; ++k)
    if (indices[static_cast<size_t>(k)] < 0 || indices[static_cast<size_t>(k)] >= cols)
      throw Napi::RangeError::New(env, "indices out of range");
  return {indptr.Data(), indices.Data(), nnz};
}

}  // namespace ntk_bindings
