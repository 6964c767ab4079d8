#pragma once
// Keras' model_config JSON (the root attribute of a model.save() file) to and from a Model.
// Reads Keras 2 and Keras 3 configs of Sequential models and of Functional models that form a
// single chain; writes a Keras 2 Sequential config that Keras and convis read back.
#include <string>

#include "engine/model.h"

namespace convis {

// Layers without weights; shapes are not built. Throws std::invalid_argument naming the layer
// and its class for anything unsupported (a class convis does not know, a branching graph,
// channels_first, dilation, ...).
Model model_from_config(const std::string& json_text);
std::string model_to_config(const Model& m);

}  // namespace convis
