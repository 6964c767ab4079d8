// The ops that move data (engine/ops_spatial.cpp) against loops written here, hand-worked
// values for bilinear upsampling, tf.image.resize's convention through kernels/resize.h's own
// reference, and central-difference gradient checks on odd shapes.
#include "kernels/resize.h"
#include "tests/util.h"

using namespace convis;
using convis::test::check_gradients;
using convis::test::max_abs_diff;
using convis::test::random_tensor;

TEST_CASE("zero_pad2d and crop2d against index loops, odd borders, and each other's inverse") {
  const Tensor x = random_tensor({2, 5, 4, 3}, 81);
  const int t = 1, b = 2, l = 0, r = 3;
  const Var p = zero_pad2d(Var::constant(x), t, b, l, r);
  REQUIRE(p.shape() == Shape{2, 8, 7, 3});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 8; ++h)
      for (int64_t w = 0; w < 7; ++w)
        for (int64_t c = 0; c < 3; ++c) {
          const bool inside = h >= t && h < 5 + t && w >= l && w < 4 + l;
          CHECK(p.value().at(n, h, w, c) == (inside ? x.at(n, h - t, w - l, c) : 0.f));
        }
  const Var back = crop2d(p, t, b, l, r);
  CHECK(test::same_bits(back.value(), x));
  const Var c = crop2d(Var::constant(x), 2, 1, 1, 2);
  REQUIRE(c.shape() == Shape{2, 2, 1, 3});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t k = 0; k < 3; ++k) CHECK(c.value().at(n, h, 0, k) == x.at(n, h + 2, 1, k));
  CHECK(test::same_bits(zero_pad2d(Var::constant(x), 0, 0, 0, 0).value(), x));
  CHECK(test::contains(test::error_of([&] { crop2d(Var::constant(x), 3, 2, 0, 0); }), "leaves nothing of input (2, 5, 4, 3)"));
  CHECK(test::contains(test::error_of([&] { zero_pad2d(Var::constant(x), -1, 0, 0, 0); }), "has a negative size"));

  Var xv = Var::param(random_tensor({2, 5, 4, 3}, 82));
  check_gradients("zero_pad2d (1,2,0,3)", [](const std::vector<Var>& v) { return zero_pad2d(v[0], 1, 2, 0, 3); }, {xv});
  check_gradients("crop2d (2,1,1,2)", [](const std::vector<Var>& v) { return crop2d(v[0], 2, 1, 1, 2); }, {xv});
}

TEST_CASE("upsample2d nearest repeats each pixel, and bilinear is tf.image.resize's half-pixel interpolation") {
  const Tensor x = random_tensor({2, 3, 4, 5}, 83);
  const Var y = upsample2d(Var::constant(x), 2, 3, false);
  REQUIRE(y.shape() == Shape{2, 6, 12, 5});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 6; ++h)
      for (int64_t w = 0; w < 12; ++w)
        for (int64_t c = 0; c < 5; ++c) CHECK(y.value().at(n, h, w, c) == x.at(n, h / 2, w / 3, c));

  // By hand, one row [0, 1]: x2 samples at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped);
  // x3 at -1/3, 0, 1/3, 2/3, 1, 4/3. tf.image.resize([0, 1], 4 | 6, "bilinear") gives these.
  const Var row = Var::constant(Tensor::from(Shape{1, 1, 2, 1}, {0.f, 1.f}));
  CHECK(upsample2d(row, 1, 2, true).value().to_vector() == std::vector<float>{0.f, 0.25f, 0.75f, 1.f});
  const std::vector<float> x3 = upsample2d(row, 1, 3, true).value().to_vector();
  const float want3[6] = {0.f, 0.f, 1.f / 3, 2.f / 3, 1.f, 1.f};
  for (int i = 0; i < 6; ++i) CHECK(x3[size_t(i)] == doctest::Approx(want3[i]));

  // Against kernels/resize.h's reference, whose 'bilinear' is the same convention written as a
  // sum over all source pixels with the weights from their definition.
  for (int s : {2, 3}) {
    const Var up = upsample2d(Var::constant(x), s, s + 1, true);
    Tensor ref(up.shape());
    resize_bilinear_nhwc_ref(x.data(), ref.data(), ResizeShape{2, 3, 4, 5, 3 * s, 4 * (s + 1)}, ResizeFilter::bilinear);
    CHECK(max_abs_diff(up.value(), ref) < 2e-6);
  }

  Var xv = Var::param(random_tensor({2, 3, 4, 3}, 84));
  check_gradients("upsample2d nearest (2,3)", [](const std::vector<Var>& v) { return upsample2d(v[0], 2, 3, false); }, {xv});
  check_gradients("upsample2d bilinear (2,2)", [](const std::vector<Var>& v) { return upsample2d(v[0], 2, 2, true); }, {xv});
  check_gradients("upsample2d bilinear (3,1)", [](const std::vector<Var>& v) { return upsample2d(v[0], 3, 1, true); }, {xv});
  CHECK(test::contains(test::error_of([&] { upsample2d(xv, 0, 2, false); }), "size (0,2) must be positive"));
}

