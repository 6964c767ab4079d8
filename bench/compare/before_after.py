#!/usr/bin/env python3
"""Two builds of convis_bench side by side: the same benchmarks, alternating rounds, medians.

  python3 bench/compare/before_after.py --before /tmp/old/convis_bench --after build/convis_bench \
      --filter 'conv2d_(fwd|bwd_data)/block(1_conv2|3_conv2|5_conv2)/224/threads:1' --rounds 4

A shared, noisy machine drifts: running all of one build and then all of the other puts the drift
in the ratio. Here each round runs the before binary, then the after one, then the next round in
the other order, so drift falls on both sides alike. Prints, per benchmark, the median real time
of each build over the rounds and after / before (below 1: the after build is faster), and the
CPU's model line. Standard library only.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile


def run(binary, flt, min_time):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([binary, "--benchmark_filter=" + flt, "--benchmark_min_time=" + min_time,
                        "--benchmark_out=" + out.name, "--benchmark_out_format=json"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        data = json.load(open(out.name))
    to_ms = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    return {b["name"]: b["real_time"] * to_ms[b.get("time_unit", "ns")]
            for b in data["benchmarks"] if b.get("run_type") != "aggregate"}


def cpu_model():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--filter", required=True)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--min-time", default="0.3", help="seconds: Google Benchmark's --benchmark_min_time per run (Debian 12's takes a plain number)")
    a = p.parse_args()
    if a.rounds < 1:
        sys.exit("before_after.py: --rounds must be at least 1")
    times = {"before": {}, "after": {}}
    for r in range(a.rounds):
        order = [("before", a.before), ("after", a.after)]
        for side, binary in (order if r % 2 == 0 else order[::-1]):
            for name, t in run(binary, a.filter, a.min_time).items():
                times[side].setdefault(name, []).append(t)
    names = [n for n in times["before"] if n in times["after"]]
    if not names:
        sys.exit("before_after.py: no benchmark matched '%s' in both builds" % a.filter)
    print("CPU: %s; %d alternating rounds; median real time (ms)" % (cpu_model(), a.rounds))
    print("| benchmark | before | after | after / before |")
    print("|---|---:|---:|---:|")
    for n in names:
        b, f = statistics.median(times["before"][n]), statistics.median(times["after"][n])
        print("| %s | %.2f | %.2f | %.3f |" % (n.replace("/real_time", ""), b, f, f / b))


if __name__ == "__main__":
    main()
