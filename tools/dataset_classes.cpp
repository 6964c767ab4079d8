// Class names for the dataset commands (see dataset_classes.h).
#include "tools/dataset_classes.h"

#include <cctype>

#include "engine/idx.h"

namespace convis::cli {

ClassNames fashion_class_names() {
  ClassNames n;
  n.path = "built-in Fashion-MNIST names";
  for (size_t i = 0; i < fashion_mnist_names().size(); ++i)
    n.labels.push_back(ClassLabel{fashion_mnist_ids()[i], fashion_mnist_names()[i]});
  return n;
}

ClassNames dataset_class_names(const Args& args, const std::string& weights_path, const Model& m, int64_t K) {
  ClassNames n = load_class_names(args, weights_path, m, K);
  if (n.labels.empty() && K == int64_t(fashion_mnist_names().size())) return fashion_class_names();
  return n;
}

std::string class_slug(const ClassNames& names, int c) {
  const std::string text = c >= 0 && size_t(c) < names.labels.size() && !names.labels[size_t(c)].id.empty()
                               ? names.labels[size_t(c)].id
                               : names.name(c);
  std::string slug;
  for (unsigned char ch : text) {
    if (std::isalnum(ch))
      slug += char(std::tolower(ch));
    else if (!slug.empty() && slug.back() != '_')
      slug += '_';
  }
  while (!slug.empty() && slug.back() == '_') slug.pop_back();
  return slug.empty() ? "class_" + std::to_string(c) : slug;
}

}  // namespace convis::cli
