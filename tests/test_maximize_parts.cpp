// The pieces activation maximisation is built from, each alone: the Fourier parametrisation
// against a naive DFT, gradient checks of the image ops, the affine warp and the blur, the
// preprocessing as an affine map, and the picture measures the acceptance test judges by.
#include <cmath>
#include <complex>

#include "engine/ops_image.h"
#include "kernels/warp.h"
#include "tests/image_metrics.h"
#include "tests/util.h"
#include "vis/maximize.h"

using namespace convis;
using convis::test::check_gradients;
using convis::test::high_frequency_fraction;
using convis::test::max_abs_diff;
using convis::test::neighbour_roughness;
using convis::test::random_tensor;

namespace {

// numpy.fft.irfft2 by its definition: complete the half spectrum X (H x Wf) to a Hermitian full
// spectrum F (H x W), F[-j, -k] = conj F[j, k] (the DC and Nyquist columns, which are their own
// mirror images, get their Hermitian part), then the plain inverse DFT in complex double.
std::vector<std::complex<double>> naive_irfft2(const std::vector<std::complex<double>>& X, int H, int W) {
  const int Wf = W / 2 + 1;
  std::vector<std::complex<double>> F(size_t(H * W));
  for (int j = 0; j < H; ++j)
    for (int k = 0; k < Wf; ++k) {
      const int mj = (H - j) % H, mk = (W - k) % W;
      const std::complex<double> x = X[size_t(j * Wf + k)];
      if (mk == k) {  // k == 0, or k == W/2 for even W
        F[size_t(j * W + k)] += 0.5 * x;
        F[size_t(mj * W + k)] += 0.5 * std::conj(x);
      } else {
        F[size_t(j * W + k)] = x;
        F[size_t(mj * W + mk)] = std::conj(x);
      }
    }
  std::vector<std::complex<double>> img(size_t(H * W));
  const double two_pi = 6.283185307179586;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      std::complex<double> acc = 0.0;
      for (int j = 0; j < H; ++j)
        for (int k = 0; k < W; ++k)
          acc += F[size_t(j * W + k)] * std::polar(1.0, two_pi * (double(j) * y / H + double(k) * x / W));
      img[size_t(y * W + x)] = acc / double(H * W);
    }
  return img;
}

}  // namespace

TEST_CASE("maximize: irfft2_image matches a naive inverse DFT of the Hermitian spectrum") {
  const int sizes[][2] = {{5, 6}, {6, 5}, {4, 4}, {7, 9}};
  for (const auto& hw : sizes) {
    const int H = hw[0], W = hw[1], Wf = W / 2 + 1, N = 2, C = 3;
    CAPTURE(H); CAPTURE(W);
    const Tensor spec = random_tensor({N, C, H, 2 * Wf}, uint32_t(H * 10 + W));
    const Tensor img = irfft2_image(Var::constant(spec), W).value();
    REQUIRE(img.shape() == Shape{N, H, W, C});
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < C; ++c) {
        std::vector<std::complex<double>> X(size_t(H * Wf));
        for (int i = 0; i < H * Wf; ++i)
          X[size_t(i)] = {spec[((int64_t(n) * C + c) * H * Wf + i) * 2], spec[((int64_t(n) * C + c) * H * Wf + i) * 2 + 1]};
        const auto want = naive_irfft2(X, H, W);
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            REQUIRE(std::fabs(want[size_t(y * W + x)].imag()) < 1e-12);  // the completion is Hermitian
            REQUIRE(img.at(n, y, x, c) == doctest::Approx(want[size_t(y * W + x)].real()).epsilon(1e-4).scale(1.0));
          }
      }
  }
}

TEST_CASE("maximize: fourier_scale is sqrt(hw) over the radial frequency") {
  const std::vector<float> s = fourier_scale(8, 6);  // (8, 4) values
  REQUIRE(s.size() == 32);
  const double unitary = std::sqrt(48.0);
  CHECK(s[0] == doctest::Approx(unitary * 8.0));                // DC: floor 1/max(h, w)
  CHECK(s[1] == doctest::Approx(unitary * 6.0));                // fx = 1/6
  CHECK(s[1 * 4 + 0] == doctest::Approx(unitary * 8.0));        // fy = 1/8 equals the floor
  CHECK(s[7 * 4 + 0] == doctest::Approx(unitary * 8.0));        // row 7 is frequency -1/8
  CHECK(s[4 * 4 + 3] == doctest::Approx(unitary / std::sqrt(0.25 + 0.25)));  // (1/2, 1/2)
  CHECK(s[2 * 4 + 2] == doctest::Approx(unitary / std::sqrt(1.0 / 16 + 1.0 / 9)));
}

TEST_CASE("gradcheck image ops: irfft2_image / mix_channels / affine_warp") {
  Var spec = Var::param(random_tensor({2, 3, 5, 2 * 4}, 1));
  check_gradients("irfft2_image 5x7", [](const std::vector<Var>& v) { return irfft2_image(v[0], 7); }, {spec});
  Var spec_even = Var::param(random_tensor({1, 2, 4, 2 * 4}, 2));
  check_gradients("irfft2_image 4x6", [](const std::vector<Var>& v) { return irfft2_image(v[0], 6); }, {spec_even});

  Var x = Var::param(random_tensor({2, 5, 7, 3}, 3));
  const Tensor m = random_tensor({3, 2}, 4), b = random_tensor({2}, 5);
  check_gradients("mix_channels", [&](const std::vector<Var>& v) { return mix_channels(v[0], m, b); }, {x});

  // Shift, scale and rotation together, a different output size, samples falling outside.
  const std::vector<Affine2d> maps = {centred_affine(5, 7, 1.1f, 4.f, 1.f, -2.f),
                                      centred_affine(5, 7, 0.9f, -5.f, -0.5f, 0.3f)};
  check_gradients("affine_warp", [&](const std::vector<Var>& v) { return affine_warp(v[0], maps, 6, 4, 0.5f); }, {x});
}

