// The .npy format: magic "\x93NUMPY", major and minor version bytes, a little-endian header
// length (2 bytes in v1, 4 in v2/v3), then a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a newline so that the data starts at a multiple of 64 bytes.
#include "engine/npy.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <vector>

#include "engine/file_util.h"

namespace convis {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw std::runtime_error("npy file '" + path + "': " + what);
}

std::string dict_value(const std::string& header, const std::string& key) {
  const size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) return "";
  size_t v = header.find(':', k);
  if (v == std::string::npos) return "";
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  if (v < header.size() && header[v] == '(') return header.substr(v, header.find(')', v) - v + 1);
  size_t end = v;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  std::string s = header.substr(v, end - v);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// "(2, 3)", "(3,)", "()" -> dims; Python 2's long suffix ("3L") is accepted. Anything else
// (a negative or missing size, a stray character) is not a shape NumPy writes: false.
bool parse_shape(const std::string& text, std::vector<int64_t>& dims) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return false;
  size_t i = 1;
  const size_t end = text.size() - 1;
  auto skip_spaces = [&] { while (i < end && text[i] == ' ') ++i; };
  skip_spaces();
  while (i < end) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    int64_t v = 0;
    for (; i < end && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) return false;
      v = v * 10 + (text[i] - '0');
    }
    if (i < end && text[i] == 'L') ++i;
    dims.push_back(v);
    skip_spaces();
    if (i == end) return true;
    if (text[i] != ',') return false;
    ++i;
    skip_spaces();
  }
  return true;
}

}  // namespace

Tensor read_npy(const std::string& path) {
  require_regular_file(path, "npy file");
  std::ifstream in(path, std::ios::binary);
  if (!in) bad(path, "cannot be opened");
  char magic[8] = {};
  in.read(magic, 8);
  if (in.gcount() != 8 || std::memcmp(magic, "\x93NUMPY", 6) != 0) bad(path, "not a NumPy .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (uint32_t(b[1]) << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (uint32_t(b[1]) << 8) | (uint32_t(b[2]) << 16) | (uint32_t(b[3]) << 24);
  } else {
    bad(path, "format version " + std::to_string(major) + " is not supported (1, 2 or 3)");
  }
  if (!in || header_len > (1u << 20)) bad(path, "truncated or damaged header");
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (uint32_t(in.gcount()) != header_len) bad(path, "truncated header");

  const std::string descr = dict_value(header, "descr");
  if (descr != "'<f4'" && descr != "'float32'")
    bad(path, "dtype " + (descr.empty() ? std::string("(missing)") : descr) +
                  " is not supported; convis reads little-endian float32 ('<f4') only (use x.astype('<f4'))");
  if (dict_value(header, "fortran_order") != "False")
    bad(path, "Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)");
  const std::string shape_text = dict_value(header, "shape");
  if (shape_text.empty()) bad(path, "header has no shape");
  std::vector<int64_t> dims;
  if (!parse_shape(shape_text, dims)) bad(path, "shape " + shape_text + " is not a tuple of non-negative sizes");
  if (dims.size() > 4) bad(path, "shape " + shape_text + " has rank " + std::to_string(dims.size()) + "; at most 4");
  // Compare the size the header claims with the bytes really there before allocating: a damaged
  // header must be an error naming the file, not a failed multi-terabyte allocation.
  std::error_code ec;
  const uint64_t file_bytes = std::filesystem::file_size(path, ec);
  const uint64_t offset = 8 + (major == 1 ? 2 : 4) + uint64_t(header_len);
  const uint64_t found = ec || file_bytes < offset ? 0 : file_bytes - offset;
  uint64_t needed = 4;
  bool too_big = false;
  for (int64_t d : dims) {
    if (d != 0 && needed > std::numeric_limits<uint64_t>::max() / uint64_t(d)) too_big = true;
    needed *= uint64_t(d);
  }
  if (too_big || needed > found)
    bad(path, "truncated data: shape " + shape_text + " needs " +
                  (too_big ? std::string("more than 2^64") : std::to_string(needed)) + " bytes, found " +
                  std::to_string(found));
  Tensor t{Shape(dims)};
  const std::streamsize bytes = std::streamsize(needed);
  in.read(reinterpret_cast<char*>(t.data()), bytes);
  if (in.gcount() != bytes)
    bad(path, "truncated data: shape " + t.shape().str() + " needs " + std::to_string(bytes) + " bytes, found " +
                  std::to_string(in.gcount()));
  return t;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string shape = "(";
  for (int i = 0; i < t.rank(); ++i) shape += std::to_string(t.dim(i)) + (t.rank() == 1 || i + 1 < t.rank() ? "," : "");
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string bytes("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  bytes += char(len & 0xff);
  bytes += char(len >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(t.data()), size_t(t.numel()) * 4);
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace convis
