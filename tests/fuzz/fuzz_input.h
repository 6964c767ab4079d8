#pragma once
// libFuzzer harness helpers: the readers take paths (as vis_tool does), so each input is written
// to a file in a private folder first. A harness passes when the reader returns or throws a
// std::exception; a crash, a sanitizer report, a leak or a hang is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace convis::fuzz {

inline const std::string& input_path(const char* suffix) {
  static const std::string p = [&] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/convis_fuzz_" + std::to_string(::getpid()) + suffix;
  }();
  return p;
}

inline const std::string& write_input(const uint8_t* data, size_t size, const char* suffix) {
  const std::string& p = input_path(suffix);
  FILE* f = std::fopen(p.c_str(), "wb");
  if (f) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return p;
}

}  // namespace convis::fuzz
