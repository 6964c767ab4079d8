#pragma once
// Errors about a value the caller chose (not about a file). The library knows no command line:
// it names the parameter and the value and says what was expected; the front end that took the
// value from a flag adds the flag's name (tools/vis_tool.cpp: "--stride: ...").
#include <stdexcept>
#include <string>

namespace convis {

struct ParameterError : std::invalid_argument {
  // parameter: the library's name for it, e.g. "input_size", "stride", "pad", "at", "filter",
  // "max_pixels"; what: the whole message, naming the value and what was expected.
  ParameterError(std::string parameter_name, const std::string& what)
      : std::invalid_argument(what), parameter(std::move(parameter_name)) {}
  std::string parameter;
};

}  // namespace convis
