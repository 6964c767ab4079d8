// vis_tool saliency: attribution maps (gradients, SmoothGrad, SmoothGrad-squared, VarGrad,
// integrated gradients, guided backprop, the CAM family: Grad-CAM, Grad-CAM++, guided Grad-CAM,
// HiResCAM, XGrad-CAM, LayerCAM, EigenCAM, EigenGrad-CAM, Score-CAM; input x gradient) for one
// image and one class.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include "engine/model_io.h"
#include "engine/npy.h"
#include "tools/class_lookup.h"
#include "tools/progress.h"
#include "vis/attribution.h"
#include "vis/image.h"
#include "vis/occlusion.h"
#include "vis/png.h"

namespace convis::cli {

namespace {

// "gradcam, gradcampp or guided-gradcam": the methods that read an option, in the table's order.
std::string methods_that_read(AttributionMethod::Reads reads) {
  std::vector<std::string> names;
  for (const AttributionMethod& m : attribution_methods())
    if (m.uses(reads)) names.push_back(m.name);
  std::string list;
  for (size_t i = 0; i < names.size(); ++i)
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return list;
}

}  // namespace

static int run_saliency(const std::vector<std::string>& argv) {
  Args args("saliency", argv, {"npy", "aug-smooth", "eigen-smooth"});
  args.allow_only({"npy", "aug-smooth", "eigen-smooth", "baseline", "weights", "image", "class", "method", "layer", "out", "preprocess", "classes", "samples", "noise",
                   "seed", "steps", "batch"});
  const std::string spec = args.require("weights");
  const std::string image = args.require("image");
  const std::string out_dir = args.get("out", "out");
  using M = AttributionMethod;
  const AttributionMethod* method = nullptr;
  try {
    method = &attribution_method(args.get("method", "gradcam"));
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("saliency: --method: ") + e.what());
  }
  // Options that belong to some methods are refused elsewhere: they would silently do nothing.
  auto only_for = [&](const char* opt, M::Reads reads) {
    if (args.has(opt) && !method->uses(reads))
      throw UsageError(std::string("saliency: --") + opt + " applies to --method " + methods_that_read(reads) +
                       ", not " + method->name);
  };
  only_for("layer", M::reads_layer);
  only_for("aug-smooth", M::reads_aug_smooth);
  only_for("eigen-smooth", M::reads_eigen_smooth);
  only_for("baseline", M::reads_steps);
  only_for("samples", M::reads_samples);
  only_for("noise", M::reads_samples);
  // --seed draws SmoothGrad's noise, or integrated gradients' noise baseline.
  if (args.has("seed") && !method->uses(M::reads_samples) &&
      !(method->uses(M::reads_steps) && args.get("baseline", "") == "noise"))
    throw UsageError(std::string("saliency: --seed applies to --method ") + methods_that_read(M::reads_samples) +
                     " and to integrated with --baseline noise, not " + method->name);
  only_for("steps", M::reads_steps);
  only_for("batch", M::reads_batch);
  AttributionOptions opt;
  opt.method = method->name;
  opt.samples = args.get_int("samples", 20, 1, 10000);
  opt.noise = float(args.get_double("noise", 0.2));
  opt.seed = uint32_t(args.get_int("seed", 0));
  opt.steps = args.get_int("steps", 50, 1, 100000);
  opt.batch = args.get_int("batch", 10, 1, 1024);
  opt.aug_smooth = args.has("aug-smooth");
  opt.eigen_smooth = args.has("eigen-smooth");
  if (opt.samples < 1 || opt.steps < 1 || opt.batch < 1 || !(opt.noise >= 0.f))
    throw UsageError("saliency: --samples, --steps and --batch must be >= 1 and --noise >= 0");

