"""Blind clustering by source: accuracy on the zoo and on cameras, and its cost (issue 18).

Three parts, each printed as a Markdown table:

* **zoo**: the built-in GAN zoo (every generator + real photos, ``--n`` images each),
  clean and JPEG (quality 75, the zoo's ``difficulty="jpeg"``), the default
  residual, ``FingerprintClustering()`` defaults;
* **placed**: images of a second zoo draw, whole and cropped, placed on the clusters
  of the first by ``FingerprintClustering.predict``;
* **draws**: seven zoo draws of 50 to 300 images per source, clean and JPEG: the
  number of clusters and the ARI with the defaults and with the former defaults;
* **cameras**: simulated cameras (:func:`gfprint.datasets.make_camera_images`, 256x256,
  the default PRNU strength), clean and JPEG quality 90, the camera residual;
* **scale**: planted fingerprints at 64x64 (20 sources, 10 % residuals of no source),
  1,000 and 10,000 residuals: time and peak traced memory beside the size of the
  input and of the ``n x n`` float64 matrix that the clustering never forms.

Scores: the adjusted Rand index (ARI) with every unclustered image its own cluster
(what "left as a singleton" means), the ARI over generated images only, the purity
(share of clustered images whose cluster's majority source is theirs), and the share
of images of no source (real photos, or planted nulls) left unclustered.

    python benchmarks/bench_clustering.py [--n 200] [--quick]
"""

import argparse
import os
import platform
import time
import tracemalloc

import numpy as np
from sklearn.metrics import adjusted_rand_score

from gfprint import CameraResidualExtractor, FingerprintClustering, ResidualExtractor
from gfprint.datasets import load_gan_zoo, make_camera_images
from gfprint.perturbations import JPEGCompression


def singletons(labels, start):
    """Unclustered (-1) labels replaced by labels of their own, from ``start``."""
    out = np.asarray(labels).copy()
    free = out == -1
    out[free] = start + np.arange(free.sum())
    return out


def scores(truth, labels, no_source):
    """ARI (singletons apart), ARI over sourced images, purity, nulls left out."""
    truth = np.asarray(truth)
    codes = np.unique(truth, return_inverse=True)[1]
    codes = np.where(no_source, -1, codes)  # images of no source are each their own
    true = singletons(codes, 10**6)
    pred = singletons(labels, 2 * 10**6)
    kept = labels >= 0
    pure = 0
    for k in np.unique(labels[kept]):
        members = truth[labels == k]
        pure += np.unique(members, return_counts=True)[1].max()
    return {
        "ARI": adjusted_rand_score(true, pred),
        "ARI sourced": adjusted_rand_score(true[~no_source], pred[~no_source]),
        "purity": pure / max(kept.sum(), 1),
        "no-source left out": (labels[no_source] == -1).mean() if no_source.any() else np.nan,
    }


def row(name, truth, no_source, residuals):
    start = time.perf_counter()
    clu = FingerprintClustering().fit(residuals)
    seconds = time.perf_counter() - start
    s = scores(truth, clu.labels_, no_source)
    n_sources = len(np.unique(np.asarray(truth)[~no_source]))
    print(f"| {name} | {len(truth)} | {n_sources} | {clu.n_clusters_} | "
          f"{(clu.labels_ == -1).sum()} | {s['ARI']:.3f} | {s['ARI sourced']:.3f} | "
          f"{s['purity']:.3f} | {s['no-source left out']:.3f} | {seconds:.1f} |")


HEADER = ("| data | images | sources | clusters found | unclustered | ARI | ARI sourced | "
          "purity | no-source left out | seconds |\n|---|---|---|---|---|---|---|---|---|---|")


def zoo(n):
    print("\n## GAN zoo (default residual)\n")
    print(HEADER)
    for difficulty in ("clean", "jpeg"):
        data = load_gan_zoo(n_per_source=n, difficulty=difficulty)
        residuals = ResidualExtractor().fit_transform(data.images)
        row(f"zoo {difficulty}", data.target, np.asarray(data.target) == "real", residuals)


#: Zoo draws (random_state, images per source) of the defaults' choice: 0-2 were
#: looked at while choosing resolution and min_cluster_size, 3-6 confirm it.
DRAWS = [(0, 200), (1, 200), (2, 100), (3, 300), (4, 50), (5, 150), (6, 250)]
FORMER = {"resolution": 1.0, "min_cluster_size": 2}


