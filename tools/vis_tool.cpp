// vis_tool: every convis visualisation from one binary. `vis_tool --help` lists the subcommands;
// `vis_tool NAME --help` explains one with an example. Library code throws; this file is the
// only place that turns an error into a one-line message and an exit code (2).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "engine/errors.h"
#include "engine/file_util.h"
#include "engine/model_io.h"
#include "kernels/cpu.h"
#include "tools/cli.h"
#include "tools/threads.h"
#include "vis/image.h"

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

// An error is one line: control characters (a newline in a file name or in a message quoted
// from a file) become spaces, and a message longer than 1000 bytes is cut.
// The flag that sets each parameter the library names in a ParameterError ("" when none does).
std::string flag_of(const std::string& parameter) {
  static const std::pair<const char*, const char*> kFlags[] = {
      {"input_size", "--input-size"}, {"stride", "--stride"}, {"pad", "--pad"},
      {"at", "--at"},                 {"filter", "--filter"}, {"max_pixels", "--max-pixels"},
      {"iters", "--iters"},           {"per_block", "--per-block"},
  };
  for (const auto& [param, flag] : kFlags)
    if (parameter == param) return flag;
  return "";
}

std::string one_line(const std::string& s) {
  std::string out;
  for (char ch : s) out += (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ? ' ' : ch;
  if (out.size() > 1000) out = out.substr(0, 1000) + "...";
  return out;
}

// Removes "--flag N" or "--flag=N" (anywhere after the command) from args into value. False,
// after a one-line error, when N is not an integer from 1 to max.
bool take_global(std::vector<std::string>& args, const std::string& flag, long long max, const char* expected,
                 long long& value) {
  for (size_t i = 1; i < args.size(); ++i) {
    const bool joined = args[i].rfind(flag + "=", 0) == 0;
    if (args[i] != flag && !joined) continue;
    const std::string v = joined ? args[i].substr(flag.size() + 1) : (i + 1 < args.size() ? args[i + 1] : "");
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < 1 || n > max) {
      std::fprintf(stderr, "vis_tool: error: %s expects %s, got '%s'\n", flag.c_str(), expected, one_line(v).c_str());
      return false;
    }
    value = n;
    args.erase(args.begin() + long(i), args.begin() + long(i) + (joined || i + 1 >= args.size() ? 1 : 2));
    return true;
  }
  return true;
}

// OpenMP threads that wait at the end of a parallel region spin before they sleep; libgomp's
// default is 300,000 spins. On a laptop with other work running, a waiting thread then burns the
// time slices its partner needs (vis_tool demo with four busy loops on two cores: 9x its quiet
// time; with 1,000 spins 3.7x, fair share being 3x, and the same quiet time within noise).
// libgomp reads its environment once, in its own constructor, before main: the only way to
// choose for the user is to set GOMP_SPINCOUNT and run this program again (one exec, about a
// millisecond). A user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins; if the exec fails, the program
// goes on with OpenMP's default.
void set_openmp_wait_default(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (setenv("GOMP_SPINCOUNT", "1000", 0) != 0) return;
  execv("/proc/self/exe", argv);
}

}  // namespace

int main(int argc, char** argv) {
  set_openmp_wait_default(argv);
  convis::remove_temp_files_on_signals();  // SIGINT/SIGTERM during a write leave no temporary file
  convis::set_default_weights_dir(std::string(CONVIS_SOURCE_DIR) + "/weights");  // where vgg16, fashion live
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_overview(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  // Global options, valid with every command: --max-pixels N (the largest image read) and
  // --threads N (the OpenMP team; default: OMP_NUM_THREADS, else adaptive up to the CPUs this
  // process may use).
  long long max_pixels = 0, threads = 0;
  if (!take_global(args, "--max-pixels", 1LL << 40, "a pixel count from 1 to 2^40", max_pixels) ||
      !take_global(args, "--threads", 1024, "a thread count from 1 to 1024", threads))
    return 2;
  if (max_pixels > 0) convis::set_image_pixel_limit(max_pixels);
  convis::cli::configure_threads(int(threads));  // 0: OMP_NUM_THREADS, else adaptive (tools/threads.h)
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
    } catch (const std::bad_alloc&) {
      // Readers turn allocations sized by a file into errors naming it; one that still fails is
      // a request this machine cannot serve.
      std::fprintf(stderr, "vis_tool %s: error: out of memory (try a smaller --batch or --size)\n", c.name);
      return 2;
    } catch (const convis::ParameterError& e) {
      // The library names the parameter; the command line names the flag that set it.
      std::string what = one_line(e.what());
      const std::string prefix = name + ": ";
      if (what.compare(0, prefix.size(), prefix) == 0) what.erase(0, prefix.size());
      const std::string flag = flag_of(e.parameter);
      std::fprintf(stderr, "vis_tool %s: error: %s%s\n", c.name, what.c_str(), flag.empty() ? "" : (" (set by " + flag + ")").c_str());
      return 2;
    } catch (const std::exception& e) {
      // Messages often begin with the command's name already ("grad: --filter ..."): say it once.
      std::string what = one_line(e.what());
      const std::string prefix = name + ": ";
      if (what.compare(0, prefix.size(), prefix) == 0) what.erase(0, prefix.size());
      std::fprintf(stderr, "vis_tool %s: error: %s\n", c.name, what.c_str());
      return 2;
    }
  }
  std::fprintf(stderr, "vis_tool: unknown command '%s' (run vis_tool --help for the list)\n", name.c_str());
  return 2;
}
