"""Fast ResidualExtractor against the reference algorithm, side by side in one run.

The reference is ``tests/reference.py``: the same camera-PRNU residual written the
straightforward way (numpy + PyWavelets + scipy, float64), as the published Python
implementation does it. Timings are interleaved in one
process (reference, fast on 1 core, fast on all cores, repeated; best of each), so
machine noise hits all three alike. Peak memory is read in a fresh process per case
(Linux VmHWM, reset after a warm-up run).

Two settings: ``--setting camera`` (default) times ``CameraResidualExtractor()``
against the reference camera-PRNU residual; ``--setting gan`` times the GAN default
``ResidualExtractor()`` against the reference with the same settings (sigma 3, colour
kept, no zero-mean, no Wiener-DFT).

``--large`` adds a row for 12-megapixel images (3000 x 4000, one image), the size
of a camera's photos, where the reference takes about 5 s a run.

Usage: python benchmarks/bench_residuals.py [--setting camera|gan] [--rounds N] [--quick]
[--large] [--out DIR]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = {(256, 256): 16, (512, 512): 8, (1024, 1024): 2}
QUICK_SIZES = {(256, 256): 4, (512, 512): 2}
LARGE_SIZES = {(3000, 4000): 1}


def _label(size):
    h, w = size
    return f"{h}²" if h == w else f"{h}x{w}"


def _rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _images(size, n_images):
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import natural_like

    rng = np.random.default_rng(0)
    return np.stack([natural_like(rng, size, 3) for _ in range(n_images)])


GAN_REFERENCE = dict(sigma=3.0, zero_mean=False, wiener_dft=False, color="rgb")


def _runner(kind, images, n_jobs, setting="camera"):
    if kind == "reference":
        sys.path.insert(0, str(ROOT / "tests"))
        import reference

        opts = GAN_REFERENCE if setting == "gan" else {}
        return lambda: [reference.residual(img, **opts) for img in images]
    from gfprint import CameraResidualExtractor, ResidualExtractor

    cls = ResidualExtractor if setting == "gan" else CameraResidualExtractor
    ext = cls(n_jobs=n_jobs, batch_size=1)
    return lambda: ext.transform(images)


def child(kind, size, n_images, n_jobs, setting="camera"):
    """Peak memory of one run, in a fresh process (VmHWM reset after a warm-up)."""
    _runner(kind, _images((128, 128), 1), n_jobs, setting)()  # warm-up: Numba, imports
    run = _runner(kind, _images(size, n_images), n_jobs, setting)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter
    base = _rss_kib("VmRSS")
    run()
    print(json.dumps({"peak_mib": (_rss_kib("VmHWM") - base) / 1024}))


def peak_memory(kind, size, n_images, n_jobs, setting):
    cmd = [sys.executable, __file__, "--child", kind, "x".join(map(str, size)), str(n_images),
           str(n_jobs),
           "--setting", setting]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_mib"]


def timings(size, n_images, repeats, setting):
    """ns/pixel of reference, fast 1 core, fast all cores, interleaved in one process.

    Returns the best of each over the rounds, and the median over rounds of the ratio
    reference / fast 1 core taken within each round (robust to a burst of load that
    hits one round of one of them).
    """
    images = _images(size, n_images)
    n_ref = max(1, n_images // 4)
    runs = {
        "reference": (_runner("reference", images[:n_ref], 1, setting), n_ref),
        "fast_1": (_runner("fast", images, 1, setting), n_images),
        "fast_all": (_runner("fast", images, -1, setting), n_images),
    }
    rounds = {name: [] for name in runs}
    for run, _ in runs.values():
        run()  # warm-up
    for _ in range(repeats):
        for name, (run, n) in runs.items():
            t0 = time.perf_counter()
            run()
            rounds[name].append((time.perf_counter() - t0) / (n * size[0] * size[1]) * 1e9)
    best = {name: min(ns) for name, ns in rounds.items()}
    best["median_ratio"] = float(np.median(np.divide(rounds["reference"], rounds["fast_1"])))
    return best


def thread_ceiling(repeats):
    """Speed-up of an embarrassingly parallel, GIL-free Numba kernel from all cores.

    The most any threaded code can gain on this machine at this moment: a reference
    point for the scaling of the residual extractor.
    """
    from concurrent.futures import ThreadPoolExecutor

    from gfprint._kernels._wiener import wiener_shrink_add

    cores = os.cpu_count()
    planes = [np.random.default_rng(i).normal(size=(1024, 1024)).astype(np.float32)
              for i in range(8 * cores)]

    def work(x):
        return wiener_shrink_add(x, 1.0, 1.0, np.zeros_like(x), True)

    best = {}
    for n_threads in (1, cores) * (repeats + 1):
        with ThreadPoolExecutor(n_threads) as pool:
            t0 = time.perf_counter()
            list(pool.map(work, planes))
            best[n_threads] = min(best.get(n_threads, np.inf), time.perf_counter() - t0)
    return best[1] / best[cores]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--setting", choices=["camera", "gan"], default="camera")
    parser.add_argument("--rounds", type=int, default=7,
                        help="interleaved rounds per size; the best of each is kept")
    parser.add_argument("--large", action="store_true",
                        help="add 12-megapixel images (3000 x 4000), a camera's size")
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        kind, size, n, jobs = args.child
        return child(kind, tuple(int(v) for v in size.split("x")), int(n), int(jobs),
                     args.setting)
    cores = os.cpu_count()
    ceiling = thread_ceiling(3 if args.quick else 7)
    print(f"thread ceiling (GIL-free Numba kernel, {cores} threads vs 1): {ceiling:.2f}x")
    rows = []
    sizes = dict(QUICK_SIZES if args.quick else SIZES)
    if args.large:
        sizes.update(LARGE_SIZES)
    for size, n in sizes.items():
        t = timings(size, n, 3 if args.quick else args.rounds, args.setting)
        mem = [peak_memory("reference", size, 1, 1, args.setting),
               peak_memory("fast", size, n, 1, args.setting),
               peak_memory("fast", size, n, -1, args.setting)]
        rows.append((size, t, mem))
        print(f"{_label(size)} RGB: reference {t['reference']:.0f} ns/px, fast 1 core "
              f"{t['fast_1']:.1f} ns/px ({t['reference'] / t['fast_1']:.1f}x; median of rounds "
              f"{t['median_ratio']:.1f}x), {cores} cores "
              f"{t['fast_all']:.1f} ns/px ({t['fast_1'] / t['fast_all']:.2f}x over 1 core); "
              f"peak MiB {mem[0]:.0f} / {mem[1]:.0f} / {mem[2]:.0f}", flush=True)
    described = {
        "camera": "`CameraResidualExtractor()` (db4, 4 levels, sigma=5, grey, zero-mean, "
        "Wiener-DFT)",
        "gan": "the GAN default `ResidualExtractor()` (db4, 4 levels, sigma=3, colour kept, "
        "no zero-mean, no Wiener-DFT; three residual planes out)",
    }[args.setting]
    rounds = 3 if args.quick else args.rounds
    flags = ((" --setting gan" if args.setting == "gan" else "")
             + (f" --rounds {rounds}" if rounds != 7 and not args.quick else "")
             + (" --quick" if args.quick else "") + (" --large" if args.large else ""))
    lines = [
        f"# Residual extraction ({args.setting} setting): fast path vs reference",
        "",
        f"Run: `python benchmarks/bench_residuals.py{flags}` on "
        f"{platform.processor() or platform.machine()}, {cores} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}.",
        "",
        f"RGB uint8 images (smooth random scenes), {described}. Reference: "
        "`tests/reference.py` with the same settings "
        "(numpy + PyWavelets + scipy, float64), one image at a time, one thread. ns per "
        "pixel = wall time / (images x H x W); the three are timed interleaved in one "
        f"process and the best of {rounds} rounds is kept (this machine is a shared VM and single "
        "runs vary by up to 40 %); *speed-up* is the ratio of the bests, *median speed-up* "
        "the median over rounds of the ratio within each round. The reference runs on a "
        "quarter of the images. "
        "Peak memory: growth of the process's peak RSS (VmHWM) over one run, in a fresh "
        "process warmed up on one small image; it includes the returned residuals "
        "(n x H x W float32, x 3 in the GAN setting).",
        "",
        f"Scaling ceiling of this machine during the run: an embarrassingly parallel, "
        f"GIL-free Numba kernel ran {ceiling:.2f}x faster on {cores} threads than on 1.",
        "",
        "| size | reference ns/px | fast 1 core ns/px | speed-up | median speed-up | "
        "fast all cores ns/px | scaling | ref. peak MiB | fast 1 core peak MiB | "
        "fast all cores peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, t, mem in rows:
        lines.append(
            f"| {_label(size)} | {t['reference']:.0f} | {t['fast_1']:.1f} | "
            f"{t['reference'] / t['fast_1']:.1f}x | {t['median_ratio']:.1f}x | "
            f"{t['fast_all']:.1f} | "
            f"{t['fast_1'] / t['fast_all']:.2f}x | {mem[0]:.0f} | {mem[1]:.0f} | {mem[2]:.0f} |"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = ("residuals" + ("_gan" if args.setting == "gan" else "")
            + ("_quick" if args.quick else "") + ".md")
    (out / name).write_text("\n".join(lines) + "\n")
    print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
