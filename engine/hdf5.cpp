// The HDF5 C API wrapped just enough for Keras files. HDF5 reports failure by returning a negative
// id or status and pushing messages on a per-library error stack; every call here checks the
// return and throws, reading the innermost message from that stack for the parenthesis.
#include "engine/hdf5.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <sys/mman.h>

namespace convis::h5 {

Id& Id::operator=(Id&& o) noexcept {
  if (this != &o) {
    close();
    id_ = o.id_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Id::close() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Idec_ref(id_); break;
  }
  id_ = H5I_INVALID_HID;
}

std::mutex& library_mutex() {
  static std::mutex m;
  return m;
}

void quiet_errors() {
  // Without thread safety HDF5 keeps one error stack for the process; with it, one per thread.
  // Either way setting it once per thread covers every call this thread makes.
  thread_local bool quiet = false;
  if (!quiet) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    quiet = true;
  }
}

namespace {

// HDF5 tidies up at exit by closing every file still open; a file whose final flush failed
// (a full disk) is still open, and closing it again there crashes in H5F__close_cb. An abandoned
// file at exit costs nothing, so that tidy-up is switched off before the library starts.
[[maybe_unused]] const bool g_no_atexit = (H5dont_atexit(), true);

// HDF5's system-call messages carry a time stamp, a buffer address and byte counts:
//   "file write failed: time = ..., filename = '...', errno = 28, error message = 'No space left
//   on device', buf = 0x..., ..." -> "file write failed: No space left on device".
std::string tidy(const std::string& desc) {
  const size_t m = desc.find("error message = '");
  const size_t colon = desc.find(':');
  if (m == std::string::npos || colon == std::string::npos || colon > m) return desc;
  const size_t start = m + 17, end = desc.find('\'', start);
  return desc.substr(0, colon) + ": " + desc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

herr_t innermost(unsigned n, const H5E_error2_t* err, void* out) {
  // Walking upward, entry 0 is where the error was detected (the most specific message).
  if (n == 0 && err->desc) *static_cast<std::string*>(out) = tidy(err->desc);
  return 0;
}

// A property list that creates missing intermediate groups along a link path.
Id intermediate_groups() {
  Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  if (!lcpl.valid() || H5Pset_create_intermediate_group(lcpl, 1) < 0) fail("cannot make a link property list");
  return lcpl;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

const char* type_class_name(H5T_class_t cls) {
  switch (cls) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_TIME: return "time";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    default: return "unknown-type";
  }
}

// The size of the file an object lives in (0 if unknown: then nothing from it fits).
uint64_t file_size_of(hid_t obj) {
  Id file(H5Iget_file_id(obj));
  hsize_t n = 0;
  if (!file.valid() || H5Fget_filesize(file, &n) < 0) return 0;
  return n;
}

Id open_attr(hid_t loc, const std::string& name) {
  Id a(H5Aopen(loc, name.c_str(), H5P_DEFAULT));
  if (!a.valid()) fail("cannot open attribute '" + name + "'");
  return a;
}

}  // namespace

std::string last_error() {
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &msg);
  H5Eclear2(H5E_DEFAULT);
  return msg;
}

void fail(const std::string& what) {
  const std::string detail = last_error();
  throw std::runtime_error(detail.empty() ? what : what + " (" + detail + ")");
}

Id open_file(const std::string& path) {
  quiet_errors();
  Id f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid()) fail("cannot open file '" + path + "'");
  return f;
}

Id create_file(const std::string& path) {
  quiet_errors();
  // STRONG close: H5Fclose closes every object still open in the file, so the bytes are on disk
  // when the caller renames the file into place.
  Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl.valid() || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) fail("cannot make a file access list");
  Id f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
  if (!f.valid()) fail("cannot create file '" + path + "'");
  return f;
}

void close_file(Id& file) {
  const hid_t id = file.release();
  if (H5Fclose(id) < 0) fail("cannot close file");
}

bool is_hdf5(const std::string& path) {
  quiet_errors();
  const htri_t r = H5Fis_hdf5(path.c_str());
  if (r < 0) fail("cannot read file '" + path + "'");
  return r > 0;
}

