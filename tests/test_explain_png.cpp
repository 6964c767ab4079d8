// vis_tool explain --png on a topic without pictures: one line that names the topics with pictures.
#include <string>

#include <doctest/doctest.h>

#include "tests/cli_util.h"
#include "tests/util.h"
#include "tools/explain_topics.h"

using convis::test::contains;

TEST_CASE("explain --png on a text-only topic names the topics that draw") {
  std::string with;
  for (const convis::cli::ExplainTopic& t : convis::cli::explain_topics())
    for (const std::string& o : t.options)
      if (o == "png") with += (with.empty() ? "" : ", ") + std::string(t.name);
  REQUIRE(!with.empty());
  const std::filesystem::path out = convis::test::temp_dir("explain_png") / "pics";
  for (const char* topic : {"pool", "relu", "softmax"}) {
    CAPTURE(topic);
    const convis::test::CliResult r = convis::test::run_vis_tool({"explain", topic, "--png", out.string()});
    CHECK(r.rc == 2);
    CHECK(r.one_line_error());
    CHECK(contains(r.err, "--png draws pictures for " + with + " only; " + topic + " is text"));
    CHECK(!std::filesystem::exists(out));
  }
  const convis::test::CliResult ok = convis::test::run_vis_tool({"explain", "conv", "--png", out.string()});
  CHECK(ok.rc == 0);
  CHECK(std::filesystem::exists(out / "conv.png"));
  std::filesystem::remove_all(out.parent_path());
}
