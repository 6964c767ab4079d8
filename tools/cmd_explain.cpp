// vis_tool explain TOPIC: the teaching mode. Worked examples with every number shown (vis/explain.h),
// coloured on a terminal; `explain conv --png DIR [--frames]` draws the same steps as pictures. The
// topics are the table in tools/explain_topics.cpp; this file picks the row and builds --help from it.
#include <algorithm>
#include <string>
#include <vector>

#include "tools/cli.h"
#include "tools/explain_topics.h"

namespace convis::cli {

namespace {

UsageError which_topic() {
  return UsageError("explain: which topic? one of " + explain_topic_names() + " (e.g. vis_tool explain conv)");
}

const char* summary() {
  static const std::string s = "teaching mode: " + explain_topic_names() + " worked by hand";
  return s.c_str();
}

const char* help() {
  static const std::string s =
      "vis_tool explain TOPIC [options]\n\n"
      "Worked examples with every number shown, each checked against the engine.\n" +
      explain_topics_help() +
      "  --no-color plain text (colour is on only when stdout is a terminal; NO_COLOR also turns it off)\n\n"
      "examples:\n"
      "  vis_tool explain conv\n"
      "  vis_tool explain conv --input \"1,2,3;4,5,6;7,8,9\" --kernel \"1,0;0,-1\" --pad 1 --stride 2\n"
      "  vis_tool explain value --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
      "      --layer conv2d_5 --image ../shared/data/images/cat_chelsea.png --at 10,12 --filter 7";
  return s.c_str();
}

}  // namespace

static int run_explain(const std::vector<std::string>& argv) {
  if (argv.empty()) throw which_topic();
  // `explain --weights F --layer L ...` (options, no topic) is `explain value`.
  const bool implicit_value = argv[0].rfind("--", 0) == 0;
  if (implicit_value && std::find(argv.begin(), argv.end(), "--weights") == argv.end()) throw which_topic();
  const std::string name = implicit_value ? "value" : argv[0];
  const std::string cmd = "explain " + name;
  Args args(cmd, std::vector<std::string>(argv.begin() + (implicit_value ? 0 : 1), argv.end()), {"no-color", "frames"});
  const ExplainTopic& topic = explain_topic(name);
  std::vector<std::string> known = topic.options;
  known.push_back("no-color");
  // Pictures exist for some topics only: say which, instead of a bare "unknown option".
  if (args.has("png") && std::find(known.begin(), known.end(), "png") == known.end()) {
    std::string with;
    for (const ExplainTopic& t : explain_topics())
      if (std::find(t.options.begin(), t.options.end(), "png") != t.options.end()) with += (with.empty() ? "" : ", ") + std::string(t.name);
    throw UsageError(cmd + ": --png draws pictures for " + with + " only; " + name + " is text");
  }
  args.allow_only(known);
  topic.run(args, cmd);
  return 0;
}

static const Registration reg_explain(80, {"explain", summary(), help(), run_explain});

}  // namespace convis::cli
