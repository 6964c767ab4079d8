#pragma once
// Element-wise kernels on flat arrays of n floats. Forward writes y; backward adds into dx
// (the caller zeroes). Plain loops that the compiler vectorises; OpenMP splits large arrays.
#include <cstdint>

namespace convis {

// y = max(x, 0);                dx += dy * (x > 0)   (x or y may be given: y > 0 iff x > 0)
void relu_fwd(const float* x, float* y, int64_t n);
void relu_bwd(const float* x_or_y, const float* dy, float* dx, int64_t n);
// dx = dy * (x > 0), written rather than added: a fused ReLU's masked gradient, no zeroing first
void relu_mask(const float* x_or_y, const float* dy, float* dx, int64_t n);
// guided backprop:             dx += dy * (x > 0) * (dy > 0)
void relu_bwd_guided(const float* x_or_y, const float* dy, float* dx, int64_t n);
// y = x > 0 ? x : alpha x;       dx += dy * (x > 0 ? 1 : alpha)
void leaky_relu_fwd(const float* x, float* y, float alpha, int64_t n);
void leaky_relu_bwd(const float* x, const float* dy, float* dx, float alpha, int64_t n);
// y = 1 / (1 + e^-x);           dx += dy * y (1 - y)
void sigmoid_fwd(const float* x, float* y, int64_t n);
void sigmoid_bwd(const float* y, const float* dy, float* dx, int64_t n);
// y = tanh x;                   dx += dy * (1 - y^2)
void tanh_fwd(const float* x, float* y, int64_t n);
void tanh_bwd(const float* y, const float* dy, float* dx, int64_t n);

// y = x + b[c] for each row of C channels (bias over the last axis), in place.
void add_bias_rows(float* y, const float* b, int64_t rows, int64_t C);
// db[c] += sum over rows of dy[row, c], summed in double in fixed chunks of rows: the same bits on
// any thread count
void sum_rows(const float* dy, float* db, int64_t rows, int64_t C);
// dx += dy
void accumulate(const float* dy, float* dx, int64_t n);
// dx += s * dy
void accumulate_scaled(const float* dy, float s, float* dx, int64_t n);
// dx += dy * other   (the product rule's term for one side of a * b)
void accumulate_product(const float* dy, const float* other, float* dx, int64_t n);

// y = x + s ;  y = x * s   (their backward: accumulate, accumulate_scaled)
void add_scalar_fwd(const float* x, float s, float* y, int64_t n);
void mul_scalar_fwd(const float* x, float s, float* y, int64_t n);
// y = a + b ;  y = a - b ;  y = a * b   (equal shapes; backward: accumulate, accumulate_scaled
// with -1 for b of a - b, accumulate_product)
void add_fwd(const float* a, const float* b, float* y, int64_t n);
void sub_fwd(const float* a, const float* b, float* y, int64_t n);
void mul_fwd(const float* a, const float* b, float* y, int64_t n);

}  // namespace convis
