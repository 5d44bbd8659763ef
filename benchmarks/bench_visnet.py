"""visNet against CNNAttributor at equal training budget on the GAN zoo (issue 16).

Both networks train on the same images for the same number of epochs with the same
batch size (so the same number of optimizer steps), over several training seeds, on:

- the four generators that differ only in their training seed (Yu et al. Table 3's
  setting: the visNet scored 97.07 % against 99.14 % for their attribution network);
- every zoo source, real included.

Training and test images are independent zoo draws (zoo seeds 0 and 1).

    python benchmarks/bench_visnet.py [--seeds 3] [--epochs 15] [--quick]
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from gfprint import CNNAttributor, VisNetAttributor
from gfprint.datasets import load_gan_zoo, zoo_sources

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ["deconv_s0", "deconv_s1", "deconv_s2", "deconv_s3"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    n_train, n_test, epochs = (40, 20, 1) if args.quick else (args.n_train, 200, args.epochs)
    seeds = range(1 if args.quick else args.seeds)
    models = {
        "CNNAttributor(width=0.1)": lambda s: CNNAttributor(
            width=0.1, max_epochs=epochs, batch_size=64, random_state=s),
        "VisNetAttributor(width=16)": lambda s: VisNetAttributor(
            width=16, max_epochs=epochs, batch_size=64, random_state=s),
    }
    settings = {"4 training seeds of deconv": SEEDS, "all sources": zoo_sources()}
    results, seconds = {}, {}
    for setting, sources in settings.items():
        train = load_gan_zoo(n_per_source=n_train, sources=sources, random_state=0)
        test = load_gan_zoo(n_per_source=n_test, sources=sources, random_state=1)
        for name, make in models.items():
            accs, t0 = [], time.perf_counter()
            for seed in seeds:
                model = make(seed).fit(train.images, train.target)
                accs.append(model.score(test.images, test.target))
                print(f"{setting} / {name} seed {seed}: {accs[-1]:.3f}", flush=True)
            results[setting, name] = np.array(accs)
            seconds[setting, name] = (time.perf_counter() - t0) / len(accs)
    lines = [
        "# visNet against CNNAttributor at equal training budget (issue 16)",
        "",
        f"Run: `python benchmarks/bench_visnet.py{' --quick' if args.quick else ''}` on "
        f"{platform.machine()}, torch {torch.__version__} (2 threads), "
        f"{time.strftime('%Y-%m-%d')}. {n_train} training and {n_test} test images per "
        f"source (zoo seeds 0 and 1), {epochs} epochs, batch 64, for both networks; "
        f"mean [min, max] over {len(seeds)} training seeds.",
        "",
        "| setting | network | accuracy | chance | s per fit |",
        "|---|---|---|---|---|",
    ]
    for (setting, name), accs in results.items():
        chance = 1 / len(settings[setting])
        lines.append(
            f"| {setting} | {name} | {accs.mean():.3f} [{accs.min():.3f}, {accs.max():.3f}] "
            f"| {chance:.3f} | {seconds[setting, name]:.1f} |"
        )
    lines += [
        "",
        "Yu et al. (2019), Table 3 (ten ProGAN seeds, CelebA 128x128): visNet 97.07 %, "
        "their attribution network 99.14 %.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        Path(args.out, "visnet.md").write_text(text)


if __name__ == "__main__":
    main()
