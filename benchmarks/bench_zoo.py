"""Sampling speed of the built-in GAN zoo (``load_gan_zoo``), per difficulty level.

Images per second = images returned / wall time of one ``load_gan_zoo`` call, every
zoo source (the generators and real), best of ``--repeat`` calls after one small warm-up call
(its time is reported too). Every call reads and sha256-checks the weight files, so
that cost is inside the timings. Target: at least 2,000 images/s on 2 cores.

Usage: python benchmarks/bench_zoo.py [--n-per-source 1000] [--repeat 3]
[--out benchmarks/results]

It writes ``zoo_sampling.md`` in ``--out`` whatever the sizes; its "Run:" line
names the options given.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

from gfprint.datasets import load_gan_zoo, zoo_sources
from gfprint.datasets._zoo import DIFFICULTIES

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-per-source", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    load_gan_zoo(n_per_source=10)
    first = time.perf_counter() - t0
    lines = [
        "# GAN zoo sampling speed",
        "",
        f"Run: `python benchmarks/bench_zoo.py{''.join(' ' + a for a in sys.argv[1:])}` on "
        f"{platform.machine()}, {os.cpu_count()} "
        f"cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"{time.strftime('%Y-%m-%d')}. `load_gan_zoo(n_per_source={args.n_per_source})`: "
        f"{len(zoo_sources())} sources, {len(zoo_sources()) * args.n_per_source} images of "
        f"32x32x3 per call; best of "
        f"{args.repeat} calls after a warm-up. Warm-up call (10 images per source; torch "
        f"imported before it): {first:.2f} s. Every call reads and sha256-checks the weights.",
        "",
        "| difficulty | seconds per call | images/s |",
        "|---|---|---|",
    ]
    for difficulty in DIFFICULTIES:
        times = []
        for seed in range(args.repeat):
            t = time.perf_counter()
            zoo = load_gan_zoo(
                n_per_source=args.n_per_source, difficulty=difficulty, random_state=seed
            )
            times.append(time.perf_counter() - t)
        best = min(times)
        row = f"| {difficulty} | {best:.3f} | {len(zoo.images) / best:,.0f} |"
        print(row, flush=True)
        lines.append(row)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "zoo_sampling.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'zoo_sampling.md'}")


if __name__ == "__main__":
    main()