  // Everything is checked before anything is written.
  const Model m = load_model(spec);
  const int K = num_classes(m);
  const Preprocess pre = args.has("preprocess") ? parse_preprocess(args.get("preprocess", "")) : default_preprocess(m);
  const ClassNames names = load_class_names(args, resolve_weights_path(spec), m, K);
  const Image photo = load_image(image, m.input_c == 1 ? 1 : 3);
  const int h = m.built_h(), w = m.built_w();
  const Tensor pixels = resize_bilinear(photo, h, w);
  const Tensor x = preprocess(pixels, pre);
  const int top = top_class(m, x);
  const int cls = args.has("class") ? names.parse(args.get("class", ""), K, "saliency") : top;
  if (args.has("layer")) opt.layer = cam_layer(m, args.get("layer", ""));
  // Integrated gradients' baseline x', in pixels before preprocessing: black (default), the image
  // blurred (sigma = a sixteenth of the shorter side), uniform noise (--seed), or an image file.
  std::string baseline = "black";
  if (method->uses(M::reads_steps)) {
    const std::string b = args.get("baseline", "black");
    Tensor bp;
    if (b == "black") {
      bp = Tensor::zeros(pixels.shape());
    } else if (b == "blur") {
      const float sigma = std::max(1.f, float(std::min(h, w)) / 16.f);
      bp = gaussian_blur(pixels, sigma);
      char d[64];
      std::snprintf(d, sizeof d, "the image blurred (sigma %.3g px)", double(sigma));
      baseline = d;
    } else if (b == "noise") {
      std::mt19937 rng(opt.seed);
      std::uniform_real_distribution<float> u(0.f, 255.f);
      bp = Tensor(pixels.shape());
      for (int64_t i = 0; i < bp.numel(); ++i) bp[i] = u(rng);
      baseline = "uniform noise (seed " + std::to_string(opt.seed) + ")";
    } else {
      bp = resize_bilinear(load_image(b, m.input_c == 1 ? 1 : 3), h, w);  // names the file when it fails
      baseline = "'" + b + "'";
    }
    opt.baseline = preprocess(bp, pre);
  }
  ensure_output_dir(out_dir);

  const float p = class_probabilities(m, x)[cls];
  std::printf("%s: %dx%d, resized to %dx%d, preprocessing '%s'\n", image.c_str(), photo.width, photo.height, w, h,
              preprocess_name(pre));
  std::printf("class %d '%s' (%s), p %.4f; score = its logit%s\n", cls, names.name(cls).c_str(),
              cls == top ? "top-1" : ("top-1 is " + std::to_string(top) + " '" + names.name(top) + "'").c_str(),
              double(p), m.outputs_probabilities() ? " (the softmax's input)" : "");

  std::fflush(stdout);  // the progress bar goes to stderr: keep the order on a shared terminal
  std::unique_ptr<Progress> bar;
  if (method->uses(M::reads_batch)) {
    // One pass per noisy copy, per step of the path, or per masked copy (scorecam: one per channel
    // of the layer, which only the method knows: the bar starts at its first report).
    opt.progress = [&](int64_t done, int64_t total) {
      if (!bar) bar = std::make_unique<Progress>(method->name, total);
      bar->update(done);
    };
  }
  const Attribution a = compute_attribution(m, x, cls, opt);
  if (bar) bar->finish();

