#pragma once
// The IDX format of MNIST and Fashion-MNIST, and the folder of four files the datasets come in.
//
// An IDX file is a big-endian header, then the values, row-major:
//   bytes 0-1  zero
//   byte  2    type: 0x08 unsigned byte (the only type these datasets use)
//   byte  3    number of dimensions d
//   then d     big-endian int32 sizes, e.g. (60000, 28, 28) for images, (60000) for labels
// so images have the magic number 0x00000803 and labels 0x00000801. The files are usually
// gzip-compressed (train-images-idx3-ubyte.gz); zlib's gzread reads both forms transparently.
//
//   MnistData d = load_mnist_dir("/usr/share/datasets/fashion-mnist");
//   Tensor x = mnist_batch(d.train, idx.data(), 64);   // (64, 28, 28, 1), pixels / 255
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace convis {

struct IdxArray {
  std::vector<int64_t> dims;   // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;   // prod(dims) bytes, row-major
};

// Reads an IDX file of unsigned bytes (plain or gzip). Throws std::runtime_error naming the file:
//   IDX file 'x' does not exist / is not gzip or IDX data (...) / has type 0x0D, expected 0x08 /
//   is truncated: header says 47040000 bytes of data, file has 1000 / has data past the end ...
IdxArray read_idx(const std::string& path);

// One split of an MNIST-style dataset: N images of rows x cols grey pixels and their labels.
struct MnistSplit {
  int64_t count = 0;
  int rows = 0, cols = 0;
  std::vector<uint8_t> images;  // (count, rows, cols)
  std::vector<uint8_t> labels;  // (count), each in [0, num_classes)
};

struct MnistData {
  std::string dir;
  MnistSplit train, test;
};

// Where the files are looked for unless told: the Debian-style install of Fashion-MNIST.
constexpr const char* kDefaultMnistDir = "/usr/share/datasets/fashion-mnist";

// Reads <dir>/<prefix>-images-idx3-ubyte[.gz] and <dir>/<prefix>-labels-idx1-ubyte[.gz]
// (prefix "train" or "t10k"), checking the magic numbers, that image and label counts agree and
// that every label is below num_classes. Errors name the file.
MnistSplit load_mnist_split(const std::string& dir, const std::string& prefix, int num_classes = 10);
// Both splits; images must be the same size in both.
MnistData load_mnist_dir(const std::string& dir, int num_classes = 10);

// Images indices[0..n) of a split as a (n, rows, cols, 1) batch with pixels scaled to [0, 1].
Tensor mnist_batch(const MnistSplit& s, const int64_t* indices, int64_t n);

// Fashion-MNIST's ten classes (Zalando's names) and file-name-friendly ids ("ankle_boot"),
// which are also the ids of weights/fashion_cnn_class_index.json.
const std::array<const char*, 10>& fashion_mnist_names();
const std::array<const char*, 10>& fashion_mnist_ids();

}  // namespace convis
