#!/usr/bin/env bash
# README command 1: install what is missing, build, run the main job.
# (The gallery demo arrives with the visualisation issues; for now the main job is vis_tool's
# overview of its commands and the kernels it picked for this CPU.)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}

bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" --target vis_tool
./build/vis_tool --help
./build/vis_tool version
