#pragma once
// Tensor: float32, contiguous, 64-byte aligned, row-major. Images are NHWC (rank 4); the rank
// is 0 (a scalar) to 4. A Tensor is a cheap handle: copies share the buffer (like a NumPy view
// of the whole array); clone() makes a deep copy. Buffers come from engine/buffer_cache.h, which
// recycles large ones and counts the live bytes, or from whoever hands one to adopt(). Each
// tensor knows where its buffer lives (device(): host memory in this build, engine/device.h).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"

namespace convis {

class Shape {
 public:
  static constexpr int kMaxRank = 4;
  // At most 2^40 elements (4 TiB of float32): the constructor throws std::length_error past it,
  // so numel() * sizeof(float) never overflows.
  static constexpr int64_t kMaxNumel = int64_t(1) << 40;
  Shape() = default;  // rank 0: a scalar, one element
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  int64_t operator[](int axis) const { return dims_[axis]; }
  int64_t& operator[](int axis) { return dims_[axis]; }
  int64_t numel() const;
  std::vector<int64_t> dims() const { return {dims_.begin(), dims_.begin() + rank_}; }
  // "(1, 96, 96, 3)", as NumPy and Keras print shapes; a scalar is "()".
  std::string str() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

class Tensor {
 public:
  Tensor() = default;                  // empty: no buffer, defined() is false
  explicit Tensor(const Shape& shape);  // uninitialised values
  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from(const Shape& shape, const std::vector<float>& values);  // sizes must match
  static Tensor scalar(float value) { return full(Shape{}, value); }
  // A tensor over a buffer someone else allocated: `buffer` holds at least shape.numel() floats in
  // the memory of `device`, 64-byte aligned, and its deleter frees it when the last handle goes.
  // Throws std::invalid_argument for a null buffer or one not 64-byte aligned.
  static Tensor adopt(const Shape& shape, std::shared_ptr<float> buffer, Device device = Device::host());

  bool defined() const { return data_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int axis) const { return shape_[axis]; }
  int64_t numel() const { return shape_.numel(); }
  Device device() const { return device_; }  // where data() points; kept by reshape and copies

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float& operator[](int64_t i) { return data_.get()[i]; }
  float operator[](int64_t i) const { return data_.get()[i]; }
  // NHWC element access for rank-4 tensors (no bounds check in release builds).
  float& at(int64_t n, int64_t h, int64_t w, int64_t c);
  float at(int64_t n, int64_t h, int64_t w, int64_t c) const;
  float item() const;  // the value of a one-element tensor

  Tensor reshape(const Shape& shape) const;  // shares the buffer; numel must match
  Tensor clone() const;
  void fill(float value);
  void zero() { fill(0.f); }
  std::vector<float> to_vector() const;

 private:
  Shape shape_;
  std::shared_ptr<float> data_;
  Device device_;
};

// Throws std::invalid_argument "<what>: shapes (a) and (b) do not match" unless a == b.
void check_same_shape(const char* what, const Shape& a, const Shape& b);

}  // namespace convis
