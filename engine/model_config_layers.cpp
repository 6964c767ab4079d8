// One Keras layer's config JSON to a Layer: a table of Keras classes, each with the function that
// reads its config (Keras 2 and Keras 3 keys alike); engine/model_layers.cpp has what each does.
// The model around them, and the graph, are read in engine/model_config.cpp.
//
// Adding a class: a function here and a row in kClasses, a case in model_layers.cpp's
// layer_output_shape / apply_layer, and one in model_config_write.cpp's layer_to_json.
#include <cmath>
#include <limits>
#include <stdexcept>

#include "engine/model_config_json.h"

namespace convis::config_json {

namespace {

// ---- helpers shared by several classes (every value is hostile: checked before use) ----------

[[noreturn]] void fail_at(const Layer& l, const std::string& what) { fail(l.name, l.class_name, what); }

// An integer in [lo, hi] at cfg[key], or fallback when absent.
int int_or(const json& cfg, const char* key, int fallback, int64_t lo, int64_t hi, const Layer& l) {
  const json* v = field(cfg, key);
  if (!v) return fallback;
  int out = 0;
  if (!int_in(*v, lo, hi, out))
    fail_at(l, std::string("'") + key + "' must be an integer from " + std::to_string(lo) + " to " +
                   std::to_string(hi) + ", got " + shown(*v));
  return out;
}

// Keras' axis: an integer or a list holding one. The axis' fit to the input is checked at build.
int axis_of(const json& cfg, int fallback, const Layer& l) {
  const json* v = field(cfg, "axis");
  if (!v) return fallback;
  const json& a = v->is_array() && v->size() == 1 ? (*v)[0] : *v;
  int out = 0;
  if (!int_in(a, -8, 8, out)) fail_at(l, "axis " + shown(*v) + " is not an integer axis (or a list of one)");
  return out;
}

// A list of integers in [lo, hi], at most max_len of them.
std::vector<int64_t> int_list(const json& cfg, const char* key, int64_t lo, int64_t hi, size_t max_len, const Layer& l) {
  const json* v = field(cfg, key);
  if (!v || !v->is_array() || v->empty() || v->size() > max_len)
    fail_at(l, std::string("'") + key + "' must be a list of 1 to " + std::to_string(max_len) + " integers, got " +
                   (v ? shown(*v) : std::string("nothing")));
  std::vector<int64_t> out;
  for (const json& e : *v) {
    int x = 0;
    if (!int_in(e, lo, hi, x))
      fail_at(l, std::string("'") + key + "' has " + shown(e) + ", expected integers from " + std::to_string(lo) +
                     " to " + std::to_string(hi));
    out.push_back(x);
  }
  return out;
}

// ZeroPadding2D's padding and Cropping2D's cropping: n (all four sides), [h, w] (symmetric), or
// [[top, bottom], [left, right]]; every size 0 or more.
void border_of(const json& cfg, const char* key, int fallback, Layer& l) {
  const json* v = field(cfg, key);
  int t = fallback, b = fallback, le = fallback, r = fallback;
  auto size = [&](const json& e, int& out) { return int_in(e, 0, kIntMax, out); };
  auto pair = [&](const json& e, int& x, int& y) {
    if (size(e, x)) { y = x; return true; }
    return e.is_array() && e.size() == 2 && size(e[0], x) && size(e[1], y);
  };
  if (v && !size(*v, t)) {
    if (!(v->is_array() && v->size() == 2 && pair((*v)[0], t, b) && pair((*v)[1], le, r)))
      fail_at(l, std::string("'") + key + "' must be n, [height, width] or [[top, bottom], [left, right]] with sizes " +
                     "from 0 to " + std::to_string(kIntMax) + ", got " + shown(*v));
  } else if (v) {
    b = le = r = t;
  }
  l.pad_top = t;
  l.pad_bottom = b;
  l.pad_left = le;
  l.pad_right = r;
}

// What Conv2D, DepthwiseConv2D and SeparableConv2D share: kernel, strides, padding, no dilation,
// one group, channels last, the bias switch and the activation.
void conv_keys(const json& cfg, Layer& l) {
  const std::string& name = l.name;
  const std::string& cls = l.class_name;
  require_channels_last(cfg, name, cls);
  pair_of(cfg, "kernel_size", l.kernel_h, l.kernel_w, name, cls, 1);
  pair_of(cfg, "strides", l.stride_h, l.stride_w, name, cls, 1);
  int dh, dw;
  pair_of(cfg, "dilation_rate", dh, dw, name, cls, 1);
  if (dh != 1 || dw != 1) fail_at(l, "dilation_rate " + shown(*field(cfg, "dilation_rate")) + " is not supported (1 only)");
  if (int_or(cfg, "groups", 1, 1, kIntMax, l) != 1)
    fail_at(l, "groups " + shown(*field(cfg, "groups")) + " is not supported (1 only)");
  l.padding = padding_of(cfg, name, cls);
  l.use_bias = bool_or(cfg, "use_bias", true, name, cls);
  l.activation = activation_of(cfg, name, cls);
}

// A number or a flat list of numbers (Normalization's mean and variance), as a (k) tensor.
Tensor numbers_of(const json& v, const char* key, const Layer& l) {
  std::vector<float> out;
  auto take = [&](const json& e) {
    if (!e.is_number() || !(std::fabs(e.get<double>()) < 1e30))
      fail_at(l, std::string("'") + key + "' has " + shown(e) + ", expected finite numbers");
    out.push_back(float(e.get<double>()));
  };
  if (v.is_array()) {
    if (v.empty() || v.size() > 65536)
      fail_at(l, std::string("'") + key + "' has " + std::to_string(v.size()) + " values, expected 1 to 65536");
    for (const json& e : v) take(e);
  } else {
    take(v);
  }
  return Tensor::from(Shape{int64_t(out.size())}, out);
}

// ---- one function per Keras class --------------------------------------------------------------

void input_layer(const json&, Layer& l) { l.type = LayerType::input; }

void conv2d(const json& cfg, Layer& l) {
  l.type = LayerType::conv2d;
  l.filters = int_field(cfg, "filters", l.name, l.class_name);
  conv_keys(cfg, l);
}

void depthwise_conv2d(const json& cfg, Layer& l) {
  l.type = LayerType::depthwise_conv2d;
  conv_keys(cfg, l);
  l.depth_multiplier = int_or(cfg, "depth_multiplier", 1, 1, kIntMax, l);
}

void separable_conv2d(const json& cfg, Layer& l) {
  l.type = LayerType::separable_conv2d;
  l.filters = int_field(cfg, "filters", l.name, l.class_name);
  conv_keys(cfg, l);
  l.depth_multiplier = int_or(cfg, "depth_multiplier", 1, 1, kIntMax, l);
}

void pooling2d(const json& cfg, Layer& l) {
  l.type = l.class_name == "MaxPooling2D" ? LayerType::max_pool2d : LayerType::avg_pool2d;
  require_channels_last(cfg, l.name, l.class_name);
  pair_of(cfg, "pool_size", l.kernel_h, l.kernel_w, l.name, l.class_name, 2);
  if (field(cfg, "strides")) pair_of(cfg, "strides", l.stride_h, l.stride_w, l.name, l.class_name, 1);
  else { l.stride_h = l.kernel_h; l.stride_w = l.kernel_w; }  // Keras: strides default to pool_size
  l.padding = padding_of(cfg, l.name, l.class_name);
}

void global_pooling2d(const json& cfg, Layer& l) {
  l.type = l.class_name == "GlobalAveragePooling2D" ? LayerType::global_avg_pool2d : LayerType::global_max_pool2d;
  require_channels_last(cfg, l.name, l.class_name);
  l.keepdims = bool_or(cfg, "keepdims", false, l.name, l.class_name);
}

void dense(const json& cfg, Layer& l) {
  l.type = LayerType::dense;
  l.units = int_field(cfg, "units", l.name, l.class_name);
  l.use_bias = bool_or(cfg, "use_bias", true, l.name, l.class_name);
  l.activation = activation_of(cfg, l.name, l.class_name);
}

void flatten(const json& cfg, Layer& l) {
  l.type = LayerType::flatten;
  require_channels_last(cfg, l.name, l.class_name);
}

// Dropout and the other layers that only act in training: identities at inference.
void dropout(const json& cfg, Layer& l) {
  l.type = LayerType::dropout;
  if (l.class_name == "GaussianNoise") l.dropout_rate = float_or(cfg, "stddev", 0.f, l.name, l.class_name);
  else if (l.class_name != "ActivityRegularization") l.dropout_rate = float_or(cfg, "rate", 0.f, l.name, l.class_name);
}

void batch_norm(const json& cfg, Layer& l) {
  l.type = LayerType::batch_norm;
  l.axis = axis_of(cfg, -1, l);
  l.epsilon = float_or(cfg, "epsilon", 1e-3f, l.name, l.class_name);
  l.bn_center = bool_or(cfg, "center", true, l.name, l.class_name);
  l.bn_scale = bool_or(cfg, "scale", true, l.name, l.class_name);
}

void activation(const json& cfg, Layer& l) {
  l.type = LayerType::activation;
  l.activation = activation_of(cfg, l.name, l.class_name);
}

// The plain ReLU stays an Activation('relu') (what vis/ treats as a model's nonlinearity);
// with a cap, threshold or slope it is the ReLU layer's own op.
void relu(const json& cfg, Layer& l) {
  const json* cap = field(cfg, "max_value");
  if (cap && !cap->is_number()) fail_at(l, "max_value must be a number or null, got " + shown(*cap));
  l.max_value = cap ? float_or(cfg, "max_value", 0.f, l.name, l.class_name) : std::numeric_limits<float>::infinity();
  l.negative_slope = float_or(cfg, "negative_slope", 0.f, l.name, l.class_name);
  l.threshold = float_or(cfg, "threshold", 0.f, l.name, l.class_name);
  // Keras refuses these too (keras.layers.ReLU's checks).
  if (l.max_value < 0.f) fail_at(l, "max_value " + shown(*cap) + " is negative");
  if (l.negative_slope < 0.f) fail_at(l, "negative_slope " + shown(*field(cfg, "negative_slope")) + " is negative");
  if (l.threshold < 0.f) fail_at(l, "threshold " + shown(*field(cfg, "threshold")) + " is negative");
  const bool plain = !cap && l.negative_slope == 0.f && l.threshold == 0.f;
  l.type = plain ? LayerType::activation : LayerType::relu;
  l.activation = plain ? Activation::relu : Activation::linear;
}

void leaky_relu(const json& cfg, Layer& l) {
  l.type = LayerType::leaky_relu;
  l.alpha = field(cfg, "negative_slope") ? float_or(cfg, "negative_slope", 0.3f, l.name, l.class_name)
                                         : float_or(cfg, "alpha", 0.3f, l.name, l.class_name);
}

void softmax(const json& cfg, Layer& l) {
  l.type = LayerType::activation;
  l.activation = Activation::softmax;
  const json* a = field(cfg, "axis");
  if (a && *a != json(-1) && *a != json::array({-1})) fail_at(l, "axis " + shown(*a) + " is not supported (-1 only)");
}

void merge(const json& cfg, Layer& l) {
  const std::string& c = l.class_name;
  l.type = c == "Add" ? LayerType::add : c == "Subtract" ? LayerType::subtract : c == "Multiply" ? LayerType::multiply
         : c == "Average" ? LayerType::average : c == "Maximum" ? LayerType::maximum : LayerType::concatenate;
  if (l.type == LayerType::concatenate) l.axis = axis_of(cfg, -1, l);
}

void zero_padding2d(const json& cfg, Layer& l) {
  l.type = LayerType::zero_padding2d;
  require_channels_last(cfg, l.name, l.class_name);
  border_of(cfg, "padding", 1, l);
}

void cropping2d(const json& cfg, Layer& l) {
  l.type = LayerType::cropping2d;
  require_channels_last(cfg, l.name, l.class_name);
  border_of(cfg, "cropping", 0, l);
}

void upsampling2d(const json& cfg, Layer& l) {
  l.type = LayerType::upsampling2d;
  require_channels_last(cfg, l.name, l.class_name);
  pair_of(cfg, "size", l.size_h, l.size_w, l.name, l.class_name, 2);
  const json* how = field(cfg, "interpolation");
  if (how && !(how->is_string() && (*how == "nearest" || *how == "bilinear")))
    fail_at(l, "interpolation " + shown(*how) + " is not supported (nearest, bilinear)");
  l.bilinear = how && *how == "bilinear";
}

void reshape(const json& cfg, Layer& l) {
  l.type = LayerType::reshape;
  l.target_shape = int_list(cfg, "target_shape", -1, kIntMax, 8, l);  // sizes checked at build
}

void permute(const json& cfg, Layer& l) {
  l.type = LayerType::permute;
  l.target_shape = int_list(cfg, "dims", 1, 8, 8, l);  // a permutation of the input's axes: checked at build
}

void rescaling(const json& cfg, Layer& l) {
  l.type = LayerType::rescaling;
  for (const char* key : {"scale", "offset"}) {
    const json* v = field(cfg, key);
    if (v && !v->is_number())
      fail_at(l, std::string("'") + key + "' must be one number (a value per channel is not supported), got " + shown(*v));
  }
  l.scale = float_or(cfg, "scale", 1.f, l.name, l.class_name);
  l.offset = float_or(cfg, "offset", 0.f, l.name, l.class_name);
}

// Keras' Normalization: its mean and variance are weights (adapted, in the file), or numbers in
// the config, which become the layer's weights here, as a (C) list or one (1) value for all.
void normalization(const json& cfg, Layer& l) {
  l.type = LayerType::normalization;
  const json* a = field(cfg, "axis");
  if (a && a->is_array() && a->empty()) fail_at(l, "axis [] is not supported (the last axis only)");
  if (!a && cfg.is_object() && cfg.contains("axis")) fail_at(l, "axis null is not supported (the last axis only)");
  l.axis = axis_of(cfg, -1, l);  // must be the input's last axis: checked at build
  if (bool_or(cfg, "invert", false, l.name, l.class_name)) fail_at(l, "invert=true is not supported");
  const json* mean = field(cfg, "mean");
  const json* var = field(cfg, "variance");
  if (!mean && !var) return;
  if (!mean || !var) fail_at(l, "has a mean or a variance but not both (Keras needs both)");
  Tensor m = numbers_of(*mean, "mean", l), v = numbers_of(*var, "variance", l);
  if (m.shape() != v.shape())
    fail_at(l, "mean " + m.shape().str() + " and variance " + v.shape().str() + " have different sizes");
  for (int64_t i = 0; i < v.numel(); ++i)
    if (v[i] < 0.f) fail_at(l, "variance " + shown(*var) + " has a negative value");
  l.weights = {Var::constant(m), Var::constant(v), Var::constant(Tensor::scalar(0.f))};
  l.weight_names = {"mean:0", "variance:0", "count:0"};
}

struct KerasClass {
  const char* name;
  void (*read)(const json& cfg, Layer& l);
};

constexpr KerasClass kClasses[] = {
    {"InputLayer", input_layer},
    {"Conv2D", conv2d},
    {"DepthwiseConv2D", depthwise_conv2d},
    {"SeparableConv2D", separable_conv2d},
    {"MaxPooling2D", pooling2d},
    {"AveragePooling2D", pooling2d},
    {"GlobalAveragePooling2D", global_pooling2d},
    {"GlobalMaxPooling2D", global_pooling2d},
    {"Dense", dense},
    {"Flatten", flatten},
    {"Dropout", dropout},
    {"SpatialDropout1D", dropout},
    {"SpatialDropout2D", dropout},
    {"SpatialDropout3D", dropout},
    {"GaussianNoise", dropout},
    {"GaussianDropout", dropout},
    {"AlphaDropout", dropout},
    {"ActivityRegularization", dropout},
    {"BatchNormalization", batch_norm},
    {"Activation", activation},
    {"ReLU", relu},
    {"LeakyReLU", leaky_relu},
    {"Softmax", softmax},
    {"Add", merge},
    {"Subtract", merge},
    {"Multiply", merge},
    {"Average", merge},
    {"Maximum", merge},
    {"Concatenate", merge},
    {"ZeroPadding2D", zero_padding2d},
    {"Cropping2D", cropping2d},
    {"UpSampling2D", upsampling2d},
    {"Reshape", reshape},
    {"Permute", permute},
    {"Rescaling", rescaling},
    {"Normalization", normalization},
};

}  // namespace

Layer layer_from_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("model_config: a layer is " + shown(j) + ", not an object");
  Layer l;
  l.class_name = string_or(j, "class_name", "");
  l.name = name_of(j);
  if (l.name.empty()) throw std::invalid_argument("model_config: a layer (" + shown(l.class_name) + ") has no name");
  for (const KerasClass& k : kClasses)
    if (l.class_name == k.name) {
      k.read(config_of(j), l);
      return l;
    }
  std::string all;
  for (const KerasClass& k : kClasses) all += (all.empty() ? "" : ", ") + std::string(k.name);
  fail_at(l, "class '" + shown(l.class_name) + "' is not supported (supported: " + all + ")");
}

}  // namespace convis::config_json
