#pragma once
// The inverse real 2-D DFT of many planes, as numpy.fft.irfft2(X, s=(H, W)) computes it, and
// its adjoint (the backward pass). Written as two GEMMs per plane with cosine/sine tables:
// O(H^2 W + H W^2) per plane, plenty at the 96..224 px of activation maximisation (no FFT
// library is needed, and the GEMM is the fast one we already have).
//
//   X:(P, H, Wf, 2) half spectra, (re, im) pairs, Wf = W/2 + 1     img:(P, H, W)
//
//   img[y, x] = 1/(H W) sum_{j<H} sum_{k<Wf} c_k Re( X[j, k] e^{2 pi i (j y / H + k x / W)} )
//
// with c_k = 1 for the DC column k = 0 and, for even W, the Nyquist column k = W/2, else 2 (each
// other column stands for itself and its mirror image). As in numpy, the imaginary parts that a
// Hermitian spectrum could not have (those of the DC and Nyquist columns' self-conjugate bins) are
// simply dropped by the Re(), so every real-valued X is a valid input.
//
// Computed in two steps:  Z = E_H X  (complex, along H),  img = Re(Z F_W) / (H W)  (along W).
#include <cstdint>

namespace convis {

struct Irfft2Shape {
  int64_t planes = 0;
  int H = 0, W = 0;
  int Wf() const { return W / 2 + 1; }
};

void irfft2_planes_fwd(const float* X, float* img, const Irfft2Shape& s);
// dX += d img / d X applied to dimg (the transpose of the linear map above).
void irfft2_planes_bwd(const float* dimg, float* dX, const Irfft2Shape& s);

}  // namespace convis
