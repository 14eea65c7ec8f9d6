"""im2col and col2im: unroll the receptive fields of an image batch into matrix columns.

Follows the course's ``im2col.py`` API (``get_im2col_indices``, ``im2col_indices``,
``col2im_indices``, with the same parameters, defaults and output layouts), in pure NumPy: the
windows are read through a strided view instead of fancy indexing or the course's Cython
extension, and col2im adds one field offset at a time instead of calling ``np.add.at``.

For ``x`` of shape (N, C, H, W), a field of ``field_height x field_width`` (fh x fw) and an
output grid of out_h x out_w positions, where ``out_h = (H + 2 * padding - fh) // stride + 1``
(likewise ``out_w``), the column matrix has shape (C * fh * fw, out_h * out_w * N):

- row ``c * fh * fw + dy * fw + dx`` holds channel ``c`` at offset ``(dy, dx)`` in the field;
- column ``(oy * out_w + ox) * N + n`` is the window at output position ``(oy, ox)`` of image
  ``n`` (the image index varies fastest).

As in the course, the windows must tile the padded input exactly: ``H + 2 * padding - fh``
(and ``W + 2 * padding - fw``) must be a multiple of ``stride``; otherwise a ``ValueError``
says so.
"""

from __future__ import annotations

import operator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .core.checks import Shapes


def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    """Index arrays ``(k, i, j)`` such that ``x_padded[:, k, i, j]`` gathers every window.

    x_shape: (N, C, H, W). Returns integer arrays ``k`` of shape (C * fh * fw, 1) (channel) and
    ``i``, ``j`` of shape (C * fh * fw, out_h * out_w) (row and column in the padded input), in
    the row and position order described in the module docstring.

    Raises ValueError when the windows do not tile the padded input or a parameter is out of
    range, TypeError when one is not an integer.
    """
    func = "get_im2col_indices"
    _, C, out_h, out_w, fh, fw, _, stride = _geometry(
        func, x_shape, field_height, field_width, padding, stride
    )
    c, dy, dx = (a.reshape(-1, 1) for a in np.indices((C, fh, fw)))
    oy, ox = (stride * a.reshape(1, -1) for a in np.indices((out_h, out_w)))
    return c, dy + oy, dx + ox


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    """Unroll the windows of ``x`` (N, C, H, W), zero-padded by ``padding``, into columns.

    Returns an array of shape (C * fh * fw, out_h * out_w * N) with the dtype of ``x``.
    Raises ValueError when the windows do not tile the padded input, TypeError when ``x`` is
    not a NumPy array.
    """
    func = "im2col_indices"
    Shapes(func).check("x", x, ("N", "C", "H", "W"))
    _, C, out_h, out_w, fh, fw, padding, stride = _geometry(
        func, x.shape, field_height, field_width, padding, stride
    )
    windows = _windows(_pad(x, padding), fh, fw, stride, out_h, out_w)  # (N, C, oh, ow, fh, fw)
    return windows.transpose(1, 4, 5, 2, 3, 0).reshape(C * fh * fw, -1)


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    """Adjoint of :func:`im2col_indices`: add every column back onto its window.

    cols: (C * fh * fw, out_h * out_w * N); x_shape: (N, C, H, W). Entries that several windows
    share receive the sum of their columns, so this is the gradient of im2col. Returns an array
    of shape ``x_shape`` with the dtype of ``cols``. Raises ValueError when ``cols`` does not
    have the layout that ``x_shape`` and the field imply.
    """
    func = "col2im_indices"
    N, C, out_h, out_w, fh, fw, padding, stride = _geometry(
        func, x_shape, field_height, field_width, padding, stride
    )
    Shapes(func).check("cols", cols, (C * fh * fw, out_h * out_w * N))
    # (C, fh, fw, oh, ow, N) -> (N, C, fh, fw, oh, ow), the layout _fold_windows adds up.
    window_grads = cols.reshape(C, fh, fw, out_h, out_w, N).transpose(5, 0, 1, 2, 3, 4)
    H, W = x_shape[2], x_shape[3]
    padded = _fold_windows(window_grads, (N, C, H + 2 * padding, W + 2 * padding), stride)
    return _crop(padded, padding)


# Helpers shared with fast_layers.


def _int_param(func: str, name: str, value, minimum: int) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{func}: {name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{func}: {name} must be at least {minimum}, got {value}")
    return value


def _out_size(
    func: str, axis: str, size: int, field: int, padding: int, stride: int, exact: bool
) -> int:
    """Number of window positions along one axis (``axis`` is "height" or "width")."""
    span = size + 2 * padding - field
    if span < 0:
        raise ValueError(
            f"{func}: the window {axis} {field} is larger than the padded input {axis} "
            f"{size} + 2*{padding}"
        )
    if exact and span % stride:
        raise ValueError(
            f"{func}: windows of {axis} {field} with stride {stride} do not tile the padded input "
            f"{axis} {size} + 2*{padding}: {size} + 2*{padding} - {field} = {span} is not a multiple "
            f"of {stride}"
        )
    return span // stride + 1


def _geometry(func, x_shape, field_height, field_width, padding, stride, exact=True):
    """Validated ``(N, C, out_h, out_w, fh, fw, padding, stride)`` for an (N, C, H, W) input."""
    try:
        dims = [operator.index(d) for d in x_shape]
    except TypeError:
        raise TypeError(
            f"{func}: x_shape must be 4 integers (N, C, H, W), got {x_shape!r}"
        ) from None
    if len(dims) != 4 or min(dims) < 0:
        raise ValueError(f"{func}: x_shape must be 4 sizes (N, C, H, W), got {tuple(x_shape)}")
    N, C, H, W = dims
    fh = _int_param(func, "field_height", field_height, 1)
    fw = _int_param(func, "field_width", field_width, 1)
    padding = _int_param(func, "padding", padding, 0)
    stride = _int_param(func, "stride", stride, 1)
    out_h = _out_size(func, "height", H, fh, padding, stride, exact)
    out_w = _out_size(func, "width", W, fw, padding, stride, exact)
    return N, C, out_h, out_w, fh, fw, padding, stride


def _pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero-pad the two spatial axes of an (N, C, H, W) array."""
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def _crop(x_padded: np.ndarray, padding: int) -> np.ndarray:
    """Undo :func:`_pad` (a contiguous copy, so callers get an ordinary array)."""
    if padding == 0:
        return x_padded
    H, W = x_padded.shape[2] - padding, x_padded.shape[3] - padding
    return np.ascontiguousarray(x_padded[:, :, padding:H, padding:W])


def _windows(x_padded, fh, fw, stride, out_h, out_w) -> np.ndarray:
    """Read-only view (N, C, out_h, out_w, fh, fw) of every window; no data is copied."""
    windows = sliding_window_view(x_padded, (fh, fw), axis=(2, 3))
    return windows[:, :, ::stride, ::stride][:, :, :out_h, :out_w]


def _fold_windows(window_grads: np.ndarray, padded_shape, stride: int) -> np.ndarray:
    """Sum per-window values (N, C, fh, fw, out_h, out_w) back onto an array of ``padded_shape``.

    One strided slice per field offset: fh * fw vectorised additions, where ``np.add.at`` over
    every element would be far slower.
    """
    _, _, fh, fw, out_h, out_w = window_grads.shape
    out = np.zeros(padded_shape, dtype=window_grads.dtype)
    for dy in range(fh):
        rows = slice(dy, dy + stride * out_h, stride)
        for dx in range(fw):
            out[:, :, rows, dx : dx + stride * out_w : stride] += window_grads[:, :, dy, dx]
    return out
