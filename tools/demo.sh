#!/usr/bin/env bash
# README command 1: install what is missing, build, run the main job: the demo gallery.
#   vis_tool demo writes out/demo/index.html: the report on VGG16 when weights/fetch_vgg16.sh has
#   fetched its weights, else on the embedded Fashion-MNIST model (weights/fashion_cnn.h5).
# JOBS=n overrides the build parallelism; OUT=dir the output directory (default out/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}

bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" --target vis_tool
out=${OUT:-out/demo}
./build/vis_tool demo --out "$out"
echo
echo "The gallery: $(realpath "$out")/index.html (open it in a browser)"
