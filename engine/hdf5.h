#pragma once
// A thin RAII layer over the HDF5 C API (libhdf5 1.10+): owned ids that close themselves, and the
// handful of calls the Keras reader/writer needs (string attributes, float datasets, child lists).
//
// Every failure throws std::runtime_error naming the object, with HDF5's own innermost message
// appended in parentheses; HDF5's automatic error printing to stderr is switched off. Messages
// do not name the file: the caller (keras_h5.cpp) prefixes "weights file '<path>': ".
//
// The Debian libhdf5 is built without thread safety: callers serialise with h5::library_mutex().
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <hdf5.h>

#include "engine/tensor.h"

namespace convis::h5 {

// An owned hid_t (file, group, dataset, attribute, dataspace, datatype or property list). Closing
// picks the right H5?close from the id's type. Move-only.
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  Id(Id&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  Id& operator=(Id&& o) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { close(); }

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: pass straight to H5* calls
  bool valid() const { return id_ >= 0; }
  void close();
  hid_t release() {  // gives up ownership without closing
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

std::mutex& library_mutex();

// Switches off HDF5's printing of error stacks for this thread (idempotent, cheap).
void quiet_errors();

// The innermost message on HDF5's error stack ("truncated file: eof = ..."), or "" when empty.
std::string last_error();

// Throws std::runtime_error(what + " (" + last_error() + ")") (without the parentheses when the
// stack is empty).
[[noreturn]] void fail(const std::string& what);

// Files. open_file throws "cannot open file"; H5Fis_hdf5 is exposed for the caller's diagnosis.
Id open_file(const std::string& path);  // read-only
Id create_file(const std::string& path);  // truncates
void close_file(Id& file);  // H5Fclose, throwing if the final flush fails
bool is_hdf5(const std::string& path);  // false for a readable non-HDF5 file

// Links. `path` may have several components ("a/b/c"); exists() checks each one in turn (HDF5's
// H5Lexists only looks at the last).
bool exists(hid_t loc, const std::string& path);
bool is_group(hid_t loc, const std::string& path);
Id open_group(hid_t loc, const std::string& path);
// Creates the group and any missing parents. track_order records link creation order so that
// children() lists them in the order written (as h5py's track_order=True does).
Id create_group(hid_t loc, const std::string& path, bool track_order = false);
// Names of the direct children of a group: in creation order when the group tracks it,
// else in HDF5's name order (what h5py's keys() gives).
std::vector<std::string> children(hid_t group);

// Attributes. Strings are read whether stored fixed-length or variable-length, scalar or as a
// 1-D array; fixed-length padding (NUL or space) is stripped. An empty numeric array (Keras 2.13's
// empty name list) reads as an empty list; any other non-string attribute is an error naming its
// type class and size.
bool has_attr(hid_t loc, const std::string& name);
std::vector<std::string> read_string_list_attr(hid_t loc, const std::string& name);
std::string read_string_attr(hid_t loc, const std::string& name);  // a scalar, or a 1-element array
// A 1-D array of fixed-length NUL-padded ASCII strings (numpy's |S<n>), as Keras writes name
// lists; the element size is the longest string (at least 1), an empty list has shape (0,).
void write_fixed_strings_attr(hid_t loc, const std::string& name, const std::vector<std::string>& values);
// An empty 1-D float64 array (shape (0,)): what h5py stores for np.asarray([]), so what Keras 2.13
// writes as the weight_names of a layer without weights.
void write_empty_float64_attr(hid_t loc, const std::string& name);
// A scalar variable-length UTF-8 string, as h5py writes a Python str.
void write_string_attr(hid_t loc, const std::string& name, const std::string& value);

// Datasets. read_tensor reads any float (or integer) dataset of rank 0..4 straight into a new
// Tensor's buffer, HDF5 converting to float32 on the way (float16/float64 on disk are fine).
std::vector<int64_t> dataset_dims(hid_t loc, const std::string& path);
Tensor read_tensor(hid_t loc, const std::string& path);
// Writes `data` (memory type mem_type, e.g. H5T_NATIVE_FLOAT/H5T_NATIVE_DOUBLE) as a contiguous
// dataset of file type file_type, creating missing parent groups. Fails if the path exists.
void write_dataset(hid_t loc, const std::string& path, hid_t file_type, hid_t mem_type,
                   const std::vector<int64_t>& dims, const void* data);
void write_tensor(hid_t loc, const std::string& path, const Tensor& t);  // float32 little-endian

// IEEE 754 binary16 little-endian (numpy's '<f2'): 1 sign, 5 exponent, 10 mantissa bits.
Id float16_type();

}  // namespace convis::h5
