// Class index lookup for the commands that name classes.
#include "tools/class_lookup.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "engine/applications.h"

namespace convis::cli {

namespace fs = std::filesystem;

std::string find_class_index(const Args& args, const std::string& weights_path, const Model& m) {
  if (args.has("classes")) return args.get("classes", "");
  const fs::path w(weights_path);
  const std::string stem = w.stem().string();
  std::error_code ec;
  const fs::path dir = w.has_parent_path() ? w.parent_path() : fs::path(".");
  std::string best;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    const std::string suffix = "_class_index.json";
    if (n.size() <= suffix.size() || n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string prefix = n.substr(0, n.size() - suffix.size());
    if (stem.compare(0, prefix.size(), prefix) == 0 && prefix.size() > best.size()) best = prefix;
  }
  if (!best.empty()) return (dir / (best + "_class_index.json")).string();
  // keras.applications' ImageNet models: Keras' imagenet_class_index.json beside the weights
  // (where weights/fetch_*.sh put it).
  if (application_for_model(m.name)) {
    const fs::path keras = dir / "imagenet_class_index.json";
    if (fs::exists(keras, ec)) return keras.string();
  }
  return "";
}

std::string ClassNames::name(int c) const {
  if (c >= 0 && size_t(c) < labels.size()) return labels[size_t(c)].name;
  return "class " + std::to_string(c);
}

int ClassNames::parse(const std::string& text, int64_t K, const char* command) const {
  const std::string range = "0.." + std::to_string(K - 1);
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (!text.empty() && end && *end == '\0' && errno == 0) {
    if (v < 0 || v >= K)
      throw UsageError(std::string(command) + ": --class " + text + " is out of range: the model has " +
                       std::to_string(K) + " classes (" + range + ")");
    return int(v);
  }
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i].name == text || (!labels[i].id.empty() && labels[i].id == text)) return int(i);
  if (labels.empty())
    throw UsageError(std::string(command) + ": --class '" + text + "' is not an index in " + range +
                     " (no class index found to look names up; pass --classes FILE.json)");
  throw UsageError(std::string(command) + ": --class '" + text + "' is neither an index in " + range +
                   " nor a class name in '" + path + "'");
}

ClassNames load_class_names(const Args& args, const std::string& weights_path, const Model& m, int64_t K) {
  ClassNames names;
  names.path = find_class_index(args, weights_path, m);
  if (names.path.empty()) return names;
  names.labels = read_class_index(names.path);
  if (int64_t(names.labels.size()) != K)
    throw std::invalid_argument("class index '" + names.path + "' has " + std::to_string(names.labels.size()) +
                                " classes, the model outputs " + std::to_string(K));
  return names;
}

}  // namespace convis::cli
