#!/usr/bin/env bash
# README command 2: install what is missing, build, run the whole test suite.
#   1. Release build (-O3): every test (ctest).
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build (clang -O1, build-asan/): the unit
#      tests again, and the libFuzzer harnesses built beside them.
#   3. Each reader fuzzed for FUZZ_SECONDS (60) from the seed corpus the project writes; any
#      crash, leak or hang fails (tools/fuzz.sh, on the same build).
# Any failure stops the script with a non-zero exit code. JOBS=n overrides the build parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}

bash tools/setup.sh

echo "== Release build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
echo "== Release tests"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== ASan+UBSan build with the fuzz harnesses (build-asan/, clang)"
bash tools/fuzz.sh configure
cmake --build build-asan -j"$jobs"
echo "== ASan+UBSan unit tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
echo "== fuzzers (${FUZZ_SECONDS:-60} s each, two at a time)"
bash tools/fuzz.sh all "${FUZZ_SECONDS:-60}"
