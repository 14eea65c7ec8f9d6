"""``cs231n vit train``: the Vision Transformer on Fashion-MNIST (or MNIST), over
cs231n.vit.training."""

from __future__ import annotations

import time

from ..vit.training import (
    MODEL_DEFAULTS,
    QUICK,
    TRAIN_DEFAULTS,
    check_config,
    load_vit_data,
    output_paths,
    require_training_memory,
    train_vit,
)
from .common import (
    UserError,
    _positive_float,
    _positive_int,
    add_command,
    add_group,
    continuing,
    finite_float,
    int_range,
    main_lock,
    writable_output,
)

PATCH_SIZES = (1, 2, 4, 7, 14, 28)  # the divisors of 28
MAX_WIDTH = 65536  # --embed-dim and --dim-feedforward: a cap that names itself


def _settings(args):
    """The model and training settings: each option as given, else --quick's value (with
    --quick), else the course's default."""
    quick = QUICK if args.quick else {}
    config, training = {}, {}
    for key, default in MODEL_DEFAULTS.items():
        value = getattr(args, key)
        config[key] = value if value is not None else quick.get(key, default)
    names = {"num_epochs": "epochs", "learning_rate": "lr"}
    for key, default in TRAIN_DEFAULTS.items():
        value = getattr(args, names.get(key, key))
        training[key] = value if value is not None else quick.get(key, default)
    max_images = args.max_images if args.max_images is not None else quick.get("max_images")
    return config, training, max_images


def _epochs(n):
    return f"{n} epoch{'s' * (n != 1)}"


def cmd_vit_train(args) -> int:
    config, training, max_images = _settings(args)
    try:
        check_config(config)
    except ValueError as e:
        option = str(e).split()[0].replace("_", "-")
        raise UserError(f"--{option}: {e}") from None
    try:
        require_training_memory(
            config,
            training["batch_size"],
            f"a ViT with --embed-dim {config['embed_dim']}, --num-layers {config['num_layers']}, "
            f"--dim-feedforward {config['dim_feedforward']}, --patch-size "
            f"{config['patch_size']}, --batch-size {training['batch_size']}",
        )
    except ValueError as e:
        raise UserError(e) from None
    name = args.output or f"vit_{args.dataset}"
    for path in output_paths(name):
        writable_output(path)
    # The trainer holds the same lock (re-entrant); taking it here refuses a second run on
    # NAME before the data is read.
    with main_lock(output_paths(name)[0].with_suffix("")):
        return _train(args, name, config, training, max_images)


def _train(args, name, config, training, max_images):
    from ..core.torch_utils import resolve_device

    train_data, test_data = load_vit_data(args.dataset, args.data_dir, max_images)
    device = resolve_device(args.device)
    patches = (28 // config["patch_size"]) ** 2
    print(
        f"{args.dataset}: {len(train_data)} training and {len(test_data)} test images; a ViT of "
        f"{config['num_layers']} layers, width {config['embed_dim']}, {patches} patches of "
        f"{config['patch_size']}x{config['patch_size']}; {_epochs(training['num_epochs'])} on "
        f"{device}"
    )
    resume = continuing(args, name, output_paths(name)[0], ("epoch",), training["num_epochs"])
    start = time.perf_counter()
    model, solver = train_vit(
        train_data,
        test_data,
        config,
        checkpoint=name,
        resume=resume,
        seed=args.seed,
        device=device,
        verbose=not args.quiet,
        progress=not args.quiet,
        extra={"dataset": args.dataset, "max_images": max_images},
        **training,
    )
    seconds = time.perf_counter() - start
    results = solver.results
    if not results["test_acc@1"]:
        print(f"Nothing to train: the checkpoint has {solver.epoch} epochs already")
        return 0
    print(
        f"Test accuracy after {_epochs(solver.epoch)}: {results['test_acc@1'][-1]:.4f} (best "
        f"{results['best_test_acc']:.4f}); {seconds:.0f} s"
    )
    pt, json_path, curve = output_paths(name)
    print(f"Checkpoint: {pt}; results: {json_path}; learning curve: {curve}")
    return 0


def add_parser(commands):
    vit_commands = add_group(
        commands,
        "vit",
        "vit_command",
        help="the Vision Transformer (PyTorch) on Fashion-MNIST",
        description="The course's Vision Transformer (2025), trained on Fashion-MNIST or MNIST.",
    )
    train = add_command(
        vit_commands,
        "train",
        cmd_vit_train,
        help="train a Vision Transformer on Fashion-MNIST and report its test accuracy",
        description="Train the course's VisionTransformer with ClassificationSolverViT on the "
        "60000 training images (28x28, one channel, cut into patches) and test it on the 10000 "
        "test images after every epoch. Defaults are the course's: 2 epochs, Adam 1e-4, no "
        "weight decay, batch 64, 6 layers of width 128, 4 heads, feed-forward 256, dropout 0.1; "
        "with 7x7 patches. After every epoch it writes NAME.pt (a checkpoint: the next run "
        "on NAME continues from it exactly; --restart starts over), NAME.json (settings and "
        "results) and NAME_curve.png (loss and accuracy per epoch). --quick: a smoke test (a "
        "small model, 2000 images, 2 epochs).",
    )
    train.add_argument(
        "--dataset",
        choices=["fashion-mnist", "mnist"],
        default="fashion-mnist",
        help="the images (default: %(default)s; `cs231n data download fashion-mnist`)",
    )
    train.add_argument(
        "--epochs", type=_positive_int, default=None, help="training epochs (default: 2)"
    )
    train.add_argument(
        "--batch-size", type=_positive_int, default=None, help="minibatch size (default: 64)"
    )
    train.add_argument(
        "--lr", type=_positive_float, default=None, help="Adam learning rate (default: 1e-4)"
    )
    train.add_argument(
        "--weight-decay",
        type=finite_float(0),
        default=None,
        help="Adam weight decay (default: 0)",
    )
    train.add_argument(
        "--patch-size",
        type=int,
        choices=PATCH_SIZES,
        default=None,
        help="patch side in pixels, dividing 28 (default: 7, 16 patches)",
    )
    train.add_argument(
        "--embed-dim",
        type=int_range(1, MAX_WIDTH),
        default=None,
        help="model width (default: 128)",
    )
    train.add_argument(
        "--num-layers", type=int_range(1, 64), default=None, help="encoder layers (default: 6)"
    )
    train.add_argument(
        "--num-heads",
        type=int_range(1, MAX_WIDTH),
        default=None,
        help="attention heads, dividing the width (default: 4)",
    )
    train.add_argument(
        "--dim-feedforward",
        type=int_range(1, MAX_WIDTH),
        default=None,
        help="feed-forward size (default: 256)",
    )
    train.add_argument(
        "--dropout",
        type=finite_float(0, 1, high_inclusive=False),
        default=None,
        help="dropout (default: 0.1)",
    )
    train.add_argument(
        "--max-images",
        type=_positive_int,
        default=None,
        help="use only the first N training and N test images (quick runs)",
    )
    train.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: width 32, 2 layers, 2 heads, feed-forward 64, 2 epochs at 1e-3, "
        "2000 images (options given still apply)",
    )
    train.add_device()
    train.add_nproc()
    train.add_seed(0, "seed of the weights, dropout and shuffling (default: %(default)s)")
    train.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="NAME",
        help="what to write: NAME.pt, NAME.json, NAME_curve.png (default: vit_DATASET)",
    )
    train.add_resume_restart()
    train.add_quiet("no progress bars or per-epoch lines")
    train.add_data_dir()
