#pragma once
// Small file helpers shared by every writer: nothing half-written is ever left behind.
#include <functional>
#include <string>

namespace convis {

// Calls write(tmp_path) for a temporary path in the same directory as `path`, then renames it
// onto `path`. If write throws (or the rename fails), the temporary file is removed, `path` is
// untouched, and the exception propagates.
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// Throws std::runtime_error "<what> '<path>' does not exist" / "... is a directory".
void require_readable_file(const std::string& path, const char* what);

}  // namespace convis
