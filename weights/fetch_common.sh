# What weights/fetch_vgg16.sh and weights/fetch_applications.sh share: download with resume,
# check size and md5 (or, where Keras publishes no md5, size and the HDF5 signature), and fetch
# Keras' ImageNet class index. Sourced, not run. The caller sets:
#   script   its own name, for messages
#   hint     a line on what to do without the real weights
#   file size md5 url   the weights file (md5 empty: not published)
index_url=https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json
index_md5=c2c37ea517e94d9795004a39431a14cb  # keras/applications/imagenet_utils.py

no_network() {  # url out expected
  [[ -s "$2.part" ]] || rm -f "$2.part"   # keep a partial download for resuming, drop an empty one
  cat >&2 <<MSG
$script: could not download $1.
  This machine seems to have no network access to storage.googleapis.com.
  Either run this script on a machine with a network and copy weights/$2 here, or download
    $1
  by any means and put it in $(pwd)/ (expected: $3).
  $hint
MSG
  exit 1
}

download() {  # url out expected
  if command -v curl >/dev/null; then
    curl -fL --retry 3 --connect-timeout 20 -C - --progress-bar -o "$2.part" "$1" || no_network "$@"
  elif command -v wget >/dev/null; then
    wget -c -q --show-progress -O "$2.part" "$1" || no_network "$@"
  else
    echo "$script: needs curl or wget (apt-get install curl)" >&2; exit 1
  fi
}

verify() {  # file size md5 (an empty md5: not published; size and HDF5 signature are checked)
  local got_size got_md5
  got_size=$(stat -c %s "$1")
  got_md5=$(md5sum "$1" | cut -d' ' -f1)
  if [[ -n "$2" && "$got_size" != "$2" ]]; then
    echo "$script: $1 has $got_size bytes, expected $2; delete it and run again" >&2; return 1
  fi
  if [[ -z "$3" ]]; then
    # Without an md5, at least the HDF5 signature: a server's error page of the right size is not one.
    if [[ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" != 894844460d0a1a0a ]]; then
      echo "$script: $1 is not an HDF5 file (no HDF5 signature); delete it and run again" >&2; return 1
    fi
    echo "$script: $1: size ($got_size bytes) and HDF5 signature checked; md5 NOT checked," \
         "Keras publishes none for this file. Its md5 is $got_md5: compare it with a copy you trust." >&2
  elif [[ "$got_md5" != "$3" ]]; then
    echo "$script: $1 has md5 $got_md5, expected $3; delete it and run again" >&2; return 1
  fi
}

# The weights file, then the class index, each skipped when already here and checking out.
fetch_weights_and_index() {
  if [[ -f "$file" ]] && verify "$file" "$size" "$md5"; then
    echo "$file is already here and checks out"
  else
    echo "downloading $file ($size bytes)"
    download "$url" "$file" "$size bytes, md5 ${md5:-not published by Keras}"
    verify "$file.part" "$size" "$md5"
    mv "$file.part" "$file"
    if [[ -n "$md5" ]]; then echo "ok: weights/$file (md5 $md5)"; else echo "ok: weights/$file (size and signature only)"; fi
  fi
  if [[ ! -f imagenet_class_index.json ]]; then
    download "$index_url" imagenet_class_index.json "md5 $index_md5, the class index of keras.applications"
    verify imagenet_class_index.json.part "" "$index_md5"
    mv imagenet_class_index.json.part imagenet_class_index.json
    echo "ok: weights/imagenet_class_index.json"
  fi
}
