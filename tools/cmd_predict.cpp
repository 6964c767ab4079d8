// vis_tool predict and samples: one Fashion-MNIST-style image through a trained model, and
// the test images written out as PNG files to try it on.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>

#include "engine/classifier.h"
#include "engine/idx.h"
#include "engine/model_io.h"
#include "engine/ops.h"
#include "tools/cli.h"
#include "tools/dataset_classes.h"
#include "vis/canvas.h"
#include "vis/image.h"
#include "vis/png.h"

namespace convis::cli {

namespace {

// The model input for an image file: grey (ITU-R 601 luma, as PIL's convert("L")), resized to
// h x w, optionally inverted, scaled to [0, 1]. `notes` says what was done to it.
Tensor image_input(const std::string& path, int h, int w, bool invert, std::string& notes) {
  const Image rgb = load_image(path, 3);
  const Image grey = grey_of(rgb);
  bool colour = false;
  for (size_t i = 0; i < grey.pixels.size() && !colour; ++i)
    colour = rgb.pixels[3 * i] != rgb.pixels[3 * i + 1] || rgb.pixels[3 * i + 1] != rgb.pixels[3 * i + 2];
  notes = std::to_string(rgb.width) + "x" + std::to_string(rgb.height);
  if (colour) notes += ", colour converted to grey (0.299 R + 0.587 G + 0.114 B)";
  Tensor hw1;
  if (grey.width != w || grey.height != h) {
    notes += ", resized (bilinear, antialiased) to " + std::to_string(w) + "x" + std::to_string(h);
    hw1 = resize_bilinear(grey, h, w);
  } else {
    hw1 = Tensor(Shape{h, w, 1});
    for (int64_t i = 0; i < hw1.numel(); ++i) hw1[i] = grey.pixels[size_t(i)];
  }
  // Fashion-MNIST shows light garments on black; a photo on a light background looks inverted to it.
  double border = 0;
  int cells = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (y == 0 || x == 0 || y == h - 1 || x == w - 1) { border += hw1[int64_t(y) * w + x]; ++cells; }
  border /= std::max(cells, 1);
  if (invert) notes += ", inverted (255 - v)";
  else if (border > 128) notes += "; its border is light (mean " + std::to_string(int(border)) +
                                  ") while Fashion-MNIST's is black: try --invert";
  Tensor x(Shape{1, h, w, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = (invert ? 255.f - hw1[i] : hw1[i]) / 255.f;
  return x;
}

int run_predict(const std::vector<std::string>& argv) {
  Args args("predict", argv, {"invert"});
  args.allow_only({"weights", "image", "index", "data", "top", "invert", "classes"});
  const std::string spec = args.require("weights");
  if (args.has("image") == args.has("index"))
    throw UsageError("predict: give either --image PNG or --index i (a test image of --data)");
  const int top = args.get_int("top", 3, 1, 100000);
  if (top <= 0) throw UsageError("predict: --top must be positive, got " + std::to_string(top));
  const Model m = load_model(spec);
  const Layer& last = m.layers.back();
  if (last.output_shape.rank() != 1 || m.input_c != 1)
    throw std::invalid_argument("model '" + spec + "' takes " + std::to_string(m.input_c) + "-channel input and ends in " +
                                last.output_shape.str() + "; predict expects grey images in and class scores out");
  const int64_t K = last.output_shape[0];
  const ClassNames names = dataset_class_names(args, resolve_weights_path(spec), m, K);

  Tensor x;
  int truth = -1;
  if (args.has("index")) {
    const std::string dir = args.get("data", kDefaultMnistDir);
    const MnistSplit test = load_mnist_split(dir, "t10k");
    const int i = args.get_int("index", 0, 0, 1073741824);
    if (i < 0 || i >= test.count)
      throw UsageError("predict: --index " + std::to_string(i) + " is out of range 0.." + std::to_string(test.count - 1) +
                       " (the test images of " + dir + ")");
    if (test.rows != m.built_h() || test.cols != m.built_w())
      throw std::invalid_argument("test images of '" + dir + "' are " + std::to_string(test.rows) + "x" +
                                  std::to_string(test.cols) + ", the model takes " + std::to_string(m.built_h()) + "x" +
                                  std::to_string(m.built_w()));
    const int64_t idx = i;
    x = mnist_batch(test, &idx, 1);
    truth = test.labels[size_t(i)];
    std::printf("test image %d of %s, true class: %s\n", i, dir.c_str(), names.name(truth).c_str());
  } else {
    std::string notes;
    x = image_input(args.get("image", ""), m.built_h(), m.built_w(), args.has("invert"), notes);
    std::printf("%s: %s\n", args.get("image", "").c_str(), notes.c_str());
  }

  const Tensor probs = class_probabilities(m, x);
  const std::vector<int> order = top_k(probs.data(), K, int(std::min<int64_t>(top, K)));
  const int k = int(order.size());
  for (int r = 0; r < k; ++r) {
    const int c = order[size_t(r)];
    std::printf("%2d. %-2d %-14s %.4f%s\n", r + 1, c, names.name(c).c_str(), probs[c],
                c == truth ? "  (true class)" : "");
  }
  return 0;
}

int run_samples(const std::vector<std::string>& argv) {
  Args args("samples", argv, {});
  args.allow_only({"data", "out", "per-class", "classes"});
  const std::string dir = args.get("data", kDefaultMnistDir);
  const std::string out = args.require("out");
  const int per_class = args.get_int("per-class", 1, 1, 1000);
  if (per_class <= 0) throw UsageError("samples: --per-class must be positive, got " + std::to_string(per_class));
  const MnistSplit test = load_mnist_split(dir, "t10k");
  ClassNames names = fashion_class_names();
  if (args.has("classes")) {
    names.path = args.get("classes", "");
    names.labels = read_class_index(names.path);
  }
  // The first `per_class` test images of each class, in index order.
  std::vector<int64_t> picked;
  std::vector<int> taken(256, 0);
  for (int64_t i = 0; i < test.count; ++i)
    if (taken[test.labels[size_t(i)]]++ < per_class) picked.push_back(i);
  ensure_output_dir(out);
  for (int64_t i : picked) {
    Canvas c(test.cols, test.rows);
    const uint8_t* px = test.images.data() + i * test.rows * test.cols;
    for (int y = 0; y < test.rows; ++y)
      for (int x = 0; x < test.cols; ++x) {
        const uint8_t v = px[y * test.cols + x];
        c.set(x, y, Rgb{v, v, v});
      }
    char name[32];
    std::snprintf(name, sizeof name, "%04lld_", (long long)i);
    const std::string path = out + "/" + name + class_slug(names, test.labels[size_t(i)]) + ".png";
    write_png(c, path);
    std::printf("%s\n", path.c_str());
  }
  std::fprintf(stderr, "wrote %zu test images of %s (%d per class, named index_class)\n", picked.size(), dir.c_str(),
               per_class);
  return 0;
}

}  // namespace

static const Registration reg_predict(72, {"predict", "the top classes of one Fashion-MNIST-style image",
       "vis_tool predict --weights F (--image PNG | --index i) [--data DIR] [--top 3] [--invert]\n"
       "                 [--classes J]\n\n"
       "--index i takes test image i of DIR (default /usr/share/datasets/fashion-mnist) and shows its\n"
       "true class. --image reads any image stb_image reads: colour becomes grey (ITU-R 601 luma) and\n"
       "sizes other than the model's 28x28 are resized (bilinear, antialiased); both are reported.\n"
       "Fashion-MNIST has light garments on black: --invert turns a dark-on-light photo around.\n"
       "Class names: the class index beside the weights (or --classes), else Fashion-MNIST's.\n\n"
       "examples:\n  vis_tool predict --weights fashion --index 0\n"
       "  vis_tool predict --weights fashion --image weights/samples/0000_ankle_boot.png",
       run_predict});

static const Registration reg_samples(73, {"samples", "write Fashion-MNIST test images as PNG files, one per class",
       "vis_tool samples [--data DIR] --out DIR [--per-class 1] [--classes J]\n\n"
       "Writes the first --per-class test images of each class (lowest index first) as 28x28 PNGs\n"
       "named <index>_<class>.png, e.g. 0000_ankle_boot.png, with Fashion-MNIST's class ids (or the\n"
       "ids of the class index --classes J). They are the exact pixels the model sees, so\n"
       "`predict --image` on one gives what `predict --index` gives.\n\n"
       "example:\n  vis_tool samples --out weights/samples",
       run_samples});

}  // namespace convis::cli
