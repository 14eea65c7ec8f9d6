"""The ``cs231n`` command line: a thin layer over the package's API, one module per command
group (caption, vision, style, gan, demo, data), the options they share in ``common``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from .. import __version__
from ..core import distributed
from ..core.config import DATA_ENV_VAR
from . import caption, data, demo, diffusion, gan, ssl, style, vision, vit
from .common import CommandParser, UserError, int_range

__all__ = ["UserError", "build_parser", "main"]

# In the order `cs231n --help` lists their commands.
COMMAND_GROUPS = (caption, vit, vision, style, gan, ssl, diffusion, demo, data)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="cs231n",
        description="Stanford CS231n Assignment 3 as software: image captioning with RNNs and "
        "LSTMs (NumPy), network visualization, style transfer and GANs (PyTorch).",
        epilog=f"Data (COCO features, pretrained weights, images) is looked up in ${DATA_ENV_VAR} "
        "(default: a per-user cache folder). Run `cs231n COMMAND --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--threads",
        type=int_range(1, MAX_THREADS),
        default=None,
        metavar="N",
        help="threads for NumPy's BLAS and for torch (default: the CPU cores this process may "
        "use, or fewer when OMP_NUM_THREADS, OPENBLAS_NUM_THREADS or MKL_NUM_THREADS says so)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_parser(commands)
    return parser


# ----------------------------------------------------------------------------------------------
# Threads: BLAS and torch start one thread per core of the machine by default; several runs at
# once on a machine (or a process pinned to fewer cores) then spend their time contending.

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MAX_THREADS = 1024


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads() -> int:
    """:func:`usable_cores`, or the smallest positive thread count set in the environment
    (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``) when lower."""
    n = usable_cores()
    for var in THREAD_ENV_VARS:
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            n = min(n, int(value))
    return max(n, 1)


@contextlib.contextmanager
def limit_threads(n):
    """Run with at most ``n`` threads in NumPy's BLAS (threadpoolctl), in torch if it is loaded
    (``torch.set_num_threads``), and in the thread pools of libraries loaded meanwhile (torch,
    imported by a command, reads ``OMP_NUM_THREADS``; so does BLAS when NumPy is imported
    later). Everything is restored on exit."""
    saved_env = {var: os.environ.get(var) for var in THREAD_ENV_VARS}
    torch = sys.modules.get("torch")
    saved_torch = torch.get_num_threads() if torch is not None else None
    os.environ.update({var: str(n) for var in THREAD_ENV_VARS})
    if torch is not None:
        torch.set_num_threads(n)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # without it, only libraries loaded from now on are limited
            limits = contextlib.nullcontext()
        else:
            limits = threadpool_limits(limits=n)
        with limits:
            yield
    finally:
        for var, value in saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        if saved_torch is not None:
            torch.set_num_threads(saved_torch)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        nproc = getattr(args, "nproc", None)
        if nproc is not None and nproc > 1 and not distributed.launched():
            return launch(nproc, sys.argv[1:] if argv is None else list(argv), args.threads)
        threads = args.threads or default_threads()
        if distributed.launched():
            threads = _as_one_of_several(args, nproc) if args.threads is None else threads
        with limit_threads(threads):
            return args.func(args)
    except BrokenPipeError:  # the reader went away (`cs231n data path | head -1`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UserError, OSError, KeyError, ValueError, TypeError, FloatingPointError) as e:
        if os.environ.get("CS231N_DEBUG"):
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        who = ""
        if distributed.launched():  # which of the processes failed
            who = f" (process {distributed.env_rank()} of {distributed.env_world_size()})"
        print(f"cs231n: error{who}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cs231n: interrupted", file=sys.stderr)
        return 130


# ----------------------------------------------------------------------------------------------
# Several processes: `--nproc N` starts torchrun, which starts this command N times.


def launch(nproc, argv, args_threads=None) -> int:
    """Run ``cs231n ARGV`` in ``nproc`` processes on this machine under torchrun
    (:func:`cs231n.core.distributed.torchrun_command`; ``--standalone``: a free local port).
    The processes run ARGV without ``--nproc`` (torchrun's own parser would take it for its
    ``--nproc-per-node``). Returns torchrun's exit status: 0, or non-zero when any process
    failed (torchrun then stops the others)."""
    import subprocess

    rest, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = i + 1 < len(argv)
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    print(f"cs231n: starting {nproc} processes (torchrun --standalone)", file=sys.stderr)
    env = dict(os.environ)
    if args_threads is None and "OMP_NUM_THREADS" not in env:  # the cores shared out
        env["OMP_NUM_THREADS"] = str(max(1, default_threads() // nproc))
    return subprocess.run(distributed.torchrun_command(nproc, rest), env=env).returncode


def _as_one_of_several(args, nproc) -> int:
    """In a torchrun job: refuse a ``--nproc`` other than this machine's process count; quiet
    the processes other than the main one (no progress bars or lines on stdout; errors still
    go to stderr); return the threads each process may use: the cores shared among the
    machine's processes (``LOCAL_WORLD_SIZE``)."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE") or distributed.env_world_size())
    if nproc is not None and nproc != local:
        raise UserError(
            f"--nproc {nproc} inside a torchrun job of {local} processes per machine: give "
            "one or the other"
        )
    if not distributed.is_main_process():
        if hasattr(args, "quiet"):
            args.quiet = True
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the life of the process)
    return max(1, default_threads() // max(local, 1))
