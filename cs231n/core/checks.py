"""Argument checks shared by the NumPy layers.

Each public layer validates its inputs up front so that a mistake surfaces as one clear
message naming the function, the argument and the shapes involved, instead of a silent
broadcast or a traceback from deep inside a matrix product.
"""

from __future__ import annotations

import re

import numpy as np

_DIM = re.compile(r"^(\d*)([A-Za-z_]\w*)$")


class Shapes:
    """Checks arrays against symbolic shapes such as ``("N", "T", "D")`` or ``("H", "4H")``.

    The first array to mention a symbol binds it; every later mention must agree.
    """

    def __init__(self, func: str):
        self.func = func
        self.dims: dict[str, int] = {}
        self.bound_by: dict[str, str] = {}

    def _describe_expected(self, spec) -> str:
        parts = []
        for s in spec:
            if isinstance(s, int):
                parts.append(str(s))
                continue
            mult, name = _parse(s)
            parts.append(f"{s}={mult * self.dims[name]}" if name in self.dims else s)
        return "(" + ", ".join(parts) + ")"

    def check(self, name: str, arr: np.ndarray, spec) -> None:
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{self.func}: {name} must be a numpy array, got {type(arr).__name__}")
        if arr.ndim != len(spec):
            raise ValueError(
                f"{self.func}: {name} must have {len(spec)} dimensions {tuple(spec)}, "
                f"got shape {arr.shape}"
            )
        for axis, (size, s) in enumerate(zip(arr.shape, spec, strict=True)):
            if isinstance(s, int):
                if size != s:
                    raise ValueError(
                        f"{self.func}: {name} has shape {arr.shape}, expected size {s} on axis {axis}"
                    )
                continue
            mult, sym = _parse(s)
            if sym not in self.dims:
                if size % mult:
                    raise ValueError(
                        f"{self.func}: {name} has shape {arr.shape}; axis {axis} ({s}) must be a "
                        f"multiple of {mult}"
                    )
                self.dims[sym] = size // mult
                self.bound_by[sym] = f"{name} {arr.shape}"
            elif size != mult * self.dims[sym]:
                raise ValueError(
                    f"{self.func}: {name} has shape {arr.shape}, expected "
                    f"{self._describe_expected(spec)} ({sym}={self.dims[sym]} from "
                    f"{self.bound_by[sym]})"
                )

    def floats(self, **arrays) -> None:
        """Check shapes of floating-point arrays: ``floats(x=(x, ("N", "D")), ...)``."""
        for name, (arr, spec) in arrays.items():
            self.check(name, arr, spec)
            require_float(self.func, name, arr)


def _parse(s: str) -> tuple[int, str]:
    m = _DIM.match(s)
    if m is None:
        raise AssertionError(f"bad dimension spec {s!r}")
    return int(m.group(1) or 1), m.group(2)


def require_float(func: str, name: str, arr: np.ndarray) -> None:
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{func}: {name} must be a floating-point array, got dtype {arr.dtype}")


def require_indices(func: str, name: str, arr, upper: int) -> np.ndarray:
    """Integer word ids in ``[0, upper)``; returns the array."""
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{func}: {name} must hold integer word ids, got dtype {arr.dtype}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= upper:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{func}: {name} holds word id {bad}, outside the vocabulary [0, {upper})"
            )
    return arr


