"""Progress output that suits where it goes: the one progress bar every long loop here uses.

:func:`progress_bar` returns a tqdm bar (same calls: ``update``, ``set_postfix``,
``set_description``, ``write``, ``close``, iteration, ``with``) that behaves by destination:

- a terminal: tqdm's live bar, redrawn in place;
- a Jupyter notebook: tqdm's widget (``tqdm.auto``) when ipywidgets is installed;
- anything else (a log file, a pipe, CI, ``nohup``): plain lines, one when the bar starts, then
  at most one every ``interval`` seconds (default :data:`DEFAULT_INTERVAL`, or
  ``$CS231N_PROGRESS_INTERVAL``), and one when it closes; never a carriage return. Postfix and
  description changes wait for the next line instead of redrawing (tqdm redraws on each).

``disable=True`` (a ``--quiet`` option) or ``main_process=False`` (a rank other than 0 of a
multi-process run) gives a bar that prints nothing. With ``main_process`` left at None,
:func:`is_main_process` decides: an initialised ``torch.distributed`` group's rank, else
torchrun's ``$RANK`` (PyTorch is never imported here for that).

Why: tqdm's default writes a carriage-return redraw up to ten times a second, and on every
``set_postfix``; a log of the full ``cs231n demo`` held 3,192 of them (issue #23).
"""

from __future__ import annotations

import math
import os
import sys

from tqdm.std import tqdm as _std_tqdm

__all__ = [
    "DEFAULT_INTERVAL",
    "INTERVAL_ENV_VAR",
    "LogBar",
    "interval_seconds",
    "is_main_process",
    "is_terminal",
    "progress_bar",
    "progress_write",
]

# A log of a 15-minute run then holds a few dozen progress lines, and a CI job that kills
# silent jobs after some minutes still sees a sign of life.
DEFAULT_INTERVAL = 30.0
INTERVAL_ENV_VAR = "CS231N_PROGRESS_INTERVAL"


def interval_seconds(interval=None) -> float:
    """Seconds between two progress lines in a log: ``interval``, else
    ``$CS231N_PROGRESS_INTERVAL``, else :data:`DEFAULT_INTERVAL`. Raises ValueError for a value
    that is not a finite number >= 0, naming where it came from."""
    source = "interval"
    if interval is None:
        text = os.environ.get(INTERVAL_ENV_VAR)
        if text is None or not text.strip():
            return DEFAULT_INTERVAL
        source = f"${INTERVAL_ENV_VAR}"
        try:
            interval = float(text)
        except ValueError:
            raise ValueError(f"{source} must be a number of seconds >= 0, got {text!r}") from None
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise ValueError(f"{source} must be a number of seconds >= 0, got {interval!r}")
    if not math.isfinite(interval) or interval < 0:
        raise ValueError(f"{source} must be a finite number of seconds >= 0, got {interval}")
    return float(interval)


def is_terminal(file) -> bool:
    """Whether ``file`` is an interactive terminal (False for files, pipes, closed streams, and
    pseudo-terminals of width 0, such as ``docker run -t`` or ``script`` without a terminal
    give: tqdm would draw nothing there, and their output usually ends in a log)."""
    try:
        if not file.isatty():
            return False
    except (AttributeError, ValueError, OSError):
        return False
    try:
        return os.get_terminal_size(file.fileno()).columns > 0
    except (AttributeError, ValueError, OSError):
        return True  # a terminal that does not say its size (e.g. a test's stand-in)


def is_main_process() -> bool:
    """False on ranks other than 0 of a multi-process run: the rank of an initialised
    ``torch.distributed`` group, else ``$RANK`` as torchrun sets it (a value that is not a
    number counts as rank 0: a progress bar is no place to refuse it). Does not import
    PyTorch: a process that has not imported ``torch.distributed`` has no group."""
    dist = sys.modules.get("torch.distributed")
    try:
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank() == 0
    except AttributeError:  # no torch.distributed, or a stand-in without these
        pass
    try:
        return int(os.environ.get("RANK") or 0) == 0
    except ValueError:
        return True


def _in_notebook() -> bool:
    # What tqdm.autonotebook looks for: an IPython kernel (Jupyter, VS Code, Colab).
    return "ipykernel.zmqshell" in sys.modules


