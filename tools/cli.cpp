#include "tools/cli.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace convis::cli {

Args::Args(const std::string& command, const std::vector<std::string>& argv, const std::vector<std::string>& flags)
    : command_(command) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 3 || a.compare(0, 2, "--") != 0)
      throw UsageError(command_ + ": unexpected argument '" + a + "' (options look like --name value)");
    std::string name = a.substr(2);
    const auto eq = name.find('=');
    if (eq != std::string::npos) {
      values_[name.substr(0, eq)] = name.substr(eq + 1);
    } else if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      values_[name] = "1";
    } else {
      if (i + 1 >= argv.size()) throw UsageError(command_ + ": option --" + name + " needs a value");
      values_[name] = argv[++i];
    }
  }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw UsageError(command_ + ": missing --" + name + " (see vis_tool " + command_ + " --help)");
  return it->second;
}

int Args::get_int(const std::string& name, int fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name, "");
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < -2147483647L || x > 2147483647L)
    throw UsageError(command_ + ": --" + name + " expects an integer, got '" + v + "'");
  return int(x);
}

int Args::get_int(const std::string& name, int fallback, int lo, int hi) const {
  if (!has(name)) return fallback;
  const int v = get_int(name, fallback);
  if (v < lo || v > hi)
    throw UsageError(command_ + ": --" + name + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                     std::to_string(v));
  return v;
}

double Args::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name, "");
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(x > -1e30 && x < 1e30))
    throw UsageError(command_ + ": --" + name + " expects a finite number, got '" + v + "'");
  return x;
}

namespace {

std::vector<std::pair<int, Subcommand>>& registry() {
  static std::vector<std::pair<int, Subcommand>> r;  // function-local: safe during static init
  return r;
}

}  // namespace

Registration::Registration(int order, Subcommand command) { registry().emplace_back(order, command); }

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> sorted = [] {
    auto r = registry();
    std::stable_sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Subcommand> out;
    for (const auto& e : r) out.push_back(e.second);
    return out;
  }();
  return sorted;
}

void Args::allow_only(const std::vector<std::string>& known) const {
  for (const auto& kv : values_)
    if (std::find(known.begin(), known.end(), kv.first) == known.end())
      throw UsageError(command_ + ": unknown option --" + kv.first + " (see vis_tool " + command_ + " --help)");
}

std::string file_safe(const std::string& s) {
  std::string o = s;
  for (char& c : o)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) c = '_';
  return o;
}

}  // namespace convis::cli
