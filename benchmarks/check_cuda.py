"""The learned estimators' CUDA paths, checked on a machine with a GPU (issue 16).

CI has no GPU, so the tests only cover ``device="cpu"``. Run this where PyTorch sees a
CUDA device; it writes ``cuda.md`` and exits with status 1 if a check fails (2 if
the device is missing). For ``CNNAttributor`` and ``VisNetAttributor`` on the GAN zoo
(every source, real included):

1. fit with ``device=DEVICE`` and, as the baseline, ``device="cpu"``: same images,
   seed, epochs and batch size; test accuracy of each, wall time of each fit, and the
   training throughput (training images per second of skorch's median epoch time,
   the first epoch left out: it holds CUDA's warm-up);
2. ``predict``, ``predict_proba``, ``decision_function`` / ``transform`` of the
   DEVICE model return host numpy arrays of the documented shapes and dtypes, and
   the probabilities sum to 1;
3. ``save_params`` on DEVICE, ``load_params`` into a ``device="cpu"`` estimator:
   the same predictions, probabilities within 1e-4 (GPU and CPU kernels round
   differently);
4. a pickle round trip of the DEVICE model predicts the same;
5. fitting leaves the global CPU and CUDA random states as they were;
6. ``CNNAttributor`` at the paper's width (``width=1.0``), DEVICE only: throughput.

How to run it on a lent GPU machine (the ``device`` tool; its image has python3 with
torch, numba, numpy, scipy, scikit-learn, scikit-image, Pillow and tqdm, but not
PyWavelets, skorch or tabulate), from the repository root here::

    echo /.whl/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux_2_28_x86_64 -d .whl \\
        pywavelets==1.9.0 skorch==1.4.0 tabulate==0.10.0

then ``run`` with ``carry=[".whl"]`` and the command ``bash benchmarks/check_cuda.sh``
(about 5 minutes; it writes ``$OUT/cuda.md``). Here, ``python
benchmarks/check_cuda.py --device cpu --quick`` runs every check with the CPU in the
place of the GPU, to try the script.

    python benchmarks/check_cuda.py [--device cuda] [--n-train 300] [--epochs 15]
    [--quick] [--out DIR]
"""

import argparse
import io
import pickle
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gfprint import CNNAttributor, VisNetAttributor
from gfprint.datasets import load_gan_zoo

ROOT = Path(__file__).resolve().parents[1]


def _rng_states(device):
    states = [torch.random.get_rng_state()]
    if torch.device(device).type == "cuda":
        states += [torch.cuda.get_rng_state(i) for i in range(torch.cuda.device_count())]
    return states


def _throughput(model, n_images):
    """Training images per second of the median epoch, the first one left out."""
    durations = np.asarray(model.net_.history[:, "dur"], dtype=float)
    later = durations[1:] if len(durations) > 1 else durations
    return n_images / float(np.median(later))


def _fit(make, device, train):
    before = _rng_states(device)
    model = make(device)
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.fit(train.images, train.target)
    if device != "cpu":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    after = _rng_states(device)
    rng_kept = all(torch.equal(a, b) for a, b in zip(before, after))
    return model, seconds, rng_kept


