"""What the command modules share: the error a user can fix, argument types, the options several
commands have (each defined here once, as a method of every command's parser), how a command
is registered, and the checks made before any work."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from pathlib import Path

from ..core import distributed, tf_utils
from ..core.checks import MAX_SEED
from ..core.config import DATA_ENV_VAR, default_data_dir
from ..core.files import output_lock
from ..data.assets import MIRROR_ENV_VAR

DEFAULT = "(default: %(default)s)"  # the help of options that need no more words


class UserError(Exception):
    """A problem the user can fix. Like the library's own input errors, it is printed as one
    line with exit status 2 (set CS231N_DEBUG=1 for the traceback)."""


# Argument types. Each refuses a bad value with one message naming the valid range (argparse
# prefixes the option: "argument --lr: must be a positive number, got nan"). argparse names the
# type in the messages of errors it catches itself ("invalid _positive_int value: 'x'"): keep
# the names.


def _describe_int_range(low, high):
    if high is None:
        return {0: "a non-negative integer", 1: "a positive integer"}.get(
            low, f"an integer >= {low}"
        )
    return f"an integer from {low} to {high}"


def int_range(low=1, high=None):
    """An argparse type: an integer in ``[low, high]`` (no upper bound when ``high`` is None).
    ``int_range(1)`` is a positive integer, ``int_range(0)`` a non-negative one."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be {_describe_int_range(low, high)}, got {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"must be {_describe_int_range(low, high)}, got {text}"
            )
        return value

    parse.__name__ = "int"
    return parse


def int_list(low=1):
    """An argparse type: comma-separated integers >= ``low``, e.g. "1,2,4,8" -> [1, 2, 4, 8]."""

    def parse(text):
        try:
            values = [int(part) for part in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be comma-separated integers such as 1,2,4, got {text!r}"
            ) from None
        if any(v < low for v in values):
            raise argparse.ArgumentTypeError(
                f"must be integers >= {low}, comma-separated, got {text}"
            )
        return values

    parse.__name__ = "int list"
    return parse


def finite_float(low=None, high=None, *, low_inclusive=True, high_inclusive=True):
    """An argparse type: a finite number (never nan or inf) in the range given by ``low`` and
    ``high`` (None: unbounded), each end included unless ``*_inclusive`` is False."""
    if low is not None and high is not None:
        described = (
            f"a number in {'[' if low_inclusive else '('}{low:g}, {high:g}"
            f"{']' if high_inclusive else ')'}"
        )
    elif low == 0 and not low_inclusive:
        described = "a positive number"
    elif low is not None:
        described = f"a finite number {'>=' if low_inclusive else '>'} {low:g}"
    elif high is not None:
        described = f"a finite number {'<=' if high_inclusive else '<'} {high:g}"
    else:
        described = "a finite number"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {described}, got {text!r}") from None
        ok = math.isfinite(value)
        if ok and low is not None:
            ok = value >= low if low_inclusive else value > low
        if ok and high is not None:
            ok = value <= high if high_inclusive else value < high
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {described}, got {text}")
        return value

    parse.__name__ = "float"
    return parse


MAX_ITERATIONS = 100_000  # --iterations of the optimisation commands (style, visualize-class)
positive_int = int_range(1)
non_negative_int = int_range(0)
positive_float = finite_float(0, low_inclusive=False)
_positive_int = positive_int  # the names the command modules import
_positive_float = positive_float


def _device_name(text):
    """--device: a device this machine has (checked before any work)."""
    from ..core.torch_utils import resolve_device

    try:
        resolve_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