  std::string what = method->title;
  if (method->uses(M::reads_layer)) {
    const char* default_note =
        args.has("layer") ? "" : " (the default: the last spatial layer of at least 7x7; --layer to choose)";
    if (a.cam.defined())
      std::printf("layer '%s'%s, map %lldx%lld upsampled (bilinear) to %dx%d%s\n", a.layer.c_str(), default_note,
                  static_cast<long long>(a.cam.dim(1)), static_cast<long long>(a.cam.dim(0)), w, h,
                  opt.eigen_smooth ? ", eigen-smoothed (the weighted channels' first principal component)" : "");
    else  // --aug-smooth
      std::printf("layer '%s'%s; --aug-smooth: the mean of 6 copies' CAMs (as is and flipped left-right, x 0.9, 1 "
                  "and 1.1), each upsampled to %dx%d and scaled to 0..1%s\n",
                  a.layer.c_str(), default_note, w, h, opt.eigen_smooth ? ", eigen-smoothed" : "");
    what += " at " + a.layer;
  }
  if (method->uses(M::reads_samples))
    std::printf("%d samples, noise sigma %.3g of the input range, seed %u\n", opt.samples, double(opt.noise), opt.seed);
  if (method->uses(M::reads_steps)) {
    const double diff = double(a.score) - double(a.baseline_score);
    const double err = diff != 0.0 ? 100.0 * std::fabs(a.attribution_sum - diff) / std::fabs(diff) : 0.0;
    // The midpoint rule's error falls as 1/steps^2 where the path is smooth: the advice asks for
    // enough steps to bring it under 1% at that rate (at least twice as many), always more than now.
    std::string advice;
    if (err > 1.0 && opt.steps < 100000) {
      const double want = double(opt.steps) * std::max(2.0, 1.2 * std::sqrt(err));
      const int more = int(std::min(100000.0, std::ceil(want / 10.0) * 10.0));
      advice = ", above 1%: more steps bring it down, e.g. --steps " + std::to_string(more);
    } else if (err > 1.0) {
      advice = ", above 1% at the most steps allowed: the path crosses many ReLU kinks";
    }
    std::printf("%d steps (midpoint rule) from %s: sum of attributions %.4f, f(x) - f(x') = %.4f (f(x) %.4f, "
                "f(x') %.4f; completeness error %.2f%%%s)\n",
                opt.steps, baseline.c_str(), a.attribution_sum, diff, double(a.score), double(a.baseline_score), err,
                advice.c_str());
  }
  // The peak, in the model's input and in the photo (the model stretches the whole photo).
  const int64_t peak = std::max_element(a.map.data(), a.map.data() + a.map.numel()) - a.map.data();
  const int py = int(peak / w), px = int(peak % w);
  std::printf("peak at (%d, %d) of the %dx%d input = (%d, %d) in the photo\n", px, py, w, h,
              int((px + 0.5) * photo.width / w), int((py + 0.5) * photo.height / h));

  namespace fs = std::filesystem;
  // A chosen layer and the smoothings go into the name, so maps of several layers can sit side by side.
  const std::string base = (fs::path(out_dir) / (fs::path(image).stem().string() + "_" +
                                                 method->name + "_" + std::to_string(cls) +
                                                 (args.has("layer") ? "_" + a.layer : "") +
                                                 (opt.eigen_smooth ? "_eigensmooth" : "") +
                                                 (opt.aug_smooth ? "_augsmooth" : ""))).string();
  char head[512];
  std::snprintf(head, sizeof head, "%s: %s for class %d '%s' (logit %.2f, p %.3f)",
                fs::path(image).filename().string().c_str(), what.c_str(), cls, names.name(cls).c_str(),
                double(a.score), double(p));
  write_png(attribution_sheet(photo, a, head), base + ".png");
  write_png(attribution_map_canvas(a), base + "_map.png");
  std::printf("wrote %s.png (image | map | overlay)\nwrote %s_map.png (the map, %dx%d grey, 0 to %.3g)\n",
              base.c_str(), base.c_str(), w, h, double(a.display_max));
  if (args.has("npy")) {  // the numbers, float32: signed, not clipped, at the model's input size
    write_npy(base + "_map.npy", a.raw);
    std::printf("wrote %s_map.npy (%s, float32)\n", base.c_str(), a.raw.shape().str().c_str());
    if (a.cam.defined()) {
      write_npy(base + "_cam.npy", a.cam);
      std::printf("wrote %s_cam.npy (%s at %s)\n", base.c_str(), a.cam.shape().str().c_str(), a.layer.c_str());
    }
    if (a.channel_weights.defined()) {  // hirescam and layercam weigh each position: no channel weights
      write_npy(base + "_weights.npy", a.channel_weights);
      std::printf("wrote %s_weights.npy (%s, the channel weights%s)\n", base.c_str(),
                  a.channel_weights.shape().str().c_str(),
                  method->name == std::string("eigencam") || method->name == std::string("eigengradcam")
                      ? ": the first principal direction"
                      : "");
    }
  }
  return 0;
}

