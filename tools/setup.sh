#!/usr/bin/env bash
# Installs the Debian 12 packages convis needs, and only those that are missing.
# Idempotent: when everything is installed it only runs one dpkg-query and exits.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libeigen3-dev      # Eigen: the reference GEMM we benchmark against
  libstb-dev         # stb_image, stb_image_write, stb_truetype, stb_image_resize
  doctest-dev        # unit tests
  libbenchmark-dev   # Google Benchmark
  libhdf5-dev        # Keras .h5 files (C API)
  nlohmann-json3-dev # Keras model_config
  zlib1g-dev         # gzip'd IDX files
  fonts-dejavu-core  # labels in pictures
  dataset-fashion-mnist
  clang libclang-rt-14-dev libomp-dev  # the libFuzzer harnesses (tools/fuzz.sh): clang, its fuzzer runtime, OpenMP
  chromium           # only for the tests that screenshot HTML (tests/test_report_browser.cpp); they skip without it
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
