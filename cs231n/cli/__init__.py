"""The ``cs231n`` command line: a thin layer over the package's API, one module per command
group (caption, vision, style, gan, demo, data), the options they share in ``common``."""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..config import DATA_ENV_VAR
from . import caption, data, demo, gan, style, vision
from .common import CommandParser, UserError

__all__ = ["UserError", "build_parser", "main"]

# In the order `cs231n --help` lists their commands.
COMMAND_GROUPS = (caption, vision, style, gan, demo, data)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="cs231n",
        description="Stanford CS231n Assignment 3 as software: image captioning with RNNs and "
        "LSTMs (NumPy), network visualization, style transfer and GANs (PyTorch).",
        epilog=f"Data (COCO features, pretrained weights, images) is looked up in ${DATA_ENV_VAR} "
        "(default: a per-user cache folder). Run `cs231n COMMAND --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_parser(commands)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`cs231n data path | head -1`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UserError, OSError, KeyError, ValueError, TypeError, FloatingPointError) as e:
        if os.environ.get("CS231N_DEBUG"):
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"cs231n: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cs231n: interrupted", file=sys.stderr)
        return 130
