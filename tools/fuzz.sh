#!/usr/bin/env bash
# Runs one libFuzzer harness (or all) for a fixed time:  tools/fuzz.sh NAME SECONDS
#   NAME: npy, idx, image, model_config, h5, or all (each for SECONDS, two at a time).
#   tools/fuzz.sh configure   only configures the build (tools/test.sh shares it).
# Builds build-asan/ with clang (ASan+UBSan, coverage on the readers, CONVIS_FUZZ=ON: the same
# tree as the sanitizer unit tests), writes the seed corpus the project makes itself (fuzz_seeds)
# into build-asan/fuzz/corpus/NAME, then fuzzes. Exit 1 on any crash, leak, sanitizer report or
# timeout; the reproducer is left in build-asan/fuzz/findings/NAME/.
# Prints, per harness: executions, seconds, corpus size, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: tools/fuzz.sh NAME SECONDS (NAME: npy idx image model_config h5 all, or configure)}
build=build-asan
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCONVIS_FUZZ=ON -DCONVIS_BENCH=OFF >/dev/null
[[ "$name" == configure ]] && exit 0
seconds=${2:?usage: tools/fuzz.sh NAME SECONDS}
all=(npy idx image model_config h5)
if [[ "$name" != all && ! " ${all[*]} " =~ " $name " ]]; then
  echo "fuzz.sh: unknown harness '$name' (npy idx image model_config h5 all)" >&2; exit 2
fi
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 ]] || { echo "fuzz.sh: SECONDS must be a positive integer" >&2; exit 2; }

mkdir -p "$build/fuzz"
targets=(fuzz_seeds); for n in "${all[@]}"; do targets+=("fuzz_$n"); done
cmake --build "$build" -j"${JOBS:-$(nproc)}" --target "${targets[@]}" >"$build/fuzz/build.log" 2>&1 ||
  { tail -30 "$build/fuzz/build.log" >&2; exit 1; }

out=$build/fuzz/corpus
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ASAN_OPTIONS=detect_leaks=0 "$build"/fuzz_seeds "$out"

run_one() {
  local n=$1 log=$build/fuzz/fuzz_$1.log
  mkdir -p "$build/fuzz/findings/$n"
  # -timeout: one input may take at most 20 s (the h5 reader's watchdog is 5 s per file);
  # -rss_limit_mb: the issue's 1.5 GB bound, plus the sanitizers' shadow.
  if "$build"/fuzz_"$n" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -max_len=65536 \
       -artifact_prefix="$build/fuzz/findings/$n/" -print_final_stats=1 "$out/$n" >"$log" 2>&1; then
    local execs
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz $n: $execs executions in ${seconds} s, corpus $(ls "$out/$n" | wc -l) files, 0 crashes"
  else
    echo "fuzz $n: FAILED, see $log and $build/fuzz/findings/$n/" >&2
    grep -m5 -E 'ERROR|SUMMARY|crash-|timeout-|leak-' "$log" >&2 || true
    return 1
  fi
}

if [[ "$name" != all ]]; then run_one "$name"; exit; fi
# Two at a time (CI has two cores); every harness runs even if one fails.
status=0
for pair in "npy idx" "image model_config" "h5"; do
  pids=()
  for n in $pair; do run_one "$n" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
done
exit $status
