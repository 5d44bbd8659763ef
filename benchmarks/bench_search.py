"""Cost of the shift (and scale) search per residual-fingerprint pair (issue 17).

Side by side in one run, best of several interleaved rounds, one residual against
``k`` fingerprints of the same size:

* ``ncc``: :func:`gfprint.metrics.ncc`, aligned, no search (the default fast path);
* ``pce aligned``: :func:`gfprint.metrics.pce_all_pairs` (zero shift only);
* ``shift search``: :func:`gfprint.metrics.match_fingerprints` on a crop of 90 % of
  the side (all placements searched);
* ``shift+scale search``: the same with a 7-point scale grid and 2 refinement rounds.

Reported per pair in microseconds and in ns per pixel-pair (time / (k x H x W)).

    python benchmarks/bench_search.py [--sizes 256 512 1024] [--k 4] [--repeats 3]
"""

import argparse
import os
import platform

import numpy as np

from bench_ncc import best_of_interleaved  # benchmarks/ is on sys.path as a script
from gfprint.metrics import match_fingerprints, ncc, pce_all_pairs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.k} fingerprints per residual; {os.cpu_count()} cores, "
          f"{platform.machine()}, numpy {np.__version__}; best of {args.repeats} rounds\n")
    print("| size | method | us per pair | ns per pixel-pair | x ncc |")
    print("|---|---|---|---|---|")
    grid = np.arange(1.0, 1.31, 0.05)
    for size in args.sizes:
        fps = rng.normal(size=(args.k, size, size)).astype(np.float32)
        side = int(size * 0.9)
        full = (fps[0] + rng.normal(size=(size, size))).astype(np.float32)
        crop = full[:side, :side].copy()
        runs = {
            "ncc": lambda f=fps, x=full: ncc(x[None], f),
            "pce aligned": lambda f=fps, x=full: pce_all_pairs(x[None], f),
            "shift search": lambda f=fps, x=crop: match_fingerprints([x], f),
            "shift+scale search": lambda f=fps, x=crop: match_fingerprints([x], f, scales=grid),
        }
        best = best_of_interleaved(runs, args.repeats)
        for name, t in best.items():
            print(f"| {size}² | {name} | {t / args.k * 1e6:.0f} | "
                  f"{t / (args.k * size * size) * 1e9:.2f} | {t / best['ncc']:.0f} |")


if __name__ == "__main__":
    main()
