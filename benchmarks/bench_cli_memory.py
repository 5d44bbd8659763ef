"""Peak memory of ``gfprint fit`` for 100 and 1,000 images: it must stay flat (issue 14).

``gfprint fit`` streams: residuals are added to per-class running sums a chunk at a
time, so memory is O(classes x H x W + one chunk) whatever the number of images.
Each run is a fresh process; its peak resident set comes from ``getrusage``
(``RUSAGE_CHILDREN``, max RSS), read after it exits. Images: 256x256 RGB PNG of smooth
random scenes, two source folders.

    python benchmarks/bench_cli_memory.py [--sizes 100 1000]
"""

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def make_folder(root, n, rng, side=256):
    """``n`` RGB PNG in two source folders: 8 smooth scenes, each with a little noise."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import natural_like

    base = [natural_like(rng, (side, side), 3) for _ in range(8)]
    for i in range(n):
        src = root / ("gan_a" if i % 2 else "gan_b")
        src.mkdir(parents=True, exist_ok=True)
        noise = rng.integers(-3, 4, base[0].shape)
        Image.fromarray(np.clip(base[i % 8] + noise, 0, 255).astype(np.uint8)).save(
            src / f"{i:05d}.png"
        )


def peak_of_fit(root, model):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gfprint.cli", "fit", str(root), "-o", str(model),
                    "--quiet", "--real", "none"], check=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        raise RuntimeError("a later child must peak higher than an earlier one to be read")
    return after / 1024, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            make_folder(Path(tmp) / f"n{n}", n, rng)
        for n in args.sizes:  # ascending, so each child's peak is the running maximum
            rows.append((n, *peak_of_fit(Path(tmp) / f"n{n}", Path(tmp) / f"m{n}.npz")))
    print("| images (256x256 RGB) | peak RSS MiB | seconds |")
    print("|---|---|---|")
    for n, mib, sec in rows:
        print(f"| {n} | {mib:.0f} | {sec:.1f} |")
    print(f"\nratio of peaks, {rows[-1][0]} vs {rows[0][0]} images: {rows[-1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