class _LineFile:
    """Where a :class:`LogBar` writes: passes whole lines on, and drops what tqdm writes to
    move or clear a terminal line (a lone ``\\r`` or ``\\n``, padding spaces)."""

    def __init__(self, file):
        self.file = file

    def write(self, text):
        if text.strip():
            self.file.write(text)
            self.flush()

    def flush(self):
        flush = getattr(self.file, "flush", None)
        if flush is not None:
            flush()

    def isatty(self):
        return False


class LogBar(_std_tqdm):
    """A tqdm bar for output that is not a terminal: each display is one plain line (ending in
    ``\\n``, no ``\\r``, no cursor moves), shown when the bar starts, at most once every
    ``mininterval`` seconds while it runs (on the first step after that much time) and when it
    closes. ``set_postfix``/``set_description`` never redraw."""

    # No monitor thread: its forced redraws are for a terminal whose bar looks frozen; a log
    # gets its next line from the next step.
    monitor_interval = 0

    def __init__(self, *args, file=None, **kwargs):
        file = sys.stderr if file is None else file
        # No terminal to measure: tqdm's 10-character bar and the whole line, postfix included.
        kwargs.pop("dynamic_ncols", None)
        kwargs.setdefault("ascii", True)  # a log may not be read as UTF-8
        # miniters=1: the clock is read on every step, so a loop that slows down still gets
        # its line after ``mininterval`` (tqdm's adaptive count would wait for the old pace).
        kwargs["miniters"] = 1
        super().__init__(*args, file=_LineFile(file), **kwargs)

    def display(self, msg=None, pos=None):
        if msg == "":  # tqdm clearing a terminal line: nothing to clear in a log
            return True
        if msg is None:
            if self.n == getattr(self, "_shown_n", None):
                return True  # e.g. closing right after a line at 100%: nothing new to say
            self._shown_n = self.n
            msg = self.__str__()
        self.fp.write(msg.rstrip() + "\n")
        return True

    def clear(self, nolock=False):
        """Nothing to clear in a log."""

    def moveto(self, n):
        """No cursor in a log."""

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        super().set_postfix(ordered_dict, refresh=False, **kwargs)

    def set_postfix_str(self, s="", refresh=True):
        super().set_postfix_str(s, refresh=False)

    def set_description(self, desc=None, refresh=True):
        super().set_description(desc, refresh=False)

    def set_description_str(self, desc=None, refresh=True):
        super().set_description_str(desc, refresh=False)


def progress_bar(
    iterable=None,
    *,
    total=None,
    desc=None,
    disable=False,
    main_process=None,
    file=None,
    interval=None,
    **kwargs,
):
    """A progress bar over ``iterable`` (or ``total`` steps moved by ``update``) that suits its
    destination ``file`` (default: ``sys.stderr``): a live bar on a terminal, a widget in a
    notebook, plain lines at most every ``interval`` seconds elsewhere (see the module).

    ``disable`` (e.g. ``--quiet``) or ``main_process=False`` (None: ask
    :func:`is_main_process`) silences it. Other keyword arguments go to tqdm (``unit``,
    ``initial``, ``unit_scale``, ``leave``, ``postfix``, ...). Returns a tqdm instance.
    Raises ValueError for a bad ``interval`` (see :func:`interval_seconds`).
    """
    seconds = interval_seconds(interval)
    if main_process is None:
        main_process = is_main_process()
    disable = bool(disable) or not main_process
    target = sys.stderr if file is None else file
    common = dict(total=total, desc=desc, disable=disable, **kwargs)
    if disable:
        return _std_tqdm(iterable, file=target, **common)
    if file is None and _in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm's widget needs it)
            from tqdm.auto import tqdm as auto_tqdm

            return auto_tqdm(iterable, **common)
        except ImportError:
            pass  # no widgets: the text bar, which a notebook shows in place
        return _std_tqdm(iterable, file=target, **common)
    if is_terminal(target):
        common.setdefault("dynamic_ncols", True)
        return _std_tqdm(iterable, file=target, **common)
    common.update(mininterval=seconds, maxinterval=0)
    return LogBar(iterable, file=target, **common)


def progress_write(message, file=None):
    """Print ``message`` (default destination: ``sys.stdout``) without breaking a live bar on a
    terminal: the bar is cleared, the line printed, the bar drawn again below it (tqdm's
    ``write``). Lines in a log are not touched."""
    _std_tqdm.write(message, file=file)
