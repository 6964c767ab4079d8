#pragma once
// The vis_tool command line: a table of subcommands, each with a one-line summary, a --help text
// with an example, and a function. Parsing is `--name value` and `--flag` pairs.
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace convis::cli {

// Bad command-line input: vis_tool prints the message on one line and exits with 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // argv after the subcommand name. `flags` lists the options that take no value.
  Args(const std::string& command, const std::vector<std::string>& argv, const std::vector<std::string>& flags);
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback) const;
  std::string require(const std::string& name) const;  // UsageError when missing
  int get_int(const std::string& name, int fallback) const;
  // The same, refusing values outside [lo, hi] with a message naming the option and the range:
  // every size, count and stride from the command line is bounded before anything uses it.
  int get_int(const std::string& name, int fallback, int lo, int hi) const;
  double get_double(const std::string& name, double fallback) const;
  // Throws UsageError naming the first option not in `known` (typos should not pass silently).
  void allow_only(const std::vector<std::string>& known) const;

 private:
  std::string command_;
  std::map<std::string, std::string> values_;
};

// Layer names become file names: anything but letters, digits, '_', '-' and '.' becomes '_'.
std::string file_safe(const std::string& s);

struct Subcommand {
  const char* name;
  const char* summary;  // one line, for `vis_tool --help`
  const char* help;     // full text with an example, for `vis_tool NAME --help`
  int (*run)(const std::vector<std::string>& argv);
};

// Every subcommand vis_tool knows, in the order --help lists them (by `order`).
const std::vector<Subcommand>& subcommands();

// Each tools/cmd_*.cpp registers its subcommands with a file-scope object:
//   static const Registration reg(30, {"classify", "one line", "help text", run_classify});
// `order` sorts --help's list: 10s inspect models, 20s make files, 30s classify and numbers,
// 40s-60s visualisations, 70s training, 80s teaching, 90s the demo.
struct Registration {
  Registration(int order, Subcommand command);
};

}  // namespace convis::cli
