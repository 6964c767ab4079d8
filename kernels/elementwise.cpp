#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace convis {

namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
}  // namespace

void relu_fwd(const float* x, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

void relu_bwd(const float* x_or_y, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float d = dy[i];  // loaded unconditionally: the select then vectorises (see relu_mask)
    dx[i] += x_or_y[i] > 0.f ? d : 0.f;
  }
}

void relu_mask(const float* x_or_y, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    // dy[i] is loaded unconditionally so the loop is a vector compare-and-blend. Written as
    // `x > 0 ? dy[i] : 0` the load is conditional, the compiler keeps a scalar branch, and on a
    // ReLU map's random signs it mispredicts half the time: 9% of an activation-maximisation step.
    const float d = dy[i];
    dx[i] = x_or_y[i] > 0.f ? d : 0.f;
  }
}

void relu_bwd_guided(const float* x_or_y, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float d = dy[i];
    dx[i] += x_or_y[i] > 0.f && d > 0.f ? d : 0.f;
  }
}

void leaky_relu_fwd(const float* x, float* y, float alpha, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : alpha * x[i];
}

void leaky_relu_bwd(const float* x, const float* dy, float* dx, float alpha, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float d = dy[i];
    dx[i] += x[i] > 0.f ? d : alpha * d;
  }
}

void sigmoid_fwd(const float* x, float* y, int64_t n) {
  // Two branches keep exp() from overflowing for large |x|.
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] >= 0.f) {
      y[i] = 1.f / (1.f + std::exp(-x[i]));
    } else {
      const float e = std::exp(x[i]);
      y[i] = e / (1.f + e);
    }
  }
}

void sigmoid_bwd(const float* y, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * y[i] * (1.f - y[i]);
}

void tanh_fwd(const float* x, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

void tanh_bwd(const float* y, const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * (1.f - y[i] * y[i]);
}

void add_bias_rows(float* y, const float* b, int64_t rows, int64_t C) {
#pragma omp parallel for if (rows * C >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * C;
    for (int64_t c = 0; c < C; ++c) row[c] += b[c];
  }
}

void sum_rows(const float* dy, float* db, int64_t rows, int64_t C) {
  // The rows are cut into fixed chunks, each summed in double (in parallel), and the chunk sums
  // added in chunk order: the result does not depend on the thread count.
  constexpr int64_t kChunkRows = 1024;
  const int64_t chunks = (rows + kChunkRows - 1) / kChunkRows;
  std::vector<double> partial(size_t(chunks) * size_t(C), 0.0);
#pragma omp parallel for schedule(static) if (chunks > 1 && rows * C >= kParallelMin)
  for (int64_t k = 0; k < chunks; ++k) {
    double* acc = partial.data() + size_t(k) * size_t(C);
    for (int64_t r = k * kChunkRows; r < std::min(rows, (k + 1) * kChunkRows); ++r)
      for (int64_t c = 0; c < C; ++c) acc[c] += dy[r * C + c];
  }
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0.0;
    for (int64_t k = 0; k < chunks; ++k) sum += partial[size_t(k) * size_t(C) + size_t(c)];
    db[c] += float(sum);
  }
}

void accumulate(const float* dy, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i];
}

void accumulate_scaled(const float* dy, float s, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += s * dy[i];
}

void accumulate_product(const float* dy, const float* other, float* dx, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * other[i];
}

void add_scalar_fwd(const float* x, float s, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] + s;
}

void mul_scalar_fwd(const float* x, float s, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
}

void add_fwd(const float* a, const float* b, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void sub_fwd(const float* a, const float* b, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] - b[i];
}

void mul_fwd(const float* a, const float* b, float* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

}  // namespace convis
