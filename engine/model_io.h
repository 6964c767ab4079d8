#pragma once
// Loading and saving whole models:
//   - a Keras 2 model.save() file (model_config + model_weights): the model it describes;
//   - a bare weights file (keras.applications, save_weights(), Keras 3 .weights.h5): matched to
//     the built-in VGG16 (with or without the top) by its layer names and shapes.
#include <cstdint>
#include <string>

#include "engine/keras_h5.h"
#include "engine/model.h"

namespace convis {

// `spec` is a path, or an alias: `vgg16` / `vgg16-notop` (the official files fetched into
// weights/ by weights/fetch_vgg16.sh), `fashion` (weights/fashion_cnn.h5, the Keras tutorial CNN
// that vis_tool train made on Fashion-MNIST). input_h/w choose the size of a model whose spatial input
// is free (0: 224). Weights are frozen (requires_grad false); call set_trainable(true) to train.
Model load_model(const std::string& spec, int input_h = 0, int input_w = 0);

// The path an alias (vgg16, vgg16-notop, fashion) stands for, or spec itself. Aliases resolve under
// weights_dir(): $CONVIS_WEIGHTS_DIR when set, else the default a program sets (vis_tool: the
// weights/ folder of the tree it was built from), else "weights" in the working directory. The
// library itself knows no source tree.
std::string resolve_weights_path(const std::string& spec);
std::string weights_dir();
void set_default_weights_dir(const std::string& dir);

// Puts the file's weights into m's layers (matched by layer name), checking counts and shapes:
//   weights file 'x.h5': layer 'block3_conv2' kernel is (3, 3, 128, 256), model expects (3, 3, 256, 256)
void assign_weights(Model& m, const KerasFile& f);

// The model's weights as Keras writes them in `layout` (keras1 names W_1:0/b_1:0, keras2/model
// names kernel:0/bias:0, keras3 vars/i), every layer listed, weightless ones with no weights.
std::vector<LayerWeights> model_weights(const Model& m, KerasLayout layout);

// Writes m in `layout`; KerasLayout::model also writes model_config (a Keras 2 model.save() file).
// Atomic: a failed write leaves no file and never a half-replaced one.
void save_model(const Model& m, const std::string& path, KerasLayout layout = KerasLayout::model);

}  // namespace convis
