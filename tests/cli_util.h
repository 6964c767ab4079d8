#pragma once
// Running vis_tool from tests: the exit code, stdout and stderr of one command line.
//   CliResult r = run_vis_tool({"summary", "--weights", path});
//   CHECK(r.rc == 0); CHECK(r.out.find("Total params") != std::string::npos);
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

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
  cmd += " " + shell_quote(CONVIS_VIS_TOOL);
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

// Where ../shared/data is, or "" (then the test prints a message and skips).
inline std::string shared_data_dir() {
  const std::string d = CONVIS_SHARED_DATA;
  return std::filesystem::exists(d + "/README.md") ? d : std::string();
}

}  // namespace convis::test
