// Tensor basics, shape errors, and the tape's behaviour: fan-out accumulates, frozen parameters
// get no gradient (and cost no weight-gradient work), no-grad records nothing.
#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include "engine/buffer_cache.h"
#include "tests/util.h"

using namespace convis;
using convis::test::random_tensor;

namespace {
using convis::test::error_of;
}  // namespace

TEST_CASE("tensor: shape / alignment / NHWC indexing / reshape shares / clone copies") {
  Tensor t(Shape{2, 3, 4, 5});
  CHECK(t.numel() == 120);
  CHECK(t.shape().str() == "(2, 3, 4, 5)");
  CHECK(Shape{7}.str() == "(7,)");
  CHECK(Shape{}.str() == "()");
  CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = float(i);
  CHECK(t.at(1, 2, 3, 4) == float(((1 * 3 + 2) * 4 + 3) * 5 + 4));
  Tensor r = t.reshape(Shape{6, 20});
  r[0] = -1.f;
  CHECK(t[0] == -1.f);
  Tensor c = t.clone();
  c[0] = 5.f;
  CHECK(t[0] == -1.f);
  CHECK(Tensor::scalar(3.f).item() == 3.f);
}

TEST_CASE("tensor: knows where its memory lives, adopts a buffer with its own deleter, and ops run on it") {
  Tensor t(Shape{2, 3});
  CHECK(t.device() == Device::host());
  CHECK(t.device().str() == "cpu");
  CHECK(t.reshape(Shape{6}).device() == t.device());
  CHECK(Tensor::zeros(Shape{4}).device().is_host());

  // A buffer from elsewhere (device memory later, here aligned host memory) with a deleter that
  // counts: the tensor uses it in place, ops read it, and the deleter runs once, after the last handle.
  int freed = 0;
  {
    float* raw = static_cast<float*>(::operator new(sizeof(float) * 64, std::align_val_t(64)));
    std::shared_ptr<float> buffer(raw, [&freed](float* p) {
      ::operator delete(p, std::align_val_t(64));
      ++freed;
    });
    const Tensor a = Tensor::adopt(Shape{2, 2}, buffer);
    buffer.reset();
    CHECK(a.data() == raw);
    CHECK(a.device() == Device::host());
    for (int i = 0; i < 4; ++i) const_cast<float*>(a.data())[i] = float(i) - 1.5f;  // -1.5 -0.5 0.5 1.5
    Var x = Var::param(a);
    Tape::current().backward(sum(mul(relu(x), x)));  // d/dx relu(x) x = 2x where x > 0, else 0
    CHECK(x.grad()[0] == 0.f);
    CHECK(x.grad()[1] == 0.f);
    CHECK(x.grad()[2] == doctest::Approx(1.0));
    CHECK(x.grad()[3] == doctest::Approx(3.0));
    const Tensor view = a.reshape(Shape{4});
    CHECK(freed == 0);
  }
  CHECK(freed == 1);
  CHECK(error_of([] { Tensor::adopt(Shape{3}, nullptr); }) == "Tensor::adopt: null buffer for shape (3,)");
  std::shared_ptr<float> odd(new float[20], std::default_delete<float[]>());
  const std::shared_ptr<float> shifted(odd, odd.get() + 1);  // new[] aligns to 16, so +4 bytes is never 64-aligned
  CHECK(error_of([&] { Tensor::adopt(Shape{3}, shifted); }) == "Tensor::adopt: buffer for shape (3,) is not 64-byte aligned");
}

TEST_CASE("bad input: shape mismatches throw naming both shapes") {
  CHECK(error_of([] { Tensor(Shape{2, 3}).reshape(Shape{4, 2}); }).find("(2, 3)") != std::string::npos);
  CHECK(error_of([] { Tensor(Shape{2, 3}).reshape(Shape{4, 2}); }).find("(4, 2)") != std::string::npos);
  const std::string add_err = error_of([] {
    add(Var::constant(Tensor::zeros({2, 3})), Var::constant(Tensor::zeros({3, 2})));
  });
  CHECK(add_err == "add: shapes (2, 3) and (3, 2) do not match");
  const std::string conv_err = error_of([] {
    conv2d(Var::constant(Tensor::zeros({1, 8, 8, 3})), Var::constant(Tensor::zeros({3, 3, 4, 16})), Var(), 1, 1,
           Padding::same);
  });
  CHECK(conv_err.find("(1, 8, 8, 3)") != std::string::npos);
  CHECK(conv_err.find("(3, 3, 4, 16)") != std::string::npos);
  const std::string dense_err = error_of([] {
    dense(Var::constant(Tensor::zeros({2, 10})), Var::constant(Tensor::zeros({9, 4})), Var());
  });
  CHECK(dense_err.find("(2, 10)") != std::string::npos);
  CHECK(dense_err.find("(9, 4)") != std::string::npos);
  CHECK(error_of([] { Shape({1, 2, 3, 4, 5}); }).find("at most 4") != std::string::npos);
  CHECK(error_of([] { channel(Var::constant(Tensor::zeros({1, 2, 2, 3})), 3); }).find("0..2") != std::string::npos);
  CHECK(error_of([] {
    conv2d(Var::constant(Tensor::zeros({1, 2, 2, 1})), Var::constant(Tensor::zeros({3, 3, 1, 1})), Var(), 1, 1,
           Padding::valid);
  }).find("does not fit") != std::string::npos);
}

