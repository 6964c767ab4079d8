#pragma once
// How pixel values in 0..255 become model inputs: the preprocessing modes of keras.applications
// and torchvision, one row of a table each (preprocess.cpp), and every use reads that row:
//
//   input[k] = (pixel[from(k)] / divisor - mean[k]) / std[k]
//
// from(k) = 2 - k where the mode wants BGR from RGB (caffe, three channels), else k. A grey
// (one-channel) input uses the row's grey_channel of mean and std, or none (mean 0, std 1).
#include <string>

#include "engine/model.h"
#include "engine/tensor.h"

namespace convis {

enum class Preprocess {
  caffe,  // keras.applications VGG16/ResNet50: RGB -> BGR, subtract the ImageNet BGR means 103.939, 116.779, 123.68
  unit,   // x / 255
  tf,     // x / 127.5 - 1
  torch,  // x / 255, then (x - mean) / std with ImageNet's RGB mean 0.485, 0.456, 0.406 and std 0.229, 0.224, 0.225
};

struct PreprocessMode {
  Preprocess mode;
  const char* name;
  bool bgr;         // input channel k reads pixel channel 2 - k (three channels)
  float divisor;
  float mean[3];    // per input channel, after the division
  float std[3];
  int grey_channel;  // which mean / std a one-channel input takes; -1: none
};
const PreprocessMode& preprocess_mode(Preprocess p);

Preprocess parse_preprocess(const std::string& name);  // throws listing the valid names
// The mode a model was trained with: keras.applications models (recognised by the name Keras
// gives them) their preprocess_input mode (caffe for VGG16 and ResNet50, tf for MobileNetV2,
// InceptionV3 and Xception, torch for DenseNet121); unit (x/255) otherwise.
Preprocess default_preprocess(const Model& m);
const char* preprocess_name(Preprocess p);

// (h, w, c) pixels in 0..255 -> a (1, h, w, c) model input, in place of a copy.
Tensor preprocess(const Tensor& hwc, Preprocess mode);

// The same map as a per-pixel affine map for mix_channels (engine/ops_image.h):
// input = pixels M + b, M:(C, C), b:(C), so that it can sit on the tape (activation maximisation).
void preprocess_affine(Preprocess p, int channels, Tensor* m, Tensor* b);

// The pixel value (0..255) of channel c of a `channels`-channel image that preprocessing maps to
// an input of 0: "no information" for a model trained on that preprocessing (unit: 0, tf: 127.5,
// caffe: ImageNet's mean colour, torch: 255 * its mean).
float pixel_of_zero_input(Preprocess p, int c, int channels);

// ImageNet's mean colour in pixels 0..255, channel c of an RGB (channels 3) or grey image: the
// pixel that caffe preprocessing maps to 0 (grey: its G mean, 116.779).
float imagenet_mean_pixel(int c, int channels);

}  // namespace convis