class CommandParser(argparse.ArgumentParser):
    """``cs231n``'s parser; its subcommands' parsers are of this class too, so each command adds
    a shared option with one call (``parser.add_seed()``)."""

    def add_data_dir(self):
        self.add_argument(
            "--data-dir",
            metavar="DIR",
            help=f"data directory (default: ${DATA_ENV_VAR}, else {default_data_dir()})",
        )

    def add_output(self, default, metavar, help, **kwargs):
        """The ``-o/--output`` option every command that writes a file or folder has."""
        self.add_argument(
            "-o",
            "--output",
            type=Path,
            default=None if default is None else Path(default),
            metavar=metavar,
            help=help,
            **kwargs,
        )

    def add_mirror(self):
        self.add_argument(
            "--mirror",
            metavar="URL",
            help=f"fetch every asset from MIRROR/NAME/FILE instead of its official source "
            f"(default: ${MIRROR_ENV_VAR} when set)",
        )

    def add_device(self):
        self.add_argument(
            "--device",
            type=_device_name,
            default=None,
            help="torch device (default: cuda when available, else cpu)",
        )

    def add_seed(self, default=0, help=DEFAULT):
        self.add_argument("--seed", type=int_range(0, MAX_SEED), default=default, help=help)

    def add_quiet(self, help="no progress bar"):
        self.add_argument("-q", "--quiet", action="store_true", help=help)

    def add_nproc(self):
        """``--nproc N``: run the command in N processes on this machine (torchrun; the main
        function launches it, cs231n.cli.main)."""
        self.add_argument(
            "--nproc",
            type=int_range(1, 1024),
            default=None,
            metavar="N",
            help="train in N processes on this machine (torchrun --standalone "
            "--nproc-per-node N); the batch size is the global batch, split evenly",
        )

    def add_epochs(self, default, help=DEFAULT):
        self.add_argument("--epochs", type=_positive_int, default=default, help=help)

    def add_batch_size(self, default, help=DEFAULT):
        self.add_argument("--batch-size", type=_positive_int, default=default, help=help)

    def add_framework(self, what="code, on the same pretrained weights"):
        """``--framework pytorch|tensorflow``; check it with :func:`check_framework`."""
        self.add_argument(
            "--framework",
            choices=FRAMEWORKS,
            default="pytorch",
            help=f"pytorch or tensorflow (the course's TensorFlow {what}); tensorflow needs "
            "the TensorFlow extra, installed by `./setup.sh --with-tensorflow` "
            "(default: %(default)s)",
        )

    def add_resume_restart(self):
        """``--resume`` and ``--restart``, one or the other, of every training command: a run
        continues from the checkpoint in its output by default (``--resume`` says so, for older
        scripts); ``--restart`` starts over. See :func:`continuing`."""
        group = self.add_mutually_exclusive_group()
        group.add_argument(
            "--resume",
            action="store_true",
            help="continue the run in the output folder (the default)",
        )
        group.add_argument(
            "--restart",
            action="store_true",
            help="ignore any checkpoint and start over (it is replaced at the first checkpoint "
            "write)",
        )

    def add_iterations(self, default, help):
        # A cap that names itself: 10**12 steps would be accepted and run for centuries.
        self.add_argument(
            "--iterations", type=int_range(1, MAX_ITERATIONS), default=default, help=help
        )


FRAMEWORKS = ("pytorch", "tensorflow")


def main_lock(name):
    """:func:`~cs231n.core.files.output_lock` on ``name`` in the main process; nothing in the
    other processes of a torchrun job (only the main one writes the output)."""
    return output_lock(name) if distributed.is_main_process() else contextlib.nullcontext()


def continuing(args, run, checkpoints, done=(), total=None, unit="epoch") -> bool:
    """Whether a training command continues its run: it does unless ``--restart`` was given,
    when one of ``checkpoints`` (a path, or several) exists. It then prints one line saying
    so, with the progress saved at the keys ``done`` of the first existing file (read without
    its tensors) of ``total`` ``unit``s, when that can be read (and that it is done when it
    has them all); the trainer checks the
    checkpoint itself and refuses one it cannot use, naming why."""
    if getattr(args, "restart", False):
        return False
    paths = [Path(checkpoints)] if isinstance(checkpoints, (str, Path)) else list(checkpoints)
    found = next((p for p in paths if p.is_file()), None)
    if found is None:
        return False
    count = _saved_count(found, done) if done else None
    where = f"its checkpoint {found}" if count is None else f"{unit} {count}"
    if count is not None and total is not None:
        where += f" of {total}"
        if count >= total:  # re-run as given, it trains nothing: say so
            where += " (already done: a larger total trains more)"
    print(f"continuing {run} from {where}; --restart starts over")
    return True


