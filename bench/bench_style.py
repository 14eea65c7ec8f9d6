"""Style transfer on this machine: seconds and peak memory for the course's presets.

Runs each preset (tubingen.jpg, 192 px, 200 Adam iterations, the course's weights) in its own
process so that peak memory (max RSS) is per preset, prints the final loss terms, and with
``--figure`` saves the README's figure: content and style images next to each result.

Run:  CS231N_DATA=../shared/data .venv/bin/python bench/bench_style.py [--figure docs/figures/style.png]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time

PRESET_NAMES = ("composition_vii", "the_scream", "starry_night", "feature_inversion")


def run_preset(name, queue):
    import numpy as np
    import torch

    from cs231n.core.config import data_path
    from cs231n.style_transfer_pytorch import PRESETS, default_cnn, preset_arguments, transfer

    torch.set_num_threads(2)
    cnn = default_cnn("cpu")
    start = time.perf_counter()
    result = transfer(
        data_path("styles", "tubingen.jpg"),
        [data_path("styles", PRESETS[name]["style_image"])],
        cnn=cnn,
        **preset_arguments(name),
    )
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((name, seconds, peak_mb, result.losses[-1], np.asarray(result.pil())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--figure", default=None, help="save the comparison figure here")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    results = {}
    print(f"{'preset':18s} {'seconds':>8s} {'peak MB':>8s}  final losses (content, style, tv)")
    for name in PRESET_NAMES:
        queue = context.Queue()
        process = context.Process(target=run_preset, args=(name, queue))
        process.start()
        name, seconds, peak, losses, image = queue.get()
        process.join()
        results[name] = image
        print(
            f"{name:18s} {seconds:8.1f} {peak:8.0f}  {losses['content']:.4g}, "
            f"{losses['style']:.4g}, {losses['tv']:.4g}"
        )
    if args.figure:
        save_figure(args.figure, results)


def save_figure(path, results):
    from matplotlib.figure import Figure

    from cs231n.core.config import data_path
    from cs231n.core.files import save_figure as save
    from cs231n.image_utils import load_image
    from cs231n.style_transfer_pytorch import PRESETS

    fig = Figure(figsize=(9, 2.2 * len(results)), dpi=90)
    axes = fig.subplots(len(results), 3)
    content = load_image(data_path("styles", "tubingen.jpg"), size=192)
    for row, (name, image) in zip(axes, results.items(), strict=True):
        style_file = PRESETS[name]["style_image"]
        inversion = name == "feature_inversion"
        style = None if inversion else load_image(data_path("styles", style_file), size=192)
        panels = [
            (content, "content: tubingen.jpg"),
            (style, "no style: starts from noise" if inversion else f"style: {style_file}"),
            (image, name.replace("_", " ")),
        ]
        for ax, (img, title) in zip(row, panels, strict=True):
            if img is not None:
                ax.imshow(img)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    save(fig, path)
    print(f"Figure saved to {path}")


if __name__ == "__main__":
    main()
