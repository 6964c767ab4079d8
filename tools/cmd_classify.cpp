// vis_tool classify: top-k classes of an image, as Keras' decode_predictions prints them.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include <nlohmann/json.hpp>

#include "engine/classifier.h"
#include "engine/class_index.h"
#include "engine/model_io.h"
#include "engine/ops.h"
#include "tools/class_lookup.h"
#include "vis/image.h"

namespace convis::cli {

static int run_classify(const std::vector<std::string>& argv) {
  Args args("classify", argv, {"json"});
  args.allow_only({"weights", "image", "top", "preprocess", "classes", "json"});
  const std::string spec = args.require("weights");
  const std::string image = args.require("image");
  const int top = args.get_int("top", 5, 1, 100000);
  if (top <= 0) throw UsageError("classify: --top must be positive, got " + std::to_string(top));

  const Model m = load_model(spec);
  const Layer& last = m.layers.back();
  if (last.output_shape.rank() != 1)
    throw std::invalid_argument("model '" + m.name + "' ends in layer '" + last.name + "' with output " +
                                last.output_shape.str() +
                                ", not class scores (a model without its top has none: use the file with the top, e.g. --weights vgg16)");
  const Preprocess pre = args.has("preprocess") ? parse_preprocess(args.get("preprocess", "")) : default_preprocess(m);
  const std::string weights_path = resolve_weights_path(spec);
  const int64_t K = last.output_shape[0];
  const std::vector<ClassLabel> labels = load_class_names(args, weights_path, m, K).labels;

  const Image img = load_image(image, m.input_c == 1 ? 1 : 3);
  const Tensor x = preprocess(resize_bilinear(img, m.built_h(), m.built_w()), pre);
  const Tensor probs = class_probabilities(m, x);
  const std::vector<int> order = top_k(probs.data(), K, int(std::min<int64_t>(top, K)));
  const int k = int(order.size());

  if (args.has("json")) {
    nlohmann::json out = {{"image", image}, {"weights", weights_path}, {"preprocess", preprocess_name(pre)},
                          {"input_size", {m.built_h(), m.built_w()}}, {"predictions", nlohmann::json::array()}};
    for (int r = 0; r < k; ++r) {
      const int c = order[size_t(r)];
      out["predictions"].push_back({{"rank", r + 1}, {"index", c}, {"probability", probs[c]},
                                    {"wnid", labels.empty() ? "" : labels[size_t(c)].id},
                                    {"name", labels.empty() ? std::to_string(c) : labels[size_t(c)].name}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %dx%d%s, resized (bilinear) to %dx%d, preprocessing '%s'%s\n", image.c_str(), img.width, img.height,
              m.input_c == 1 ? ", as grey (0.299 R + 0.587 G + 0.114 B)" : "", m.built_w(), m.built_h(), preprocess_name(pre),
              m.outputs_probabilities() ? "" : ", softmax over the model's logits");
  if (labels.empty()) std::printf("(no class index found: pass --classes FILE.json to name the classes)\n");
  for (int r = 0; r < k; ++r) {
    const int c = order[size_t(r)];
    if (labels.empty())
      std::printf("%2d. class %-5d %.4f\n", r + 1, c, probs[c]);
    else
      std::printf("%2d. %-10s %-28s %.4f\n", r + 1, labels[size_t(c)].id.c_str(), labels[size_t(c)].name.c_str(),
                  probs[c]);
  }
  return 0;
}

static const Registration reg_classify(30, {"classify", "top-k ImageNet-style classes of an image",
       "vis_tool classify --weights F --image I [--top 5] [--preprocess caffe|unit|tf|torch]\n"
       "                  [--classes J] [--json]\n\n"
       "The image (PNG, JPEG, BMP, ...; grey and RGBA become RGB) is resized to the model's input\n"
       "size with a bilinear (triangle) filter and preprocessed as keras.applications does for its\n"
       "models (caffe for VGG16 and ResNet50: RGB->BGR minus the ImageNet means; tf for MobileNetV2,\n"
       "InceptionV3, Xception: x/127.5 - 1; torch for DenseNet121), other models unit (x/255).\n"
       "Models that end in logits get a softmax. --classes names a Keras-style class index; by\n"
       "default convis looks for <name>_class_index.json beside the weights (and Keras'\n"
       "imagenet_class_index.json for the keras.applications models).\n\n"
       "example:\n  vis_tool classify --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --image ../shared/data/images/coffee.png --top 3",
       run_classify});

}  // namespace convis::cli
