#!/usr/bin/env bash
# README command 2: install what is missing, build, run the whole test suite.
#   1. Release build (-O3): every test (ctest).
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build (-O1): the unit tests again.
#   3. The libFuzzer harnesses (clang, ASan+UBSan): each reader fuzzed for FUZZ_SECONDS (60) from
#      the seed corpus the project writes; any crash, leak or hang fails.
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

echo "== ASan+UBSan build (build-asan/)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCONVIS_SANITIZE=ON -DCONVIS_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
echo "== ASan+UBSan unit tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
echo "== fuzzers (${FUZZ_SECONDS:-60} s each, two at a time)"
bash tools/fuzz.sh all "${FUZZ_SECONDS:-60}"