def same_shape(func: str, name: str, arr, expected_shape, what: str) -> None:
    """Upstream gradients must match the forward output exactly (no broadcasting)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy array, got {type(arr).__name__}")
    if arr.shape != tuple(expected_shape):
        raise ValueError(
            f"{func}: {name} has shape {arr.shape}, expected {tuple(expected_shape)} ({what})"
        )


def number(func: str, name: str, value, low=None, high=None, *, low_inclusive=True) -> float:
    """A finite real ``value`` within ``[low, high]`` (``(low, high]`` when not
    ``low_inclusive``); returns it as a float. Raises ValueError naming ``func`` and ``name``
    for NaN, infinities, non-numbers and values out of range."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{func}: {name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not np.isfinite(x):
        raise ValueError(f"{func}: {name} must be a finite number, got {value!r}")
    too_low = low is not None and (x < low if low_inclusive else x <= low)
    if too_low or (high is not None and x > high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        bracket = "[" if low_inclusive else "("
        raise ValueError(f"{func}: {name} must be in {bracket}{lo}, {hi}], got {value!r}")
    return x


def whole_number(func: str, name: str, value, low=0, high=None) -> int:
    """An integer ``value`` (an int, or an integral NumPy/float value) within ``[low, high]``;
    returns it as an int. Raises ValueError naming ``func`` and ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float | np.floating):
        raise ValueError(f"{func}: {name} must be an integer, got {value!r}")
    if isinstance(value, float | np.floating) and not (np.isfinite(value) and value == int(value)):
        raise ValueError(f"{func}: {name} must be an integer, got {value!r}")
    n = int(value)
    if n < low or (high is not None and n > high):
        hi = "" if high is None else f", at most {high}"
        raise ValueError(f"{func}: {name} must be at least {low}{hi}, got {value!r}")
    return n


def class_visualization_settings(
    l2_reg, learning_rate, num_iterations, blur_every, max_jitter, size
):
    """The class-visualization loop's settings, checked (both frameworks' drivers): returns
    ``(l2_reg, learning_rate, num_iterations, blur_every, max_jitter, size)`` as numbers, or
    raises ValueError naming the setting and its valid range."""
    func = "class_visualization"
    size = whole_number(func, "size", size, 1)
    return (
        number(func, "l2_reg", l2_reg, 0),
        number(func, "learning_rate", learning_rate, 0, low_inclusive=False),
        whole_number(func, "num_iterations", num_iterations, 0),
        whole_number(func, "blur_every", blur_every, 1),
        whole_number(func, "max_jitter", max_jitter, 0, size - 1),
        size,
    )


def style_transfer_settings(
    layer_count, content_layer, style_layers, style_weights, content_weight, tv_weight, iterations
):
    """Style transfer's settings, checked (both frameworks' drivers): layer indices must name
    one of the network's ``layer_count`` feature layers (no negative indices from the end),
    weights be finite and non-negative, one weight per style layer. Returns
    ``(content_layer, style_layers, style_weights, content_weight, tv_weight, iterations)``."""
    func = "transfer"
    if isinstance(style_layers, int | np.integer):
        style_layers = [style_layers]
    style_layers = [whole_number(func, "style_layers", i, 0, layer_count - 1) for i in style_layers]
    style_weights = [number(func, "style_weights", w, 0) for w in style_weights]
    if len(style_layers) != len(style_weights):
        raise ValueError(
            f"{func}: {len(style_layers)} style_layers but {len(style_weights)} style_weights"
        )
    return (
        whole_number(func, "content_layer", content_layer, 0, layer_count - 1),
        style_layers,
        style_weights,
        number(func, "content_weight", content_weight, 0),
        number(func, "tv_weight", tv_weight, 0),
        whole_number(func, "iterations", iterations, 1),
    )


def positive_int(owner: str, name: str, value) -> None:
    """Raise ValueError, naming ``owner`` and the argument ``name``, unless ``value`` is a
    positive integer (booleans are not)."""
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")


# The seeds NumPy's global and legacy generators accept (np.random.seed, RandomState).
MAX_SEED = 2**32 - 1


def seed(func: str, name: str, value) -> int:
    """A random seed: a whole number in [0, 2**32 - 1] (what ``np.random.seed`` takes), returned
    as an int. Raises ValueError naming ``func`` and ``name`` (NumPy's own "Seed must be
    between 0 and 2**32 - 1" names neither)."""
    return whole_number(func, name, value, 0, MAX_SEED)
