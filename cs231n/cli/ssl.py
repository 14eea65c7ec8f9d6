"""``cs231n ssl train`` and ``cs231n ssl evaluate RUN``: SimCLR pretraining and its evaluation
against baselines, over cs231n.ssl."""

from __future__ import annotations

import time
from pathlib import Path

from .common import (
    UserError,
    add_command,
    add_group,
    continuing,
    finite_float,
    int_range,
    main_lock,
    positive_float,
    positive_int,
    writable_output,
)

# Settings the options set (option dest -> config key); None: not given.
OPTIONS = {
    "dataset": "dataset",
    "max_images": "max_images",
    "arch": "arch",
    "width": "width",
    "feature_dim": "feature_dim",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "temperature": "temperature",
    "lr": "lr",
    "weight_decay": "weight_decay",
}


def _config(args):
    """The run's settings: each option as given, else --course's or --quick's value, else the
    CPU-sized default."""
    from ..ssl.training import COURSE, DEFAULTS, QUICK

    preset = COURSE if args.course else QUICK if args.quick else {}
    config = {}
    for dest, key in OPTIONS.items():
        value = getattr(args, dest)
        config[key] = value if value is not None else preset.get(key, DEFAULTS[key])
    if args.all_images:
        config["max_images"] = None
    return config


def cmd_ssl_train(args) -> int:
    from ..ssl.training import check_config, load_ssl_data, train_ssl

    config = _config(args)
    try:
        check_config(config)
    except ValueError as e:
        raise UserError(str(e)) from None
    output = Path(args.output or f"ssl_{Path(config['dataset']).name}")
    writable_output(output / "checkpoint.pt")
    with main_lock(output):
        try:
            data = load_ssl_data(config["dataset"], args.data_dir, config["max_images"], args.seed)
        except (ValueError, FileNotFoundError) as e:
            raise UserError(str(e)) from None
        (xtr, _), _, info = data
        if len(xtr) < config["batch_size"]:
            raise UserError(
                f"--batch-size {config['batch_size']}: the data has only {len(xtr)} training images"
            )
        print(
            f"{config['dataset']}: {info['train_images']} training images "
            f"({'colour' if info['channels'] == 3 else 'grey'}); SimCLR with {config['arch']} "
            f"(width {config['width']}), batch {config['batch_size']}, tau "
            f"{config['temperature']}, {config['epochs']} epochs"
        )
        resume = continuing(args, output, output / "checkpoint.pt", ("epoch",), config["epochs"])
        start = time.perf_counter()
        try:
            run = train_ssl(output, config, data_root=args.data_dir, seed=args.seed,
                            device=args.device, resume=resume, progress=not args.quiet,
                            data=data)  # fmt: skip
        except ValueError as e:  # a refused resume, a damaged checkpoint
            raise UserError(str(e)) from None
    print(
        f"Loss per epoch: {', '.join(f'{x:.4f}' for x in run.losses)}; "
        f"{time.perf_counter() - start:.0f} s ({run.seconds:.0f} s training in all)"
    )
    print(f"Run folder: {output} (checkpoint.pt, config.json, losses.json, loss.png)")
    print(f"Next: cs231n ssl evaluate {output}")
    return 0


def cmd_ssl_evaluate(args) -> int:
    from ..ssl.evaluation import evaluate

    if args.pretrained_course == (args.run is not None):
        raise UserError("give a RUN folder or --pretrained-course (one of the two)")
    if args.pretrained_course:
        return _evaluate_course_pretrained(args)
    if args.max_images is not None:
        raise UserError("--max-images is for --pretrained-course (a run uses its own images)")
    run = Path(args.run)
    if not (run / "checkpoint.pt").is_file():
        raise UserError(f"{run}: no checkpoint.pt here (a folder `cs231n ssl train` wrote)")
    writable_output(run / "evaluation.json")
    print(
        f"Evaluating {run}: kNN (k {args.k}) and linear probes on {args.label_fraction:.0%} of the labels"
    )
    try:
        results = evaluate(
            run,
            data_root=args.data_dir,
            device=args.device,
            seed=args.seed,
            k=args.k,
            temperature=args.temperature,
            label_fraction=args.label_fraction,
            test_images=None if args.test_images == 0 else args.test_images,
            supervised_seconds=args.supervised_seconds,
            supervised_steps=args.supervised_steps,
            progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError) as e:
        raise UserError(str(e)) from None
    _print_table(results)
    sup = results["encoders"]["supervised"]
    print(
        f"supervised classifier: {sup['classifier_top1']:.2f}% after {sup['training']['steps']} "
        f"steps ({sup['training']['seconds']:.0f} s; SimCLR pretrained "
        f"{results['pretraining_seconds']:.0f} s)"
    )
    print(f"Written: {run / 'evaluation.json'}, {run / 'neighbours.png'}, {run / 'embedding.png'}")
    return 0


def _evaluate_course_pretrained(args) -> int:
    from ..ssl.evaluation import course_pretrained_path, evaluate_course_pretrained

    print(
        f"Evaluating the course's pretrained SimCLR ResNet-50 ({course_pretrained_path(args.data_dir)}) "
        f"on CIFAR-10: kNN (k {args.k}) and a linear probe on {args.label_fraction:.0%} of the labels"
    )
    try:
        results = evaluate_course_pretrained(
            data_root=args.data_dir,
            device=args.device,
            seed=args.seed,
            k=args.k,
            temperature=args.temperature,
            label_fraction=args.label_fraction,
            max_images=args.max_images or 5000,
            test_images=None if args.test_images == 0 else args.test_images,
        )
    except (ValueError, FileNotFoundError) as e:
        raise UserError(str(e)) from None
    _print_table(results)
    print(
        f"{results['train_images']} training images (bank), {results['test_images']} test "
        f"images, {results['labelled_images']} labelled"
    )
    return 0


