"""The ``cs231n`` command line: a thin layer over the package's API."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import __version__
from .config import DATA_ENV_VAR, data_dir, default_cache_dir
from .download import DATASETS, asset_status, fetch_dataset, missing_files


class UserError(Exception):
    """A problem the user can fix. Like the library's own input errors, it is printed as one
    line with exit status 2 (set CS231N_DEBUG=1 for the traceback)."""


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _add_data_dir(parser):
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"data directory (default: ${DATA_ENV_VAR}, else {default_cache_dir()})",
    )


def _writable_output(path) -> Path:
    """Fail before hours of work, not after: the output's folder must be creatable."""
    path = Path(path)
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UserError(f"cannot write {path}: {parent} is not a writable folder")
    return path


def cmd_caption_overfit(args) -> int:
    from .captioning_experiments import overfit_small_data, plot_loss_curve, small_caption_data

    out = _writable_output(args.output or f"caption_overfit_{args.cell}.png")
    data, source = small_caption_data(
        num_train=args.num_train, seed=args.seed, data_root=args.data_dir
    )
    print(
        f"Overfitting a {args.cell.upper()} captioning model on {args.num_train} captions: {source}"
    )
    start = time.perf_counter()
    _, solver = overfit_small_data(
        cell_type=args.cell,
        data=data,
        num_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        lr_decay=args.lr_decay,
        hidden_dim=args.hidden_dim,
        wordvec_dim=args.wordvec_dim,
        print_every=args.print_every,
        seed=args.seed,
        verbose=not args.quiet,
        progress=not args.quiet,
    )
    seconds = time.perf_counter() - start
    plot_loss_curve(
        solver.loss_history, out, title=f"{args.cell.upper()} overfitting: loss per iteration"
    )
    history = solver.loss_history
    print(
        f"Final loss: {history[-1]:.6f} after {len(history)} iterations "
        f"(first {history[0]:.4f}; {seconds:.1f} s)"
    )
    print(f"Loss curve saved to {out}")
    return 0


def cmd_data_download(args) -> int:
    spec = DATASETS[args.name]
    root = data_dir(args.data_dir)
    folder = root / spec["folder"]
    if not missing_files(args.name, root):
        print(f"{args.name}: already present in {folder}")
        return 0
    archive = root / spec["archive"]
    if archive.is_file():  # fetch_dataset unpacks it without downloading
        print(f"Unpacking {archive}")
    else:
        print(f"Downloading {args.url or spec['url']} into {root}")
    fetch_dataset(
        args.name, root, url=args.url, progress=not args.quiet, keep_archive=args.keep_archive
    )
    print(f"{args.name}: ready in {folder}")
    return 0