def draws(pairs):
    print("\n## Zoo draws: number of clusters (7 generators) and ARI, defaults against the "
          "former defaults (resolution=1, min_cluster_size=2)\n")
    print("| draw | images per source | difficulty | clusters | ARI | former: clusters | "
          "former: ARI |\n|---|---|---|---|---|---|---|")
    for random_state, n in pairs:
        for difficulty in ("clean", "jpeg"):
            data = load_gan_zoo(n_per_source=n, difficulty=difficulty,
                                random_state=random_state)
            residuals = ResidualExtractor().fit_transform(data.images)
            no_source = np.asarray(data.target) == "real"
            cells = []
            for params in ({}, FORMER):
                clu = FingerprintClustering(**params).fit(residuals)
                ari = scores(data.target, clu.labels_, no_source)["ARI"]
                cells += [str(clu.n_clusters_), f"{ari:.3f}"]
            print(f"| {random_state} | {n} | {difficulty} | " + " | ".join(cells) + " |",
                  flush=True)


def placed(n):
    print(f"\n## New images placed on the clusters (`predict`): clusters of a clean zoo draw "
          f"({n} per source), images of another draw ({n // 2} per source)\n")
    train = load_gan_zoo(n_per_source=n, random_state=0)
    clu = FingerprintClustering().fit(ResidualExtractor().fit_transform(train.images))
    truth = np.asarray(train.target)
    majority = {k: max(set(truth[clu.labels_ == k]), key=list(truth[clu.labels_ == k]).count)
                for k in range(clu.n_clusters_)}
    print(f"{clu.n_clusters_} clusters; each named after its most common source. Right: "
          "placed in a cluster of its source; wrong: in another; none: `-1`.\n")
    print("| images | how | source | right | wrong | none |\n|---|---|---|---|---|---|")
    for difficulty, how in (("clean", "32x32, the rules of fit per image"),
                            ("crop", "24x24 crops, search over shifts")):
        test = load_gan_zoo(n_per_source=n // 2, random_state=1, difficulty=difficulty)
        labels = clu.predict(ResidualExtractor().fit_transform(test.images))
        target = np.asarray(test.target)
        for source in np.unique(target):
            got = [majority.get(k) for k in labels[target == source]]
            none = np.mean(labels[target == source] == -1)
            right = np.mean([g == source for g in got])
            print(f"| {difficulty} | {how} | {source} | {right:.2f} | {1 - right - none:.2f} | "
                  f"{none:.2f} |", flush=True)


def cameras(n, size):
    print(f"\n## Simulated cameras ({size}x{size}, camera residual)\n")
    print(HEADER)
    data = make_camera_images(n_cameras=6, n_images=n, shape=(size, size), random_state=0)
    for name, images in (("cameras clean", data.images),
                         ("cameras JPEG 90", JPEGCompression(quality=90).transform(data.images))):
        residuals = CameraResidualExtractor().fit_transform(images)
        row(name, data.target, np.zeros(len(data.target), bool), residuals)


def planted(n, k=20, shape=(64, 64), seed=0):
    rng = np.random.default_rng(seed)
    fingerprints = rng.normal(size=(k, *shape)).astype(np.float32)
    y = rng.integers(0, k, n)
    y[rng.random(n) < 0.1] = -1
    X = rng.normal(size=(n, *shape)).astype(np.float32)
    strength = rng.uniform(0.3, 0.8, n).astype(np.float32)
    X[y >= 0] += strength[y >= 0, None, None] * fingerprints[y[y >= 0]]
    return X, y


def scale(sizes):
    print("\n## Scale (planted fingerprints, 64x64, 20 sources, 10 % of no source)\n")
    print("| residuals | seconds | peak traced memory | input | n x n float64 | clusters | "
          "ARI |\n|---|---|---|---|---|---|---|")
    for n in sizes:
        X, y = planted(n)
        tracemalloc.start()
        start = time.perf_counter()
        clu = FingerprintClustering().fit(X)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        s = scores(y, clu.labels_, y == -1)
        print(f"| {n:,} | {seconds:.1f} | {peak / 2**20:.0f} MiB | {X.nbytes / 2**20:.0f} MiB | "
              f"{n * n * 8 / 2**20:.0f} MiB | {clu.n_clusters_} | {s['ARI']:.3f} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="zoo images per source")
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, {platform.machine()}, numpy {np.__version__}; "
          "FingerprintClustering() defaults")
    zoo(50 if args.quick else args.n)
    draws(DRAWS[:1] if args.quick else DRAWS)
    placed(50 if args.quick else args.n)
    cameras(10 if args.quick else 50, 128 if args.quick else 256)
    scale([500] if args.quick else [1_000, 10_000])


if __name__ == "__main__":
    main()
