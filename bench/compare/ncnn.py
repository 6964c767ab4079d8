#!/usr/bin/env python3
"""convis against ncnn on VGG16, on this machine, same threads, alternating rounds.

    python3 bench/compare/ncnn.py --ncnn NCNN_BUILD [--ncnn-src NCNN_SRC] [--build build]
                                  [--threads 2] [--rounds 4]

Users build ncnn themselves (nothing of it is in this project), e.g.
    git clone https://github.com/Tencent/ncnn && cd ncnn && mkdir build && cd build
    cmake .. -DCMAKE_BUILD_TYPE=Release -DNCNN_VULKAN=OFF -DNCNN_AVX512=OFF -DNCNN_BUILD_BENCHMARK=ON \\
          -DNCNN_BUILD_TOOLS=OFF -DNCNN_BUILD_EXAMPLES=OFF -DNCNN_BUILD_TESTS=OFF && make -j2 benchncnn
and pass the build folder (it holds benchmark/benchncnn) and, if the build folder is not inside the
source tree, the source (it holds benchmark/models/vgg16.param).

Workloads: VGG16 to block5_pool at 224 and at 96, and with its classifier at 224, batch 1. ncnn
runs `benchncnn LOOPS THREADS 0 -1 0 param=P shape=[S,S,3]` on its own vgg16.param (for the conv
part the layers after pool5 cut off; at 96x96 its 224x224 shape hints removed): random weights, which is what
benchncnn always runs, and the average of its loops is its time. convis runs build/convis_compare
forward on a random VGG16 written by `vis_tool init` (the median of its repeats). Rounds alternate
ncnn and convis workload by workload; the table gives the medians over rounds and ncnn / convis
(above 1: convis is faster).
"""
import argparse
import array
import json
import os
import random
import re
import statistics
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from before_after import cpu_model  # noqa: E402  (lscpu's model line, shared with the other harness)


def write_npy(path, n, seed=1):
    """A (1, n, n, 3) float32 .npy of uniform values in -100..100 (caffe-range pixels)."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, %d, %d, 3), }" % (n, n)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    rng = random.Random(seed)
    data = array.array("f", (rng.uniform(-100.0, 100.0) for _ in range(n * n * 3)))
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data.tobytes())


def ncnn_params(src_param, out_dir):
    """vgg16.param whole and cut after pool5, each with its shape hints (which are for 224x224:
    ncnn plans its convolutions with them) and without (for 96x96); returns their paths."""
    with open(src_param) as f:
        lines = f.read().splitlines()
    magic, layers = lines[0], [l for l in lines[2:] if l.strip()]
    bare = [re.sub(r"\s-23330=\S+", "", l) for l in layers]
    cut = next(i for i, l in enumerate(layers) if l.split()[1] == "pool5") + 1
    paths = {}
    for name, body in (("full", layers), ("conv", layers[:cut]), ("conv_bare", bare[:cut])):
        blobs = set()
        for l in body:
            f = l.split()
            nin, nout = int(f[2]), int(f[3])
            blobs.update(f[4:4 + nin + nout])
        p = os.path.join(out_dir, "vgg16_%s.param" % name)
        with open(p, "w") as f:
            f.write("%s\n%d %d\n%s\n" % (magic, len(body), len(blobs), "\n".join(body)))
        paths[name] = p
    return paths


def run_ncnn(bench, param, size, threads, loops):
    out = subprocess.run([bench, str(loops), str(threads), "0", "-1", "0", "param=" + param,
                          "shape=[%d,%d,3]" % (size, size)], capture_output=True, text=True,
                         cwd=os.path.dirname(param))
    m = re.search(r"min =\s*([\d.]+)\s+max =\s*([\d.]+)\s+avg =\s*([\d.]+)", out.stdout + out.stderr)
    if not m or float(m.group(3)) <= 0:
        raise SystemExit("benchncnn failed on %s:\n%s%s" % (param, out.stdout, out.stderr))
    return float(m.group(3))


def run_convis(compare, weights, x, layer, threads, repeats, out):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    r = subprocess.run([compare, "forward", "--weights", weights, "--input", x, "--layer", layer, "--out", out,
                        "--repeats", str(repeats)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit("convis_compare failed: " + r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])["median_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ncnn", required=True, help="ncnn build folder (benchmark/benchncnn inside)")
    ap.add_argument("--ncnn-src", help="ncnn source folder (benchmark/models/vgg16.param inside); default: "
                                       "the build folder's parent")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()
    bench = os.path.join(a.ncnn, "benchmark", "benchncnn")
    src = a.ncnn_src or os.path.dirname(os.path.abspath(a.ncnn))
    param = os.path.join(src, "benchmark", "models", "vgg16.param")
    for p, what in ((bench, "benchncnn"), (param, "vgg16.param"), (os.path.join(a.build, "vis_tool"), "vis_tool"),
                    (os.path.join(a.build, "convis_compare"), "convis_compare")):
        if not os.path.exists(p):
            raise SystemExit("ncnn.py: %s not found at %s" % (what, p))
    compare, vis_tool = os.path.join(a.build, "convis_compare"), os.path.join(a.build, "vis_tool")
    with tempfile.TemporaryDirectory() as tmp:
        params = ncnn_params(param, tmp)
        top, notop = os.path.join(tmp, "vgg16_top.h5"), os.path.join(tmp, "vgg16.h5")
        for path, extra in ((top, ["--top"]), (notop, [])):
            subprocess.run([vis_tool, "init", "--arch", "vgg16", "--layout", "keras1", "--seed", "7", "--out", path]
                           + extra, check=True, capture_output=True)
        xs = {}
        for n in (224, 96):
            xs[n] = os.path.join(tmp, "x%d.npy" % n)
            write_npy(xs[n], n)
        y = os.path.join(tmp, "y.npy")
        workloads = [("VGG16 to block5_pool, 224x224, b1", params["conv"], 224, notop, "block5_pool", 8, 7),
                     ("VGG16 to block5_pool, 96x96, b1", params["conv_bare"], 96, notop, "block5_pool", 16, 11),
                     ("VGG16 with top, 224x224, b1", params["full"], 224, top, "predictions", 8, 7)]
        times = {w[0]: ([], []) for w in workloads}
        for r in range(a.rounds):
            for name, p, size, weights, layer, loops, repeats in workloads:
                n_ms = run_ncnn(bench, p, size, a.threads, loops)
                c_ms = run_convis(compare, weights, xs[size], layer, a.threads, repeats, y)
                times[name][0].append(n_ms)
                times[name][1].append(c_ms)
                print("round %d, %s: ncnn %.1f ms, convis %.1f ms" % (r + 1, name, n_ms, c_ms), flush=True)
    print()
    print("%s, %d threads, medians of %d alternating rounds" % (cpu_model(), a.threads, a.rounds))
    print("| workload | ncnn (ms) | convis (ms) | ncnn / convis |")
    print("|---|---|---|---|")
    for name, _, _, _, _, _, _ in workloads:
        n, c = statistics.median(times[name][0]), statistics.median(times[name][1])
        print("| %s | %.1f | %.1f | %.2fx |" % (name, n, c, n / c))


if __name__ == "__main__":
    sys.exit(main())
