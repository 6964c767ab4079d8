// vis_tool forward and grad: NumPy in, NumPy out, for people who check convis' numbers.
//   forward: Y = output of layer L (after its activation) for input X
//   grad:    G = d/dX of sum over the batch of mean over (H, W) of channel K of layer L
#include <cstdio>

#include "engine/model_io.h"
#include "engine/npy.h"
#include "engine/ops.h"
#include "tools/cli.h"

namespace convis::cli {

namespace {

struct Loaded {
  Model model;
  Tensor x;
  int layer = 0;
};

Loaded load(const Args& args) {
  Loaded r;
  const std::string input = args.require("input");
  r.x = read_npy(input);
  if (r.x.rank() != 4)
    throw std::invalid_argument("input '" + input + "' has shape " + r.x.shape().str() + ", expected (N, H, W, C)");
  if (r.x.dim(0) == 0 || r.x.dim(1) == 0 || r.x.dim(2) == 0)
    throw std::invalid_argument("input '" + input + "' has shape " + r.x.shape().str() + ": N, H and W must be at least 1");
  r.model = load_model(args.require("weights"), int(r.x.dim(1)), int(r.x.dim(2)));
  if (r.x.dim(3) != r.model.input_c)
    throw std::invalid_argument("input '" + input + "' has " + std::to_string(r.x.dim(3)) + " channels, model '" +
                                r.model.name + "' expects " + std::to_string(r.model.input_c));
  r.layer = r.model.layer_index(args.require("layer"));
  return r;
}

}  // namespace

static int run_forward(const std::vector<std::string>& argv) {
  Args args("forward", argv, {});
  args.allow_only({"weights", "input", "layer", "out"});
  const std::string out = args.require("out");
  Loaded r = load(args);
  Tensor y;
  {
    NoGrad no_grad;
    y = r.model.forward(Var::constant(r.x), r.layer).value();
  }
  write_npy(out, y);
  std::printf("%s\n", out.c_str());
  return 0;
}

static int run_grad(const std::vector<std::string>& argv) {
  Args args("grad", argv, {});
  args.allow_only({"weights", "input", "layer", "filter", "out"});
  const std::string out = args.require("out");
  if (!args.has("filter")) throw UsageError("grad: missing --filter (see vis_tool grad --help)");
  const int filter = args.get_int("filter", 0);
  Loaded r = load(args);
  const Layer& l = r.model.layers[size_t(r.layer)];
  const int64_t channels = l.output_shape[l.output_shape.rank() - 1];
  if (filter < 0 || filter >= channels)
    throw std::invalid_argument("filter " + std::to_string(filter) + " is out of range: layer '" + l.name + "' has " +
                                std::to_string(channels) + " channels (0.." + std::to_string(channels - 1) + ")");
  Var x = Var::param(r.x);  // weights stay frozen: only d/dX is computed
  Var y = r.model.forward(x, r.layer);
  Var c = channel(y, filter);  // (N, H, W) or (N,)
  Var per_image = c.shape().rank() == 3 ? mean(c, {1, 2}) : c;
  Tape::current().backward(sum(per_image));
  write_npy(out, x.grad());
  std::printf("%s\n", out.c_str());
  return 0;
}

static const Registration reg_forward(35, {"forward", "run a model up to a layer on a .npy input, write the output as .npy",
       "vis_tool forward --weights F --input X.npy --layer L --out Y.npy\n\n"
       "X is float32 NHWC (N, H, W, C), used as given (no preprocessing). Y is the output of layer L\n"
       "after its activation. NPY v1/v2/v3, little-endian float32, C order.\n\n"
       "example:\n  vis_tool forward --weights /tmp/vgg16_random.h5 --input x.npy --layer block3_conv1 --out y.npy",
       run_forward});

static const Registration reg_grad(36, {"grad", "gradient of one filter's mean activation with respect to a .npy input",
       "vis_tool grad --weights F --input X.npy --layer L --filter K --out G.npy\n\n"
       "G = d/dX of the sum over the batch of the mean over (H, W) of channel K of layer L's output\n"
       "(after its activation; for a dense layer, of unit K). Same formats as forward.\n\n"
       "example:\n  vis_tool grad --weights /tmp/vgg16_random.h5 --input x.npy --layer block5_conv3 --filter 7 --out g.npy",
       run_grad});

}  // namespace convis::cli
