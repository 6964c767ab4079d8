// The doctest runner for convis_tests. Each tests/*.cpp file holds the cases for one part.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
