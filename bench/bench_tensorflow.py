"""TensorFlow vs PyTorch on this machine: the twin modules side by side, in one run.

Times, in each framework, on the same pretrained SqueezeNet weights and the same data:
seconds per saliency batch (5 validation images), per 10 fooling steps (the first validation
image pushed towards its least likely class, the "margin" objective of ``cs231n fool``; per step
taken, so an image fooled early is fair), per 100 class-visualization steps, per 200
style-transfer iterations (192 px, the starry_night preset, tubingen.jpg; ``transfer``) and per
GAN epoch (the course's ``run_a_gan``, fully connected vanilla GAN, the 60000 Fashion-MNIST
training images, batch 128, full batches in order).

TensorFlow is timed twice, side by side: compiled (the ``tf.function`` drivers the command line
runs: ``saliency_maps``, ``fool``, ``class_visualization`` and ``transfer`` with their default
``compiled=True``) and eager (the course's functions as its notebook runs them, or
``compiled=False``: how the command line ran before the drivers were compiled). The GAN step was
compiled already, so it has no eager time. Each measurement runs in its own process, with only
its framework imported and both frameworks limited to the same number of threads
(``OMP_WAIT_POLICY=PASSIVE`` unless set: torch's spinning threads would otherwise fight the
other processes on a busy machine). A warm-up call comes first: it traces the compiled
functions, which later calls reuse, and its seconds are in the notes (what a one-off command
pays once); the GAN's is part of its epoch (TensorFlow traces its step then). Prints a markdown
table with the ratios TensorFlow / PyTorch (below 1: TensorFlow is faster). A busy machine
(load average above half its CPUs) is reported: compare runs on an idle one.

``--quick`` times a fraction of the work (5x fewer saliency repeats, 10 of the 100
class-visualization steps, 20 of the 200 style iterations, a tenth of the GAN epoch) and
extrapolates, saying so; it takes a few minutes. ``--no-eager`` skips the eager TensorFlow
times (the slowest part). The full run takes ~15-25 minutes on a two-core machine. The first
TensorFlow run converts the weights once (in the cache).

Run:  CS231N_DATA=../shared/data .venv/bin/python bench/bench_tensorflow.py [--quick] [--no-eager] [--threads N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time

# What is timed: PyTorch, TensorFlow's compiled drivers, TensorFlow eager (the "before").
VARIANTS = ("pytorch", "tensorflow", "tensorflow-eager")
GAN_IMAGES, GAN_BATCH = 60000, 128
FOOLING_STEPS = 10


def _limit_threads(framework, threads):
    framework = framework.split("-")[0]
    if framework == "pytorch":
        import torch

        torch.set_num_threads(threads)
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _model(framework):
    if framework.startswith("pytorch"):
        from cs231n.pretrained.squeezenet import load_model

        return load_model(device="cpu")
    from cs231n.classifiers.squeezenet import pretrained_squeezenet

    return pretrained_squeezenet()


def time_saliency(framework, quick):
    """Seconds per batch of 5 validation images (median of the repeats)."""
    import numpy as np

    from cs231n.data_utils import load_imagenet_val
    from cs231n.image_utils import preprocess_image

    model = _model(framework)
    X, y, _ = load_imagenet_val(num=5)
    X = preprocess_image(X)  # (5, 224, 224, 3), normalised
    if framework == "pytorch":
        import torch

        from cs231n.net_visualization_pytorch import compute_saliency_maps

        X, y = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2))), torch.tensor(y)
    else:
        from cs231n.net_visualization_tensorflow import saliency_maps

        def compute_saliency_maps(X, y, model):
            return saliency_maps(X, y, model, compiled=framework == "tensorflow")

    warm = time.perf_counter()
    compute_saliency_maps(X, y, model)  # warm-up
    warm = time.perf_counter() - warm
    times = []
    for _ in range(2 if quick else 10):
        start = time.perf_counter()
        compute_saliency_maps(X, y, model)
        times.append(time.perf_counter() - start)
    return statistics.median(times), f"median of {len(times)}, first call {warm:.2f}"


def time_fooling(framework, quick):
    """Seconds per 10 steps of ``fool`` ("margin", towards the least likely class), from the
    time of a run of at most 10 steps divided by the steps it took."""
    import numpy as np

    from cs231n.data_utils import load_imagenet_val
    from cs231n.image_utils import preprocess_image

    model = _model(framework)
    X, _, _ = load_imagenet_val(num=1)
    X = preprocess_image(X)  # (1, 224, 224, 3)
    if framework == "pytorch":
        import torch

        from cs231n.net_visualization_pytorch import fool

        X = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
        target = model(X).argmin(dim=1)

        def run(n):
            return int(fool(model, X, target, max_iterations=n, objective="margin").iterations[0])
    else:
        from cs231n.net_visualization_tensorflow import fool

        target = int(np.argmin(model(X, training=False).numpy()[0]))

        def run(n):
            compiled = framework == "tensorflow"
            return fool(model, X, target, n, objective="margin", compiled=compiled)[1]

    warm = time.perf_counter()
    run(1)  # warm-up
    warm = time.perf_counter() - warm
    start = time.perf_counter()
    steps = run(FOOLING_STEPS)
    seconds = time.perf_counter() - start
    note = f"{steps} steps, first call (1 step) {warm:.2f}"
    return seconds * FOOLING_STEPS / max(steps, 1), note


def time_class_visualization(framework, quick):
    """Seconds per 100 steps of ``class_visualization`` (tarantula, the course's settings)."""
    model = _model(framework)
    steps = 10 if quick else 100
    if framework == "pytorch":
        import torch

        from cs231n.net_visualization_pytorch import class_visualization

        def run(n):
            class_visualization(76, model, num_iterations=n, generator=torch.Generator())
    else:
        from cs231n.net_visualization_tensorflow import class_visualization

        def run(n):
            compiled = framework == "tensorflow"
            class_visualization(76, model, num_iterations=n, seed=0, compiled=compiled)

    warm = time.perf_counter()
    run(1)  # warm-up
    warm = time.perf_counter() - warm
    start = time.perf_counter()
    run(steps)
    note = f"{steps} steps, first call (1 step) {warm:.2f}"
    return (time.perf_counter() - start) * 100 / steps, note


def time_style(framework, quick):
    """Seconds per 200 iterations of style transfer (192 px, starry_night, tubingen.jpg)."""
    from cs231n.core.config import data_path

    iterations = 20 if quick else 200
    content = data_path("styles", "tubingen.jpg")
    style = data_path("styles", "starry_night.jpg")
    if framework == "pytorch":
        from cs231n.style_transfer_pytorch import default_cnn, preset_arguments, transfer

        cnn, settings, style = default_cnn("cpu"), preset_arguments("starry_night"), [style]
    else:
        from cs231n.style_transfer_tensorflow import PRESETS, transfer

        cnn = _model(framework)
        settings = {k: v for k, v in PRESETS["starry_night"].items() if k != "style_image"}
        settings["compiled"] = framework == "tensorflow"
    warm = time.perf_counter()
    transfer(content, style, cnn=cnn, image_size=192, **{**settings, "iterations": 1})  # warm-up
    warm = time.perf_counter() - warm
    start = time.perf_counter()
    transfer(content, style, cnn=cnn, image_size=192, **{**settings, "iterations": iterations})
    note = f"{iterations} iterations, first call (1 iteration) {warm:.2f}"
    return (time.perf_counter() - start) * 200 / iterations, note


def time_gan_epoch(framework, quick):
    """Seconds per epoch of the course's ``run_a_gan`` (fc vanilla GAN, batch 128); its
    TensorFlow step is always compiled (no eager time)."""
    if framework == "tensorflow-eager":
        return None
    import numpy as np

    from cs231n.data.mnist import load_mnist

    images, _ = load_mnist("fashion-mnist", "train-all")
    batches = GAN_IMAGES // GAN_BATCH  # full batches, in order
    timed = batches // 10 if quick else batches
    x = images[: timed * GAN_BATCH].reshape(-1, 784).astype(np.float32) / 255
    if framework == "pytorch":
        import torch

        from cs231n import gan_pytorch as gan

        x = torch.from_numpy(x).view(-1, 1, 28, 28)
        D, G = gan.discriminator(), gan.generator()
        D_solver, G_solver = gan.get_optimizer(D), gan.get_optimizer(G)
        extra = {"device": "cpu"}
    else:
        from cs231n import gan_tf as gan

        D, G = gan.discriminator(seed=0), gan.generator(seed=0)
        D_solver, G_solver = gan.get_solvers()
        extra = {}
    loader = [(x[i : i + GAN_BATCH], None) for i in range(0, len(x), GAN_BATCH)]
    start = time.perf_counter()
    gan.run_a_gan(
        D, G, D_solver, G_solver, gan.discriminator_loss, gan.generator_loss,
        loader_train=loader, show_every=10**9, batch_size=GAN_BATCH, num_epochs=1,
        verbose=False, **extra,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    note = f"{timed} of {batches} batches, extrapolated" if quick else f"{batches} batches"
    return seconds * batches / timed, note


TASKS = {
    "saliency, 5 images (s per batch)": time_saliency,
    "fooling, margin (s per 10 steps)": time_fooling,
    "class visualization (s per 100 steps)": time_class_visualization,
    "style transfer, 192 px (s per 200 iterations)": time_style,
    "GAN epoch, fc, 60000 images (s per epoch)": time_gan_epoch,
}


def _measure(task, framework, quick, threads, queue):
    _limit_threads(framework, threads)
    queue.put(TASKS[task](framework, quick))


def measure(task, framework, quick, threads):
    """One measurement in a fresh process: (seconds, note), or None where there is none."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(task, framework, quick, threads, queue))
    process.start()
    process.join()  # the result is a small tuple: it fits the pipe, the child does not block
    if process.exitcode != 0:
        raise SystemExit(f"{task} / {framework}: the measuring process failed")
    return queue.get()


def versions():
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("torch", "tensorflow-cpu", "tensorflow"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="time a fraction of each task and extrapolate"
    )
    parser.add_argument(
        "--no-eager", action="store_true", help="skip the eager TensorFlow times (the before)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="threads for each framework (default: the usable cores, %(default)s)",
    )
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # for the measuring processes (NumPy's BLAS too)
    # torch's OpenMP threads spin while they wait: on a busy machine that alone makes PyTorch
    # several times slower, and TensorFlow's thread pool does not spin.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    load = os.getloadavg()[0]
    if load > 0.5 * os.cpu_count():
        print(f"The machine is busy (load average {load:.1f}): the timings will be unreliable.")
    variants = VARIANTS[:2] if args.no_eager else VARIANTS
    rows = []
    for task in TASKS:
        results = {}
        for variant in variants:
            print(f"{task}: {variant} ...", flush=True)
            results[variant] = measure(task, variant, args.quick, args.threads)
        rows.append((task, results))

    print()
    if args.quick:
        print("--quick: a fraction of each task was timed and the time extrapolated (see notes).")
    print(
        f"{versions()}; {args.threads} thread(s) each; 1-minute load average {load:.2f} "
        f"before the run, on {os.cpu_count()} CPUs\n"
    )
    print(table(rows, eager=not args.no_eager))


def table(rows, eager=True):
    """The markdown table of ``[(task, {variant: (seconds, note) or None})]``."""

    def cell(result, fmt="{:.2f}"):
        return "—" if result is None else fmt.format(result[0])

    def ratio(result, pt):
        return "—" if result is None else f"{result[0] / pt[0]:.2f}"

    head = ["task", "PyTorch", "TensorFlow compiled", "compiled / PyTorch"]
    if eager:
        head += ["TensorFlow eager (before)", "eager / PyTorch"]
    lines = ["| " + " | ".join([*head, "timed"]) + " |"]
    lines.append("|---|" + "---:|" * (len(head) - 1) + "---|")
    for task, results in rows:
        pt, tf = results["pytorch"], results["tensorflow"]
        cells = [task, cell(pt), cell(tf), ratio(tf, pt)]
        if eager:
            eg = results.get("tensorflow-eager")
            cells += [cell(eg), ratio(eg, pt)]
        notes = [f"{v}: {r[1]}" for v, r in results.items() if r is not None]
        lines.append("| " + " | ".join([*cells, "; ".join(notes)]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
