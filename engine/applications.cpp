// The table of keras.applications architectures (engine/applications.h): one row each, what
// application() and its callers (vis_tool init, the docs) read.
#include "engine/applications.h"

#include <cctype>

#include "engine/errors.h"

namespace convis {

const std::vector<ApplicationInfo>& applications() {
  // preprocess: the mode of keras.applications.<module>.preprocess_input (imagenet_utils' mode
  // argument): vgg16 and resnet "caffe", mobilenet_v2, inception_v3 and xception "tf", densenet "torch".
  static const std::vector<ApplicationInfo> table = {
      {"vgg16", "VGG16", "vgg16", "caffe", 224, "block5_pool", vgg16},
      {"resnet50", "ResNet50", "resnet50", "caffe", 224, "conv5_block3_out", resnet50},
      {"mobilenet_v2", "MobileNetV2", "mobilenetv2_1.00_224", "tf", 224, "out_relu", mobilenet_v2},
      {"densenet121", "DenseNet121", "densenet121", "torch", 224, "relu", densenet121},
      {"inception_v3", "InceptionV3", "inception_v3", "tf", 299, "mixed10", inception_v3},
      {"xception", "Xception", "xception", "tf", 299, "block14_sepconv2_act", xception},
  };
  return table;
}

std::vector<std::string> application_names() {
  std::vector<std::string> names;
  for (const ApplicationInfo& a : applications()) names.push_back(a.name);
  return names;
}

const ApplicationInfo& application_info(const std::string& arch) {
  std::string all;
  auto lower = [](std::string t) {
    for (char& c : t) c = char(std::tolower(static_cast<unsigned char>(c)));
    return t;
  };
  for (const ApplicationInfo& a : applications()) {
    // "resnet50", or keras.applications' own spelling "ResNet50" (any case)
    if (arch == a.name || lower(arch) == lower(a.keras_class)) return a;
    all += (all.empty() ? "" : ", ") + std::string(a.name);
  }
  throw ParameterError("arch", "architecture '" + arch + "' is not one convis builds (known: " + all + ")");
}

const ApplicationInfo* application_for_model(const std::string& model_name) {
  for (const ApplicationInfo& a : applications())
    if (model_name == a.model_name) return &a;
  return nullptr;
}

Model application(const std::string& arch, bool include_top) { return application_info(arch).build(include_top); }

}  // namespace convis
