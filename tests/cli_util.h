#pragma once
// Running vis_tool from tests: the exit code, stdout and stderr of one command line.
//   CliResult r = run_vis_tool({"summary", "--weights", path});
//   CHECK(r.rc == 0); CHECK(r.out.find("Total params") != std::string::npos);
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "tests/util.h"  // error_of, contains

#include <doctest/doctest.h>

namespace convis::test {

struct CliResult {
  int rc = -1;
  std::string out, err;
  // stderr is a single line (the house rule for errors).
  bool one_line_error() const { return !err.empty() && err.find('\n') == err.size() - 1; }
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A fresh empty directory under the system temp dir, unique per process and name.
inline std::filesystem::path temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path d = fs::temp_directory_path() / ("convis_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Runs CONVIS_VIS_TOOL with the arguments (and optional environment assignments like
// "OMP_NUM_THREADS=1"), capturing both streams.
inline CliResult run_vis_tool(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path();
  const std::string tag = "convis_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const fs::path out = dir / (tag + ".out"), err = dir / (tag + ".err");
  std::string cmd = "env";
  for (const auto& e : env) cmd += " " + shell_quote(e);
  // Every run is bounded: a command that blocks (on a FIFO, in a damaged file) fails the test
  // with exit code 124 instead of hanging the suite.
  cmd += " timeout -s KILL 120 " + shell_quote(CONVIS_VIS_TOOL);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(out.string()) + " 2>" + shell_quote(err.string()) + " </dev/null";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}



inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A fresh directory for one test case, removed with everything in it at the end.
struct Dir {
  std::filesystem::path dir;
  explicit Dir(const std::string& name) : dir(temp_dir(name)) {}
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

// An .npy file by hand: a version 1 header with the given dict, then raw bytes.
inline std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string header = dict;
  header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::string b = std::string("\x93NUMPY\x01\x00", 8);
  b += char(header.size() & 0xff);
  b += char(header.size() >> 8);
  return b + header + data;
}

inline std::vector<std::string> listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Runs a command that must fail, twice: once with `out` absent (it must stay absent), once with
// `out` holding other bytes (they must stay as they were). Each time: exit code 2, nothing on
// stdout, exactly one line on stderr that starts "vis_tool <command>: error: " and contains every
// string in `says`, and no file left behind in out's directory. `out` "" for commands without one.
inline void expect_failure(const std::vector<std::string>& args, const std::string& out, const std::vector<std::string>& says) {
  CAPTURE(args[0]);
  const std::filesystem::path dir = out.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(out).parent_path();
  for (const bool pre_existing : {false, true}) {
    if (pre_existing && out.empty()) break;
    CAPTURE(pre_existing);
    const std::string before = "precious bytes that a failed command must not touch\n";
    if (!out.empty()) {
      std::filesystem::remove(out);
      if (pre_existing) write_bytes(out, before);
    }
    const std::vector<std::string> files_before = out.empty() ? std::vector<std::string>() : listing(dir);
    const CliResult r = run_vis_tool(args);
    INFO("stderr: " << r.err);
    CHECK(r.rc == 2);
    CHECK(r.out.empty());
    CHECK(r.one_line_error());
    CHECK(r.err.rfind("vis_tool " + args[0] + ": error: ", 0) == 0);
    for (const std::string& s : says) CHECK_MESSAGE(contains(r.err, s), "expected the message to say: " << s);
    if (out.empty()) continue;
    CHECK(std::filesystem::exists(out) == pre_existing);
    if (pre_existing) CHECK(slurp(out) == before);
    CHECK(listing(dir) == files_before);  // no temporary file left over
  }
  if (!out.empty()) std::filesystem::remove(out);
}
// Where ../shared/data is, or "" (then the test prints a message and skips).
inline std::string shared_data_dir() {
  const std::string d = CONVIS_SHARED_DATA;
  return std::filesystem::exists(d + "/README.md") ? d : std::string();
}

}  // namespace convis::test
