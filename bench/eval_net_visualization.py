"""Network visualization on real images: accuracy, fooling, a saliency sanity check, speed.

Reports, with the pretrained SqueezeNet from the data directory (CS231N_DATA):
1. top-1 / top-5 accuracy on the 1000-image ImageNet sample and on imagenet_val_25;
2. fooling with random target classes on the first ``--fool`` sample images (at most 100
   normalised-gradient steps), ascending the target score (the assignment's objective) or the
   margin over the best other class: success rate, median iterations, median L2 / Linf;
3. the "sanity check" of Adebayo et al. (2018): attribution maps from the trained model and from
   a model with re-initialised weights should differ; their Spearman rank correlation per image
   (mean over images) is reported for each method;
4. seconds per image of each attribution method on this machine.

Run:  CS231N_DATA=../shared/data .venv/bin/python bench/eval_net_visualization.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from cs231n.data_utils import load_imagenet_sample, load_imagenet_val
from cs231n.image_utils import load_image
from cs231n.net_visualization_pytorch import fool, pick_targets, preprocess
from cs231n.pretrained.squeezenet import load_model, squeezenet1_1
from cs231n.vision.attribution import METHODS, attribute


def batches(items, size):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def accuracy(model, X, y, batch=50):
    top1 = top5 = 0
    with torch.no_grad():
        for idx in batches(np.arange(len(y)), batch):
            top = model(X[idx]).topk(5, dim=1).indices.numpy()
            top1 += int((top[:, 0] == y[idx]).sum())
            top5 += int((top == y[idx, None]).any(axis=1).sum())
    return top1 / len(y), top5 / len(y)


def spearman(a, b):
    ra = np.argsort(np.argsort(a.ravel())).astype(np.float64)
    rb = np.argsort(np.argsort(b.ravel())).astype(np.float64)
    return float(np.corrcoef(ra, rb)[0, 1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fool", type=int, default=100, help="images to fool")
    parser.add_argument("--sanity", type=int, default=10, help="images for the sanity check")
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    results = {}

    model = load_model(device="cpu")
    paths, labels = load_imagenet_sample()
    X = torch.cat([preprocess(load_image(p), size=None) for p in paths])
    start = time.perf_counter()
    results["sample_top1"], results["sample_top5"] = accuracy(model, X, labels)
    results["forward_ms_per_image"] = 1e3 * (time.perf_counter() - start) / len(labels)
    Xv, yv, _ = load_imagenet_val()
    Xv = torch.cat([preprocess(img, size=None) for img in Xv])
    results["val25_top1"], results["val25_top5"] = accuracy(model, Xv, yv)
    print(
        f"accuracy: ImageNet sample ({len(labels)} images) top-1 {results['sample_top1']:.1%} "
        f"top-5 {results['sample_top5']:.1%}; imagenet_val_25 top-1 {results['val25_top1']:.1%} "
        f"top-5 {results['val25_top5']:.1%}"
    )

    n = args.fool
    generator = torch.Generator().manual_seed(0)
    targets = pick_targets(model, X[:n], "random", generator)
    results["fooling"] = {}
    for objective in ("score", "margin"):
        start = time.perf_counter()
        outcome = fool(model, X[:n], targets, max_iterations=100, objective=objective)
        seconds = time.perf_counter() - start
        ok = outcome.success
        f = results["fooling"][objective] = {
            "images": n,
            "success_rate": float(ok.float().mean()),
            "median_iterations": float(outcome.iterations[ok].median()),
            "most_iterations": int(outcome.iterations[ok].max()),
            "median_l2": float(outcome.l2[ok].median()),
            "median_linf": float(outcome.linf[ok].median()),
            "seconds_per_image": seconds / n,
        }
        print(
            f"fooling {n} images, random targets, objective {objective}: {f['success_rate']:.0%} "
            f"fooled, iterations median {f['median_iterations']:.0f} (most {f['most_iterations']}), "
            f"perturbation median L2 {f['median_l2']:.2f} / Linf {f['median_linf']:.3f} "
            f"(normalised pixels), {f['seconds_per_image']:.2f} s per image"
        )

    torch.manual_seed(0)
    random_model = squeezenet1_1(None).eval()
    for p in random_model.parameters():
        p.requires_grad_(False)
    m = args.sanity
    x, y = X[:m], torch.as_tensor(labels[:m])
    results["sanity_rank_correlation"] = {}
    results["seconds_per_image"] = {}
    for method in METHODS:
        options = {"generator": torch.Generator().manual_seed(0)} if method == "smoothgrad" else {}
        start = time.perf_counter()
        trained = attribute(method, model, x, y, **options).abs().numpy()
        results["seconds_per_image"][method] = (time.perf_counter() - start) / m
        options = {"generator": torch.Generator().manual_seed(0)} if method == "smoothgrad" else {}
        randomised = attribute(method, random_model, x, y, **options).abs().numpy()
        rho = statistics.mean(spearman(a, b) for a, b in zip(trained, randomised, strict=True))
        results["sanity_rank_correlation"][method] = rho
        print(
            f"{method:21s} {results['seconds_per_image'][method]:6.3f} s/image; rank correlation "
            f"trained vs randomised weights {rho:+.3f}"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
