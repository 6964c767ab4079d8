#pragma once
// JSON helpers for reading Keras' model_config (engine/model_config.cpp: the model and its graph;
// engine/model_config_layers.cpp: one layer's config). Everything here reads JSON from a file.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/model.h"

namespace convis::config_json {

using json = nlohmann::json;

// Everything here reads JSON from a file: no unchecked operator[] on input, every type checked
// before get<>(), every integer range-checked, and anything echoed in a message shortened.
inline constexpr int kMaxDepth = 64;             // nesting of arrays and objects
inline constexpr size_t kMaxText = size_t(64) << 20;
inline constexpr size_t kMaxShown = 60;          // characters of a value quoted in a message

// A value as the message shows it: JSON text, at most kMaxShown characters.
inline std::string shown(const json& v) {
  std::string t = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (t.size() > kMaxShown) t = t.substr(0, kMaxShown) + "...";
  return t;
}
inline std::string shown(const std::string& s, size_t n = kMaxShown) { return s.size() > n ? s.substr(0, n) + "..." : s; }

[[noreturn]] inline void fail(const std::string& layer, const std::string& cls, const std::string& what) {
  throw std::invalid_argument("model_config: layer '" + shown(layer) + "' (" + shown(cls) + "): " + what);
}

// obj[key] when obj is an object that has it (and it is not null), else nullptr.
inline const json* field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

inline std::string string_or(const json& obj, const char* key, const std::string& fallback) {
  const json* v = field(obj, key);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

// An integer in [lo, hi], as Keras stores them (a JSON integer; never a float or a bool).
inline bool int_in(const json& v, int64_t lo, int64_t hi, int& out) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > uint64_t(hi)) return false;
    out = int(v.get<uint64_t>());
    return int64_t(out) >= lo;
  }
  if (!v.is_number_integer()) return false;
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) return false;
  out = int(x);
  return true;
}

inline constexpr int64_t kIntMax = 1 << 24;  // no size in a CNN config is larger

inline int int_field(const json& cfg, const char* key, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, key);
  int out = 0;
  if (!v) fail(layer, cls, std::string("'") + key + "' is missing");
  if (!int_in(*v, 1, kIntMax, out))
    fail(layer, cls, std::string("'") + key + "' must be an integer from 1 to " + std::to_string(kIntMax) + ", got " + shown(*v));
  return out;
}

inline bool bool_or(const json& cfg, const char* key, bool fallback, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(layer, cls, std::string("'") + key + "' must be true or false, got " + shown(*v));
  return v->get<bool>();
}

inline float float_or(const json& cfg, const char* key, float fallback, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, key);
  if (!v) return fallback;
  if (!v->is_number()) fail(layer, cls, std::string("'") + key + "' must be a number, got " + shown(*v));
  const double d = v->get<double>();
  if (!(d > -1e30 && d < 1e30)) fail(layer, cls, std::string("'") + key + "' is out of range: " + shown(*v));
  return float(d);
}

// Keras stores sizes as [h, w] lists, and accepts a single int.
inline void pair_of(const json& cfg, const char* key, int& a, int& b, const std::string& layer, const std::string& cls,
             int fallback) {
  const json* v = field(cfg, key);
  if (!v) { a = b = fallback; return; }
  if (int_in(*v, 1, kIntMax, a)) { b = a; return; }
  if (v->is_array() && v->size() == 2 && int_in((*v)[0], 1, kIntMax, a) && int_in((*v)[1], 1, kIntMax, b)) return;
  fail(layer, cls, std::string("'") + key + "' must be a positive int or a pair of them, got " + shown(*v));
}

inline Padding padding_of(const json& cfg, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, "padding");
  if (!v) return Padding::valid;
  if (v->is_string() && *v == "valid") return Padding::valid;
  if (v->is_string() && *v == "same") return Padding::same;
  fail(layer, cls, "padding " + shown(*v) + " is not supported (valid, same)");
}

inline void require_channels_last(const json& cfg, const std::string& layer, const std::string& cls) {
  const json* v = field(cfg, "data_format");
  if (v && !(v->is_string() && *v == "channels_last"))
    fail(layer, cls, "data_format " + shown(*v) + " is not supported (channels_last only)");
}

// A layer's activation: a name ("relu"), or an object that holds one, as Keras 3 writes some:
// {"module": "keras.activations", "class_name": "function", "config": "relu6", ...} or
// {"class_name": ..., "config": {"name": "relu6", ...}}.
inline Activation activation_of(const json& cfg, const std::string& layer, const std::string& cls) {
  const json* a = field(cfg, "activation");
  if (!a) return Activation::linear;
  if (a->is_string()) return parse_activation(shown(a->get<std::string>()), layer);
  const json* inner = a->is_object() ? field(*a, "config") : nullptr;
  if (inner && inner->is_string()) return parse_activation(shown(inner->get<std::string>()), layer);
  const json* name = inner ? field(*inner, "name") : nullptr;
  if (name && name->is_string()) return parse_activation(shown(name->get<std::string>()), layer);
  fail(layer, cls, "activation " + shown(*a) + " is not a name");
}

// Input shape [null, H, W, C] from an InputLayer's (or a first layer's) config.
inline bool input_shape_of(const json& cfg, Model& m) {
  for (const char* key : {"batch_input_shape", "batch_shape"}) {
    const json* s = field(cfg, key);
    if (!s || !s->is_array()) continue;
    if (s->size() != 4)
      throw std::invalid_argument("model_config: input shape " + shown(*s) + " is not (batch, height, width, channels)");
    int h = 0, w = 0, c = 0;
    const json& jh = (*s)[1];
    const json& jw = (*s)[2];
    const json& jc = (*s)[3];
    if ((!jh.is_null() && !int_in(jh, 1, kIntMax, h)) || (!jw.is_null() && !int_in(jw, 1, kIntMax, w)))
      throw std::invalid_argument("model_config: input shape " + shown(*s) + " has a size that is not a positive integer");
    if (jc.is_null()) throw std::invalid_argument("model_config: input shape " + shown(*s) + " has no channel count");
    if (!int_in(jc, 1, kIntMax, c))
      throw std::invalid_argument("model_config: input shape " + shown(*s) + " has a channel count that is not a positive integer");
    m.input_h = h;
    m.input_w = w;
    m.input_c = c;
    return true;
  }
  return false;
}

inline const json& config_of(const json& j) {
  static const json empty = json::object();
  const json* c = field(j, "config");
  return c && c->is_object() ? *c : empty;
}

inline std::string name_of(const json& j) {
  const std::string n = string_or(config_of(j), "name", string_or(j, "name", ""));
  return n;
}


// One layer's object {"class_name": ..., "config": {...}} to a Layer (no inputs, no weights).
// Throws std::invalid_argument naming the layer and its class for anything unsupported.
Layer layer_from_json(const json& j);

}  // namespace convis::config_json
