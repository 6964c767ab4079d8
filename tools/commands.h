#pragma once
// The functions behind vis_tool's subcommands (the table is in tools/commands.cpp).
#include <string>
#include <vector>

namespace convis::cli {

int run_summary(const std::vector<std::string>& argv);   // tools/cmd_models.cpp
int run_init(const std::vector<std::string>& argv);      // tools/cmd_models.cpp
int run_classify(const std::vector<std::string>& argv);  // tools/cmd_classify.cpp
int run_forward(const std::vector<std::string>& argv);   // tools/cmd_numpy.cpp
int run_grad(const std::vector<std::string>& argv);      // tools/cmd_numpy.cpp

}  // namespace convis::cli
