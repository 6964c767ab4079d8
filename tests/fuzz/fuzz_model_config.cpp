// Fuzzes model_config JSON -> Model -> build, and a forward pass of the built model on a tiny
// input when it is small enough to run quickly.
#include <stdexcept>
#include <string>

#include "engine/model.h"
#include "engine/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    convis::Model m = convis::model_from_config(std::string(reinterpret_cast<const char*>(data), size));
    const int h = m.input_h > 0 ? m.input_h : 8, w = m.input_w > 0 ? m.input_w : 8;
    if (int64_t(h) * w * m.input_c > 4096) return 0;
    m.build(h, w);
    if (m.param_count() > 0) return 0;  // no weights were read; Model::forward needs them
    // Keep each run small: a valid config may still ask for a 2^31-value layer (upsampling by
    // 1024, padding by 16384), which the engine allows and a fuzzer has no time for.
    for (const convis::Layer& l : m.layers)
      if (l.output_shape.numel() > (1 << 16)) return 0;
    convis::NoGrad no_grad;
    (void)m.forward(convis::Var::constant(convis::Tensor::zeros(convis::Shape{1, h, w, m.input_c})));
  } catch (const std::exception&) {
  }
  return 0;
}
