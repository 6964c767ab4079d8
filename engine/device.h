#pragma once
// Where a tensor's memory lives.
//
// Every buffer in this build is host memory: Device::host(), printed "cpu" (PyTorch's name for
// it). The kind is part of each Tensor, next to its buffer, so that device memory can join
// without touching the ops: a device kind here, an allocator that returns its buffers as
// std::shared_ptr<float> with the deleter that frees them (Tensor::adopt takes any such buffer),
// and its kernel table (kernels/dispatch.h). The ops pass data() to the kernels and never read
// the floats themselves, so they run unchanged on whichever memory the table's kernels address.
#include <cstdint>
#include <string>

namespace convis {

enum class DeviceKind : uint8_t { host };

struct Device {
  DeviceKind kind = DeviceKind::host;
  int index = 0;  // which device of its kind (0 for the host)

  static Device host() { return Device{}; }
  bool is_host() const { return kind == DeviceKind::host; }
  std::string str() const;  // "cpu"
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

}  // namespace convis
