"""TensorFlow vs PyTorch on this machine: the twin modules side by side, in one run.

Times, in each framework, on the same pretrained SqueezeNet weights and the same data:
seconds per saliency batch (5 validation images, ``compute_saliency_maps``), per 100
class-visualization steps (``class_visualization``), per 200 style-transfer iterations (192 px,
the starry_night preset, tubingen.jpg; ``transfer``) and per GAN epoch (the course's
``run_a_gan``, fully connected vanilla GAN, the 60000 Fashion-MNIST training images, batch 128,
full batches in order). Each measurement runs in its own process, with only its framework
imported and both frameworks limited to the same number of threads (``OMP_WAIT_POLICY=PASSIVE``
unless set: torch's spinning threads would otherwise fight the other processes on a busy
machine); a warm-up call comes first (the GAN's is part of its epoch: TensorFlow traces its step
then). Prints a markdown table with the ratio TensorFlow / PyTorch (below 1: TensorFlow is
faster). A busy machine (load average above half its CPUs) is reported: compare runs on an idle
one.

``--quick`` times a fraction of the work (5x fewer saliency repeats, 10 of the 100
class-visualization steps, 20 of the 200 style iterations, a tenth of the GAN epoch) and
extrapolates, saying so; it takes a few minutes. The full run takes ~10-20 minutes on a
two-core machine. The first TensorFlow run converts the weights once (in the cache).

Run:  CS231N_DATA=../shared/data .venv/bin/python bench/bench_tensorflow.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time

FRAMEWORKS = ("pytorch", "tensorflow")
GAN_IMAGES, GAN_BATCH = 60000, 128


def _limit_threads(framework, threads):
    if framework == "pytorch":
        import torch

        torch.set_num_threads(threads)
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _model(framework):
    if framework == "pytorch":
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
        from cs231n.net_visualization_tensorflow import compute_saliency_maps
    compute_saliency_maps(X, y, model)  # warm-up
    times = []
    for _ in range(2 if quick else 10):
        start = time.perf_counter()
        compute_saliency_maps(X, y, model)
        times.append(time.perf_counter() - start)
    return statistics.median(times), f"median of {len(times)}"


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
            class_visualization(76, model, num_iterations=n, seed=0)

    run(1)  # warm-up
    start = time.perf_counter()
    run(steps)
    return (time.perf_counter() - start) * 100 / steps, f"{steps} steps"


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
    transfer(content, style, cnn=cnn, image_size=192, **{**settings, "iterations": 1})  # warm-up
    start = time.perf_counter()
    transfer(content, style, cnn=cnn, image_size=192, **{**settings, "iterations": iterations})
    return (time.perf_counter() - start) * 200 / iterations, f"{iterations} iterations"


def time_gan_epoch(framework, quick):
    """Seconds per epoch of the course's ``run_a_gan`` (fc vanilla GAN, batch 128)."""
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
    "class visualization (s per 100 steps)": time_class_visualization,
    "style transfer, 192 px (s per 200 iterations)": time_style,
    "GAN epoch, fc, 60000 images (s per epoch)": time_gan_epoch,
}


def _measure(task, framework, quick, threads, queue):
    _limit_threads(framework, threads)
    queue.put(TASKS[task](framework, quick))


def measure(task, framework, quick, threads):
    """One measurement in a fresh process: (seconds, note)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(task, framework, quick, threads, queue))
    process.start()
    process.join()
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
    rows = []
    for task in TASKS:
        results = {}
        for framework in FRAMEWORKS:
            print(f"{task}: {framework} ...", flush=True)
            results[framework] = measure(task, framework, args.quick, args.threads)
        (pt, note), (tf, _) = results["pytorch"], results["tensorflow"]
        rows.append((task, pt, tf, note))

    print()
    if args.quick:
        print("--quick: a fraction of each task was timed and the time extrapolated (see notes).")
    print(
        f"{versions()}; {args.threads} thread(s) each; 1-minute load average {load:.2f} "
        f"before the run, on {os.cpu_count()} CPUs\n"
    )
    print("| task | PyTorch | TensorFlow | TensorFlow / PyTorch | timed |")
    print("|---|---:|---:|---:|---|")
    for task, pt, tf, note in rows:
        print(f"| {task} | {pt:.2f} | {tf:.2f} | {tf / pt:.2f} | {note} |")


if __name__ == "__main__":
    main()
