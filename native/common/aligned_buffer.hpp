// A 64-byte aligned heap array, move-only: the per-thread scratch of the
// block sketches and the weight matrices of the random-feature maps.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>

namespace ntk {

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t n) { resize(n); }
  ~AlignedBuffer() { release(); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  /// Reallocates to n zeroed entries.
  void resize(int64_t n) {
    allocate(n);
    if (data_) std::memset(data_, 0, static_cast<size_t>(padded_bytes(n)));
  }
  /// Reallocates to n entries left uninitialised (for buffers the caller
  /// fills completely: zeroing hundreds of megabytes first is not free).
  void allocate(int64_t n) {
    release();
    size_ = 0;
    if (n <= 0) return;
    data_ = static_cast<T*>(::operator new(static_cast<size_t>(padded_bytes(n)), std::align_val_t(64)));
    size_ = n;
  }
  void zero() {
    if (data_) std::memset(data_, 0, static_cast<size_t>(size_ * static_cast<int64_t>(sizeof(T))));
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  // Whole cache lines, so that vector loops may run to the line end.
  static int64_t padded_bytes(int64_t n) { return (n * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64; }
  void release() {
    if (data_) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
  }
  T* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace ntk
