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
script=fetch_vgg16.sh
hint="Without the real weights, 'vis_tool init --arch vgg16 --top --out F.h5' makes a random VGG16."
url=$base/$file
source ./fetch_common.sh
fetch_weights_and_index
