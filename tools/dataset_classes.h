#pragma once
// Class names for the commands that train on and run MNIST-style datasets (train, evaluate,
// predict, samples).
#include <cstdint>
#include <string>

#include "engine/model.h"
#include "tools/class_lookup.h"
#include "tools/cli.h"

namespace convis::cli {

// The class index beside the weights (or --classes), else, for a model with ten outputs,
// Fashion-MNIST's ten names (path "built-in Fashion-MNIST names"); else none.
ClassNames dataset_class_names(const Args& args, const std::string& weights_path, const Model& m, int64_t K);

// Fashion-MNIST's names and ids as a ClassNames (also what --classes overrides in samples).
ClassNames fashion_class_names();

// A file-name-friendly form of a class: its id when it has one, else its name lowercased with
// every run of other characters turned into one '_' ("Ankle boot" -> "ankle_boot").
std::string class_slug(const ClassNames& names, int c);

}  // namespace convis::cli