def _api_checks(model, test, n_classes):
    """Checks 2-4 on a fitted model; returns {check: (passed, detail)}."""
    X = test.images[:64]
    out = {}
    pred = model.predict(X)
    proba = model.predict_proba(X)
    extra = model.decision_function(X) if hasattr(model, "scale_") else model.transform(X)
    want_extra = (len(X), n_classes) if hasattr(model, "scale_") else (len(X), 512)
    shapes = (
        isinstance(pred, np.ndarray) and pred.shape == (len(X),)
        and isinstance(proba, np.ndarray) and proba.shape == (len(X), n_classes)
        and proba.dtype == np.float32 and extra.shape == want_extra
        and extra.dtype == np.float32
    )
    out["host arrays of the documented shapes"] = (shapes, f"proba {proba.shape} "
                                                   f"{proba.dtype}, other {extra.shape}")
    err = float(np.abs(proba.sum(axis=1) - 1).max())
    out["probabilities sum to 1"] = (err < 1e-4, f"max |sum - 1| = {err:.1e}")
    if hasattr(model, "scale_"):
        fp = model.transform(X[:8])
        ok = fp.shape == X[:8].shape and fp.dtype == np.float32
        out["transform gives image fingerprints"] = (ok, f"{fp.shape} {fp.dtype}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        model.save_params(path)
        on_cpu = type(model)(device="cpu").load_params(path)
    cpu_proba = on_cpu.predict_proba(X)
    diff = float(np.abs(cpu_proba - proba).max())
    same = bool(np.array_equal(on_cpu.predict(X), pred))
    out["saved on the device, loaded on the CPU"] = (
        same and diff <= 1e-4, f"same labels: {same}, max |proba diff| = {diff:.1e}")

    buffer = io.BytesIO()
    pickle.dump(model, buffer)
    again = pickle.loads(buffer.getvalue())
    same = bool(np.array_equal(again.predict(X), pred))
    out["pickle round trip"] = (same, f"same labels: {same}")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    device = args.device
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        print(f"PyTorch {torch.__version__} sees no CUDA device; nothing to check.")
        return 2
    n_train, n_test, epochs = (24, 16, 2) if args.quick else (args.n_train, 200, args.epochs)
    train = load_gan_zoo(n_per_source=n_train, random_state=0)
    test = load_gan_zoo(n_per_source=n_test, random_state=1)
    n_classes = len(np.unique(train.target))
    gpu = torch.cuda.get_device_name(device) if device != "cpu" else "none (CPU dry run)"
    print(f"torch {torch.__version__}, device {device}: {gpu}, "
          f"{torch.get_num_threads()} CPU threads", flush=True)

    models = {
        "CNNAttributor(width=0.1)": lambda dev: CNNAttributor(
            width=0.1, max_epochs=epochs, batch_size=64, random_state=0, device=dev),
        "VisNetAttributor(width=16)": lambda dev: VisNetAttributor(
            width=16, max_epochs=epochs, batch_size=64, random_state=0, device=dev),
    }
    rows, checks, failed = [], [], False
    for name, make in models.items():
        for dev in dict.fromkeys([device, "cpu"]):
            model, seconds, rng_kept = _fit(make, dev, train)
            acc = model.score(test.images, test.target)
            rate = _throughput(model, len(train.target))
            rows.append(f"| {name} | {dev} | {acc:.3f} | {seconds:.1f} | {rate:,.0f} |")
            print(rows[-1], flush=True)
            if dev == device:
                results = _api_checks(model, test, n_classes)
                results["global random state left as it was"] = (rng_kept, "")
                for check, (passed, detail) in results.items():
                    failed |= not passed
                    checks.append(f"| {name} | {check} | {'pass' if passed else 'FAIL'} "
                                  f"| {detail} |")
                    print(checks[-1], flush=True)
    if device != "cpu":  # the paper's width, for the throughput alone
        make = lambda dev: CNNAttributor(  # noqa: E731
            max_epochs=min(epochs, 5), batch_size=64, random_state=0, device=dev)
        model, seconds, _ = _fit(make, device, train)
        acc = model.score(test.images, test.target)
        rows.append(f"| CNNAttributor(width=1.0), {min(epochs, 5)} epochs | {device} "
                    f"| {acc:.3f} | {seconds:.1f} | "
                    f"{_throughput(model, len(train.target)):,.0f} |")
        print(rows[-1], flush=True)

    lines = [
        "# The learned estimators on a GPU (issue 16)",
        "",
        f"Run: `python benchmarks/check_cuda.py --device {device}"
        f"{' --quick' if args.quick else ''}` on {platform.machine()}, Python "
        f"{platform.python_version()}, torch {torch.__version__}, GPU: {gpu}, "
        f"{torch.get_num_threads()} CPU threads, {time.strftime('%Y-%m-%d')}. GAN zoo, "
        f"all {n_classes} sources: {n_train} training and {n_test} test images per source "
        f"(zoo seeds 0 and 1), {epochs} epochs, batch 64, training seed 0.",
        "",
        "| estimator | device | test accuracy | s per fit | training images / s |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "Training images / s: the training images over skorch's median epoch time, the "
        "first epoch left out. s per fit: the whole `fit`, residuals of the training "
        "images (computed on the CPU) included.",
        "",
        f"Checks on `device={device!r}`:",
        "",
        "| estimator | check | result | detail |",
        "|---|---|---|---|",
        *checks,
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cuda.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'cuda.md'}; {'some checks FAILED' if failed else 'all checks passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
