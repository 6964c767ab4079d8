#pragma once
// Class activation maps from a layer's activations A and the class score's gradient G there.
//
//   A, G:(HW, K) (one image, NHWC)   weights:(K)   cam:(HW)
//   Grad-CAM    (Selvaraju et al. 2017)   w_k = (1/HW) sum_p G[p,k]
//   Grad-CAM++  (Chattopadhyay et al. 2018, with exp(S) folded in as pytorch-grad-cam does)
//               alpha[p,k] = G^2 / (2 G^2 + (sum_p' A[p',k]) G^3)   (0 where G = 0 or the denominator is 0)
//               w_k = sum_p alpha[p,k] * relu(G[p,k])
//   map         cam[p] = relu(sum_k w_k A[p,k])          (sums in double)
#include <cstdint>

namespace convis {

void grad_cam_weights(const float* G, float* weights, int64_t HW, int64_t K);
void grad_cam_pp_weights(const float* A, const float* G, float* weights, int64_t HW, int64_t K);
void cam_combine(const float* A, const float* weights, float* cam, int64_t HW, int64_t K);

// |g| maximised over the C channels of each of the HW pixels: g:(HW, C) -> out:(HW) (a saliency map)
void channel_max_abs(const float* g, float* out, int64_t HW, int64_t C);

}  // namespace convis