TEST_CASE("maximize: affine_warp shifts / rotates counter-clockwise / scales about the centre and fills outside") {
  // One bright pixel one step right of the centre of a 5x5 image.
  Tensor img = Tensor::zeros({1, 5, 5, 1});
  img.at(0, 2, 3, 0) = 1.f;
  auto warp = [&](float scale, float degrees, float dx, float dy) {
    return affine_warp(Var::constant(img), {centred_affine(5, 5, scale, degrees, dx, dy)}, 5, 5, 0.25f).value();
  };
  const Tensor same = warp(1.f, 0.f, 0.f, 0.f);
  CHECK(max_abs_diff(same, img) < 1e-6);
  const Tensor shifted = warp(1.f, 0.f, 1.f, -2.f);  // right 1, up 2: to (row 0, col 4)
  CHECK(shifted.at(0, 0, 4, 0) == doctest::Approx(1.f));
  CHECK(shifted.at(0, 4, 0, 0) == doctest::Approx(0.25f));  // read from below the image: fill
  const Tensor turned = warp(1.f, 90.f, 0.f, 0.f);         // right of centre -> above it
  CHECK(turned.at(0, 1, 2, 0) == doctest::Approx(1.f).epsilon(1e-5));
  CHECK(turned.at(0, 2, 3, 0) == doctest::Approx(0.f).scale(1.0).epsilon(1e-5));
  const Tensor zoomed = warp(2.f, 0.f, 0.f, 0.f);  // offset 1 -> 2, spread over a 3-pixel tent
  CHECK(zoomed.at(0, 2, 4, 0) == doctest::Approx(1.f));
  CHECK(zoomed.at(0, 2, 3, 0) == doctest::Approx(0.5f));
}

TEST_CASE("maximize: preprocess_affine equals preprocess() for every mode / RGB and grey") {
  for (Preprocess p : {Preprocess::caffe, Preprocess::unit, Preprocess::tf, Preprocess::torch})
    for (int c : {3, 1}) {
      CAPTURE(preprocess_name(p)); CAPTURE(c);
      const Tensor pixels = random_tensor({4, 5, c}, 9, 0.f, 255.f);
      const Tensor want = preprocess(pixels, p);
      Tensor m, b;
      preprocess_affine(p, c, &m, &b);
      const Tensor got = mix_channels(Var::constant(pixels.reshape({1, 4, 5, c})), m, b).value();
      CHECK(max_abs_diff(got, want) < 1e-4);
    }
}

TEST_CASE("maximize: gaussian blur keeps constants and spreads an impulse as a unit-sum Gaussian") {
  Tensor x = Tensor::full({1, 9, 9, 2}, 3.f);
  gaussian_blur_nhwc(x.data(), 1, 9, 9, 2, 1.f);
  for (int64_t i = 0; i < x.numel(); ++i) REQUIRE(x[i] == doctest::Approx(3.f));
  Tensor d = Tensor::zeros({1, 11, 11, 1});
  d.at(0, 5, 5, 0) = 1.f;
  gaussian_blur_nhwc(d.data(), 1, 11, 11, 1, 1.f);
  double total = 0.0;
  for (int64_t i = 0; i < d.numel(); ++i) total += d[i];
  CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
  // Taps -3..3 of exp(-i^2/2), normalised: the centre is (1/Z)^2, one step away e^{-1/2}/Z^2.
  double z = 0.0;
  for (int i = -3; i <= 3; ++i) z += std::exp(-0.5 * i * i);
  CHECK(d.at(0, 5, 5, 0) == doctest::Approx(1.0 / (z * z)).epsilon(1e-5));
  CHECK(d.at(0, 5, 6, 0) == doctest::Approx(std::exp(-0.5) / (z * z)).epsilon(1e-5));
}

TEST_CASE("maximize: high-frequency measures of noise / smooth and striped images") {
  const Tensor noise = random_tensor({64, 64, 3}, 1, 0.f, 1.f);
  CHECK(high_frequency_fraction(noise) == doctest::Approx(1.0 - 3.14159265 / 16).epsilon(0.04));
  CHECK(neighbour_roughness(noise) == doctest::Approx(1.0).epsilon(0.05));
  Tensor smooth({32, 32, 1}), stripes({32, 32, 1});
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      smooth[y * 32 + x] = float(std::cos(6.2831853 * (2.0 * x + y) / 32.0));   // |f| = sqrt(5)/32
      stripes[y * 32 + x] = float(std::cos(6.2831853 * 12.0 * x / 32.0));        // f = 0.375
    }
  CHECK(high_frequency_fraction(smooth) < 1e-9);
  CHECK(high_frequency_fraction(stripes) == doctest::Approx(1.0));
  // cos(2 pi f x): neighbour difference^2 averages 2 sin^2(pi f) A^2 / 2 ... over variance A^2/2.
  CHECK(neighbour_roughness(smooth) < 0.05);
  CHECK(high_frequency_fraction(Tensor::full({8, 8, 3}, 0.3f)) == 0.0);
}