static const Registration reg_saliency(50, {"saliency",
       "attribution maps: gradients, SmoothGrad, integrated gradients, guided backprop, the CAM family",
       "vis_tool saliency --weights F --image I [--class C] [--method M] [--layer L] [--out DIR]\n"
       "                  [--preprocess caffe|unit|tf|torch] [--classes J] [--npy]\n"
       "                  [--samples 20] [--noise 0.2] [--seed 0]   (smoothgrad, smoothgrad_sq, vargrad)\n"
       "                  [--steps 50] [--baseline black|blur|noise|FILE]  (integrated)\n"
       "                  [--batch 10]                  (the three above, integrated, scorecam)\n"
       "                  [--aug-smooth] [--eigen-smooth]         (the CAMs; --eigen-smooth not for\n"
       "                                                           eigencam, eigengradcam)\n\n"
       "Which pixels does the score of class C depend on? The score is the class logit (for a model\n"
       "that ends in softmax, the softmax's input). C defaults to the top-1 class; give an index or,\n"
       "with a class index, a name (espresso). Methods (default gradcam):\n"
       "  vanilla         |d score / d x|, max over the colour channels\n"
       "  smoothgrad      the gradient averaged over 20 noisy copies (sigma 0.2 of the input range)\n"
       "  smoothgrad_sq   the squared gradient averaged over the same noisy copies (Captum's NoiseTunnel)\n"
       "  vargrad         the variance of the gradient over the same noisy copies (population variance,\n"
       "                  as Captum): smoothgrad_sq = smoothgrad^2 + vargrad per pixel and channel\n"
       "  integrated      integrated gradients, 50 steps (midpoint rule) from --baseline x': black\n"
       "                  (default), the image blurred (sigma 1/16 of the side), uniform noise\n"
       "                  (--seed) or an image file; prints the check sum(attr) = f(x) - f(x')\n"
       "  guided          guided backprop (ReLUs, LeakyReLUs too, pass only positive gradients)\n"
       "  gradcam         Grad-CAM at --layer (default: the last spatial layer of at least 7x7)\n"
       "  gradcampp       Grad-CAM++ at --layer\n"
       "  guided-gradcam  guided backprop times the upsampled Grad-CAM\n"
       "  hirescam        HiResCAM: ReLU(sum over channels of gradient x activation) at each position\n"
       "  xgradcam        XGrad-CAM: channel weights sum(A_k / sum A_k * gradient) at --layer\n"
       "  layercam        LayerCAM: ReLU(sum over channels of ReLU(gradient) x activation)\n"
       "  eigencam        EigenCAM: the activations' first principal component (no gradient: the\n"
       "                  same map for every class)\n"
       "  eigengradcam    EigenGrad-CAM: the first principal component of gradient x activation\n"
       "  scorecam        Score-CAM: channel weights = softmax of the class score of the image masked by\n"
       "                  each channel (upsampled, scaled to 0..1); one forward pass per channel, --batch\n"
       "                  copies at a time, no gradient\n"
       "  inputxgrad      input x gradient (Captum's InputXGradient), summed over the colour channels\n"
       "Writes DIR/<image>_<method>_<class>[_<layer>][_eigensmooth][_augsmooth].png (image | map |\n"
       "overlay, jet, with a colour bar; the layer only when --layer is given) and ..._map.png (the map\n"
       "alone, grey, at the model's input size). Prints the class, the map's peak in the photo's\n"
       "coordinates and the file names.\n"
       "--npy also writes the numbers as float32 .npy, not clipped: ..._map.npy, the signed attributions\n"
       "per pixel and channel (H x W x C: the gradient, SmoothGrad's mean, mean square or variance,\n"
       "(x - x') x the mean gradient, the guided gradient, guided x CAM, x x the gradient) or the\n"
       "upsampled CAM (H x W); for the CAM methods also ..._cam.npy (the CAM at the layer's resolution)\n"
       "and, except hirescam and layercam, ..._weights.npy (the channel weights; for eigencam and\n"
       "eigengradcam the first principal direction).\n"
       "--eigen-smooth (pytorch-grad-cam's eigen_smooth): the first principal component of the weighted\n"
       "channels (w_k A_k, or the element-wise products) instead of their sum; ..._weights.npy is then its\n"
       "direction. --aug-smooth: the mean of the CAMs of 6 copies (flipped left-right or not, times 0.9,\n"
       "1, 1.1), each scaled to 0..1 (6 backward passes; no ..._cam.npy or ..._weights.npy).\n\n"
       "example:\n  vis_tool saliency --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --image ../shared/data/images/coffee.png --method gradcam --out out",
       run_saliency});

}  // namespace convis::cli