def add_parser(commands):
    group = add_group(
        commands,
        "ssl",
        "ssl_command",
        help="self-supervised learning (SimCLR): pretrain, then evaluate against baselines",
        description="The course's SimCLR (2021-2026): contrastive pretraining, then kNN and "
        "linear-probe evaluation against a random encoder, raw pixels and a supervised one.",
    )
    train = add_command(
        group,
        "train",
        cmd_ssl_train,
        help="SimCLR pretraining on Fashion-MNIST, CIFAR-10 or an image folder",
        description="Pretrain an encoder with the course's contrastive loss and training loop. "
        "The default is sized for a CPU (a small ResNet at 32x32 on 20000 Fashion-MNIST "
        "images); --course gives the course's ResNet-50 configuration. The run folder gets "
        "config.json, checkpoint.pt after every epoch (the next run in the folder continues from it "
        "exactly; --restart starts over), losses.json and loss.png.",
    )
    train.add_argument(
        "--dataset",
        default=None,
        metavar="NAME|DIR",
        help="fashion-mnist (default), cifar10 (when in the data directory), or a folder of "
        "images with one subfolder per class",
    )
    train.add_argument(
        "--max-images", type=positive_int, default=None, help="first N training images (20000)"
    )
    train.add_argument("--all-images", action="store_true", help="every training image")
    train.add_argument("--arch", choices=["small", "resnet18", "resnet50"], default=None,
                       help="encoder (default: small)")  # fmt: skip
    train.add_argument(
        "--width", type=int_range(1, 4096), default=None, help="small ResNet's first width (16)"
    )
    train.add_argument(
        "--feature-dim", type=int_range(1, 65536), default=None, help="projection size (128)"
    )
    train.add_argument("--epochs", type=positive_int, default=None, help="epochs in all (10)")
    train.add_argument(
        "--batch-size",
        type=int_range(2),
        default=None,
        help="pairs per batch, at least 2: one pair has no negatives (128)",
    )
    train.add_argument(
        "--temperature", type=positive_float, default=None, help="tau of the loss (0.5)"
    )
    train.add_argument("--lr", type=positive_float, default=None, help="Adam learning rate (1e-3)")
    train.add_argument(
        "--weight-decay", type=finite_float(0), default=None, help="Adam weight decay (1e-6)"
    )
    presets = train.add_mutually_exclusive_group()
    presets.add_argument(
        "--course",
        action="store_true",
        help="the course's configuration: ResNet-50, batch 64, tau 0.5, every image (GPU-sized)",
    )
    presets.add_argument(
        "--quick", action="store_true", help="seconds: width 8, 1024 images, 2 epochs"
    )
    train.add_device()
    train.add_nproc()
    train.add_seed(0, "seed of the weights, shuffling and augmentations (default: %(default)s)")
    train.add_argument("-o", "--output", default=None, metavar="DIR",
                       help="the run folder (default: ssl_DATASET)")  # fmt: skip
    train.add_resume_restart()
    train.add_quiet("no progress bars")
    train.add_data_dir()

    evaluate = add_command(
        group,
        "evaluate",
        cmd_ssl_evaluate,
        help="kNN and linear probes of a SimCLR run against its baselines",
        description="Measure a run's encoder with the course's weighted kNN and a linear probe "
        "on 10% of the labels, against the same encoder randomly initialised, the raw pixels, "
        "and the same network trained with labels on the same 10% for the same time. Writes "
        "evaluation.json, neighbours.png and embedding.png into the run folder.",
    )
    evaluate.add_argument(
        "run", metavar="RUN", nargs="?", help="the run folder of `cs231n ssl train`"
    )
    evaluate.add_argument(
        "--pretrained-course",
        action="store_true",
        help="instead of a run: the course's pretrained ResNet-50 (cs231n data download "
        "simclr-model), loaded as its notebook does, on CIFAR-10 (cs231n data download cifar10)",
    )
    evaluate.add_argument(
        "--max-images",
        type=positive_int,
        default=None,
        help="with --pretrained-course: the first N CIFAR-10 training images (5000)",
    )
    evaluate.add_argument("--k", type=positive_int, default=200, help="kNN neighbours (200)")
    evaluate.add_argument(
        "--temperature", type=positive_float, default=0.5, help="kNN vote temperature (0.5)"
    )
    evaluate.add_argument(
        "--label-fraction",
        type=finite_float(0, 1, low_inclusive=False),
        default=0.1,
        help="labelled share of the training images for the probes (0.1)",
    )
    evaluate.add_argument(
        "--test-images",
        type=int_range(0),
        default=2000,
        help="test images to classify (default 2000; 0: all)",
    )
    evaluate.add_argument(
        "--supervised-seconds",
        type=positive_float,
        default=None,
        help="how long the supervised baseline trains (default: as long as the run did)",
    )
    evaluate.add_argument(
        "--supervised-steps", type=positive_int, default=None, help="or this many steps"
    )
    evaluate.add_device()
    evaluate.add_seed(0, "seed of the random encoder, the probes and the baseline (default: 0)")
    evaluate.add_quiet("no per-encoder lines")
    evaluate.add_data_dir()


def _print_table(results):
    """The evaluation's table: one row per encoder, kNN top-1/top-5 and the probe's top-1."""
    print(f"{'encoder':<12}{'kNN top-1':>10}{'kNN top-5':>10}{'probe top-1':>13}")
    for name, r in results["encoders"].items():
        print(
            f"{name:<12}{r['knn_top1']:>9.2f}%{r['knn_top5']:>9.2f}%"
            f"{r['linear_probe_top1']:>12.2f}%"
        )
