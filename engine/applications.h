#pragma once
// The architectures of keras.applications, built in code with Keras' exact layer names, classes,
// configs and layer order (the order Keras' get_config and model.summary() list them in), so a
// user without a Keras file can make one and put the official ImageNet weights on it
// (weights/fetch_applications.sh fetches them; engine/model_io.h's load_model recognises them).
//
// The order matters beyond the summary: some official files were written by older Keras with
// other automatic names (Xception's names its layers convolution2d_1, ..., keras-team/keras issue
// 9683), and Keras' own load_weights puts them on by position, the i-th layer with weights in this
// order taking the file's i-th. load_model falls back to that rule when the names do not match.
//
//   Model m = application("resnet50", true);   // 224x224x3 -> predictions (1000, softmax)
//   m.build();                                 // shapes; no weights yet
//   init_he_normal(m, 1);                      // or load Keras' weights (engine/model_io.h)
//   m.layer_index(application_info("resnet50").last_spatial);   // Grad-CAM's layer
//
// Like vgg16() (engine/model.h): with the top the input is Keras' default size (224, 299 for
// InceptionV3 and Xception) and the model ends in avg_pool (GlobalAveragePooling2D) and
// predictions; without it the spatial size is free and the model ends at the last spatial layer
// (Keras' include_top=False, pooling=None). The builders are engine/applications_<family>.cpp,
// written from keras/applications/*.py of Keras 2.15 (tf.keras), with a fresh session's names.
#include <string>
#include <vector>

#include "engine/model.h"

namespace convis {

Model resnet50(bool include_top);      // keras.applications.ResNet50, 177 layers with the top
Model mobilenet_v2(bool include_top);  // MobileNetV2(alpha=1.0), "mobilenetv2_1.00_224"
Model densenet121(bool include_top);   // DenseNet121
Model inception_v3(bool include_top);  // InceptionV3, 299x299 with the top
Model xception(bool include_top);      // Xception, 299x299 with the top

struct ApplicationInfo {
  const char* name;          // what application() takes: "resnet50"
  const char* keras_class;   // keras.applications' function: "ResNet50"
  const char* model_name;    // the name Keras gives the model: "resnet50", "mobilenetv2_1.00_224"
  // keras.applications' preprocess_input mode, by the names vis/preprocess.h gives its modes
  // (the Preprocess enum lives in vis/, above the engine): "caffe" (RGB -> BGR, minus ImageNet's
  // mean), "tf" (x / 127.5 - 1) or "torch" (x / 255, then ImageNet's mean and std).
  const char* preprocess;
  int input_size;            // the square input side with the top
  const char* last_spatial;  // the last layer with an (H, W, C) output: Grad-CAM's layer
  Model (*build)(bool include_top);
};

// vgg16, resnet50, mobilenet_v2, densenet121, inception_v3, xception, in that order.
const std::vector<ApplicationInfo>& applications();
std::vector<std::string> application_names();
// The row for arch; throws ParameterError("arch") listing the names otherwise.
const ApplicationInfo& application_info(const std::string& arch);
// The row whose Keras model name is `model_name` (a loaded file's Model::name), or null.
const ApplicationInfo* application_for_model(const std::string& model_name);
// application_info(arch).build(include_top).
Model application(const std::string& arch, bool include_top);

}  // namespace convis
