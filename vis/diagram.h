#pragma once
// Architecture diagrams: a picture of a model's layers, returned as a Canvas (vis_tool diagram
// writes it as a PNG; an HTML report can embed the same canvas).
//
//   layered: one 3-D box per layer, as visualkeras' layered view. The front face's height grows
//            with the spatial size (sqrt), its width with the channel count (log2), the top and
//            side faces (lighter / darker) give the depth; output shapes are written underneath.
//            In a graph, inputs other than the box just before are arcs over the boxes.
//   flat:    a left-to-right, wrapping list of boxes with name, type, output shape and parameters;
//            for a model with branches (ResNet, Inception), its graph: rows by depth, skips in lanes.
//
//   Model m = load_model("darknet_tiny_imagenet.h5");       // built, 224x224
//   Canvas c = draw_diagram(m, DiagramOptions{});           // 52 layers in 22 boxes
//   write_png(c, "out/diagram_layered.png");
#include <cstdint>
#include <string>
#include <vector>

#include "engine/model.h"
#include "vis/canvas.h"

namespace convis {

enum class DiagramStyle { layered, flat };
DiagramStyle parse_diagram_style(const std::string& name);  // throws listing the valid names

// One drawn box: a layer, and the pointwise layers folded into it (BatchNormalization, activations,
// LeakyReLU, Dropout that follow it and keep its shape).
struct DiagramBox {
  std::vector<int> layers;  // indices into Model::layers; layers[0] is the box's own layer
  std::string name;         // the first layer's name
  std::string label;        // its kind, with what was folded: "Conv2D + BatchNormalization + LeakyReLU"
  LayerType type = LayerType::input;
  Shape output;        // per sample: (H, W, C) or (units,)
  int64_t params = 0;  // all folded layers together
  std::vector<int> inputs;  // indices of the boxes whose last layer this box's first layer reads
};
// The boxes of a built model; fold = false gives one box per layer.
std::vector<DiagramBox> diagram_boxes(const Model& m, bool fold);

struct DiagramOptions {
  DiagramStyle style = DiagramStyle::layered;
  int fold = -1;      // -1: fold in the layered view and for graphs, not in a chain's flat one; 0 / 1: never / always
  std::string title;  // empty: the model's name, layer count, parameters and input size
};
// m must be built (Model::build); throws std::invalid_argument otherwise.
Canvas draw_diagram(const Model& m, const DiagramOptions& opt);

}  // namespace convis