bool exists(hid_t loc, const std::string& path) {
  std::string prefix;
  for (const std::string& part : split_path(path)) {
    prefix += prefix.empty() ? part : "/" + part;
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return !prefix.empty() && H5Oexists_by_name(loc, prefix.c_str(), H5P_DEFAULT) > 0;
}

bool is_group(hid_t loc, const std::string& path) {
  if (!exists(loc, path)) return false;
  Id obj(H5Oopen(loc, path.c_str(), H5P_DEFAULT));
  return obj.valid() && H5Iget_type(obj) == H5I_GROUP;
}

Id open_group(hid_t loc, const std::string& path) {
  Id g(H5Gopen2(loc, path.c_str(), H5P_DEFAULT));
  if (!g.valid()) fail("cannot open group '" + path + "'");
  return g;
}

Id create_group(hid_t loc, const std::string& path, bool track_order) {
  Id lcpl = intermediate_groups();
  Id gcpl(H5Pcreate(H5P_GROUP_CREATE));
  if (!gcpl.valid()) fail("cannot make a group property list");
  if (track_order && H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0)
    fail("cannot track creation order for group '" + path + "'");
  Id g(H5Gcreate2(loc, path.c_str(), lcpl, gcpl, H5P_DEFAULT));
  if (!g.valid()) fail("cannot create group '" + path + "'");
  return g;
}

std::vector<std::string> children(hid_t group) {
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) fail("cannot list a group");
  unsigned order_flags = 0;
  Id gcpl(H5Gget_create_plist(group));
  if (gcpl.valid()) H5Pget_link_creation_order(gcpl, &order_flags);
  const H5_index_t index = (order_flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) fail("cannot read the name of link " + std::to_string(i));
    if (len > 65535) throw std::runtime_error("link " + std::to_string(i) + " has a name of " + std::to_string(len) + " bytes");
    std::string name(size_t(len) + 1, '\0');
    H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(size_t(len));
    names.push_back(std::move(name));
  }
  return names;
}

bool has_attr(hid_t loc, const std::string& name) { return H5Aexists(loc, name.c_str()) > 0; }

std::vector<std::string> read_string_list_attr(hid_t loc, const std::string& name) {
  Id attr = open_attr(loc, name);
  Id type(H5Aget_type(attr));
  Id space(H5Aget_space(attr));
  if (!type.valid() || !space.valid()) fail("cannot read attribute '" + name + "'");
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) fail("cannot read the size of attribute '" + name + "'");
  std::vector<std::string> out;
  const H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_STRING) {
    // Keras 2.13 writes an empty name list as np.asarray([]): an empty float64 array. Any empty
    // numeric array is an empty list; a non-empty one is not a list of names.
    if (n == 0 && (cls == H5T_FLOAT || cls == H5T_INTEGER)) return out;
    throw std::runtime_error("attribute '" + name + "' holds " + std::to_string(n) + " " + type_class_name(cls) +
                             " value(s), expected strings");
  }
  if (n == 0) return out;
  // An attribute's elements are stored in the file (a fixed-length string in full, a variable-length
  // one as a heap reference): a count or size the file cannot hold is damage, refused before
  // anything is allocated for it.
  const uint64_t limit = file_size_of(attr);
  const size_t size = H5Tget_size(type);
  const bool vlen = H5Tis_variable_str(type) > 0;
  if (uint64_t(n) > limit || (!vlen && (size == 0 || size > limit || uint64_t(n) > limit / size)))
    throw std::runtime_error("attribute '" + name + "' declares " + std::to_string(n) + " strings" +
                             (vlen ? std::string() : " of " + std::to_string(size) + " bytes") +
                             ", more than the file holds");
  out.reserve(size_t(n));

  if (vlen) {
    // Variable-length: HDF5 hands back one malloc'd C string per element, freed by reclaim.
    Id mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    std::vector<char*> ptrs(size_t(n), nullptr);
    if (H5Aread(attr, mem, ptrs.data()) < 0) fail("cannot read attribute '" + name + "'");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mem, space, H5P_DEFAULT, ptrs.data());
#else
    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
#endif
    return out;
  }

  // Fixed-length: n strings of `size` bytes each, padded with NULs (numpy |S<n>) or spaces.
  std::vector<char> buf(size_t(n) * size + 1, '\0');
  if (H5Aread(attr, type, buf.data()) < 0) fail("cannot read attribute '" + name + "'");
  const bool space_padded = H5Tget_strpad(type) == H5T_STR_SPACEPAD;
  for (hssize_t i = 0; i < n; ++i) {
    const char* s = buf.data() + size_t(i) * size;
    size_t len = size_t(std::find(s, s + size, '\0') - s);
    if (space_padded)
      while (len > 0 && s[len - 1] == ' ') --len;
    out.emplace_back(s, len);
  }
  return out;
}

