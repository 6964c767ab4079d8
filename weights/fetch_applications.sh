#!/usr/bin/env bash
# Downloads the official keras.applications ImageNet weights (the files Keras itself uses) for one
# architecture into weights/, checks size and md5, and fetches Keras' ImageNet class index beside them.
#   weights/fetch_applications.sh resnet50          # with the top (avg_pool, predictions): classification
#   weights/fetch_applications.sh resnet50 notop    # the convolutional part (enough for every picture)
# ARCH: vgg16 resnet50 mobilenet_v2 densenet121 inception_v3 xception (vgg16 runs fetch_vgg16.sh).
# Downloads resume where they stopped (curl -C -). The models are engine/applications.h's.
#
# Where each number comes from (none was measured here: this tree was made without a network):
#   md5   keras/applications/*.py of Keras 2.15 (the file_hash given to get_file; 32 hex digits is
#         md5 there), the same in Keras 3.15. mobilenet_v2.py gives none: for MobileNetV2 the
#         script checks the size and the HDF5 signature only, and says so.
#   size  the byte count keras.utils.get_file prints when it downloads the file (the server's
#         Content-Length, "N/N" in its progress bar), as published notebooks show it; for
#         densenet121 with the top, Open Model Zoo's models/public/densenet-121-tf/model.yml.
set -euo pipefail
cd "$(dirname "$0")"

arch=${1:-}
variant=${2:-full}
usage() { echo "usage: $0 vgg16|resnet50|mobilenet_v2|densenet121|inception_v3|xception [notop]" >&2; exit 2; }
[[ "$variant" == full || "$variant" == notop ]] || usage
[[ "$arch" == vgg16 ]] && exec ./fetch_vgg16.sh "$variant"

base=https://storage.googleapis.com/tensorflow/keras-applications
md5=""  # empty: Keras publishes none for this file
case "$arch/$variant" in
  resnet50/full)      dir=resnet;       file=resnet50_weights_tf_dim_ordering_tf_kernels.h5;       size=102967424; md5=2cb95161c43110f7111970584f804107 ;;
  resnet50/notop)     dir=resnet;       file=resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5; size=94765736;  md5=4d473c1dd8becc155b73f8504c6f6626 ;;
  mobilenet_v2/full)  dir=mobilenet_v2; file=mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5;        size=14536120 ;;
  mobilenet_v2/notop) dir=mobilenet_v2; file=mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5; size=9406464 ;;
  densenet121/full)   dir=densenet;     file=densenet121_weights_tf_dim_ordering_tf_kernels.h5;       size=33188688; md5=9d60b8095a5708f2dcce2bca79d332c7 ;;
  densenet121/notop)  dir=densenet;     file=densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5; size=29084464; md5=30ee3e1110167f948a6b9946edeeb738 ;;
  inception_v3/full)  dir=inception_v3; file=inception_v3_weights_tf_dim_ordering_tf_kernels.h5;       size=96112376; md5=9a0d58056eeedaa3f26cb7ebd46da564 ;;
  inception_v3/notop) dir=inception_v3; file=inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5; size=87910968; md5=bcbd6486424b2319ff4ef7d526e38f63 ;;
  xception/full)      dir=xception;     file=xception_weights_tf_dim_ordering_tf_kernels.h5;       size=91884032; md5=0a58e3b7378bc2990ea3b43d5981f1f6 ;;
  xception/notop)     dir=xception;     file=xception_weights_tf_dim_ordering_tf_kernels_notop.h5; size=83683744; md5=b0042744bf5b25fce3cb969f33bebb97 ;;
  *) usage ;;
esac
url=$base/$dir/$file
script=fetch_applications.sh
hint="Without the real weights, 'vis_tool init --arch $arch [--top] --out F.h5' makes one with random weights."
source ./fetch_common.sh
fetch_weights_and_index
