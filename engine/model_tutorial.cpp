// The Keras tutorial CNN ("Convolutional Neural Network (CNN)", tensorflow.org/tutorials/images/cnn)
// with a 28x28x1 input, as convis trains it on Fashion-MNIST:
//
//   model = models.Sequential()
//   model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
//   model.add(layers.MaxPooling2D((2, 2)))
//   model.add(layers.Conv2D(64, (3, 3), activation='relu'))
//   model.add(layers.MaxPooling2D((2, 2)))
//   model.add(layers.Conv2D(64, (3, 3), activation='relu'))
//   model.add(layers.Flatten())
//   model.add(layers.Dense(64, activation='relu'))
//   model.add(layers.Dense(10, activation='softmax'))
//
// Shapes (valid padding): 28 -> 26 -> 13 -> 11 -> 5 -> 3, flatten 3*3*64 = 576.
// Parameters: 320 + 18,496 + 36,928 + 36,928 + 650 = 93,322.
#include "engine/model.h"

namespace convis {

namespace {

Layer conv_layer(const char* name, int filters) {
  Layer l;
  l.name = name;
  l.class_name = "Conv2D";
  l.type = LayerType::conv2d;
  l.filters = filters;
  l.kernel_h = l.kernel_w = 3;
  l.padding = Padding::valid;
  l.activation = Activation::relu;
  return l;
}

Layer pool_layer(const char* name) {
  Layer l;
  l.name = name;
  l.class_name = "MaxPooling2D";
  l.type = LayerType::max_pool2d;
  l.kernel_h = l.kernel_w = l.stride_h = l.stride_w = 2;
  l.padding = Padding::valid;
  return l;
}

Layer dense_layer(const char* name, int units, Activation a) {
  Layer l;
  l.name = name;
  l.class_name = "Dense";
  l.type = LayerType::dense;
  l.units = units;
  l.activation = a;
  return l;
}

}  // namespace

Model keras_tutorial_cnn() {
  Model m;
  m.name = "sequential";  // Keras' name for the first Sequential of a session
  m.input_h = m.input_w = 28;
  m.input_c = 1;
  Layer in;
  in.name = "conv2d_input";  // what Keras 2.11's Sequential calls the input it creates for conv2d
  in.class_name = "InputLayer";
  m.layers.push_back(in);
  m.layers.push_back(conv_layer("conv2d", 32));
  m.layers.push_back(pool_layer("max_pooling2d"));
  m.layers.push_back(conv_layer("conv2d_1", 64));
  m.layers.push_back(pool_layer("max_pooling2d_1"));
  m.layers.push_back(conv_layer("conv2d_2", 64));
  Layer f;
  f.name = "flatten";
  f.class_name = "Flatten";
  f.type = LayerType::flatten;
  m.layers.push_back(f);
  m.layers.push_back(dense_layer("dense", 64, Activation::relu));
  m.layers.push_back(dense_layer("dense_1", 10, Activation::softmax));
  m.build(28, 28);
  return m;
}

}  // namespace convis
