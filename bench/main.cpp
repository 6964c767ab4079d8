// The Google Benchmark runner for convis_bench. Each bench/*.cpp file registers its benchmarks.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
