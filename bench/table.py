#!/usr/bin/env python3
"""Turns convis_bench's JSON output into the Markdown tables of bench/README.md.

  ./build/convis_bench --benchmark_filter='^gemm/(ours|eigen_avx2|eigen)/' \
      --benchmark_out=gemm.json --benchmark_out_format=json
  python3 bench/table.py gemm.json

One row per (benchmark family, layer, input size, batch, threads), one column per implementation
(GFLOP/s, from the FLOP/s counter), then the ratio of ours (or winograd, for conv2d_algo/...) to
each other implementation.
Standard library only.
"""
import json
import sys
from collections import OrderedDict


def main(path):
    with open(path) as f:
        data = json.load(f)
    rows = OrderedDict()
    impls = []
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        parts = b["run_name"].split("/") if "run_name" in b else b["name"].split("/")
        parts = [p for p in parts if p != "real_time"]
        if parts[0] == "conv2d_algo":  # conv2d_algo/<impl>/<pass>/<layer>/<size>/b<batch>/threads:T
            family, impl = parts[0] + "/" + parts[2], parts[1]
            layer, size, batch, threads = parts[3], parts[4], parts[5][1:], parts[6].split(":")[1]
        elif len(parts) == 4:  # <family>/<layer>/<size>/threads:T (conv2d_fwd, ...: one implementation)
            family, impl, layer, size, threads = parts[0], "convis", parts[1], parts[2], parts[3].split(":")[1]
            batch = "1"
        else:  # <family>/<impl>/<layer>/<size>/threads:T
            family, impl, layer, size, threads = parts[0], parts[1], parts[2], parts[3], parts[4].split(":")[1]
            batch = "1"
        if impl not in impls:
            impls.append(impl)
        key = (family, layer, int(size), int(batch), int(threads))
        rows.setdefault(key, {})[impl] = b["FLOP/s"] / 1e9
    ours = "ours" if "ours" in impls else ("winograd" if "winograd" in impls else None)
    others = [i for i in impls if i != ours]
    family = None
    for (fam, layer, size, batch, threads), r in rows.items():
        if fam != family:
            family = fam
            print(f"\n{fam}: GFLOP/s\n")
            head = ["layer", "input", "batch", "threads"] + impls + ([f"{ours} / {o}" for o in others] if ours else [])
            print("| " + " | ".join(head) + " |")
            print("|" + "---|" * 4 + "---:|" * (len(head) - 4))
        cells = [layer, f"{size}x{size}", str(batch), str(threads)]
        cells += [f"{r[i]:.1f}" if i in r else "-" for i in impls]
        if ours:
            cells += [f"{r[ours] / r[o]:.2f}x" if ours in r and o in r else "-" for o in others]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: table.py BENCH.json")
    main(sys.argv[1])
