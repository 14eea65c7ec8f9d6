"""Fast convolution and max-pooling layers (NumPy), following the course's ``fast_layers.py`` API.

Same public names, parameters, return values and caches as the course's module, in pure NumPy
(no Cython build): windows are read through strided views and every convolution is one matrix
product.

- ``conv_forward_im2col`` / ``conv_backward_im2col``: im2col columns in the layout of
  :mod:`cs231n.im2col` (image index fastest); the windows must tile the padded input.
- ``conv_forward_strides`` / ``conv_backward_strides``: columns ordered (C, HH, WW, N, out_h,
  out_w); like PyTorch, trailing rows or columns that no window reaches are ignored.
- ``conv_forward_fast`` / ``conv_backward_fast`` are the strides versions, as in the course.
- ``max_pool_forward_fast`` / ``max_pool_backward_fast``: the reshape method when the pooling
  regions are square, as large as the stride and tile the input; the im2col method otherwise.

Shapes: x (N, C, H, W); w (F, C, HH, WW); b (F,); ``conv_param`` holds ``stride`` and ``pad``;
``pool_param`` holds ``pool_height``, ``pool_width`` and ``stride`` (pooling has no padding).
Output size: ``out_h = (H + 2 * pad - HH) // stride + 1``, likewise ``out_w``. Bad shapes or
parameters raise one ValueError (TypeError for a non-array or non-integer) naming the function.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .core.checks import Shapes, same_shape
from .im2col import (
    _crop,
    _fold_windows,
    _int_param,
    _out_size,
    _pad,
    _windows,
    col2im_indices,
    get_im2col_indices,  # noqa: F401  (the course's module re-exports im2col)
    im2col_indices,
)

# Convolution


def conv_forward_im2col(x, w, b, conv_param):
    """Convolution through im2col: one matrix product with the unrolled windows.

    Returns ``out`` (N, F, out_h, out_w) and the cache ``(x, w, b, conv_param, x_cols)`` with
    ``x_cols`` (C * HH * WW, out_h * out_w * N) as :func:`cs231n.im2col.im2col_indices` lays
    it out. Raises ValueError when the filters do not tile the padded input exactly.
    """
    func = "conv_forward_im2col"
    out_h, out_w, pad, stride, F, _ = _conv_geometry(func, x, w, b, conv_param, exact=True)
    N = x.shape[0]
    x_cols = im2col_indices(x, w.shape[2], w.shape[3], pad, stride)
    res = w.reshape(F, -1) @ x_cols + b.reshape(-1, 1)  # (F, out_h * out_w * N)
    out = res.reshape(F, out_h, out_w, N).transpose(3, 0, 1, 2)
    return np.ascontiguousarray(out), (x, w, b, conv_param, x_cols)


def conv_backward_im2col(dout, cache):
    """Gradients ``(dx, dw, db)`` of :func:`conv_forward_im2col` for upstream ``dout``."""
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    out_h, out_w = _conv_out_size("conv_backward_im2col", x.shape, w.shape, pad, stride, True)
    same_shape(
        "conv_backward_im2col", "dout", dout, (x.shape[0], F, out_h, out_w), "(N, F, out_h, out_w)"
    )
    db = dout.sum(axis=(0, 2, 3))
    dout_cols = dout.transpose(1, 2, 3, 0).reshape(F, -1)  # column order of x_cols
    dw = (dout_cols @ x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(F, -1).T @ dout_cols
    dx = col2im_indices(dx_cols, x.shape, HH, WW, pad, stride)
    return dx, dw, db


def conv_forward_strides(x, w, b, conv_param):
    """Convolution by reading the windows through a strided view, then one matrix product.

    Returns ``out`` (N, F, out_h, out_w), contiguous, and the cache
    ``(x, w, b, conv_param, x_cols)`` with ``x_cols`` (C * HH * WW, N * out_h * out_w).
    Windows need not tile the input: rows and columns past the last window are ignored.
    """
    func = "conv_forward_strides"
    out_h, out_w, pad, stride, F, _ = _conv_geometry(func, x, w, b, conv_param, exact=False)
    N, C, _, _ = x.shape
    HH, WW = w.shape[2:]
    windows = _windows(_pad(x, pad), HH, WW, stride, out_h, out_w)  # (N, C, oh, ow, HH, WW)
    x_cols = np.ascontiguousarray(windows.transpose(1, 4, 5, 0, 2, 3))
    x_cols = x_cols.reshape(C * HH * WW, N * out_h * out_w)
    res = w.reshape(F, -1) @ x_cols + b.reshape(-1, 1)  # (F, N * out_h * out_w)
    out = np.ascontiguousarray(res.reshape(F, N, out_h, out_w).transpose(1, 0, 2, 3))
    return out, (x, w, b, conv_param, x_cols)


def conv_backward_strides(dout, cache):
    """Gradients ``(dx, dw, db)`` of :func:`conv_forward_strides` for upstream ``dout``."""
    x, w, b, conv_param, x_cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    out_h, out_w = _conv_out_size("conv_backward_strides", x.shape, w.shape, pad, stride, False)
    same_shape("conv_backward_strides", "dout", dout, (N, F, out_h, out_w), "(N, F, out_h, out_w)")
    db = dout.sum(axis=(0, 2, 3))
    dout_cols = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # column order of x_cols
    dw = (dout_cols @ x_cols.T).reshape(w.shape)
    dx_cols = (w.reshape(F, -1).T @ dout_cols).reshape(C, HH, WW, N, out_h, out_w)
    padded = _fold_windows(
        dx_cols.transpose(3, 0, 1, 2, 4, 5), (N, C, H + 2 * pad, W + 2 * pad), stride
    )
    return _crop(padded, pad), dw, db


# The course binds the fast names to the strides versions.
conv_forward_fast = conv_forward_strides
conv_backward_fast = conv_backward_strides


# Max pooling


def max_pool_forward_fast(x, pool_param):
    """Max pooling by the fastest method that applies.

    The reshape method when ``pool_height == pool_width == stride`` and the regions tile the
    input, the im2col method otherwise. Returns ``out`` (N, C, out_h, out_w) and the cache
    ``(method, method_cache)`` with ``method`` "reshape" or "im2col".
    """
    ph, pw, stride = _pool_param("max_pool_forward_fast", pool_param)
    Shapes("max_pool_forward_fast").floats(x=(x, ("N", "C", "H", "W")))
    H, W = x.shape[2:]
    if ph == pw == stride and H % ph == 0 and W % pw == 0:
        out, reshape_cache = max_pool_forward_reshape(x, pool_param)
        return out, ("reshape", reshape_cache)
    out, im2col_cache = max_pool_forward_im2col(x, pool_param)
    return out, ("im2col", im2col_cache)


def max_pool_backward_fast(dout, cache):
    """Gradient ``dx`` of :func:`max_pool_forward_fast`, by the method the forward pass used."""
    method, method_cache = cache
    if method == "reshape":
        return max_pool_backward_reshape(dout, method_cache)
    if method == "im2col":
        return max_pool_backward_im2col(dout, method_cache)
    raise ValueError(f"max_pool_backward_fast: unknown method {method!r} in the cache")


def max_pool_forward_reshape(x, pool_param):
    """Max pooling over non-overlapping square regions that tile the input, by reshaping.

    Needs ``pool_height == pool_width == stride`` dividing H and W (ValueError otherwise).
    Returns ``out`` (N, C, H / stride, W / stride) and the cache ``(x, x_reshaped, out)``.
    """
    func = "max_pool_forward_reshape"
    ph, pw, stride = _pool_param(func, pool_param)
    Shapes(func).floats(x=(x, ("N", "C", "H", "W")))
    N, C, H, W = x.shape
    if not ph == pw == stride:
        raise ValueError(
            f"{func}: needs pool_height == pool_width == stride, got {ph}, {pw}, {stride}"
        )
    if H % ph or W % pw:
        raise ValueError(f"{func}: {ph}x{pw} regions do not tile an input of {H}x{W}")
    x_reshaped = x.reshape(N, C, H // ph, ph, W // pw, pw)
    out = x_reshaped.max(axis=(3, 5))
    return out, (x, x_reshaped, out)


def max_pool_backward_reshape(dout, cache):
    """Gradient ``dx`` of :func:`max_pool_forward_reshape`.

    When several entries of a region tie for the maximum, the upstream gradient is split
    equally among them (the course does the same; the im2col method gives it all to the first).
    """
    x, x_reshaped, out = cache
    same_shape("max_pool_backward_reshape", "dout", dout, out.shape, "as out")
    is_max = x_reshaped == out[:, :, :, None, :, None]
    ties = is_max.sum(axis=(3, 5), keepdims=True).astype(dout.dtype)
    dx_reshaped = is_max * (dout[:, :, :, None, :, None] / ties)
    return dx_reshaped.reshape(x.shape)


def max_pool_forward_im2col(x, pool_param):
    """Max pooling through im2col; any window size and stride, as long as the windows tile.

    ``(H - pool_height)`` and ``(W - pool_width)`` must be multiples of the stride (ValueError
    otherwise). Returns ``out`` (N, C, out_h, out_w) and the cache
    ``(x, x_cols, x_cols_argmax, pool_param)``: ``x_cols`` (ph * pw, out_h * out_w * N * C)
    holds each window of each channel in a column, ``x_cols_argmax`` the row of its maximum.
    """
    func = "max_pool_forward_im2col"
    ph, pw, stride = _pool_param(func, pool_param)
    Shapes(func).floats(x=(x, ("N", "C", "H", "W")))
    N, C, H, W = x.shape
    out_h = _out_size(func, "height", H, ph, 0, stride, exact=True)
    out_w = _out_size(func, "width", W, pw, 0, stride, exact=True)
    # Every channel as its own one-channel image, so that a column is one pooling region.
    x_cols = im2col_indices(x.reshape(N * C, 1, H, W), ph, pw, padding=0, stride=stride)
    x_cols_argmax = x_cols.argmax(axis=0)
    x_cols_max = np.take_along_axis(x_cols, x_cols_argmax[None, :], axis=0)
    out = x_cols_max.reshape(out_h, out_w, N, C).transpose(2, 3, 0, 1)
    return np.ascontiguousarray(out), (x, x_cols, x_cols_argmax, pool_param)


def max_pool_backward_im2col(dout, cache):
    """Gradient ``dx`` of :func:`max_pool_forward_im2col`: each window's upstream gradient goes
    to its (first) maximum; entries in several windows collect the sum."""
    x, x_cols, x_cols_argmax, pool_param = cache
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out_h, out_w = (H - ph) // stride + 1, (W - pw) // stride + 1
    same_shape(
        "max_pool_backward_im2col", "dout", dout, (N, C, out_h, out_w), "(N, C, out_h, out_w)"
    )
    dx_cols = np.zeros(x_cols.shape, dtype=dout.dtype)
    dx_cols[x_cols_argmax, np.arange(x_cols.shape[1])] = dout.transpose(2, 3, 0, 1).ravel()
    dx = col2im_indices(dx_cols, (N * C, 1, H, W), ph, pw, padding=0, stride=stride)
    return dx.reshape(x.shape)


# Argument checks


def _conv_param(func: str, conv_param) -> tuple[int, int]:
    if not isinstance(conv_param, Mapping) or not {"stride", "pad"} <= conv_param.keys():
        raise ValueError(
            f"{func}: conv_param must be a dict with 'stride' and 'pad', got {conv_param!r}"
        )
    return (
        _int_param(func, "conv_param['stride']", conv_param["stride"], 1),
        _int_param(func, "conv_param['pad']", conv_param["pad"], 0),
    )


def _conv_out_size(func, x_shape, w_shape, pad, stride, exact) -> tuple[int, int]:
    return (
        _out_size(func, "height", x_shape[2], w_shape[2], pad, stride, exact),
        _out_size(func, "width", x_shape[3], w_shape[3], pad, stride, exact),
    )


def _conv_geometry(func, x, w, b, conv_param, exact):
    """Check a convolution's arguments; returns ``(out_h, out_w, pad, stride, F, C)``."""
    Shapes(func).floats(x=(x, ("N", "C", "H", "W")), w=(w, ("F", "C", "HH", "WW")), b=(b, ("F",)))
    stride, pad = _conv_param(func, conv_param)
    out_h, out_w = _conv_out_size(func, x.shape, w.shape, pad, stride, exact)
    return out_h, out_w, pad, stride, w.shape[0], w.shape[1]


def _pool_param(func: str, pool_param) -> tuple[int, int, int]:
    keys = ("pool_height", "pool_width", "stride")
    if not isinstance(pool_param, Mapping) or not set(keys) <= pool_param.keys():
        raise ValueError(
            f"{func}: pool_param must be a dict with 'pool_height', 'pool_width' and 'stride', "
            f"got {pool_param!r}"
        )
    return tuple(_int_param(func, f"pool_param[{k!r}]", pool_param[k], 1) for k in keys)
