#pragma once
// What the diagram drawings share (vis/diagram.cpp: boxes, layered and flat views;
// vis/diagram_graph.cpp: the graph view of models with branches). Not part of the vis API.
#include <cstdint>
#include <string>
#include <vector>

#include "vis/canvas.h"
#include "vis/diagram.h"

namespace convis::diagram_detail {

extern const Rgb kInk, kMuted, kLeader;

std::string kind(const Layer& l);  // "Conv2D (relu)", "ReLU", "Activation (tanh)"
Rgb type_colour(LayerType t);
Rgb lighter(Rgb c, float t);
Rgb darker(Rgb c, float t);
std::string with_commas(int64_t v);
std::string shape_text(const Shape& s, const char* sep);
std::string fit(const std::string& text, int px, int max_w);  // shortened with ".." to max_w pixels
void line(Canvas& c, int x0, int y0, int x1, int y1, Rgb colour);
// The legend under a drawing; with c null, only measures. Returns its height.
int draw_legend(Canvas* c, int x0, int y0, int max_w, const std::vector<DiagramBox>& boxes, const std::string& note);
std::string fold_note(const Model& m, const std::vector<DiagramBox>& boxes);
void arrow_head_down(Canvas& c, int x, int y, Rgb colour);  // a 5-pixel head, its tip at (x, y)

// The page the flat and graph views draw on: title and details on top, then grid_h pixels from
// grid_top for the boxes, then the legend. finish_box_page draws the legend.
struct BoxPage {
  Canvas canvas;
  int grid_top = 0, legend_top = 0, margin = 24;
  std::string note;
};
BoxPage start_box_page(const Model& m, const std::vector<DiagramBox>& boxes, const std::string& title,
                       const std::string& details, int width, int grid_h);
void finish_box_page(BoxPage& page, const std::vector<DiagramBox>& boxes);

// The graph view: boxes in rows by their depth from the input, side by side where the model
// branches, each input drawn as an arrow (skips that jump rows run down a lane on the right).
Canvas draw_graph(const Model& m, const std::vector<DiagramBox>& boxes, const std::string& title,
                  const std::string& details);

}  // namespace convis::diagram_detail
