"""Peak memory of ``fit_fingerprints`` on paths, 1,000 against 10,000 images (issue 13).

:func:`gfprint.fingerprints.fit_fingerprints` is a map-reduce: each batch of paths is
read, turned into residuals and reduced to per-source sums where it runs, and only
the sums come back. Memory must not grow with the number of images. Each fit runs in
a fresh process; its peak resident set comes from ``getrusage`` (``RUSAGE_CHILDREN``,
max RSS), read after it exits, so the sizes run in ascending order. Images: RGB PNG
of smooth random scenes with a little noise, two sources, ``--side`` pixels square
(64 by default, to keep 10,000 files small on disk).

    python benchmarks/bench_fit_memory.py [--sizes 1000 10000] [--side 64] [--n-jobs 1]
"""

import argparse
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_cli_memory import make_folder  # benchmarks/ is on sys.path when run as a script

CHILD = """
import sys, time
from pathlib import Path
from gfprint.fingerprints import fit_fingerprints
root, n_jobs = Path(sys.argv[1]), int(sys.argv[2])
paths = sorted(str(p) for p in root.glob("*/*.png"))
y = [Path(p).parent.name for p in paths]
t0 = time.perf_counter()
clf = fit_fingerprints(paths, y, n_jobs=n_jobs, batch_size=64)
print(len(paths), clf.fingerprints_.shape, round(time.perf_counter() - t0, 1))
"""


def peak_of_fit(root, n_jobs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(root), str(n_jobs)], check=True,
                         capture_output=True, text=True).stdout.strip()
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        raise RuntimeError("a later child must peak higher than an earlier one to be read")
    return after / 1024, seconds, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--side", type=int, default=64)
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            make_folder(Path(tmp) / f"n{n}", n, rng, side=args.side)
        for n in sorted(args.sizes):
            rows.append((n, *peak_of_fit(Path(tmp) / f"n{n}", args.n_jobs)))
    print(f"fit_fingerprints on paths, {args.side}x{args.side} RGB PNG, two sources, "
          f"n_jobs={args.n_jobs}, batch_size=64; {platform.machine()}, Python "
          f"{platform.python_version()}\n")
    print("| images | peak RSS MiB | seconds (process) | child output |")
    print("|---|---|---|---|")
    for n, mib, sec, out in rows:
        print(f"| {n} | {mib:.0f} | {sec:.1f} | {out} |")
    print(f"\nratio of peaks, {rows[-1][0]} vs {rows[0][0]} images: "
          f"{rows[-1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
