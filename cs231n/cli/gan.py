"""``cs231n gan train | sample | score``: GANs on MNIST-format images, over cs231n.gan.training
and cs231n.gan.metrics."""

from __future__ import annotations

import time
from pathlib import Path

from ..core import distributed
from ..core.files import atomic_path
from ..core.progress import progress_bar
from ..data.mnist import load_mnist, torch_dataset
from .common import (
    DEFAULT,
    UserError,
    _positive_int,
    add_command,
    add_group,
    check_framework,
    continuing,
    figure_output,
    int_range,
    main_lock,
    require_tensorflow,
    writable_output,
)

# A grid of more samples has cells too small to see and takes minutes to draw.
MAX_GRID = 1024


def _torch_device(name):
    from ..core.torch_utils import resolve_device

    return str(resolve_device(name))


def cmd_gan_train(args) -> int:
    tensorflow = args.framework == "tensorflow"
    check_framework(
        args,
        "gan train",
        [
            (f"--loss {args.loss}", args.loss == "wgan-gp"),
            ("--spectral-norm", args.spectral_norm),
            ("--device", args.device is not None),
            ("several processes (torchrun, --nproc)", distributed.env_world_size() > 1),
        ],
    )
    run_dir = writable_output(Path(args.output) / "config.json").parent
    # One run per folder: a second one is refused, naming this one. The trainer holds the
    # same lock (re-entrant); taking it here refuses a second run before the data is read.
    with main_lock(run_dir):
        _check_same_framework(args, run_dir)
        return _train(args, run_dir, tensorflow)


def _check_same_framework(args, run_dir):
    """A run folder is resumed by the framework that trained it."""
    from ..gan.training import run_framework

    if args.restart or not (run_dir / "config.json").exists():
        return
    existing = run_framework(run_dir)
    if existing != args.framework:
        raise UserError(
            f"{run_dir} holds a {existing} run: continue it with --framework {existing}, or "
            "start over with --restart"
        )


def _train(args, run_dir, tensorflow):
    from ..gan.training import TF_STATE, train, train_tensorflow

    images, _ = load_mnist(args.dataset, "train", args.data_dir)
    if args.max_images:
        images = images[: args.max_images]
    x = torch_dataset(images).tensors[0]
    print(
        f"{args.loss} GAN, {args.arch} networks, {len(x)} {args.dataset} images, {args.epochs} epochs -> {run_dir}"
        + (" (TensorFlow)" if tensorflow else "")
    )
    if tensorflow:
        resume = continuing(args, run_dir, run_dir / TF_STATE, ("epoch",), args.epochs)
    else:
        saved = run_dir / "checkpoint.pt"
        resume = continuing(args, run_dir, saved, ("state", "epoch"), args.epochs)
    per_epoch = len(x) // args.batch_size
    bar = progress_bar(total=args.epochs * per_epoch, desc="gan", disable=args.quiet)

    def progress(it, d, g):
        bar.n = it + 1
        bar.set_postfix_str(f"D: {d:.4f} G: {g:.4f}", refresh=False)
        bar.update(0)

    settings = dict(
        loss=args.loss,
        arch=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        sample_every=args.sample_every,
        callback=progress,
        resume=resume,
    )
    start = time.perf_counter()
    try:
        if tensorflow:
            history = train_tensorflow(run_dir, x, **settings)
        else:
            history = train(
                run_dir,
                x,
                spectral_norm=args.spectral_norm,
                device=_torch_device(args.device),
                **settings,
            )
    finally:
        bar.close()
    d, g = history[-1] if history else (float("nan"), float("nan"))
    print(f"Done in {time.perf_counter() - start:.0f} s; last D: {d:.4f} G: {g:.4f}")
    saved = "weights: D.weights.h5, G.weights.h5" if tensorflow else "checkpoint: checkpoint.pt"
    print(f"Samples: {run_dir / 'samples'}; {saved} in {run_dir}")
    return 0


def _load_generator(args, command):
    """The run's generator, of the framework its config.json names; TensorFlow runs are
    checked before any work (TensorFlow installed, no --device)."""
    from ..gan.training import load_run_generator, run_framework

    framework = run_framework(args.run_dir)
    if framework == "tensorflow":
        if args.device is not None:
            raise UserError(f"--device is PyTorch-only; {args.run_dir} is a TensorFlow run")
        require_tensorflow(f"cs231n {command} of a TensorFlow run ({args.run_dir})")
    return load_run_generator(
        args.run_dir, None if framework == "tensorflow" else _torch_device(args.device)
    )


