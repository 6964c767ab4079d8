// vis_tool: every convis visualisation from one binary. `vis_tool --help` lists the subcommands;
// `vis_tool NAME --help` explains one with an example. Library code throws; this file is the
// only place that turns an error into a one-line message and an exit code (2).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace {

void print_overview(std::FILE* to) {
  std::fprintf(to,
               "vis_tool %s - how convolutional networks see\n\n"
               "usage: vis_tool <command> [options]\n"
               "       vis_tool <command> --help      options and an example\n\n"
               "commands:\n",
               CONVIS_VERSION);
  for (const auto& c : convis::cli::subcommands()) std::fprintf(to, "  %-12s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_overview(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string name = args[0];
  for (const auto& c : convis::cli::subcommands()) {
    if (name != c.name) continue;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto& a : rest)
      if (a == "--help" || a == "-h") {
        std::printf("%s\n", c.help);
        return 0;
      }
    try {
      return c.run(rest);
    } catch (const std::exception& e) {
      // Messages often begin with the command's name already ("grad: --filter ..."): say it once.
      std::string what = e.what();
      const std::string prefix = name + ": ";
      if (what.compare(0, prefix.size(), prefix) == 0) what.erase(0, prefix.size());
      std::fprintf(stderr, "vis_tool %s: error: %s\n", c.name, what.c_str());
      return 2;
    }
  }
  std::fprintf(stderr, "vis_tool: unknown command '%s' (run vis_tool --help for the list)\n", name.c_str());
  return 2;
}
