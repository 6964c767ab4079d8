#pragma once
// Class activation maps from a layer's activations A and the class score's gradient G there.
//
//   A, G:(HW, K) (one image, NHWC)   weights:(K)   cam:(HW)   sums in double
//   Grad-CAM    (Selvaraju et al. 2017)   w_k = (1/HW) sum_p G[p,k]
//   Grad-CAM++  (Chattopadhyay et al. 2018, with exp(S) folded in as pytorch-grad-cam does)
//               alpha[p,k] = G^2 / (2 G^2 + (sum_p' A[p',k]) G^3)   (0 where G = 0 or the denominator is 0)
//               w_k = sum_p alpha[p,k] * relu(G[p,k])
//   XGrad-CAM   (Fu et al. 2020)          w_k = sum_p A[p,k] / (sum_p' A[p',k] + 1e-7) * G[p,k]
//   Score-CAM   (Wang et al. 2020)        w = softmax(scores), scores[k] = the class score of the input
//               masked by channel k's map, upsampled and scaled to 0..1 (vis/attribution.h, score_cam)
//   map         cam[p] = relu(sum_k w_k A[p,k])
//   HiResCAM    (Draelos & Carin 2020)    cam[p] = relu(sum_k G[p,k] A[p,k])   (no weights: element-wise)
//   LayerCAM    (Jiang et al. 2021)       cam[p] = relu(sum_k relu(G[p,k]) A[p,k])
//   EigenCAM    (Muhammad & Yeasin 2020)  X = A centred over the positions (X[p,k] = A[p,k] - mean_p A[.,k]),
//               v = X's first right singular vector (first principal direction), cam[p] = relu(X[p,:] . v)
//               EigenGrad-CAM is the same on X = A * G (element-wise) (pytorch-grad-cam's EigenGradCAM)
#include <cstdint>

namespace convis {

void grad_cam_weights(const float* G, float* weights, int64_t HW, int64_t K);
void grad_cam_pp_weights(const float* A, const float* G, float* weights, int64_t HW, int64_t K);
void xgrad_cam_weights(const float* A, const float* G, float* weights, int64_t HW, int64_t K);
// weights = softmax(scores) over the K channels (shifted by the max, in double).
void score_cam_weights(const float* scores, float* weights, int64_t K);
void cam_combine(const float* A, const float* weights, float* cam, int64_t HW, int64_t K);

// relu(sum_k G[p,k] A[p,k]): HiResCAM; with relu(G): LayerCAM.
void hires_cam(const float* A, const float* G, float* cam, int64_t HW, int64_t K);
void layer_cam(const float* A, const float* G, float* cam, int64_t HW, int64_t K);

// The first principal direction of X:(HW, K): X centred per column (over the HW positions), v the
// unit eigenvector of the largest eigenvalue of Xc^T Xc (K), and projection[p] = Xc[p,:] . v (HW),
// not clipped. The sign of v, which an SVD leaves open (pytorch-grad-cam takes whatever LAPACK
// returns), is chosen so that the projection agrees with the uncentred channel sum
// s[p] = sum_k X[p,k]: sum_p projection[p] s[p] >= 0, i.e. the map is high where the channels are.
// Returns the eigenvalue lambda_1 of Xc^T Xc (the squared first singular value).
double first_principal_direction(const float* X, float* v, float* projection, int64_t HW, int64_t K);
// cam[p] = relu(projection of X on its first principal direction); v (K) when given.
void eigen_cam(const float* X, float* cam, float* v, int64_t HW, int64_t K);

// |g| maximised over the C channels of each of the HW pixels: g:(HW, C) -> out:(HW) (a saliency map)
void channel_max_abs(const float* g, float* out, int64_t HW, int64_t C);

}  // namespace convis
