#!/usr/bin/python3
"""convis against PyTorch on the workloads of bench/README.md, on this machine, same threads.

    /usr/bin/python3 bench/compare/compare.py [--build build] [--threads 2] [--only am_b5_b16,...]
                                              [--onednn-isa AVX2]

For every workload: convis runs in its own process (build/convis_compare, so its peak resident
memory is the workload's own) and writes what it computed; PyTorch computes the same thing from
the same weights (vis_tool init, read here with h5py) and the same input; the two are compared
(max relative error = max |convis - torch| / max |torch|) *before* any time is believed; then
both are timed, warm-up first, median of repeated runs. One table is printed at the end.
The reference for the check is PyTorch in float64 for the VGG16 workloads (float32 for the
epoch's losses); the time is PyTorch's float32 run.

Installs nothing. Without PyTorch (Debian: python3-torch) it still runs and times convis, and
says so. Needs numpy and h5py (python3-numpy, python3-h5py).
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover
    h5py = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

VGG_CONVS = [("block1_conv1", 1), ("block1_conv2", 1), ("block1_pool", 0),
             ("block2_conv1", 1), ("block2_conv2", 1), ("block2_pool", 0),
             ("block3_conv1", 1), ("block3_conv2", 1), ("block3_conv3", 1), ("block3_pool", 0),
             ("block4_conv1", 1), ("block4_conv2", 1), ("block4_conv3", 1), ("block4_pool", 0),
             ("block5_conv1", 1), ("block5_conv2", 1), ("block5_conv3", 1), ("block5_pool", 0)]

# name, kind, parameters, timed repeats (convis, torch)
WORKLOADS = [
    ("VGG16 forward to block5_pool, 224x224, b1", "forward", dict(size=224, batch=1), 7),
    ("VGG16 forward to block5_pool, 96x96, b1", "forward", dict(size=96, batch=1), 11),
    ("AM step block1_conv1, 96x96, b16", "am", dict(layer="block1_conv1", batch=16), 11),
    ("AM step block3_conv1, 96x96, b1", "am", dict(layer="block3_conv1", batch=1), 11),
    ("AM step block3_conv1, 96x96, b16", "am", dict(layer="block3_conv1", batch=16), 5),
    ("AM step block5_conv3, 96x96, b1", "am", dict(layer="block5_conv3", batch=1), 11),
    ("AM step block5_conv3, 96x96, b16", "am", dict(layer="block5_conv3", batch=16), 5),
    ("VGG16 classify (with top), 224x224, b1", "classify", dict(size=224, batch=1), 5),
    ("Fashion-MNIST CNN, one epoch, b1000", "train", dict(batch=1000), 1),
]
KEYS = ["fwd224", "fwd96", "am_b1_b16", "am_b3_b1", "am_b3_b16", "am_b5_b1", "am_b5_b16", "classify", "train"]
TOLERANCE = 1e-3  # max relative error allowed before a time is reported


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def max_rel_err(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise SystemExit(f"shape mismatch: convis {a.shape} vs torch {b.shape}")
    scale = max(np.abs(b).max(), 1e-30)
    return float(np.abs(a - b).max() / scale)


def run_convis(build, args, env):
    cmd = [os.path.join(build, "convis_compare")] + [str(a) for a in args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(f, warmup, repeats):
    for _ in range(warmup):
        f()
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


# ---- PyTorch side -----------------------------------------------------------------------------

def keras1_weights(path):
    """{layer: [arrays in weight_names order]} from a keras1-layout file (vis_tool init)."""
    out = {}
    with h5py.File(path, "r") as f:
        for layer in f.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            g = f[layer]
            names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs.get("weight_names", [])]
            out[layer] = [np.array(g[n], np.float32) for n in names]
    return out


class TorchVGG:
    """VGG16 in NCHW, weights from the Keras file (HWIO -> OIHW), up to any layer."""

    def __init__(self, torch, weights, top=False, dtype=np.float32):
        self.t = torch
        self.dtype = dtype
        F = torch.nn.functional
        self.F = F
        self.layers = []

        def tensor(a):
            return torch.from_numpy(np.ascontiguousarray(a, dtype))

        for name, is_conv in VGG_CONVS:
            if is_conv:
                k, b = weights[name]
                self.layers.append((name, "conv", tensor(k.transpose(3, 2, 0, 1)), tensor(b)))
            else:
                self.layers.append((name, "pool", None, None))
        if top:
            for name in ("fc1", "fc2", "predictions"):
                k, b = weights[name]
                # Keras flattens NHWC; we flatten NHWC too (see forward), so the kernel is used as is.
                self.layers.append((name, "dense", tensor(k.T), tensor(b)))

    def forward(self, x_nchw, last):
        F, h = self.F, x_nchw
        for name, kind, w, b in self.layers:
            if kind == "conv":
                h = F.relu(F.conv2d(h, w, b, padding=1))
            elif kind == "pool":
                h = F.max_pool2d(h, 2, 2)
            else:
                if h.dim() == 4:
                    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
                h = F.linear(h, w, b)
                h = F.softmax(h, dim=1) if name == "predictions" else F.relu(h)
            if name == last:
                return h
        return h


def torch_forward(torch, net, x_nhwc, last, repeats):
    x = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2), net.dtype))

    def f():
        with torch.no_grad():
            return net.forward(x, last)

    y = f()
    y = y.permute(0, 2, 3, 1).numpy() if y.dim() == 4 else y.numpy()
    return y, (timed(f, 1, repeats) if repeats else None)


def torch_am(torch, net, x_nhwc, layer, repeats):
    x0 = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2), net.dtype))
    B = x0.shape[0]
    res = {}

    def step():
        x = x0.clone().requires_grad_(True)
        y = net.forward(x, layer)  # (B, C, H', W')
        C = y.shape[1]
        idx = torch.arange(B)
        loss = y[idx, idx % C].mean(dim=(1, 2)).sum()
        (g,) = torch.autograd.grad(loss, x)
        norm = g.flatten(1).norm(dim=1).clamp_min(1e-6).view(B, 1, 1, 1)
        res["g"], res["x1"] = g, (x + 0.1 * g / norm).detach()

    step()
    g = res["g"].permute(0, 2, 3, 1).numpy()
    x1 = res["x1"].permute(0, 2, 3, 1).numpy()
    return g, x1, (timed(step, 1, repeats) if repeats else None)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_split(d, prefix, kind):
    for name in (f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz",
                 f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    raise SystemExit(f"no {prefix} {kind} in {d}")


def torch_train(torch, init_path, data_dir, batch, seed):
    """The Keras tutorial CNN in NCHW, same initial weights, Adam(eps=1e-7), cross-entropy on logits."""
    F = torch.nn.functional
    w = keras1_weights(init_path)
    params = []

    def p(a):
        t = torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(True)
        params.append(t)
        return t

    convs = [(p(w[n][0].transpose(3, 2, 0, 1)), p(w[n][1])) for n in ("conv2d", "conv2d_1", "conv2d_2")]
    dense = [(p(w[n][0].T), p(w[n][1])) for n in ("dense", "dense_1")]

    def logits(x):
        h = F.max_pool2d(F.relu(F.conv2d(x, *convs[0])), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, *convs[1])), 2)
        h = F.relu(F.conv2d(h, *convs[2]))
        h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # Keras' Flatten is NHWC order
        h = F.relu(F.linear(h, *dense[0]))
        return F.linear(h, *dense[1])

    images = read_idx(find_split(data_dir, "train", "images")).astype(np.float32) / 255.0
    labels = read_idx(find_split(data_dir, "train", "labels")).astype(np.int64)
    X = torch.from_numpy(images).unsqueeze(1)
    Y = torch.from_numpy(labels)
    snapshot = [t.detach().clone() for t in params]

    def reset():
        with torch.no_grad():
            for t, s in zip(params, snapshot):
                t.copy_(s)
        return torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    # The check: loss on the first `batch` images before and after one Adam step on them.
    opt = reset()
    xb, yb = X[:batch], Y[:batch]
    loss0 = F.cross_entropy(logits(xb), yb)
    opt.zero_grad()
    loss0.backward()
    opt.step()
    with torch.no_grad():
        loss1 = F.cross_entropy(logits(xb), yb)
    losses = np.array([loss0.item(), loss1.item()], np.float32)

    def epoch():
        o = reset()
        gen = torch.Generator().manual_seed(seed)
        order = torch.randperm(X.shape[0], generator=gen)
        for s in range(0, X.shape[0], batch):
            idx = order[s:s + batch]
            loss = F.cross_entropy(logits(X[idx]), Y[idx])
            o.zero_grad()
            loss.backward()
            o.step()

    return losses, timed(epoch, 0, 1)


# ---- the driver -------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build folder with vis_tool and convis_compare")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated keys: " + ",".join(KEYS))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--work", default="", help="folder for weights and outputs (default: a temporary one)")
    ap.add_argument("--no-torch", action="store_true", help="time convis only")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of (convis, PyTorch) timings per workload, the epoch excepted; median of the rounds")
    ap.add_argument("--onednn-isa", default="",
                    help="limit PyTorch's oneDNN to this instruction set (ONEDNN_MAX_CPU_ISA, e.g. AVX2: "
                         "convis' own, and all a Zen3 has); default: the best the CPU offers")
    args = ap.parse_args()
    if args.onednn_isa:  # read once, when oneDNN first runs: set before torch is imported
        os.environ["ONEDNN_MAX_CPU_ISA"] = args.onednn_isa
        os.environ["DNNL_MAX_CPU_ISA"] = args.onednn_isa

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    torch = None
    if not args.no_torch:
        try:
            import torch  # noqa: F811
            torch.set_num_threads(args.threads)
            if h5py is None:
                log("h5py is missing (python3-h5py): skipping PyTorch")
                torch = None
        except ImportError:
            log("PyTorch is not installed (Debian: python3-torch): timing convis only")
    if torch is not None:
        log(f"PyTorch {torch.__version__}, oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}, "
            f"{torch.get_num_threads()} threads, oneDNN ISA {args.onednn_isa or 'as detected'}")

    work = args.work or tempfile.mkdtemp(prefix="convis_compare_")
    os.makedirs(work, exist_ok=True)
    vis_tool = os.path.join(args.build, "vis_tool")
    only = set(k for k in args.only.split(",") if k)
    chosen = [(k, w) for k, w in zip(KEYS, WORKLOADS) if not only or k in only]

    def weights(top):
        path = os.path.join(work, "vgg16_top.h5" if top else "vgg16_notop.h5")
        if not os.path.exists(path):
            cmd = [vis_tool, "init", "--arch", "vgg16", "--layout", "keras1", "--seed", "7", "--out", path]
            subprocess.run(cmd + (["--top"] if top else []), check=True, capture_output=True, env=env)
        return path

    rng = np.random.default_rng(2024)
    rows = []
    nets = {}
    for key, (title, kind, prm, reps) in chosen:
        log(f"-- {title}")
        convis_ms = torch_ms = err = None
        if kind in ("forward", "classify", "am"):
            top = kind == "classify"
            wpath = weights(top)
            size, batch = prm.get("size", 96), prm["batch"]
            x = rng.random((batch, size, size, 3), dtype=np.float32)
            xin = os.path.join(work, f"{key}_x.npy")
            np.save(xin, x)
            if kind == "am":
                gout, xout = os.path.join(work, f"{key}_g.npy"), os.path.join(work, f"{key}_x1.npy")
                convis_args = ["am", "--weights", wpath, "--input", xin, "--layer", prm["layer"],
                               "--out-grad", gout, "--out-image", xout, "--repeats", reps]
            else:
                last = "predictions" if top else "block5_pool"
                yout = os.path.join(work, f"{key}_y.npy")
                convis_args = ["forward", "--weights", wpath, "--input", xin, "--layer", last,
                               "--out", yout, "--repeats", reps]
            r = run_convis(args.build, convis_args, env)
            convis_ms, peak = r["median_ms"], r["peak_rss_mb"]
            torch_time = None
            if torch is not None:
                if top not in nets:
                    w = keras1_weights(wpath)
                    nets[top] = (TorchVGG(torch, w, top), TorchVGG(torch, w, top, np.float64))
                net, net64 = nets[top]
                # The numbers are checked against PyTorch in float64 (the same computation, ~1e-16
                # rounding): in float32, PyTorch and convis round differently, and where a
                # pre-ReLU value or a max-pooling pair lies within that rounding, one of them takes
                # the other branch of the kink (seen: block5_conv3 b16, 2 images of 16, 1e-2). The
                # float32 difference is printed too. The time is PyTorch's float32 run.
                if kind == "am":
                    g64, x164, _ = torch_am(torch, net64, x, prm["layer"], 0)
                    err = max(max_rel_err(np.load(gout), g64), max_rel_err(np.load(xout), x164))
                    g, x1, torch_ms = torch_am(torch, net, x, prm["layer"], reps)
                    torch_time = lambda: torch_am(torch, net, x, prm["layer"], reps)[2]  # noqa: E731
                    log(f"   PyTorch float32 vs float64: {max_rel_err(g, g64):.1e}")
                    live = int((np.abs(g64).reshape(g64.shape[0], -1).max(axis=1) > 0).sum())
                    log(f"   images with a non-zero gradient: {live} of {g64.shape[0]}")
                else:
                    y64, _ = torch_forward(torch, net64, x, last, 0)
                    err = max_rel_err(np.load(yout), y64)
                    y, torch_ms = torch_forward(torch, net, x, last, reps)
                    torch_time = lambda: torch_forward(torch, net, x, last, reps)[1]  # noqa: E731
                    log(f"   PyTorch float32 vs float64: {max_rel_err(y, y64):.1e}")
            # More rounds, convis and PyTorch back to back each time, so that a machine whose
            # speed drifts (a shared VM) slows both alike; the figure is the median of the rounds.
            convis_rounds, torch_rounds = [convis_ms], [torch_ms]
            for _ in range(args.rounds - 1):
                r = run_convis(args.build, convis_args, env)
                convis_rounds.append(r["median_ms"])
                peak = max(peak, r["peak_rss_mb"])
                if torch_time is not None:
                    torch_rounds.append(torch_time())
            convis_ms = statistics.median(convis_rounds)
            if torch_time is not None:
                torch_ms = statistics.median(torch_rounds)
            if args.rounds > 1:
                log("   rounds: convis " + " ".join(f"{v:.1f}" for v in convis_rounds) +
                    ("" if torch_time is None else " | PyTorch " + " ".join(f"{v:.1f}" for v in torch_rounds)))
        else:  # train
            init = os.path.join(work, "fashion_init.h5")
            lout = os.path.join(work, "train_losses.npy")
            r = run_convis(args.build, ["train", "--data", args.data, "--batch", prm["batch"], "--seed", 1,
                                        "--init-out", init, "--out", lout, "--repeats", reps], env)
            convis_ms, peak = r["median_ms"], r["peak_rss_mb"]
            log(f"   convis epoch loss {r.get('epoch_loss')}")
            if torch is not None:
                losses, torch_ms = torch_train(torch, init, args.data, prm["batch"], 1)
                err = max_rel_err(np.load(lout), losses)
                log(f"   first-batch loss before/after one Adam step: convis {np.load(lout)}, torch {losses}")
        if err is not None:
            log(f"   max relative error {err:.2e}")
            if not err <= TOLERANCE:
                raise SystemExit(f"{title}: convis and PyTorch disagree (max relative error {err:.2e} > {TOLERANCE}); "
                                 "no time is reported for a wrong answer")
        rows.append((title, convis_ms, torch_ms, peak, err))
        log(f"   convis {convis_ms:.1f} ms" + (f", PyTorch {torch_ms:.1f} ms" if torch_ms else "") + f", peak {peak:.0f} MB")

    def fmt_ms(v):
        return "-" if v is None else (f"{v / 1000:.2f} s" if v >= 10000 else f"{v:.1f} ms")

    isa = f"; PyTorch's oneDNN limited to {args.onednn_isa}" if args.onednn_isa else ""
    print(f"\n{args.threads} threads; median of {args.rounds} rounds, each the median of repeated runs after a "
          f"warm-up (the epoch: one run){isa}\n")
    print("| workload | convis | PyTorch | PyTorch / convis | convis peak RSS | max rel. error vs PyTorch |")
    print("|---|---:|---:|---:|---:|---:|")
    for title, c, t, peak, err in rows:
        ratio = "-" if t is None else f"{t / c:.2f}x"
        e = "-" if err is None else f"{err:.1e}"
        print(f"| {title} | {fmt_ms(c)} | {fmt_ms(t)} | {ratio} | {peak:.0f} MB | {e} |")


if __name__ == "__main__":
    main()
