// Broadcasting binary ops (see broadcast.h): the output walked as rows of its last axis, each
// input's row start found from its strides; along the last axis an input steps by 1 or stays
// (stride 0, a broadcast value), so the inner loop is a plain vector loop either way.
#include "kernels/broadcast.h"

#include "kernels/cpu.h"

namespace convis {

namespace {

inline float combine(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::max: return a >= b ? a : b;
  }
  return 0.f;
}

// d op / d side, times dy.
inline float grad_of(BinaryOp op, bool side_b, float a, float b, float dy) {
  switch (op) {
    case BinaryOp::add: return dy;
    case BinaryOp::sub: return side_b ? -dy : dy;
    case BinaryOp::mul: return side_b ? dy * a : dy * b;
    case BinaryOp::max: return (side_b ? b > a : a >= b) ? dy : 0.f;
  }
  return 0.f;
}

// Calls f(row, a_row_offset, b_row_offset) for every row of the last axis, in parallel.
template <class F>
void for_each_row(const BroadcastShape& s, const F& f) {
  const int64_t rows = s.dims[0] * s.dims[1] * s.dims[2];
#pragma omp parallel for schedule(static) if (s.numel() >= kParallelFloats && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i2 = r % s.dims[2], i1 = (r / s.dims[2]) % s.dims[1], i0 = r / (s.dims[2] * s.dims[1]);
    f(r, i0 * s.astride[0] + i1 * s.astride[1] + i2 * s.astride[2],
      i0 * s.bstride[0] + i1 * s.bstride[1] + i2 * s.bstride[2]);
  }
}

}  // namespace

void broadcast_binary_fwd(const float* a, const float* b, float* y, BinaryOp op, const BroadcastShape& s) {
  const int64_t L = s.dims[3], as = s.astride[3], bs = s.bstride[3];
  for_each_row(s, [&](int64_t r, int64_t ao, int64_t bo) {
    const float* pa = a + ao;
    const float* pb = b + bo;
    float* py = y + r * L;
    for (int64_t i = 0; i < L; ++i) py[i] = combine(op, pa[i * as], pb[i * bs]);
  });
}

void broadcast_binary_grad(const float* a, const float* b, const float* dy, float* g, BinaryOp op, bool side_b,
                           const BroadcastShape& s) {
  const int64_t L = s.dims[3], as = s.astride[3], bs = s.bstride[3];
  for_each_row(s, [&](int64_t r, int64_t ao, int64_t bo) {
    const float* pa = a + ao;
    const float* pb = b + bo;
    const float* pd = dy + r * L;
    float* pg = g + r * L;
    for (int64_t i = 0; i < L; ++i) pg[i] += grad_of(op, side_b, pa[i * as], pb[i * bs], pd[i]);
  });
}

}  // namespace convis
