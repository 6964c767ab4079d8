#pragma once
// Internal to vis/explain*.cpp: laying out numbers as aligned text blocks (a matrix, a window
// beside its products) in styled Text. Not part of the public API.
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "vis/explain.h"

namespace convis::explain_detail {

// A block of lines (no newlines inside), each a styled Text, drawn side by side or indented.
using Block = std::vector<Text>;

int width(const Text& t);  // visible characters (the text is ASCII)
// Each cell right-aligned to the widest; cells where mark() is true are written [v] (so the mark
// survives without colour). style(r, c) picks each cell's colour. Cells are at least min_width wide.
Block matrix_block(const Matrix& m, const std::function<Style(int, int)>& style,
                   const std::function<bool(int, int)>& mark = nullptr, int min_width = 0);
Block matrix_block(const Matrix& m, Style style, int min_width = 0);
int cell_width(const Matrix& m);  // the widest number of m
// Blocks side by side, top-aligned, each padded to its width, `gap` between them.
Block beside(const std::vector<Block>& blocks, const std::string& gap = "   ");
void put(Text& t, const Block& b, const std::string& indent = "  ");
// The block with a title line on top (a caption that stays aligned when blocks sit side by side).
Block titled(const std::string& title, Block b, Style st = Style::dim);
// A column of `rows` lines with `s` on the middle one (an arrow or operator between two blocks).
Block middle(int rows, const std::string& s);

// "a*b" with a negative b in parentheses: 200*(-10).
std::string product(double a, double b);
// "title\n=====\n" as a heading.
void heading(Text& t, const std::string& title);
void section(Text& t, const std::string& title);  // a blank line, then the title in bold

// Tensor <-> Matrix for one-channel (1, H, W, 1) tensors and (H, W) matrices.
Tensor to_tensor_hw(const Matrix& m);    // (1, H, W, 1)
Matrix from_tensor_hw(const Tensor& t);  // (1, H, W, 1) or (H, W) -> H x W
double max_abs_diff(const Matrix& a, const Matrix& b);
std::string dims(const Matrix& m);  // "6 x 5"

}  // namespace convis::explain_detail