TEST_CASE("tape: fan-out accumulates (y = x*x + 3x / dy/dx = 2x + 3)") {
  Var x = Var::param(Tensor::from({3}, {1.f, -2.f, 0.5f}));
  Var y = add(mul(x, x), mul_scalar(x, 3.f));
  Tape::current().backward(sum(y));
  CHECK(x.grad()[0] == doctest::Approx(5.f));
  CHECK(x.grad()[1] == doctest::Approx(-1.f));
  CHECK(x.grad()[2] == doctest::Approx(4.f));
  CHECK(Tape::current().size() == 0);  // backward consumes the tape
  // A second backward accumulates into the same gradient, as in PyTorch; zero_grad resets it.
  Tape::current().backward(sum(mul_scalar(x, 2.f)));
  CHECK(x.grad()[0] == doctest::Approx(7.f));
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("tape: backward from an output gradient") {
  Var x = Var::param(Tensor::from({2, 2}, {1.f, 2.f, 3.f, 4.f}));
  Var y = mul_scalar(x, 2.f);
  Tape::current().backward(y, Tensor::from({2, 2}, {1.f, 0.f, -1.f, 0.5f}));
  CHECK(x.grad().to_vector() == std::vector<float>{2.f, 0.f, -2.f, 1.f});
  CHECK_THROWS_WITH(Tape::current().backward(sum(mul_scalar(x, 2.f)), Tensor::zeros({3})),
                    "backward(): output and its gradient: shapes () and (3,) do not match");
  Tape::current().clear();
}

TEST_CASE("tape: frozen parameters get no gradient / only the input gradient is computed") {
  Var x = Var::param(random_tensor({1, 6, 6, 3}, 30));
  Var w = Var::constant(random_tensor({3, 3, 3, 4}, 31));
  Var b = Var::constant(random_tensor({4}, 32));
  Var loss = mean(channel(conv2d(x, w, b, 1, 1, Padding::same, true), 2));
  Tape::current().backward(loss);
  CHECK(x.has_grad());
  CHECK_FALSE(w.has_grad());
  CHECK_FALSE(b.has_grad());
  // Freezing after creation works too.
  Var w2 = Var::param(random_tensor({3, 3, 3, 4}, 33));
  w2.set_requires_grad(false);
  Tape::current().backward(sum(conv2d(x, w2, Var(), 1, 1, Padding::same)));
  CHECK_FALSE(w2.has_grad());
  // With nothing needing a gradient, nothing is recorded at all.
  Var c = Var::constant(random_tensor({1, 6, 6, 3}, 34));
  Var y = conv2d(c, w, b, 1, 1, Padding::same);
  CHECK(Tape::current().size() == 0);
  CHECK_FALSE(y.requires_grad());
}

TEST_CASE("no-grad: records nothing and keeps no activation alive") {
  Var x = Var::param(random_tensor({1, 8, 8, 3}, 35));
  Var w = Var::param(random_tensor({3, 3, 3, 8}, 36));
  const int64_t hidden_bytes = 8 * 8 * 8 * int64_t(sizeof(float));  // the conv output
  const int64_t before = buffer_cache::live_bytes();
  {
    NoGrad no_grad;
    Var y = mean(max_pool2d(conv2d(x, w, Var(), 1, 1, Padding::same, true), 2, 2, 2, 2, Padding::valid));
    CHECK(Tape::current().size() == 0);
    CHECK_FALSE(y.requires_grad());
    CHECK(std::isfinite(y.value().item()));
    CHECK_FALSE(grad_enabled());
    CHECK(buffer_cache::live_bytes() - before < hidden_bytes);  // only y (one float) is alive
  }
  CHECK(grad_enabled());
  // With recording on, the same chain is on the tape (conv, pool, mean) and keeps the conv output.
  Var y = mean(max_pool2d(conv2d(x, w, Var(), 1, 1, Padding::same, true), 2, 2, 2, 2, Padding::valid));
  CHECK(Tape::current().size() == 3);
  CHECK(buffer_cache::live_bytes() - before >= hidden_bytes);
  Tape::current().clear();
  CHECK(buffer_cache::live_bytes() - before < hidden_bytes);
}
