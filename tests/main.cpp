// The doctest runner for convis_tests. Each tests/*.cpp file holds the cases for one part.
//
// CTest runs every case on its own with --test-case=<name>. doctest splits filters at commas, so a
// name with a comma would silently match nothing and "pass"; the runner therefore fails whenever a
// filtered run selects no test case at all.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "engine/model_io.h"

namespace {

int g_cases_started = 0;

struct CountCases : doctest::IReporter {
  explicit CountCases(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_cases_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("count_cases", 1, CountCases);

int main(int argc, char** argv) {
  convis::set_default_weights_dir(std::string(CONVIS_SOURCE_DIR) + "/weights");  // as vis_tool's
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit()) return rc;
  if (rc == 0 && g_cases_started == 0) {
    std::fprintf(stderr, "convis_tests: the filters selected no test case (a comma in a name?)\n");
    return 1;
  }
  return rc;
}