std::string read_string_attr(hid_t loc, const std::string& name) {
  std::vector<std::string> v = read_string_list_attr(loc, name);
  if (v.size() != 1)
    throw std::runtime_error("attribute '" + name + "' holds " + std::to_string(v.size()) + " strings, expected one");
  return v[0];
}

void write_fixed_strings_attr(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  size_t size = 1;
  for (const std::string& s : values) size = std::max(size, s.size());
  Id type(H5Tcopy(H5T_C_S1));
  if (!type.valid() || H5Tset_size(type, size) < 0 || H5Tset_strpad(type, H5T_STR_NULLPAD) < 0)
    fail("cannot make a string type for attribute '" + name + "'");
  const hsize_t n = values.size();
  Id space(H5Screate_simple(1, &n, nullptr));
  std::vector<char> buf(values.size() * size + 1, '\0');  // +1: a valid pointer for an empty list
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(buf.data() + i * size, values[i].data(), values[i].size());
  Id attr(H5Acreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) fail("cannot create attribute '" + name + "'");
  if (H5Awrite(attr, type, buf.data()) < 0) fail("cannot write attribute '" + name + "'");
}

void write_empty_float64_attr(hid_t loc, const std::string& name) {
  const hsize_t n = 0;
  Id space(H5Screate_simple(1, &n, nullptr));
  if (!space.valid()) fail("cannot make the dataspace of attribute '" + name + "'");
  Id attr(H5Acreate2(loc, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) fail("cannot create attribute '" + name + "'");
  const double none = 0.0;  // a valid pointer; nothing is read from it for 0 elements
  if (H5Awrite(attr, H5T_NATIVE_DOUBLE, &none) < 0) fail("cannot write attribute '" + name + "'");
}

void write_string_attr(hid_t loc, const std::string& name, const std::string& value) {
  Id type(H5Tcopy(H5T_C_S1));
  if (!type.valid() || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0)
    fail("cannot make a string type for attribute '" + name + "'");
  Id space(H5Screate(H5S_SCALAR));
  Id attr(H5Acreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) fail("cannot create attribute '" + name + "'");
  const char* p = value.c_str();
  if (H5Awrite(attr, type, &p) < 0) fail("cannot write attribute '" + name + "'");
}

namespace {

Id open_dataset(hid_t loc, const std::string& path) {
  Id d(H5Dopen2(loc, path.c_str(), H5P_DEFAULT));
  if (!d.valid()) fail("cannot open dataset '" + path + "'");
  return d;
}

// A fresh buffer is filled page by page as the read faults it in; for a 400 MB VGG16 kernel the
// 4 KiB faults cost more than the copy itself. Where transparent huge pages are in "madvise" mode
// (the Linux default), asking for them makes each fault bring in 2 MiB. Advisory: failure is ignored.
void advise_huge_pages(void* data, size_t bytes) {
  constexpr size_t kPage = 4096, kMin = size_t(4) << 20;
  if (bytes < kMin) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kPage - 1) & ~uintptr_t(kPage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~uintptr_t(kPage - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

std::vector<int64_t> dims_of(hid_t dataset, const std::string& path) {
  Id space(H5Dget_space(dataset));
  if (!space.valid()) fail("cannot read the shape of dataset '" + path + "'");
  if (H5Sget_simple_extent_type(space) == H5S_NULL) throw std::runtime_error("dataset '" + path + "' holds no data");
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail("cannot read the shape of dataset '" + path + "'");
  if (rank > Shape::kMaxRank)
    throw std::runtime_error("dataset '" + path + "' has rank " + std::to_string(rank) + ", at most " +
                             std::to_string(Shape::kMaxRank) + " is supported");
  hsize_t d[H5S_MAX_RANK] = {};
  if (rank > 0 && H5Sget_simple_extent_dims(space, d, nullptr) < 0) fail("cannot read the shape of dataset '" + path + "'");
  std::vector<int64_t> dims;
  uint64_t n = 1;
  for (int i = 0; i < rank; ++i) {
    if (d[i] > uint64_t(Shape::kMaxNumel) || (d[i] != 0 && n > uint64_t(Shape::kMaxNumel) / d[i]))
      throw std::runtime_error("dataset '" + path + "' declares more than 2^40 elements");
    n *= d[i];
    dims.push_back(int64_t(d[i]));
  }
  return dims;
}

// The bytes a dataset's data can really occupy in this file: its allocated storage, never more
// than the file itself (a damaged chunk index can claim any size).
uint64_t stored_bytes(hid_t dataset) { return std::min<uint64_t>(H5Dget_storage_size(dataset), file_size_of(dataset)); }

}  // namespace

std::vector<int64_t> dataset_dims(hid_t loc, const std::string& path) {
  Id d = open_dataset(loc, path);
  return dims_of(d, path);
}

Tensor read_tensor(hid_t loc, const std::string& path) {
  Id d = open_dataset(loc, path);
  Id type(H5Dget_type(d));
  const H5T_class_t cls = type.valid() ? H5Tget_class(type) : H5T_NO_CLASS;
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw std::runtime_error("dataset '" + path + "' does not hold numbers (HDF5 type class " + type_class_name(cls) + ")");
  const size_t element = H5Tget_size(type);
  if (element == 0 || element > 16)
    throw std::runtime_error("dataset '" + path + "' has " + std::to_string(element) + "-byte numbers (1 to 16 expected)");
  const std::vector<int64_t> dims = dims_of(d, path);
  const Shape shape(dims);
  // The file must hold what the shape declares before a byte is allocated: uncompressed data takes
  // its full size on disk; filtered (deflate, shuffle, ...) data at least 1/kMaxRatio of it
  // (deflate's best case is 1032:1). A crafted header cannot make us allocate gigabytes.
  constexpr uint64_t kMaxRatio = 1100;
  const uint64_t declared = uint64_t(shape.numel()) * element;
  Id dcpl(H5Dget_create_plist(d));
  const int filters = dcpl.valid() ? H5Pget_nfilters(dcpl) : 0;
  const uint64_t stored = stored_bytes(d);
  const bool fits = filters > 0 ? declared / kMaxRatio <= stored : declared <= stored;
  if (declared > 0 && !fits)
    throw std::runtime_error("dataset '" + path + "' declares shape " + shape.str() + " (" + std::to_string(declared) +
                             " bytes) but the file stores " + std::to_string(stored) + " bytes of it");
  Tensor t{shape};
  advise_huge_pages(t.data(), size_t(t.numel()) * sizeof(float));
  // HDF5 converts from the file type (f16/f32/f64, any byte order) to native float as it reads,
  // straight into the tensor's buffer: no staging copy of the whole array.
  if (t.numel() > 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) < 0)
    fail("cannot read dataset '" + path + "'");
  return t;
}

void write_dataset(hid_t loc, const std::string& path, hid_t file_type, hid_t mem_type,
                   const std::vector<int64_t>& dims, const void* data) {
  const std::vector<hsize_t> d(dims.begin(), dims.end());
  Id space(d.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(d.size()), d.data(), nullptr));
  if (!space.valid()) fail("cannot make the dataspace of dataset '" + path + "'");
  Id lcpl = intermediate_groups();
  Id ds(H5Dcreate2(loc, path.c_str(), file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT));
  if (!ds.valid()) fail("cannot create dataset '" + path + "'");
  int64_t numel = 1;
  for (int64_t x : dims) numel *= x;
  if (numel > 0 && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail("cannot write dataset '" + path + "'");
}

void write_tensor(hid_t loc, const std::string& path, const Tensor& t) {
  if (!t.defined() && t.numel() > 0) throw std::runtime_error("dataset '" + path + "': the tensor is empty (undefined)");
  write_dataset(loc, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, t.shape().dims(), t.data());
}

Id float16_type() {
  // Start from binary32 and move the fields: sign at bit 15, exponent bits 10..14 (bias 15),
  // mantissa bits 0..9, then shrink to two bytes. HDF5's soft float conversion handles the rest.
  Id t(H5Tcopy(H5T_IEEE_F32LE));
  if (!t.valid() || H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0)
    fail("cannot make a float16 type");
  return t;
}

}  // namespace convis::h5
