#pragma once
// Keras-style class index files: {"0": ["n01440764", "tench"], "1": [...], ...}, the format
// keras.applications' decode_predictions reads. A plain JSON list of names is accepted too.
#include <string>
#include <vector>

namespace convis {

struct ClassLabel {
  std::string id;    // WordNet id such as "n02124075" (empty when the file has only names)
  std::string name;  // "Egyptian_cat"
};

// Throws naming the file when it is missing, not JSON, or has gaps in its indices.
std::vector<ClassLabel> read_class_index(const std::string& path);

}  // namespace convis
