"""All-pairs NCC against the bare BLAS product of the raw rows, side by side in one run.

Issue 13's workload: 2,000 residuals x 16 fingerprints of 256x256 (float32). Timed,
interleaved and best of several rounds:

* ``gfprint``: :func:`gfprint.metrics.ncc` (one fused pass: statistics and inner
  products, reading each residual once);
* ``normalize+BLAS``: zero-mean, unit-norm copies of the residuals, then BLAS (the
  implementation before this change, through ``gfprint.metrics.normalize``);
* ``naive numpy``: centre and scale with numpy, then BLAS;
* ``bare BLAS``: ``R @ F.T`` of the raw rows, the floor no NCC can beat.

Reported in ns per pixel-pair (wall time / (n x k x H x W)) and as ratios to bare BLAS.

    python benchmarks/bench_ncc.py [--n 2000] [--k 16] [--size 256]
"""

import argparse
import os
import platform
import time

import numpy as np

from gfprint.metrics import ncc, normalize


def best_of_interleaved(runs, repeats):
    """Best wall time of each callable in ``runs``, timed in turn over ``repeats + 1`` rounds.

    Interleaving spreads machine noise over all of them alike; the best of the rounds
    is kept (the first round, a warm-up, counts like the others).
    """
    best = {name: np.inf for name in runs}
    for _ in range(repeats + 1):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    d = args.size * args.size
    R = rng.normal(size=(args.n, d)).astype(np.float32)
    F = rng.normal(size=(args.k, d)).astype(np.float32)
    Fn = normalize(F)

    def naive():
        Rc = R - R.mean(axis=1, keepdims=True)
        Rc /= np.linalg.norm(Rc, axis=1, keepdims=True)
        return Rc @ Fn.T

    def old():
        out = np.empty((args.n, args.k))
        for s in range(0, args.n, 256):
            out[s : s + 256] = normalize(R[s : s + 256]) @ Fn.T
        return out

    runs = {
        "gfprint ncc": lambda: ncc(R, F),
        "normalize+BLAS (before)": old,
        "naive numpy": naive,
        "bare BLAS": lambda: R @ F.T,
    }
    np.testing.assert_allclose(runs["gfprint ncc"](), old(), atol=2e-5)
    best = best_of_interleaved(runs, args.repeats)
    pairs = args.n * args.k * d
    print(f"{args.n} residuals x {args.k} fingerprints of {args.size}x{args.size} float32; "
          f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, numpy "
          f"{np.__version__}; best of {args.repeats} interleaved rounds\n")
    print("| method | seconds | ns per pixel-pair | x bare BLAS |")
    print("|---|---|---|---|")
    for name, t in best.items():
        print(f"| {name} | {t:.3f} | {t / pairs * 1e9:.4f} | {t / best['bare BLAS']:.2f} |")


if __name__ == "__main__":
    main()
