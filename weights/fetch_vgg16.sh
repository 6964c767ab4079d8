#!/usr/bin/env bash
# Downloads the official Keras VGG16 weights (the files keras.applications.VGG16 itself uses) into
# weights/, checks size and md5 as Keras does, and fetches Keras' ImageNet class index beside them.
#   weights/fetch_vgg16.sh notop   # 58,889,256 bytes: the 13 conv layers (enough for every picture)
#   weights/fetch_vgg16.sh full    # 553,467,096 bytes: with fc1, fc2 and predictions (classification)
# Downloads resume where they stopped (curl -C -). Afterwards `--weights vgg16-notop` / `vgg16` work.
set -euo pipefail
cd "$(dirname "$0")"

which=${1:-notop}
base=https://storage.googleapis.com/tensorflow/keras-applications/vgg16
case "$which" in
  notop) file=vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5; size=58889256; md5=6d6bbae143d832006294945121d1f1fc ;;
  full)  file=vgg16_weights_tf_dim_ordering_tf_kernels.h5;       size=553467096; md5=64373286793e3c8b2b4e3219cbf3544b ;;
  *) echo "usage: $0 notop|full" >&2; exit 2 ;;
esac
index_url=https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json
index_md5=c2c37ea517e94d9795004a39431a14cb

no_network() {  # url out expected
  [[ -s "$2.part" ]] || rm -f "$2.part"   # keep a partial download for resuming, drop an empty one
  cat >&2 <<MSG
fetch_vgg16.sh: could not download $1.
  This machine seems to have no network access to storage.googleapis.com.
  Either run this script on a machine with a network and copy weights/$2 here, or download
    $1
  by any means and put it in $(pwd)/ (expected: $3).
  Without the real weights, 'vis_tool init --arch vgg16 --top --out F.h5' makes a random VGG16.
MSG
  exit 1
}

download() {  # url out expected
  if command -v curl >/dev/null; then
    curl -fL --retry 3 --connect-timeout 20 -C - --progress-bar -o "$2.part" "$1" || no_network "$@"
  elif command -v wget >/dev/null; then
    wget -c -q --show-progress -O "$2.part" "$1" || no_network "$@"
  else
    echo "fetch_vgg16.sh: needs curl or wget (apt-get install curl)" >&2; exit 1
  fi
}

verify() {  # file size md5
  local got_size got_md5
  got_size=$(stat -c %s "$1")
  got_md5=$(md5sum "$1" | cut -d' ' -f1)
  if [[ -n "$2" && "$got_size" != "$2" ]]; then
    echo "fetch_vgg16.sh: $1 has $got_size bytes, expected $2; delete it and run again" >&2; return 1
  fi
  if [[ "$got_md5" != "$3" ]]; then
    echo "fetch_vgg16.sh: $1 has md5 $got_md5, expected $3; delete it and run again" >&2; return 1
  fi
}

if [[ -f "$file" ]] && verify "$file" "$size" "$md5"; then
  echo "$file is already here and checks out"
else
  echo "downloading $file ($size bytes)"
  download "$base/$file" "$file" "$size bytes, md5 $md5"
  verify "$file.part" "$size" "$md5"
  mv "$file.part" "$file"
  echo "ok: weights/$file (md5 $md5)"
fi

if [[ ! -f imagenet_class_index.json ]]; then
  download "$index_url" imagenet_class_index.json "md5 $index_md5, the class index of keras.applications"
  verify imagenet_class_index.json.part "" "$index_md5"
  mv imagenet_class_index.json.part imagenet_class_index.json
  echo "ok: weights/imagenet_class_index.json"
fi
