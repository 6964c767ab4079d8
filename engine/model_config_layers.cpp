// One Keras layer's config JSON to a Layer: a case per Keras class (engine/model_layers.cpp has
// what each does). The model around them, and the graph, are read in engine/model_config.cpp.
#include <stdexcept>

#include "engine/model_config_json.h"

namespace convis::config_json {

Layer layer_from_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("model_config: a layer is " + shown(j) + ", not an object");
  Layer l;
  l.class_name = string_or(j, "class_name", "");
  const json& cfg = config_of(j);
  l.name = name_of(j);
  if (l.name.empty()) throw std::invalid_argument("model_config: a layer (" + shown(l.class_name) + ") has no name");
  const std::string& cls = l.class_name;
  const std::string& name = l.name;
  if (cls == "InputLayer") {
    l.type = LayerType::input;
  } else if (cls == "Conv2D") {
    l.type = LayerType::conv2d;
    require_channels_last(cfg, name, cls);
    l.filters = int_field(cfg, "filters", name, cls);
    pair_of(cfg, "kernel_size", l.kernel_h, l.kernel_w, name, cls, 1);
    pair_of(cfg, "strides", l.stride_h, l.stride_w, name, cls, 1);
    int dh, dw;
    pair_of(cfg, "dilation_rate", dh, dw, name, cls, 1);
    if (dh != 1 || dw != 1) fail(name, cls, "dilation_rate " + shown(*field(cfg, "dilation_rate")) + " is not supported (1 only)");
    const json* groups = field(cfg, "groups");
    int g = 1;
    if (groups && (!int_in(*groups, 1, kIntMax, g) || g != 1)) fail(name, cls, "groups " + shown(*groups) + " is not supported (1 only)");
    l.padding = padding_of(cfg, name, cls);
    l.use_bias = bool_or(cfg, "use_bias", true, name, cls);
    l.activation = activation_of(cfg, name, cls);
  } else if (cls == "MaxPooling2D" || cls == "AveragePooling2D") {
    l.type = cls == "MaxPooling2D" ? LayerType::max_pool2d : LayerType::avg_pool2d;
    require_channels_last(cfg, name, cls);
    pair_of(cfg, "pool_size", l.kernel_h, l.kernel_w, name, cls, 2);
    if (field(cfg, "strides")) pair_of(cfg, "strides", l.stride_h, l.stride_w, name, cls, 1);
    else { l.stride_h = l.kernel_h; l.stride_w = l.kernel_w; }  // Keras: strides default to pool_size
    l.padding = padding_of(cfg, name, cls);
  } else if (cls == "GlobalAveragePooling2D" || cls == "GlobalMaxPooling2D") {
    l.type = cls == "GlobalAveragePooling2D" ? LayerType::global_avg_pool2d : LayerType::global_max_pool2d;
    require_channels_last(cfg, name, cls);
    if (bool_or(cfg, "keepdims", false, name, cls)) fail(name, cls, "keepdims=true is not supported");
  } else if (cls == "Dense") {
    l.type = LayerType::dense;
    l.units = int_field(cfg, "units", name, cls);
    l.use_bias = bool_or(cfg, "use_bias", true, name, cls);
    l.activation = activation_of(cfg, name, cls);
  } else if (cls == "Flatten") {
    l.type = LayerType::flatten;
    require_channels_last(cfg, name, cls);
  } else if (cls == "Dropout") {
    l.type = LayerType::dropout;
    l.dropout_rate = float_or(cfg, "rate", 0.f, name, cls);
  } else if (cls == "BatchNormalization") {
    l.type = LayerType::batch_norm;
    const json* a = field(cfg, "axis");
    const json axis = a ? *a : json(-1);
    const bool last_axis = axis == json(-1) || axis == json(3) || axis == json::array({-1}) || axis == json::array({3});
    if (!last_axis) fail(name, cls, "axis " + shown(axis) + " is not supported (the channel axis, -1, only)");
    l.epsilon = float_or(cfg, "epsilon", 1e-3f, name, cls);
    l.bn_center = bool_or(cfg, "center", true, name, cls);
    l.bn_scale = bool_or(cfg, "scale", true, name, cls);
  } else if (cls == "Activation") {
    l.type = LayerType::activation;
    l.activation = activation_of(cfg, name, cls);
  } else if (cls == "ReLU") {
    l.type = LayerType::activation;
    l.activation = Activation::relu;
    const bool plain = !field(cfg, "max_value") && float_or(cfg, "negative_slope", 0.f, name, cls) == 0.f &&
                       float_or(cfg, "threshold", 0.f, name, cls) == 0.f;
    if (!plain) fail(name, cls, "only the plain ReLU (no max_value, negative_slope, threshold) is supported");
  } else if (cls == "LeakyReLU") {
    l.type = LayerType::leaky_relu;
    l.alpha = field(cfg, "negative_slope") ? float_or(cfg, "negative_slope", 0.3f, name, cls)
                                           : float_or(cfg, "alpha", 0.3f, name, cls);
  } else if (cls == "Softmax") {
    l.type = LayerType::activation;
    l.activation = Activation::softmax;
    const json* a = field(cfg, "axis");
    if (a && *a != json(-1)) fail(name, cls, "axis " + shown(*a) + " is not supported (-1 only)");
  } else {
    fail(name, cls,
         "class '" + shown(cls) + "' is not supported (supported: InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, "
         "GlobalAveragePooling2D, GlobalMaxPooling2D, Dense, Flatten, Dropout, BatchNormalization, Activation, "
         "ReLU, LeakyReLU, Softmax)");
  }
  return l;
}

}  // namespace convis::config_json
