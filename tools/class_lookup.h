#pragma once
// Finding and reading the class index that names a model's outputs, shared by the commands that
// print classes (classify, saliency, occlusion).
#include <cstdint>
#include <string>
#include <vector>

#include "engine/class_index.h"
#include "engine/model.h"
#include "tools/cli.h"

namespace convis::cli {

// --classes, else a class index beside the weights whose name the weights' name starts with
// (darknet_tiny_imagenet.h5 -> darknet_tiny_class_index.json), else, for VGG16, the Keras index
// that weights/fetch_vgg16.sh fetches next to the weights. Empty: none found.
std::string find_class_index(const Args& args, const std::string& weights_path, const Model& m);

// The labels of a model with K outputs, or none (labels empty) when no index is found.
struct ClassNames {
  std::string path;                // the index file read, or ""
  std::vector<ClassLabel> labels;  // empty or K entries

  // "espresso" or, without an index, "class 967".
  std::string name(int c) const;
  // An index in [0, K) from "967" or, with an index, a class name ("espresso") or WordNet id;
  // UsageError naming the valid range otherwise.
  int parse(const std::string& text, int64_t K, const char* command) const;
};

// Reads the index find_class_index picks; throws when its size is not K.
ClassNames load_class_names(const Args& args, const std::string& weights_path, const Model& m, int64_t K);

}  // namespace convis::cli