def cmd_gan_sample(args) -> int:
    from ..gan.training import generate, save_grid

    out = figure_output(args.output)
    G, config = _load_generator(args, "gan sample")
    save_grid(
        generate(G, args.n, seed=args.seed).numpy(), out, f"{config['loss']} / {config['arch']}"
    )
    print(f"{args.n} samples saved to {out}")
    return 0


def cmd_gan_score(args) -> int:
    import json

    from ..gan.metrics import score_generator

    G, config = _load_generator(args, "gan score")
    scores = score_generator(G, args.dataset, args.data_dir, samples=args.samples, seed=args.seed)
    print(
        f"{config['loss']} / {config['arch']}: classifier test accuracy "
        f"{scores['classifier_test_accuracy']:.1%}; Fréchet distance generated vs test "
        f"{scores['fid_generated_vs_test']:.2f} (real train vs test: "
        f"{scores['fid_train_vs_test_floor']:.2f}), {scores['samples']} samples each"
    )
    with atomic_path(Path(args.run_dir) / "scores.json") as tmp:
        tmp.write_text(json.dumps(scores, indent=2))
    return 0


# ----------------------------------------------------------------------------------------------
# Options


def _add_dataset(p, help=None):
    p.add_argument("--dataset", default="fashion-mnist", help=help)


def _add_run_dir(p):
    p.add_argument("run_dir", metavar="RUN_DIR")


def add_parser(commands):
    gan_commands = add_group(
        commands,
        "gan",
        "gan_command",
        help="GANs on MNIST-format images (PyTorch or TensorFlow)",
        description="Train, sample and score GANs on Fashion-MNIST "
        "(Debian's dataset-fashion-mnist), MNIST or a folder of IDX files.",
    )
    train = add_command(
        gan_commands,
        "train",
        cmd_gan_train,
        help="train a GAN into a run folder",
        description="Train with the assignment's networks and "
        "Adam settings; samples of a fixed noise batch every "
        "--sample-every iterations, a checkpoint every epoch "
        "(the next run in the folder continues from it; --restart starts over). With "
        "--framework tensorflow: the course's TensorFlow models on the same batches, Keras "
        "weights (D.weights.h5, G.weights.h5) and state.json instead of checkpoint.pt; resuming "
        "restores weights and progress but restarts Adam's moments (not bit-exact, unlike "
        "PyTorch's).",
    )
    train.add_argument("--loss", choices=["gan", "lsgan", "wgan-gp"], default="gan", help=DEFAULT)
    train.add_argument("--arch", choices=["fc", "dc"], default="fc", help=DEFAULT)
    _add_dataset(train, "fashion-mnist, mnist or a folder of IDX files (default: %(default)s)")
    train.add_epochs(10)
    train.add_batch_size(128)
    train.add_argument(
        "--max-images", type=_positive_int, default=None, help="train on the first N images only"
    )
    train.add_argument(
        "--sample-every",
        type=_positive_int,
        default=250,
        help="save a sample grid every N iterations (default: %(default)s)",
    )
    train.add_argument(
        "--spectral-norm", action="store_true", help="spectral normalisation in the discriminator"
    )
    train.add_seed()
    train.add_resume_restart()
    train.add_device()
    train.add_nproc()
    train.add_framework("models")
    train.add_output(None, "RUN_DIR", None, required=True)
    train.add_quiet()
    train.add_data_dir()

    sample = add_command(
        gan_commands,
        "sample",
        cmd_gan_sample,
        help="a grid of samples from a trained run",
        description="A grid of samples from a trained run of either framework (read from its "
        "config.json).",
    )
    _add_run_dir(sample)
    sample.add_argument(
        "-n",
        type=int_range(1, MAX_GRID),
        default=64,
        help=f"number of samples, at most {MAX_GRID} (default: %(default)s)",
    )
    sample.add_seed(help=None)
    sample.add_device()
    sample.add_output("gan_samples.png", "PNG", "sample grid (default: %(default)s)")

    score = add_command(
        gan_commands,
        "score",
        cmd_gan_score,
        help="Fréchet distance of samples vs real images",
        description="Train (once) a small CNN on the data set and "
        "report its test accuracy and the Fréchet distance of its "
        "penultimate features, generated vs real test images, with "
        "the real-train vs real-test floor. Runs of either framework (read from their "
        "config.json) are scored by the same PyTorch classifier.",
    )
    _add_run_dir(score)
    _add_dataset(score)
    score.add_argument(
        "--samples",
        type=int_range(2, 10000),
        default=2000,
        help="generated and real images compared, 2 to 10000 (default: %(default)s)",
    )
    score.add_seed(help=None)
    score.add_device()
    score.add_data_dir()
