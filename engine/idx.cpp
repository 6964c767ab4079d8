// IDX reading (plain or gzip, through zlib's gzread) and the MNIST folder layout.
#include "engine/idx.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <zlib.h>

#include "engine/file_util.h"

namespace convis {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("IDX file '" + path + "' " + what);
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to n bytes; returns how many were read. Throws on a decompression error (a damaged
// gzip stream); a gzip stream cut short reads as a short count, reported by the caller.
int64_t read_some(gzFile f, uint8_t* out, int64_t n, const std::string& path) {
  int64_t got = 0;
  while (got < n) {
    const unsigned chunk = unsigned(std::min<int64_t>(n - got, 1 << 20));
    const int r = gzread(f, out + got, chunk);
    if (r < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      std::string why = msg ? msg : "error";
      if (why.compare(0, path.size() + 2, path + ": ") == 0) why.erase(0, path.size() + 2);  // zlib prefixes the path
      fail(path, "is not valid gzip or IDX data (zlib: " + why + ")");
    }
    if (r == 0) break;
    got += r;
  }
  return got;
}

std::string hex2(int v) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%02X", v & 0xff);
  return b;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  require_regular_file(path, "IDX file");  // a FIFO would block gzopen forever
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) fail(path, "cannot be opened");

  uint8_t head[4];
  if (read_some(f.get(), head, 4, path) != 4) fail(path, "is truncated: shorter than the 4-byte IDX header");
  if (head[0] != 0 || head[1] != 0)
    fail(path, "has magic number " + hex2(head[0]) + hex2(head[1]).substr(2) + hex2(head[2]).substr(2) +
                   hex2(head[3]).substr(2) + ", not an IDX file (expected 0x00000801 labels, 0x00000803 images)");
  if (head[2] != 0x08)
    fail(path, "has element type " + hex2(head[2]) + ", expected 0x08 (unsigned byte) as in MNIST");
  const int d = head[3];
  if (d < 1 || d > 4) fail(path, "has " + std::to_string(d) + " dimensions, expected 1 to 4");

  IdxArray a;
  int64_t total = 1;
  for (int i = 0; i < d; ++i) {
    uint8_t b[4];
    if (read_some(f.get(), b, 4, path) != 4) fail(path, "is truncated inside its header");
    const int64_t n = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    if (n <= 0 || n > (1LL << 30)) fail(path, "has dimension " + std::to_string(i) + " of size " + std::to_string(n));
    a.dims.push_back(n);
    if (total > (1LL << 34) / n) fail(path, "declares more than 16 GiB of data");  // checked before multiplying
    total *= n;
  }
  // Grown as the data arrives, so a damaged header cannot make us allocate gigabytes up front.
  int64_t got = 0;
  while (got < total) {
    const int64_t want = std::min<int64_t>(total - got, 16LL << 20);
    a.data.resize(size_t(got + want));
    const int64_t r = read_some(f.get(), a.data.data() + got, want, path);
    got += r;
    if (r < want) break;
  }
  if (got < total) {
    int err = 0;
    gzerror(f.get(), &err);
    fail(path, "is truncated: its header says " + std::to_string(total) + " bytes of data, the file has " +
                   std::to_string(got) + (err == Z_BUF_ERROR ? " (the gzip stream ends early)" : ""));
  }
  uint8_t extra;
  if (read_some(f.get(), &extra, 1, path) != 0)
    fail(path, "has data past the " + std::to_string(total) + " bytes its header declares (damaged header?)");
  // At the end of a gzip stream zlib checks the CRC-32 and length trailer (a mismatch is a read
  // error above); a stream cut before its trailer reads as a clean end with Z_BUF_ERROR set.
  int err = Z_OK;
  gzerror(f.get(), &err);
  if (err == Z_BUF_ERROR) fail(path, "is truncated: the gzip stream ends before its CRC and length trailer");
  return a;
}

namespace {

std::string find_file(const std::string& dir, const std::string& name) {
  std::error_code ec;
  for (const std::string& p : {dir + "/" + name, dir + "/" + name + ".gz"})
    if (fs::exists(p, ec)) return p;
  if (!fs::is_directory(dir, ec)) throw std::runtime_error("dataset folder '" + dir + "' does not exist");
  throw std::runtime_error("dataset folder '" + dir + "' has no " + name + " (or " + name +
                           ".gz); expected the four MNIST-style IDX files");
}

}  // namespace

MnistSplit load_mnist_split(const std::string& dir, const std::string& prefix, int num_classes) {
  const std::string ip = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string lp = find_file(dir, prefix + "-labels-idx1-ubyte");
  IdxArray im = read_idx(ip);
  IdxArray lb = read_idx(lp);
  if (im.dims.size() != 3)
    fail(ip, "has " + std::to_string(im.dims.size()) + " dimensions, expected 3 (images, rows, cols): magic 0x00000803");
  if (lb.dims.size() != 1)
    fail(lp, "has " + std::to_string(lb.dims.size()) + " dimensions, expected 1 (labels): magic 0x00000801");
  if (im.dims[0] != lb.dims[0])
    throw std::runtime_error("IDX files '" + ip + "' and '" + lp + "' disagree: " + std::to_string(im.dims[0]) +
                             " images but " + std::to_string(lb.dims[0]) + " labels");
  for (size_t i = 0; i < lb.data.size(); ++i)
    if (lb.data[i] >= num_classes)
      fail(lp, "has label " + std::to_string(lb.data[i]) + " at index " + std::to_string(i) + ", expected 0.." +
                   std::to_string(num_classes - 1));
  MnistSplit s;
  s.count = im.dims[0];
  s.rows = int(im.dims[1]);
  s.cols = int(im.dims[2]);
  s.images = std::move(im.data);
  s.labels = std::move(lb.data);
  return s;
}

MnistData load_mnist_dir(const std::string& dir, int num_classes) {
  MnistData d;
  d.dir = dir;
  d.train = load_mnist_split(dir, "train", num_classes);
  d.test = load_mnist_split(dir, "t10k", num_classes);
  if (d.train.rows != d.test.rows || d.train.cols != d.test.cols)
    throw std::runtime_error("dataset folder '" + dir + "': training images are " + std::to_string(d.train.rows) +
                             "x" + std::to_string(d.train.cols) + " but test images " + std::to_string(d.test.rows) +
                             "x" + std::to_string(d.test.cols));
  return d;
}

Tensor mnist_batch(const MnistSplit& s, const int64_t* indices, int64_t n) {
  const int64_t px = int64_t(s.rows) * s.cols;
  Tensor x(Shape{n, s.rows, s.cols, 1});
  float* out = x.data();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = indices[i];
    if (k < 0 || k >= s.count)
      throw std::out_of_range("mnist_batch: image index " + std::to_string(k) + " out of range 0.." +
                              std::to_string(s.count - 1));
    const uint8_t* src = s.images.data() + k * px;
    for (int64_t p = 0; p < px; ++p) out[i * px + p] = float(src[p]) / 255.f;
  }
  return x;
}

const std::array<const char*, 10>& fashion_mnist_names() {
  static const std::array<const char*, 10> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

const std::array<const char*, 10>& fashion_mnist_ids() {
  static const std::array<const char*, 10> ids = {"t_shirt_top", "trouser", "pullover", "dress", "coat",
                                                  "sandal",      "shirt",   "sneaker",  "bag",   "ankle_boot"};
  return ids;
}

}  // namespace convis
