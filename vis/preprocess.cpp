// The preprocessing table: the one place the ImageNet statistics are written (see preprocess.h).
#include "vis/preprocess.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "engine/applications.h"

namespace convis {

namespace {

// In the order of the enum. torch's grey input is only x / 255: its statistics are RGB's.
const PreprocessMode kModes[] = {
    {Preprocess::caffe, "caffe", true, 1.f, {103.939f, 116.779f, 123.68f}, {1.f, 1.f, 1.f}, 1},
    {Preprocess::unit, "unit", false, 255.f, {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}, 0},
    {Preprocess::tf, "tf", false, 127.5f, {1.f, 1.f, 1.f}, {1.f, 1.f, 1.f}, 0},
    {Preprocess::torch, "torch", false, 255.f, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, -1},
};

// Input channel k of C: which pixel channel it reads, and its mean and std.
struct ChannelMap {
  int from;
  float mean, std;
};
ChannelMap channel_map(const PreprocessMode& r, int k, int C) {
  if (C == 3) return {r.bgr ? 2 - k : k, r.mean[k], r.std[k]};
  if (r.grey_channel < 0) return {k, 0.f, 1.f};
  return {k, r.mean[r.grey_channel], r.std[r.grey_channel]};
}

}  // namespace

const PreprocessMode& preprocess_mode(Preprocess p) {
  for (const PreprocessMode& r : kModes)
    if (r.mode == p) return r;
  throw std::invalid_argument("preprocess_mode: unknown mode " + std::to_string(int(p)));
}

Preprocess parse_preprocess(const std::string& name) {
  std::string names;
  for (const PreprocessMode& r : kModes) {
    if (name == r.name) return r.mode;
    names += (names.empty() ? "" : ", ") + std::string(r.name);
  }
  throw std::invalid_argument("unknown preprocessing '" + name + "' (" + names + ")");
}

// keras.applications models (by the name Keras gives them) use their preprocess_input's mode.
Preprocess default_preprocess(const Model& m) {
  const ApplicationInfo* a = application_for_model(m.name);
  return a ? parse_preprocess(a->preprocess) : Preprocess::unit;
}

const char* preprocess_name(Preprocess p) { return preprocess_mode(p).name; }

// (p / divisor - mean) / std as written: for unit, tf and torch this is x / 255, x / 127.5 - 1 and
// (x / 255 - mean) / std exactly (a division by 1 and a subtraction of 0 change no bit).
Tensor preprocess(const Tensor& hwc, Preprocess mode) {
  const int64_t h = hwc.dim(0), w = hwc.dim(1), c = hwc.dim(2);
  const PreprocessMode& r = preprocess_mode(mode);
  std::vector<ChannelMap> map;
  for (int64_t k = 0; k < c; ++k) map.push_back(channel_map(r, int(k), int(c)));
  Tensor x(Shape{1, h, w, c});
  const float* p = hwc.data();
  float* q = x.data();
  for (int64_t i = 0; i < h * w; ++i)
    for (int64_t k = 0; k < c; ++k) {
      const ChannelMap& a = map[size_t(k)];
      q[i * c + k] = (p[i * c + a.from] / r.divisor - a.mean) / a.std;
    }
  return x;
}

void preprocess_affine(Preprocess p, int channels, Tensor* m, Tensor* b) {
  const int C = channels;
  const PreprocessMode& r = preprocess_mode(p);
  *m = Tensor::zeros(Shape{C, C});
  *b = Tensor::zeros(Shape{C});
  for (int k = 0; k < C; ++k) {  // output channel k
    const ChannelMap a = channel_map(r, k, C);
    (*m)[a.from * C + k] = 1.f / (r.divisor * a.std);
    (*b)[k] = 0.f - a.mean / a.std;  // 0 - 0 is +0, as the zeros it replaces
  }
}

float pixel_of_zero_input(Preprocess p, int c, int channels) {
  const PreprocessMode& r = preprocess_mode(p);
  for (int k = 0; k < channels; ++k) {
    const ChannelMap a = channel_map(r, k, channels);
    if (a.from == c) return a.mean * r.divisor;  // (pixel / divisor - mean) / std = 0
  }
  throw std::invalid_argument("pixel_of_zero_input: channel " + std::to_string(c) + " of " + std::to_string(channels));
}

float imagenet_mean_pixel(int c, int channels) {
  const PreprocessMode& caffe = preprocess_mode(Preprocess::caffe);
  return channels == 3 ? caffe.mean[2 - c] : caffe.mean[caffe.grey_channel];
}

}  // namespace convis