def _saved_count(path, keys):
    """The count at ``keys`` in a JSON file or a PyTorch checkpoint (memory-mapped, so its
    tensors are not read), or None when it cannot be read."""
    try:
        if path.suffix == ".json":
            value = json.loads(path.read_text(encoding="utf-8"))
        else:
            import torch

            value = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        for key in keys:
            value = value[key]
    except Exception:  # the trainer reads it again and names what is wrong
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def check_framework(args, command, pytorch_only=()):
    """The checks of ``--framework tensorflow``, made before any work: each option of
    ``pytorch_only`` (pairs of the option as the user wrote it and whether it was given) is
    refused, naming it; then TensorFlow must be importable (one line naming the extra and the
    command when it is not). Nothing happens for ``--framework pytorch``, which never imports
    TensorFlow."""
    if getattr(args, "framework", "pytorch") != "tensorflow":
        return
    for option, given in pytorch_only:
        if given:
            raise UserError(
                f"{option} is PyTorch-only: drop it or use --framework pytorch "
                f"(cs231n {command} --framework tensorflow does not support it)"
            )
    require_tensorflow(f"cs231n {command} --framework tensorflow")


def require_tensorflow(what):
    """UserError unless TensorFlow can be imported: one line saying that ``what`` (e.g.
    "cs231n saliency --framework tensorflow") needs it and how to install the extra."""

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no start-up notices on stderr
    if not tf_utils.tensorflow_available():
        raise UserError(f"{what} needs TensorFlow, which is not installed; {tf_utils.INSTALL_HINT}")
    try:
        tf_utils.import_tensorflow()
    except ImportError as e:  # installed but broken
        raise UserError(f"{what}: {e}") from None


def add_command(commands, name, func, **kwargs) -> CommandParser:
    """Register command ``name`` (``help``, ``description``...), run as ``func(args)``."""
    parser = commands.add_parser(name, **kwargs)
    parser.set_defaults(func=func)
    return parser


def add_group(commands, name, dest, **kwargs):
    """A command with subcommands (``cs231n caption``, ...): returns its subcommands' registry.
    Given no subcommand, it prints its help to stderr and exits with status 2."""
    group = add_command(commands, name, lambda args: missing_subcommand(group), **kwargs)
    return group.add_subparsers(dest=dest, metavar="SUBCOMMAND")


def missing_subcommand(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def writable_output(path) -> Path:
    """Fail before hours of work, not after: the output's folder must be creatable, and the
    output must not be an existing folder (``-o results/`` names a folder, not a file)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder; name a file inside it")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UserError(f"cannot write {path}: {parent} is not a writable folder")
    return path


def _check_extension(path, known, what):
    suffix = path.suffix.lower()
    if suffix not in known:
        found = f"extension {path.suffix!r}" if suffix else "no extension"
        raise UserError(f"cannot write {path}: {found} names no {what} format; use e.g. .png")


def image_output(path) -> Path:
    """:func:`writable_output` for an image PIL writes: its extension names the format."""
    from PIL import Image

    path = writable_output(path)
    known = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE}
    _check_extension(path, known, "image")
    return path


def figure_output(path) -> Path:
    """:func:`writable_output` for a matplotlib figure: its extension names the format."""
    from matplotlib.backend_bases import FigureCanvasBase

    path = writable_output(path)
    _check_extension(path, {f".{e}" for e in FigureCanvasBase.get_supported_filetypes()}, "figure")
    return path
