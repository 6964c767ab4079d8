#include "vis/png.h"

#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

// stb_image_write is compiled into Debian's libstb (linked through pkg-config).
#include <stb_image_write.h>

#include "engine/file_util.h"

namespace convis {

namespace fs = std::filesystem;

void write_png(const Canvas& c, const std::string& path) {
  if (c.width <= 0 || c.height <= 0 || c.rgb.size() != size_t(c.width) * size_t(c.height) * 3)
    throw std::invalid_argument("write_png '" + path + "': canvas is " + std::to_string(c.width) + "x" +
                                std::to_string(c.height) + " with " + std::to_string(c.rgb.size()) + " bytes");
  // Encoded in memory, then written with every write, fsync and close checked (stbi_write_png
  // itself ignores write errors: on a full disk it would leave a truncated file and succeed).
  std::string png;
  auto append = [](void* to, void* data, int size) { static_cast<std::string*>(to)->append(static_cast<char*>(data), size_t(size)); };
  if (!stbi_write_png_to_func(append, &png, c.width, c.height, 3, c.rgb.data(), c.width * 3) || png.empty())
    throw std::runtime_error("cannot write PNG '" + path + "': encoding failed (out of memory?)");
  write_file_atomically(path, png.data(), png.size());
}

void ensure_output_dir(const std::string& dir) {
  if (dir.empty()) throw std::invalid_argument("output directory: empty path");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw std::runtime_error("output directory '" + dir + "' exists and is not a directory");
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error("output directory '" + dir + "' cannot be created" + (ec ? " (" + ec.message() + ")" : ""));
  // access(W_OK) says yes to root on a read-only mount; a real probe file does not lie.
  const std::string probe = (fs::path(dir) / (".convis_probe_" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw std::runtime_error("output directory '" + dir + "' is not writable");
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace convis
