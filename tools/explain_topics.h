#pragma once
// The topics of `vis_tool explain`, as a table: each row names a topic, says what it works through
// and which options it takes, and points to the function that reads those options, runs the
// worked example (vis/explain.h) and prints it. `explain --help`, the list in every "which topic?"
// message and the dispatch all come from this table.
//
// Adding a topic: its example in vis/ (explain_<topic>, returning the numbers and the Text), one
// run function in tools/explain_topics.cpp, one row in explain_topics(), and a section in
// docs/teaching.md (tests/test_method_tables.cpp checks the row, the docs and that the command
// prints what the function returns).
#include <string>
#include <string_view>
#include <vector>

#include "tools/cli.h"

namespace convis::cli {

struct ExplainTopic {
  const char* name;                  // vis_tool explain NAME
  const char* help;                  // its entry in `explain --help`: the first line says what it
                                     // works through, the next ones (after '\n') its options
  std::vector<std::string> options;  // the options it accepts besides --no-color, without "--"
  // Reads the options (already limited to `options`), runs the example and prints it to stdout.
  // command: "explain NAME", the prefix of its messages.
  void (*run)(const Args& args, const std::string& command);
};

// Every topic, each once, in the order --help lists them.
const std::vector<ExplainTopic>& explain_topics();
const ExplainTopic* find_explain_topic(std::string_view name);  // nullptr when there is none
// The row named `name`; a UsageError naming it and listing the topics otherwise.
const ExplainTopic& explain_topic(std::string_view name);
std::string explain_topic_names();  // "conv, im2col, ...", in the table's order
// The topics' part of `explain --help`: each name with its help, aligned.
std::string explain_topics_help();

}  // namespace convis::cli
