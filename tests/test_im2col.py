"""Tests for cs231n.im2col: the course's layouts (index arrays, explicit entries, PyTorch's
unfold/fold), col2im as the adjoint of im2col, defaults, dtypes and argument checks."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cs231n.im2col import col2im_indices, get_im2col_indices, im2col_indices

# (x_shape, field_height, field_width, padding, stride); every one tiles the padded input.
GEOMETRIES = [
    ((2, 3, 5, 5), 3, 3, 1, 1),
    ((3, 2, 6, 4), 2, 2, 0, 2),
    ((2, 3, 7, 6), 3, 2, 1, 2),
    ((1, 4, 3, 5), 1, 3, 2, 3),
    ((2, 1, 5, 7), 5, 3, 0, 1),
]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _grid(x_shape, fh, fw, p, s):
    return (x_shape[2] + 2 * p - fh) // s + 1, (x_shape[3] + 2 * p - fw) // s + 1


@pytest.mark.parametrize("x_shape, fh, fw, p, s", GEOMETRIES)
def test_im2col_matches_fancy_indexing_with_the_index_arrays(x_shape, fh, fw, p, s):
    x = _x(x_shape)
    k, i, j = get_im2col_indices(x_shape, fh, fw, p, s)
    out_h, out_w = _grid(x_shape, fh, fw, p, s)
    C = x_shape[1]
    assert k.shape == (C * fh * fw, 1)
    assert i.shape == j.shape == (C * fh * fw, out_h * out_w)
    assert all(np.issubdtype(a.dtype, np.integer) for a in (k, i, j))
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    expected = x_padded[:, k, i, j].transpose(1, 2, 0).reshape(C * fh * fw, -1)
    np.testing.assert_array_equal(im2col_indices(x, fh, fw, p, s), expected)


def test_im2col_layout_entry_by_entry():
    """Row c*fh*fw + dy*fw + dx, column (oy*out_w + ox)*N + n."""
    x_shape, fh, fw, p, s = (2, 3, 7, 6), 3, 2, 1, 2
    x = _x(x_shape)
    N, C = x_shape[:2]
    out_h, out_w = _grid(x_shape, fh, fw, p, s)
    cols = im2col_indices(x, fh, fw, p, s)
    assert cols.shape == (C * fh * fw, out_h * out_w * N)
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    for n in range(N):
        for c in range(C):
            for dy in range(fh):
                for dx in range(fw):
                    for oy in range(out_h):
                        for ox in range(out_w):
                            got = cols[c * fh * fw + dy * fw + dx, (oy * out_w + ox) * N + n]
                            assert got == x_padded[n, c, s * oy + dy, s * ox + dx]


@pytest.mark.parametrize("x_shape, fh, fw, p, s", GEOMETRIES)
def test_im2col_and_col2im_match_torch_unfold_and_fold(x_shape, fh, fw, p, s):
    x = _x(x_shape)
    N, C = x_shape[:2]
    cols = im2col_indices(x, fh, fw, p, s)
    # unfold: (N, C*fh*fw, L) with the same row order; ours puts N last in each column block.
    unfold = F.unfold(torch.from_numpy(x), (fh, fw), padding=p, stride=s).numpy()
    np.testing.assert_array_equal(cols.reshape(C * fh * fw, -1, N).transpose(2, 0, 1), unfold)

    g = _x(cols.shape, seed=1)
    folded = F.fold(
        torch.from_numpy(g.reshape(C * fh * fw, -1, N).transpose(2, 0, 1).copy()),
        x_shape[2:],
        (fh, fw),
        padding=p,
        stride=s,
    ).numpy()
    np.testing.assert_allclose(col2im_indices(g, x_shape, fh, fw, p, s), folded, atol=1e-13)


@pytest.mark.parametrize("x_shape, fh, fw, p, s", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(x_shape, fh, fw, p, s):
    x = _x(x_shape)
    cols = im2col_indices(x, fh, fw, p, s)
    g = _x(cols.shape, seed=2)
    back = col2im_indices(g, x_shape, fh, fw, p, s)
    assert back.shape == x_shape
    assert np.sum(cols * g) == pytest.approx(np.sum(x * back), rel=1e-12)


def test_col2im_matches_add_at_reference():
    x_shape, fh, fw, p, s = (2, 3, 5, 5), 3, 3, 1, 1  # overlapping windows: entries add up
    N, C, H, W = x_shape
    k, i, j = get_im2col_indices(x_shape, fh, fw, p, s)
    g = _x((C * fh * fw, 25 * N), seed=3)
    ref = np.zeros((N, C, H + 2 * p, W + 2 * p))
    np.add.at(ref, (slice(None), k, i, j), g.reshape(C * fh * fw, -1, N).transpose(2, 0, 1))
    np.testing.assert_allclose(
        col2im_indices(g, x_shape, fh, fw, p, s), ref[:, :, p:-p, p:-p], atol=1e-13
    )


def test_course_defaults():
    def defaults(f):
        return {
            k: v.default
            for k, v in inspect.signature(f).parameters.items()
            if v.default is not inspect.Parameter.empty
        }

    assert defaults(get_im2col_indices) == {"padding": 1, "stride": 1}
    assert defaults(im2col_indices) == {"padding": 1, "stride": 1}
    assert defaults(col2im_indices) == {
        "field_height": 3,
        "field_width": 3,
        "padding": 1,
        "stride": 1,
    }
    x = _x((2, 3, 4, 4))
    cols = im2col_indices(x, 3, 3)  # pad 1, stride 1: 16 positions per image
    assert cols.shape == (27, 32)
    assert col2im_indices(cols, x.shape).shape == x.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    x = _x((2, 3, 5, 5)).astype(dtype)
    cols = im2col_indices(x, 3, 3, 1, 1)
    assert cols.dtype == dtype
    assert col2im_indices(cols, x.shape, 3, 3, 1, 1).dtype == dtype


def test_padding_zero_and_stride_equal_field_round_trips():
    # Non-overlapping windows that cover the input: col2im(im2col(x)) == x.
    x = _x((2, 3, 4, 6))
    cols = im2col_indices(x, 2, 2, padding=0, stride=2)
    np.testing.assert_array_equal(col2im_indices(cols, x.shape, 2, 2, padding=0, stride=2), x)


X = _x((2, 3, 5, 5))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: im2col_indices(X, 2, 2, 0, 2),
            ValueError,
            r"im2col_indices: windows of height 2 with stride 2 do not tile.*5 \+ 2\*0 - 2 = 3",
        ),
        (
            lambda: get_im2col_indices((2, 3, 5, 4), 3, 3, 1, 2),
            ValueError,
            r"get_im2col_indices: windows of width 3",
        ),
        (lambda: im2col_indices(X, 8, 3, 1, 1), ValueError, r"window height 8 is larger"),
        (lambda: im2col_indices(X, 3, 3, 1, 0), ValueError, r"stride must be at least 1"),
        (lambda: im2col_indices(X, 3, 3, -1, 1), ValueError, r"padding must be at least 0"),
        (lambda: im2col_indices(X, 3.0, 3, 1, 1), TypeError, r"field_height must be an integer"),
        (lambda: im2col_indices(X[0], 3, 3), ValueError, r"x must have 4 dimensions"),
        (lambda: im2col_indices(X.tolist(), 3, 3), TypeError, r"x must be a numpy array"),
        (
            lambda: col2im_indices(np.zeros((27, 49)), X.shape),
            ValueError,
            r"col2im_indices: cols has shape \(27, 49\), expected size 50 on axis 1",
        ),
        (lambda: col2im_indices(np.zeros((27, 50)), (2, 3, 5)), ValueError, r"x_shape must be 4"),
    ],
)
def test_bad_input_raises_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
