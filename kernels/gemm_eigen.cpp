#define CONVIS_EIGEN_GEMM_NAME gemm_f32_eigen
#include "kernels/gemm_eigen_impl.h"
