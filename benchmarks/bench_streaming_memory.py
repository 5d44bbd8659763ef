"""Peak memory of CNNAttributor.predict and Perturbation.transform on 100 vs 1,000 paths.

Both read paths a batch at a time, so what grows with the number of images is only
what they return: predictions (a few bytes per image) for the CNN, the perturbed
images themselves (uint8, written into one preallocated array) for a perturbation.
Each measurement is a fresh process: after imports and a warm-up call on two images,
the kernel's peak counter is reset (``/proc/self/clear_refs``, Linux) and the peak
resident set of the call itself is read from ``VmHWM``; "growth" is that peak minus
the resident set before the call, "growth - output" also subtracts the returned array.
Images: 128x128 RGB PNG. The CNN is the paper's network at width 0.1, trained for one
epoch on 40 images (its accuracy is irrelevant here).

    python benchmarks/bench_streaming_memory.py [--sizes 100 1000]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CHILD = r"""
import json, sys
import numpy as np

def status(key):  # MiB, from /proc/self/status
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

task, listing, model = sys.argv[1:4]
paths = open(listing).read().split("\n")
if task == "cnn_predict":
    import torch
    torch.set_num_threads(2)
    from gfprint import CNNAttributor
    est = CNNAttributor().load_params(model)
    call = est.predict
else:
    from gfprint.perturbations import GaussianNoise
    est = GaussianNoise(random_state=0)
    call = est.transform
call(paths[:2])  # warm-up: imports, JIT compilation, first allocations
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak (VmHWM) to the current resident set
out = call(paths)
print(json.dumps({"before": before, "peak": status("VmHWM"), "output": out.nbytes / 2**20,
                  "n": len(out)}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_max = max(*args.sizes, 40)  # the network trains on the first 40
        paths = []
        for i in range(n_max):
            img = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
            paths.append(tmp / f"{i:05d}.png")
            Image.fromarray(img).save(paths[-1])
        from gfprint import CNNAttributor

        X = np.stack([np.asarray(Image.open(p)) for p in paths[:40]])
        cnn = CNNAttributor(width=0.1, max_epochs=1, frontend="pixels", random_state=0)
        cnn.fit(X, np.repeat(["a", "b"], 20))
        cnn.save_params(tmp / "cnn.pt")
        rows = []
        for task in ("cnn_predict", "perturbation_transform"):
            for n in args.sizes:
                listing = tmp / f"list{n}.txt"
                listing.write_text("\n".join(str(p) for p in paths[:n]))
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, task, str(listing), str(tmp / "cnn.pt")],
                    check=True, capture_output=True, text=True,
                )
                res = json.loads(out.stdout.strip().splitlines()[-1])
                assert res["n"] == n
                rows.append((task, n, res["before"], res["peak"], res["output"]))
    print("| call | paths (128x128 RGB) | RSS before MiB | peak MiB | growth MiB | output MiB "
          "| growth - output MiB |")
    print("|---|---|---|---|---|---|---|")
    for task, n, before, peak, output in rows:
        print(f"| {task} | {n} | {before:.0f} | {peak:.0f} | {peak - before:.1f} | "
              f"{output:.1f} | {peak - before - output:.1f} |")
    print()
    for task in ("cnn_predict", "perturbation_transform"):
        r = [row for row in rows if row[0] == task]
        lo, hi = r[0], r[-1]
        print(f"{task}: peak ratio {hi[1]} vs {lo[1]} paths {hi[3] / lo[3]:.2f}; growth "
              f"{lo[3] - lo[2]:.1f} -> {hi[3] - hi[2]:.1f} MiB; growth - output "
              f"{lo[3] - lo[2] - lo[4]:.1f} -> {hi[3] - hi[2] - hi[4]:.1f} MiB")


if __name__ == "__main__":
    main()
