#!/usr/bin/env bash
# Regenerates the pictures README.md shows (vis/gallery/) with build/vis_tool.
#   - the embedded Fashion-MNIST model (always): class logits maximised, feature maps of a sneaker,
#     Grad-CAM of the sneaker, its architecture diagram; the explain conv exercise as a picture;
#   - the ImageNet darknet model of ../shared/data (when present): maximised channels of a late layer.
# Usage: bash tools/readme_pictures.sh   (after a build; takes a few minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
vt=./build/vis_tool
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=vis/gallery
mkdir -p "$out"

"$vt" report --weights fashion --image weights/samples/0009_sneaker.png --out "$tmp/fashion" --iters 512 --seed 1 >/dev/null
cp "$tmp/fashion/maximize_classes.png" "$out/fashion_classes_lucid.png"
cp "$tmp/fashion/activations_conv2d.png" "$out/fashion_sneaker_conv2d.png"
cp "$tmp/fashion/gradcam.png" "$out/fashion_sneaker_gradcam.png"

"$vt" diagram --weights fashion --out "$tmp/diagram" >/dev/null
cp "$tmp/diagram/fashion_cnn_layered.png" "$out/fashion_cnn_layered.png"
"$vt" explain conv --png "$tmp/explain" >/dev/null
cp "$tmp/explain/conv.png" "$out/explain_conv.png"

darknet=../shared/data/models/darknet_tiny_imagenet.h5
if [ -f "$darknet" ]; then
  "$vt" maximize --weights "$darknet" --layer leaky_re_lu_10 --filters 235,241,42,21,245,150,199,167 \
    --size 128 --seed 1 --out "$tmp/darknet" >/dev/null
  cp "$tmp/darknet/leaky_re_lu_10_lucid_sheet.png" "$out/darknet_leaky_re_lu_10_lucid.png"
else
  echo "readme_pictures.sh: $darknet is absent; kept $out/darknet_leaky_re_lu_10_lucid.png as it is" >&2
fi
ls -l "$out"
