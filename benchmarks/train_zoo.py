"""Train the generators of gfprint's GAN zoo (maintainers only; not run at install or test).

Every generator learns the same real distribution: random 32x32 patches of seven
photos that ship on disk with scikit-image and scikit-learn (no download). Each
photo is cut into vertical strips 128 pixels wide; every fourth strip is held out
and gives the zoo's ``"real"`` images, so that the real class comes from the same
photos but from pixels no generator saw. The zoo follows the three axes of Yu et al.
(2019): architectures (how the generator upsamples), training seeds of one
architecture, and training sets that differ in a small fraction of the data.

Recipe (all generators): DCGAN-style generator with BatchNorm, z ~ N(0, I_128),
widths 128-64-32 at 4x4, 8x8 and 16x16; a discriminator of three stride-2
convolutions (48-96-192 channels) with spectral normalisation (Miyato et al. 2018),
hinge loss, Adam (lr 2e-4, betas (0.5, 0.999)) decayed linearly to zero over the second
half of training (to damp the late oscillation of the samples' colours and content),
batch 64, one discriminator step per generator step. The shipped weights are an
exponential moving average of the generator's weights (decay 0.999), whose BatchNorm
statistics are re-estimated on 8,192 codes after training.

Training is deterministic for a given seed, thread count and machine, and
resumable: each generator checkpoints every ``--checkpoint-every`` steps into
``--work`` and a rerun continues where it stopped.

Usage::

    python benchmarks/train_zoo.py --jobs 2            # everything, 2 at a time
    python benchmarks/train_zoo.py --only deconv_s1    # one generator
    python benchmarks/train_zoo.py --assemble          # manifest, stats, samples
    python benchmarks/train_zoo.py --quick             # 30-step smoke run, temp dir
"""

import argparse
import copy
import datetime
import hashlib
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