def cmd_data_path(args) -> int:
    root = Path(os.path.abspath(data_dir(args.data_dir)))
    # The path alone on the first line, for scripts (`cs231n data path | sed -n 1p`).
    print(root)
    if not root.is_dir():
        print("  (the folder does not exist yet)")
    for name, present, optional in asset_status(root):
        print(f"  {'present' if present else 'missing'}  {name}{' (optional)' if optional else ''}")
    for name in DATASETS:
        if missing_files(name, root):
            print(f"Run `cs231n data download {name}` to fetch the missing {name} files.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cs231n",
        description="Stanford CS231n Assignment 3 as software: image captioning with RNNs and "
        "LSTMs (NumPy), network visualization, style transfer and GANs (PyTorch).",
        epilog=f"Data (COCO features, pretrained weights, images) is looked up in ${DATA_ENV_VAR} "
        "(default: a per-user cache folder). Run `cs231n COMMAND --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    caption = commands.add_parser(
        "caption",
        help="image captioning with RNNs and LSTMs (NumPy)",
        description="Image captioning with vanilla RNNs and LSTMs, written in NumPy.",
    )
    caption_commands = caption.add_subparsers(dest="caption_command", metavar="SUBCOMMAND")
    overfit = caption_commands.add_parser(
        "overfit",
        help="overfit a captioning model on 50 captions (the assignment's sanity check)",
        description="Train a captioning model on 50 training captions with the assignment's "
        "settings (Adam, learning rate 5e-3, batch 25, 50 epochs, hidden 512, word vectors 256) "
        "until it memorises them; prints the loss and saves a loss-curve image. A correct model "
        "ends below 0.1 (RNN) or 0.5 (LSTM).",
    )
    overfit.add_argument(
        "--cell",
        choices=["rnn", "lstm"],
        default="rnn",
        help="recurrent cell (default: %(default)s)",
    )
    overfit.add_argument(
        "--epochs", type=_positive_int, default=50, help="training epochs (default: %(default)s)"
    )
    overfit.add_argument(
        "--batch-size", type=_positive_int, default=25, help="minibatch size (default: %(default)s)"
    )
    overfit.add_argument(
        "--lr", type=_positive_float, default=5e-3, help="Adam learning rate (default: %(default)s)"
    )
    overfit.add_argument(
        "--lr-decay",
        type=_positive_float,
        default=None,
        help="learning-rate decay per epoch (default: 0.95 RNN, 0.995 LSTM)",
    )
    overfit.add_argument(
        "--hidden-dim", type=_positive_int, default=512, help="hidden size H (default: %(default)s)"
    )
    overfit.add_argument(
        "--wordvec-dim",
        type=_positive_int,
        default=256,
        help="word-vector size W (default: %(default)s)",
    )
    overfit.add_argument(
        "--num-train",
        type=_positive_int,
        default=50,
        help="training captions to memorise (default: %(default)s)",
    )
    overfit.add_argument(
        "--print-every",
        type=_positive_int,
        default=10,
        help="print the loss every N iterations (default: %(default)s)",
    )
    overfit.add_argument("--seed", type=int, default=231, help="random seed (default: %(default)s)")
    overfit.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="PNG",
        help="loss-curve image (default: caption_overfit_CELL.png)",
    )
    overfit.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar or per-iteration losses"
    )
    _add_data_dir(overfit)
    overfit.set_defaults(func=cmd_caption_overfit)
    caption.set_defaults(func=lambda args: _missing_subcommand(caption))

    data = commands.add_parser(
        "data",
        help="download the course's data; show the data directory",
        description=f"The data directory: ${DATA_ENV_VAR}, else {default_cache_dir()} "
        "(--data-dir overrides both).",
    )
    data_commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    fetch = data_commands.add_parser(
        "download",
        help="download and unpack a dataset into the data directory",
        description="Download a dataset's archive into the data directory, check it, unpack it "
        "and delete the archive. Does nothing when the files are already there; an interrupted "
        "download resumes when run again. Offline, download the archive elsewhere and copy it "
        "into the data directory: it is then unpacked without downloading.",
    )
    fetch.add_argument(
        "name",
        choices=sorted(DATASETS),
        help="; ".join(f"{k}: {v['description']}" for k, v in sorted(DATASETS.items())),
    )
    fetch.add_argument(
        "--url",
        help=f"download from URL instead (default for coco: {DATASETS['coco']['url']})",
    )
    fetch.add_argument(
        "--keep-archive", action="store_true", help="keep the zip archive after unpacking it"
    )
    fetch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_data_dir(fetch)
    fetch.set_defaults(func=cmd_data_download)
    path = data_commands.add_parser(
        "path",
        help="print the data directory and which known files it holds",
        description="Print the data directory (first line) and, for each file the assignment "
        "uses, whether it is present.",
    )
    _add_data_dir(path)
    path.set_defaults(func=cmd_data_path)
    data.set_defaults(func=lambda args: _missing_subcommand(data))
    return parser


def _missing_subcommand(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (UserError, OSError, KeyError, ValueError, TypeError, FloatingPointError) as e:
        if os.environ.get("CS231N_DEBUG"):
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"cs231n: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cs231n: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
