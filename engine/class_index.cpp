#include "engine/class_index.h"

#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "engine/file_util.h"

namespace convis {

std::vector<ClassLabel> read_class_index(const std::string& path) {
  require_regular_file(path, "class index");
  std::ifstream in(path);
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("class index '" + path + "' is not valid JSON: " + e.what());
  }
  std::vector<ClassLabel> labels;
  if (j.is_array()) {
    for (const auto& v : j) labels.push_back({"", v.is_string() ? v.get<std::string>() : v.dump()});
    return labels;
  }
  if (!j.is_object()) throw std::runtime_error("class index '" + path + "': expected {\"0\": [id, name], ...}");
  labels.resize(j.size());
  for (auto it = j.begin(); it != j.end(); ++it) {
    size_t pos = 0;
    int k = -1;
    try {
      k = std::stoi(it.key(), &pos);
    } catch (...) {
    }
    if (k < 0 || pos != it.key().size() || size_t(k) >= labels.size())
      throw std::runtime_error("class index '" + path + "': key '" + it.key() + "' is not an index 0.." +
                               std::to_string(labels.size() - 1));
    const auto& v = it.value();
    if (v.is_array() && v.size() == 2 && v[0].is_string() && v[1].is_string())
      labels[size_t(k)] = {v[0], v[1]};
    else if (v.is_string())
      labels[size_t(k)] = {"", v};
    else
      throw std::runtime_error("class index '" + path + "': entry " + it.key() + " is not [id, name]");
  }
  return labels;
}

}  // namespace convis
