#pragma once
// What each layer type does, one place per type: its output shape for its input shapes (with the
// checks of its parameters against hostile files), the weights it needs, and the op it applies.
// Model (engine/model.cpp) walks the graph and calls these; adding a Keras layer class is a case
// here and one in engine/model_config_layers.cpp (its JSON).
#include <vector>

#include "engine/model.h"

namespace convis {

// The per-sample output shape of l for the per-sample shapes of its inputs (as many as the layer
// reads). Checks the layer's parameters and the input count and ranks; throws naming the layer.
Shape layer_output_shape(const Layer& l, const std::vector<Shape>& in);

// The layer's op on its inputs (N, ...). With activate false, the layer's own activation (a
// Conv2D's ReLU, an Activation layer) is left out.
Var apply_layer(const Layer& l, const std::vector<Var>& in, bool activate);

// y passed through an activation function.
Var apply_activation(const Var& y, Activation a, bool gelu_approximate = false);

// True for the layers that read two or more inputs (Add, Concatenate, ...).
bool is_merge(LayerType t);

}  // namespace convis
