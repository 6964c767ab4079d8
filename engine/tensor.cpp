#include "engine/tensor.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "engine/buffer_cache.h"

namespace convis {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  if (dims.size() > size_t(kMaxRank))
    throw std::invalid_argument("shape of rank " + std::to_string(dims.size()) + ": at most 4 axes are supported");
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) throw std::invalid_argument("shape with a negative dimension " + std::to_string(d));
    // Checked: every byte count (numel * 4, rounded up) must be representable, so that no
    // allocation computed from a file's declared shape can wrap to a small block.
    if (d != 0 && n > kMaxNumel / d) {
      std::string s;
      for (int64_t x : dims) s += (s.empty() ? "" : ", ") + std::to_string(x);
      throw std::length_error("shape (" + s + ") has more than 2^40 elements");
    }
    n *= d;
  }
  rank_ = int(dims.size());
  std::copy(dims.begin(), dims.end(), dims_.begin());
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  if (rank_ == 1) s += ",";
  return s + ")";
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != o.dims_[i]) return false;
  return true;
}

Tensor::Tensor(const Shape& shape) : shape_(shape), data_(allocate_floats(shape.numel())) {}

std::string Device::str() const { return "cpu"; }  // the only kind in this build

Tensor Tensor::adopt(const Shape& shape, std::shared_ptr<float> buffer, Device device) {
  if (!buffer) throw std::invalid_argument("Tensor::adopt: null buffer for shape " + shape.str());
  if (reinterpret_cast<uintptr_t>(buffer.get()) % 64 != 0)
    throw std::invalid_argument("Tensor::adopt: buffer for shape " + shape.str() + " is not 64-byte aligned");
  Tensor t;
  t.shape_ = shape;
  t.data_ = std::move(buffer);
  t.device_ = device;
  return t;
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::from(const Shape& shape, const std::vector<float>& values) {
  if (int64_t(values.size()) != shape.numel())
    throw std::invalid_argument("Tensor::from: " + std::to_string(values.size()) + " values for shape " +
                                shape.str() + " (" + std::to_string(shape.numel()) + " elements)");
  Tensor t(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

float& Tensor::at(int64_t n, int64_t h, int64_t w, int64_t c) {
  return data_.get()[((n * shape_[1] + h) * shape_[2] + w) * shape_[3] + c];
}

float Tensor::at(int64_t n, int64_t h, int64_t w, int64_t c) const {
  return data_.get()[((n * shape_[1] + h) * shape_[2] + w) * shape_[3] + c];
}

float Tensor::item() const {
  if (numel() != 1)
    throw std::invalid_argument("item(): tensor of shape " + shape_.str() + " has " + std::to_string(numel()) +
                                " elements, expected 1");
  return data_.get()[0];
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (shape.numel() != numel())
    throw std::invalid_argument("reshape: cannot view shape " + shape_.str() + " as " + shape.str() +
                                " (element counts differ)");
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(shape_);
  std::copy(data(), data() + numel(), t.data());
  return t;
}

// Large fills (a batch's gradient buffers run to tens of MB) are split across the threads.
void Tensor::fill(float value) {
  float* p = data();
  const int64_t n = numel();
  constexpr int64_t kChunk = int64_t(1) << 18;  // 1 MiB of floats per piece
  if (n < 2 * kChunk) {
    std::fill(p, p + n, value);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < (n + kChunk - 1) / kChunk; ++c)
    std::fill(p + c * kChunk, p + std::min(n, (c + 1) * kChunk), value);
}

std::vector<float> Tensor::to_vector() const { return {data(), data() + numel()}; }

void check_same_shape(const char* what, const Shape& a, const Shape& b) {
  if (a != b)
    throw std::invalid_argument(std::string(what) + ": shapes " + a.str() + " and " + b.str() + " do not match");
}

}  // namespace convis