from gfprint.datasets._zoo_models import (
    HELDOUT_EVERY,
    IMAGE_SIZE,
    PHOTOS,
    STRIP,
    WIDTHS,
    Z_DIM,
    build_generator,
    load_photos,
    photo_digest,
    real_patches,
    sample,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORK = ROOT / "build" / "zoo"
DEFAULT_RESULTS = ROOT / "benchmarks" / "results"
D_WIDTH = 48
LR, BETAS, BATCH = 2e-4, (0.5, 0.999), 64
EMA_DECAY = 0.999

# name -> (architecture, seed, photos left out of the training region)
ZOO = {
    "deconv_s0": ("deconv", 0, ()),
    "deconv_s1": ("deconv", 1, ()),
    "deconv_s2": ("deconv", 2, ()),
    "deconv_s3": ("deconv", 3, ()),
    # Same seed (so the same initial weights) as deconv_s0, 8 % fewer training
    # patches: the training set differs in one photo (Yu et al. 2019, Table 2).
    "deconv_subset_s0": ("deconv", 0, ("chelsea.png",)),
    "upsample_s0": ("upsample", 0, ()),
    "pixelshuffle_s0": ("pixelshuffle", 0, ()),
}


def build_discriminator(width=D_WIDTH):
    """Three spectrally normalised stride-2 convolutions and a linear layer."""
    sn = spectral_norm
    return nn.Sequential(
        sn(nn.Conv2d(3, width, 4, 2, 1)),
        nn.LeakyReLU(0.1, inplace=True),
        sn(nn.Conv2d(width, 2 * width, 4, 2, 1)),
        nn.LeakyReLU(0.1, inplace=True),
        sn(nn.Conv2d(2 * width, 4 * width, 4, 2, 1)),
        nn.LeakyReLU(0.1, inplace=True),
        nn.Flatten(),
        sn(nn.Linear(4 * width * 16, 1)),
        nn.Flatten(0),
    )


def dcgan_init(module):
    """N(0, 0.02) weights, zero biases, BatchNorm gamma N(1, 0.02) (Radford et al. 2016)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def to_tensor(patches):
    """uint8 (n, H, W, 3) -> float32 (n, 3, H, W) in [-1, 1], channels_last."""
    return torch.from_numpy(patches).permute(0, 3, 1, 2).float() / 127.5 - 1.0


@torch.no_grad()
def recalibrate_batchnorm(generator, seed, n_batches=32, batch_size=256):
    """Re-estimate BatchNorm statistics as exact averages over ``n_batches`` of codes."""
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    generator.train()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(n_batches):
        generator(torch.randn(batch_size, Z_DIM, generator=gen))
    for m in norms:
        m.momentum = 0.1
    return generator.eval()


# ------------------------------------------------------------------------- training
def train_one(name, steps, work, checkpoint_every, log):
    """Train (or resume) one generator; returns its info dict once ``steps`` are done."""
    architecture, seed, exclude = ZOO[name]
    ckpt_path = work / "checkpoints" / f"{name}.pt"
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    G, D = build_generator(architecture), build_discriminator()
    G.apply(dcgan_init)
    D.apply(dcgan_init)
    G = G.to(memory_format=torch.channels_last)
    D = D.to(memory_format=torch.channels_last)
    ema = copy.deepcopy(G)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    step, seconds = 0, 0.0
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=False)
        for module, key in ((G, "G"), (D, "D"), (ema, "ema"), (opt_g, "opt_g"), (opt_d, "opt_d")):
            module.load_state_dict(state[key])
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = state["numpy_rng"]
        step, seconds = state["step"], state["seconds"]
        print(f"{name}: resumed at step {step}", flush=True)
    window_d, window_g = [], []
    start = time.perf_counter() - seconds
    while step < steps:
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = LR * min(1.0, 2.0 * (1.0 - step / steps))
        real = to_tensor(real_patches(BATCH, IMAGE_SIZE, "train", rng, exclude=exclude))
        fake = G(torch.randn(BATCH, Z_DIM))
        d_loss = F.relu(1.0 - D(real)).mean() + F.relu(1.0 + D(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = -D(fake).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        step += 1
        with torch.no_grad():  # warm-up: the average starts close to the live weights
            decay = min(EMA_DECAY, (1.0 + step) / (10.0 + step))
            for p_ema, p in zip(ema.parameters(), G.parameters()):
                p_ema.lerp_(p, 1.0 - decay)
        window_d.append(d_loss.item())
        window_g.append(g_loss.item())
        if step % 100 == 0 or step == steps:
            log({"source": name, "step": step, "d_loss": round(float(np.mean(window_d)), 4),
                 "g_loss": round(float(np.mean(window_g)), 4),
                 "seconds": round(time.perf_counter() - start, 1)})
            window_d, window_g = [], []
        if step % checkpoint_every == 0 or step == steps:
            ckpt_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = ckpt_path.with_suffix(".tmp")
            torch.save({"G": G.state_dict(), "D": D.state_dict(), "ema": ema.state_dict(),
                        "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                        "torch_rng": torch.get_rng_state(), "numpy_rng": rng.bit_generator.state,
                        "step": step, "seconds": time.perf_counter() - start}, tmp)
            tmp.replace(ckpt_path)
    seconds = time.perf_counter() - start
    G_out = recalibrate_batchnorm(copy.deepcopy(ema).to(memory_format=torch.contiguous_format),
                                  seed=10_000 + seed)
    return G_out, {
        "architecture": architecture,
        "seed": seed,
        "steps": steps,
        "batch_size": BATCH,
        "left_out_photos": list(exclude),
        "image_size": IMAGE_SIZE,
        "z_dim": Z_DIM,
        "widths": list(WIDTHS),
        "n_parameters": int(sum(p.numel() for p in G.parameters())),
        "discriminator_width": D_WIDTH,
        "loss": "hinge, spectral normalisation in D",
        "optimizer": f"Adam lr={LR} betas={BETAS}, linear decay to 0 over the second half",
        "ema_decay": EMA_DECAY,
        "training_seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "machine": machine(),
    }


def machine():
    """CPU model and platform, to record where a generator was trained."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {platform.system()} {platform.machine()}, torch {torch.__version__}"


def save_weights(G, path):
    """float16 ``.npz`` of the state_dict, no pickle; returns its sha256."""
    arrays = {}
    for key, value in G.state_dict().items():
        value = np.ascontiguousarray(value.detach().cpu().numpy())
        arrays[key] = value.astype(np.float16) if value.dtype.kind == "f" else value
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_weights(path, architecture):
    """Load saved weights as the library will (no pickle)."""
    with np.load(path, allow_pickle=False) as arrays:
        state = {k: torch.from_numpy(arrays[k].astype(np.float32) if arrays[k].dtype == np.float16
                                     else arrays[k]) for k in arrays.files}
    G = build_generator(architecture)
    G.load_state_dict(state)
    return G.eval()


# ------------------------------------------------------------------------- assemble
def assemble(args):
    """Manifest, statistics against the real hold-out, sample grid and results file."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    from gfprint import PRNUFingerprintClassifier, ResidualExtractor
    from gfprint.baselines import make_eigenface_baseline, make_knn_baseline
    from gfprint.metrics import frechet_distance

    torch.set_num_threads(args.threads)
    weights = args.work / "weights"
    names = [name for name in ZOO if (weights / f"{name}.json").exists()]
    if not names:
        raise SystemExit(f"no trained generator in {weights}")
    photos = load_photos()
    manifest = {
        "photos": [{"package": pkg, "file": name, "sha256": photo_digest(photo)}
                   for (pkg, name), photo in zip(PHOTOS, photos)],
        "image_size": IMAGE_SIZE,
        "z_dim": Z_DIM,
        "widths": list(WIDTHS),
        "strip_width": STRIP,
        "heldout_every": HELDOUT_EVERY,
        "generators": {},
    }
    n = 2000

    def flat(a):
        return a.reshape(len(a), -1).astype(np.float64)

    def diversity(a):  # mean per-pixel standard deviation over the sample
        return float(flat(a).std(axis=0).mean())

    heldout = real_patches(n, IMAGE_SIZE, "heldout", np.random.default_rng(1))
    train = real_patches(n, IMAGE_SIZE, "train", np.random.default_rng(2))
    rows = [("real, training region", round(frechet_distance(flat(train), flat(heldout))),
             round(diversity(train), 1), "", "")]
    samples = {}
    for k, name in enumerate(names):
        info = json.loads((weights / f"{name}.json").read_text())
        G = load_weights(weights / info["file"], info["architecture"])
        x = sample(G, n, rng_seed=100 + k)
        samples[name] = x
        info["fd_pixels_vs_heldout"] = round(frechet_distance(flat(x), flat(heldout)), 1)
        info["pixel_std"] = round(diversity(x), 1)
        manifest["generators"][name] = info
        rows.append((name, round(info["fd_pixels_vs_heldout"]), info["pixel_std"],
                     info["steps"], info["training_seconds"]))
    (weights / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    seeds = [name for name in names if ZOO[name][0] == "deconv" and not ZOO[name][2]]
    scores = []
    if len(seeds) > 1:
        per = 400
        X = np.concatenate([samples[name][:per] for name in seeds])
        y = np.repeat(np.arange(len(seeds)), per)
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        for label, est in [
            ("pixel kNN", make_knn_baseline()),
            ("Eigenface", make_eigenface_baseline(random_state=0)),
            ("PRNU (ResidualExtractor + PRNUFingerprintClassifier)",
             make_pipeline(ResidualExtractor(), PRNUFingerprintClassifier())),
        ]:
            scores.append((label, float(cross_val_score(est, X, y, cv=cv).mean())))
        if args.cnn_seeds:  # a statistical claim about training: mean over seeds
            from gfprint import CNNAttributor

            runs = [cross_val_score(CNNAttributor(width=0.1, max_epochs=30, batch_size=64,
                                                  random_state=seed), X, y, cv=cv).mean()
                    for seed in range(args.cnn_seeds)]
            scores.append((f"CNNAttributor(width=0.1, max_epochs=30, batch_size=64), mean of "
                           f"training seeds 0-{args.cnn_seeds - 1} "
                           f"({', '.join(f'{r:.3f}' for r in runs)})", float(np.mean(runs))))

    grid = args.results / "zoo_samples.png"
    _sample_grid({"real (held out)": heldout, **samples}, grid)
    logs = sorted(args.work.glob("log_*.jsonl"))
    (args.results / "zoo_training_log.jsonl").write_text(
        "".join(path.read_text() for path in logs))
    lines = [
        "# Zoo v2: training and statistics",
        "",
        "Written by `python benchmarks/train_zoo.py --assemble` from the generators in",
        f"`{args.work.relative_to(ROOT) if args.work.is_relative_to(ROOT) else args.work}`.",
        f"Machine: {machine()}. Samples: `zoo_samples.png`; log: `zoo_training_log.jsonl`.",
        "",
        f"FD: Frechet distance on raw pixels ({IMAGE_SIZE}x{IMAGE_SIZE}x3, uint8 scale) between",
        f"{n} samples and {n} held-out real patches (lower is closer). Pixel std: mean over",
        "pixels of the standard deviation across the sample (diversity; the real patches set",
        "the scale).",
        "",
        "| source | FD vs held-out real | pixel std | steps | training s (1 thread) |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(str(v) for v in row)} |" for row in rows],
        "",
    ]
    if scores:
        lines += [
            f"5-fold accuracy among the {len(seeds)} same-architecture seeds "
            f"({', '.join(seeds)}; 400 images each; chance {1 / len(seeds):.2f}):",
            "",
            "| method | accuracy |",
            "|---|---|",
            *[f"| {label} | {score:.3f} |" for label, score in scores],
            "",
        ]
    (args.results / "zoo_training.md").write_text("\n".join(lines))
    print("\n".join(lines))


def _sample_grid(groups, path, per_row=12):
    """One row of samples per source."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(groups), 1, figsize=(per_row * 0.6, len(groups) * 0.75))
    for ax, (label, images) in zip(np.atleast_1d(axes), groups.items()):
        ax.imshow(np.concatenate(list(images[:per_row]), axis=1), interpolation="nearest")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_one(name, args):
    torch.set_num_threads(args.threads)
    work = args.work
    (work / "weights").mkdir(parents=True, exist_ok=True)
    with open(work / f"log_{name}.jsonl", "a") as log_file:
        def log(record):
            line = json.dumps(record)
            print(line, flush=True)
            log_file.write(line + "\n")
            log_file.flush()

        G, info = train_one(name, args.steps, work, args.checkpoint_every, log)
    path = work / "weights" / f"{name}.npz"
    info["file"] = path.name
    info["sha256"] = save_weights(G, path)
    info["file_bytes"] = path.stat().st_size
    (work / "weights" / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"{name}: done, {info['training_seconds']} s, {path}", flush=True)


def run_parallel(names, args):
    """Train ``names`` in ``args.jobs`` single-threaded subprocesses."""
    pending, running = list(names), []
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            cmd = [sys.executable, __file__, "--only", name, "--threads", "1",
                   "--steps", str(args.steps), "--work", str(args.work),
                   "--checkpoint-every", str(args.checkpoint_every)]
            running.append((name, subprocess.Popen(cmd)))
        time.sleep(5)
        for item in list(running):
            if item[1].poll() is not None:
                running.remove(item)
                if item[1].returncode:
                    raise SystemExit(f"{item[0]} failed with status {item[1].returncode}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6_000)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help=f"checkpoints, logs and weights (default {DEFAULT_WORK})")
    parser.add_argument("--only", choices=sorted(ZOO))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--cnn-seeds", type=int, default=3,
                        help="with --assemble: CNN training seeds in the seeds table (0: none)")
    parser.add_argument("--assemble", action="store_true",
                        help="write the manifest, statistics and samples of the trained generators")
    parser.add_argument("--quick", action="store_true",
                        help="30 steps, then --assemble, in a temp dir")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = 30
        args.work = Path(tempfile.mkdtemp(prefix="gfprint_zoo_"))
        args.results = args.work
        args.cnn_seeds = 0
    if args.assemble:
        assemble(args)
    elif args.only:
        run_one(args.only, args)
    elif args.jobs > 1:
        run_parallel(list(ZOO), args)
    else:
        for name in ZOO:
            run_one(name, args)
    if args.quick:
        assemble(args)
        print(f"quick run: generators and results in {args.work} (a temporary folder, "
              "kept for inspection; delete it when done)")
    print(datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))


if __name__ == "__main__":
    main()
