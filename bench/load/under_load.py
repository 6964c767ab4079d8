#!/usr/bin/env python3
"""A vis_tool command quiet and beside busy loops, in alternating rounds: how convis shares a
busy laptop.

  python3 bench/load/under_load.py [--hogs 4] [--rounds 3] [--env NAME=VALUE ...] -- \\
      ./build/vis_tool demo --out /tmp/demo

Each round runs the command once with nothing else started and once beside --hogs busy-loop
processes (pure Python `while True: pass`, one per hog), and prints the wall times, the medians and
the loaded/quiet ratio. With H hogs on C cores and T threads, a fair share of the CPU gives a
ratio of about (H + T) / T when T <= C (4 hogs, 2 threads, 2 cores: 3x). --env adds variables to
the command's environment (e.g. GOMP_SPINCOUNT=300000 to see libgomp's own default again).
"""
import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compare"))
from before_after import cpu_model  # noqa: E402  (lscpu's model line)


def hog():
    while True:
        pass


def timed(cmd, env):
    t0 = time.monotonic()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hogs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("give the command after --")
    env = dict(os.environ)
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    quiet, loaded = [], []
    for r in range(a.rounds):
        quiet.append(timed(cmd, env))
        procs = [multiprocessing.Process(target=hog, daemon=True) for _ in range(a.hogs)]
        for p in procs:
            p.start()
        time.sleep(0.5)
        try:
            loaded.append(timed(cmd, env))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.join()
        print(f"round {r + 1}: quiet {quiet[-1]:.2f} s, {a.hogs} hogs {loaded[-1]:.2f} s", flush=True)
    q, l = statistics.median(quiet), statistics.median(loaded)
    print(f"{cpu_model()}, {os.cpu_count()} CPUs, env {' '.join(a.env) or '(none added)'}")
    print(f"median: quiet {q:.2f} s, {a.hogs} hogs {l:.2f} s, ratio {l / q:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
