// The .npy format: magic "\x93NUMPY", major and minor version bytes, a little-endian header
// length (2 bytes in v1, 4 in v2/v3), then a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a newline so that the data starts at a multiple of 64 bytes.
#include "engine/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
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

}  // namespace

Tensor read_npy(const std::string& path) {
  require_readable_file(path, "npy file");
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
  static const std::regex number("[0-9]+");
  for (auto it = std::sregex_iterator(shape_text.begin(), shape_text.end(), number); it != std::sregex_iterator(); ++it)
    dims.push_back(std::stoll(it->str()));
  if (dims.size() > 4) bad(path, "shape " + shape_text + " has rank " + std::to_string(dims.size()) + "; at most 4");
  Tensor t{Shape(dims)};
  const std::streamsize bytes = std::streamsize(t.numel()) * 4;
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
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write '" + path + "'");
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = uint16_t(header.size());
    const char le[2] = {char(len & 0xff), char(len >> 8)};
    out.write(le, 2);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char*>(t.data()), std::streamsize(t.numel() * 4));
    out.close();
    if (!out) throw std::runtime_error("cannot write '" + path + "': write failed (disk full?)");
  });
}

}  // namespace convis
