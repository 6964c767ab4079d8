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

// The header is a Python dict literal with exactly the keys 'descr', 'fortran_order' and 'shape'
// (what numpy.lib.format writes and accepts). Parsed as that literal: quoted keys and strings,
// True/False, and a tuple of non-negative integers (Python 2's "3L" too); anything else is refused.
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
 public:
  explicit HeaderParser(const std::string& text) : t_(text) {}

  // Returns "" on success, else what is wrong.
  std::string parse(Header& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip();
    if (!eat('{')) return "does not start with '{'";
    for (;;) {
      skip();
      if (eat('}')) break;
      std::string key;
      if (!string_literal(key)) return "has a key that is not a quoted string at byte " + std::to_string(i_);
      skip();
      if (!eat(':')) return "has no ':' after key '" + key + "'";
      skip();
      if (key == "descr") {
        if (have_descr || !string_literal(h.descr)) return "has a bad or repeated 'descr'";
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) return "repeats 'fortran_order'";
        if (word("True")) h.fortran_order = true;
        else if (word("False")) h.fortran_order = false;
        else return "has a 'fortran_order' that is not True or False";
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) return "repeats 'shape'";
        const size_t at = i_;
        if (!tuple(h.shape)) {
          const size_t close = t_.find(')', at);
          std::string text = t_.substr(at, close == std::string::npos ? std::string::npos : close - at + 1);
          if (text.size() > 60) text = text.substr(0, 60) + "...";
          return "\x01shape " + text + " is not a tuple of non-negative sizes";
        }
        have_shape = true;
      } else {
        return "has an unknown key '" + (key.size() > 40 ? key.substr(0, 40) + "..." : key) + "'";
      }
      skip();
      if (eat(',')) continue;
      skip();
      if (eat('}')) break;
      return "has no ',' or '}' after key '" + key + "'";
    }
    skip();
    if (i_ != t_.size()) return "has text after the closing '}'";
    if (!have_descr) return "has no 'descr'";
    if (!have_order) return "has no 'fortran_order'";
    if (!have_shape) return "has no 'shape'";
    return "";
  }

 private:
  const std::string& t_;
  size_t i_ = 0;

  void skip() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\t' || t_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    if (i_ < t_.size() && t_[i_] == c) return ++i_, true;
    return false;
  }
  bool word(const char* w) {
    const size_t n = std::strlen(w);
    if (t_.compare(i_, n, w) != 0) return false;
    i_ += n;
    return true;
  }
  bool string_literal(std::string& out) {  // 'x' or "x", no escapes (numpy's keys and dtypes have none)
    if (i_ >= t_.size() || (t_[i_] != '\'' && t_[i_] != '"')) return false;
    const char q = t_[i_++];
    const size_t end = t_.find(q, i_);
    if (end == std::string::npos) return false;
    out = t_.substr(i_, end - i_);
    if (out.find('\\') != std::string::npos) return false;
    i_ = end + 1;
    return true;
  }
  bool tuple(std::vector<int64_t>& dims) {
    if (!eat('(')) return false;
    for (;;) {
      skip();
      if (eat(')')) return true;
      if (i_ >= t_.size() || !std::isdigit(static_cast<unsigned char>(t_[i_]))) return false;
      int64_t v = 0;
      for (; i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_])); ++i_) {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) return false;
        v = v * 10 + (t_[i_] - '0');
      }
      eat('L');
      dims.push_back(v);
      if (dims.size() > 32) return false;
      skip();
      if (eat(')')) return true;
      if (!eat(',')) return false;
    }
  }
};

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
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

  Header h;
  const std::string why = HeaderParser(header).parse(h);
  if (!why.empty()) bad(path, why[0] == '\x01' ? why.substr(1) : "header " + why);
  if (h.descr != "<f4" && h.descr != "float32")
    bad(path, "dtype '" + (h.descr.size() > 40 ? h.descr.substr(0, 40) + "..." : h.descr) +
                  "' is not supported; convis reads little-endian float32 ('<f4') only (use x.astype('<f4'))");
  if (h.fortran_order) bad(path, "Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray)");
  const std::vector<int64_t>& dims = h.shape;
  const std::string shape_str = shape_text(dims);
  if (dims.size() > 4) bad(path, "shape " + shape_str + " has rank " + std::to_string(dims.size()) + "; at most 4");
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
    bad(path, "truncated data: shape " + shape_str + " needs " +
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