TEST_CASE("concat along the channels, the height, the batch and a flat axis, with gradients to every input") {
  const Tensor a = random_tensor({2, 3, 4, 2}, 85), b = random_tensor({2, 3, 4, 5}, 86), c = random_tensor({2, 3, 4, 1}, 87);
  const Var y = concat({Var::constant(a), Var::constant(b), Var::constant(c)}, -1);
  REQUIRE(y.shape() == Shape{2, 3, 4, 8});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t w = 0; w < 4; ++w) {
        for (int64_t k = 0; k < 2; ++k) CHECK(y.value().at(n, h, w, k) == a.at(n, h, w, k));
        for (int64_t k = 0; k < 5; ++k) CHECK(y.value().at(n, h, w, 2 + k) == b.at(n, h, w, k));
        CHECK(y.value().at(n, h, w, 7) == c.at(n, h, w, 0));
      }
  const Tensor d = random_tensor({2, 1, 4, 2}, 88);
  const Var yh = concat({Var::constant(a), Var::constant(d)}, 1);
  REQUIRE(yh.shape() == Shape{2, 4, 4, 2});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t w = 0; w < 4; ++w)
      for (int64_t k = 0; k < 2; ++k) {
        CHECK(yh.value().at(n, 1, w, k) == a.at(n, 1, w, k));
        CHECK(yh.value().at(n, 3, w, k) == d.at(n, 0, w, k));
      }
  CHECK(concat({Var::constant(a), Var::constant(a)}, 0).shape() == Shape{4, 3, 4, 2});
  CHECK(test::contains(test::error_of([&] { concat({Var::constant(a), Var::constant(b)}, 1); }),
                       "differ on an axis other than the concatenation axis 1"));
  CHECK(test::contains(test::error_of([&] { concat({Var::constant(a)}, 4); }), "axis 4 is out of range"));

  Var va = Var::param(a), vb = Var::param(b), vd = Var::param(d), f1 = Var::param(random_tensor({3, 4}, 89)),
      f2 = Var::param(random_tensor({3, 2}, 90));
  check_gradients("concat -1", [](const std::vector<Var>& v) { return concat({v[0], v[1], v[0]}, -1); }, {va, vb});
  check_gradients("concat 1", [](const std::vector<Var>& v) { return concat({v[0], v[1]}, 1); }, {va, vd});
  check_gradients("concat 2", [](const std::vector<Var>& v) { return concat({v[0], v[0]}, 2); }, {va});
  check_gradients("concat flat", [](const std::vector<Var>& v) { return concat({v[0], v[1]}, 1); }, {f1, f2});
  // Frozen inputs cost nothing and get nothing; the others still do.
  Var frozen = Var::constant(b);
  va.zero_grad();
  Tape::current().backward(sum(concat({va, frozen}, -1)));
  CHECK(!frozen.has_grad());
  CHECK(va.grad()[0] == 1.f);
}

TEST_CASE("permute: Keras' Permute dims over the per-sample axes, against index loops, with gradients") {
  const Tensor x = random_tensor({2, 3, 4, 5}, 91);
  const Var y = permute(Var::constant(x), {3, 1, 2});  // (N, 3, 4, 5) -> (N, 5, 3, 4)
  REQUIRE(y.shape() == Shape{2, 5, 3, 4});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t k = 0; k < 5; ++k) CHECK(y.value().at(n, k, i, j) == x.at(n, i, j, k));
  const Tensor m = random_tensor({2, 3, 4}, 92);
  const Var t = permute(Var::constant(m), {2, 1});
  REQUIRE(t.shape() == Shape{2, 4, 3});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j) CHECK(t.value()[(n * 4 + j) * 3 + i] == m[(n * 3 + i) * 4 + j]);
  CHECK(test::same_bits(permute(Var::constant(x), {1, 2, 3}).value(), x));
  CHECK(test::contains(test::error_of([&] { permute(Var::constant(x), {1, 1, 2}); }),
                       "dims (1,1,2) is not a permutation of 1..3 for input (2, 3, 4, 5)"));
  CHECK(test::contains(test::error_of([&] { permute(Var::constant(x), {0, 1, 2}); }), "is not a permutation"));

  Var xv = Var::param(x), mv = Var::param(m);
  check_gradients("permute (3,1,2)", [](const std::vector<Var>& v) { return permute(v[0], {3, 1, 2}); }, {xv});
  check_gradients("permute (2,3,1)", [](const std::vector<Var>& v) { return permute(v[0], {2, 3, 1}); }, {xv});
  check_gradients("permute (2,1)", [](const std::vector<Var>& v) { return permute(v[0], {2, 1}); }, {mv});
}
