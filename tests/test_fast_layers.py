"""Tests for cs231n.fast_layers: convolution and max pooling against PyTorch (values and autograd,
float64), against numerical gradients, and against each other (im2col vs strides vs reshape);
odd geometries, ties, dtypes, caches and argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from helpers import check_against_torch, numerical_grads

from cs231n import fast_layers as fl
from cs231n.gradient_check import rel_error


def _rand(rng, *shape):
    return rng.standard_normal(shape)


# (x_shape, w_shape, stride, pad); all tile the padded input, so both methods apply.
TILING = [
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
    ((2, 3, 7, 7), (2, 3, 3, 3), 2, 0),
    ((3, 2, 6, 8), (3, 2, 2, 4), 2, 1),  # non-square input and filter
    ((1, 3, 5, 6), (2, 3, 1, 2), 2, 2),
    ((2, 1, 4, 4), (3, 1, 4, 4), 1, 0),  # filter as large as the input
]
# Geometries where the last rows or columns are not reached: strides method only.
NOT_TILING = [
    ((2, 3, 6, 6), (2, 3, 3, 3), 2, 0),
    ((1, 2, 7, 5), (3, 2, 2, 3), 3, 1),
    ((2, 2, 6, 8), (2, 2, 3, 2), 2, 2),
]

CONV_METHODS = {
    "strides": (fl.conv_forward_strides, fl.conv_backward_strides),
    "im2col": (fl.conv_forward_im2col, fl.conv_backward_im2col),
}


def _conv_inputs(x_shape, w_shape, seed=0):
    rng = np.random.default_rng(seed)
    return [_rand(rng, *x_shape), _rand(rng, *w_shape), _rand(rng, w_shape[0])]


@pytest.mark.parametrize("method", CONV_METHODS)
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", TILING)
def test_conv_matches_torch(method, x_shape, w_shape, stride, pad):
    forward, backward = CONV_METHODS[method]
    conv_param = {"stride": stride, "pad": pad}
    out, (dx, dw, db) = check_against_torch(
        lambda x, w, b: forward(x, w, b, conv_param),
        backward,
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad),
        _conv_inputs(x_shape, w_shape),
    )
    assert out.flags.c_contiguous
    assert (dx.shape, dw.shape, db.shape) == (x_shape, w_shape, (w_shape[0],))


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", NOT_TILING)
def test_conv_strides_ignores_unreached_rows_like_torch(x_shape, w_shape, stride, pad):
    conv_param = {"stride": stride, "pad": pad}
    check_against_torch(
        lambda x, w, b: fl.conv_forward_strides(x, w, b, conv_param),
        fl.conv_backward_strides,
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad),
        _conv_inputs(x_shape, w_shape),
    )
    with pytest.raises(ValueError, match="conv_forward_im2col: windows of .* do not tile"):
        fl.conv_forward_im2col(*_conv_inputs(x_shape, w_shape), conv_param)


@pytest.mark.parametrize("method", CONV_METHODS)
@pytest.mark.parametrize("stride, pad", [(1, 1), (2, 0)])
def test_conv_backward_numerical(method, stride, pad):
    forward, backward = CONV_METHODS[method]
    conv_param = {"stride": stride, "pad": pad}
    rng = np.random.default_rng(231)
    x, w, b = _rand(rng, 2, 3, 5, 5), _rand(rng, 2, 3, 3, 3), _rand(rng, 2)
    out, cache = forward(x, w, b, conv_param)
    dout = _rand(rng, *out.shape)
    dx_num, dw_num, db_num = numerical_grads(
        lambda x, w, b: forward(x, w, b, conv_param)[0], [x, w, b], dout, [0, 1, 2]
    )
    dx, dw, db = backward(dout, cache)
    assert rel_error(dx, dx_num) < 1e-8
    assert rel_error(dw, dw_num) < 1e-8
    assert rel_error(db, db_num) < 1e-8


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", TILING)
def test_conv_im2col_and_strides_agree(x_shape, w_shape, stride, pad):
    conv_param = {"stride": stride, "pad": pad}
    inputs = _conv_inputs(x_shape, w_shape, seed=5)
    out_a, cache_a = fl.conv_forward_im2col(*inputs, conv_param)
    out_b, cache_b = fl.conv_forward_strides(*inputs, conv_param)
    np.testing.assert_allclose(out_a, out_b, rtol=1e-12, atol=1e-12)
    dout = np.random.default_rng(6).standard_normal(out_a.shape)
    for ga, gb in zip(
        fl.conv_backward_im2col(dout, cache_a), fl.conv_backward_strides(dout, cache_b)
    ):
        np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-12)


def test_conv_fast_names_are_the_strides_versions():
    assert fl.conv_forward_fast is fl.conv_forward_strides
    assert fl.conv_backward_fast is fl.conv_backward_strides


def test_conv_caches_follow_the_course():
    x, w, b = _conv_inputs((2, 3, 5, 5), (4, 3, 3, 3))
    conv_param = {"stride": 1, "pad": 1}
    for forward in (fl.conv_forward_im2col, fl.conv_forward_strides):
        _, cache = forward(x, w, b, conv_param)
        cx, cw, cb, cparam, x_cols = cache
        assert cx is x and cw is w and cb is b and cparam is conv_param
        assert x_cols.shape == (3 * 3 * 3, 2 * 5 * 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_dtype_is_preserved(dtype):
    x, w, b = (a.astype(dtype) for a in _conv_inputs((2, 3, 5, 5), (4, 3, 3, 3)))
    for forward, backward in CONV_METHODS.values():
        out, cache = forward(x, w, b, {"stride": 1, "pad": 1})
        assert out.dtype == dtype
        assert [g.dtype for g in backward(np.ones_like(out), cache)] == [dtype] * 3


# Max pooling


def _pool_param(ph, pw, stride):
    return {"pool_height": ph, "pool_width": pw, "stride": stride}


# (x_shape, pool_height, pool_width, stride, method max_pool_forward_fast should pick)
POOLS = [
    ((2, 3, 4, 4), 2, 2, 2, "reshape"),
    ((2, 2, 6, 9), 3, 3, 3, "reshape"),
    ((2, 3, 7, 7), 3, 3, 2, "im2col"),  # overlapping windows
    ((2, 2, 4, 7), 2, 3, 2, "im2col"),  # non-square window
    ((1, 3, 5, 5), 1, 1, 2, "im2col"),  # stride larger than the window
    ((2, 2, 5, 5), 2, 2, 3, "im2col"),
]


@pytest.mark.parametrize("x_shape, ph, pw, stride, method", POOLS)
def test_max_pool_fast_matches_torch(x_shape, ph, pw, stride, method):
    pool_param = _pool_param(ph, pw, stride)
    x = np.random.default_rng(0).standard_normal(x_shape)
    out, _ = check_against_torch(
        lambda x: fl.max_pool_forward_fast(x, pool_param),
        fl.max_pool_backward_fast,
        lambda x: F.max_pool2d(x, (ph, pw), stride=stride),
        [x],
    )
    assert fl.max_pool_forward_fast(x, pool_param)[1][0] == method


@pytest.mark.parametrize("x_shape, ph, pw, stride, method", POOLS)
def test_max_pool_im2col_matches_torch(x_shape, ph, pw, stride, method):
    pool_param = _pool_param(ph, pw, stride)
    check_against_torch(
        lambda x: fl.max_pool_forward_im2col(x, pool_param),
        fl.max_pool_backward_im2col,
        lambda x: F.max_pool2d(x, (ph, pw), stride=stride),
        [np.random.default_rng(1).standard_normal(x_shape)],
    )


@pytest.mark.parametrize("x_shape, ph, pw, stride, method", POOLS)
def test_max_pool_backward_numerical(x_shape, ph, pw, stride, method):
    pool_param = _pool_param(ph, pw, stride)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(x_shape)
    out, cache = fl.max_pool_forward_fast(x, pool_param)
    dout = rng.standard_normal(out.shape)
    (dx_num,) = numerical_grads(
        lambda x: fl.max_pool_forward_fast(x, pool_param)[0], [x], dout, [0]
    )
    assert rel_error(fl.max_pool_backward_fast(dout, cache), dx_num) < 1e-8


@pytest.mark.parametrize(
    "x_shape, ph, pw, stride, method", [p for p in POOLS if p[-1] == "reshape"]
)
def test_max_pool_reshape_and_im2col_agree(x_shape, ph, pw, stride, method):
    pool_param = _pool_param(ph, pw, stride)
    x = np.random.default_rng(3).standard_normal(x_shape)
    out_r, cache_r = fl.max_pool_forward_reshape(x, pool_param)
    out_i, cache_i = fl.max_pool_forward_im2col(x, pool_param)
    np.testing.assert_array_equal(out_r, out_i)
    dout = np.random.default_rng(4).standard_normal(out_r.shape)
    np.testing.assert_array_equal(
        fl.max_pool_backward_reshape(dout, cache_r), fl.max_pool_backward_im2col(dout, cache_i)
    )


def test_max_pool_ties_reshape_splits_im2col_picks_first():
    x = np.zeros((1, 1, 2, 2))
    pool_param = _pool_param(2, 2, 2)
    dout = np.array([[[[4.0]]]])
    _, cache = fl.max_pool_forward_reshape(x, pool_param)
    np.testing.assert_array_equal(fl.max_pool_backward_reshape(dout, cache), np.ones((1, 1, 2, 2)))
    _, cache = fl.max_pool_forward_im2col(x, pool_param)
    np.testing.assert_array_equal(
        fl.max_pool_backward_im2col(dout, cache), [[[[4.0, 0.0], [0.0, 0.0]]]]
    )


def test_max_pool_caches_follow_the_course():
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 4))
    pool_param = _pool_param(2, 2, 2)
    out, (method, (cx, x_reshaped, cout)) = fl.max_pool_forward_fast(x, pool_param)
    assert method == "reshape" and cx is x and cout is out
    assert x_reshaped.shape == (2, 3, 2, 2, 2, 2)
    _, (cx, x_cols, x_cols_argmax, cparam) = fl.max_pool_forward_im2col(x, pool_param)
    assert cx is x and cparam is pool_param
    assert x_cols.shape == (4, 2 * 2 * 2 * 3) and x_cols_argmax.shape == (24,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ph, pw, stride", [(2, 2, 2), (3, 3, 1)])
def test_max_pool_dtype_is_preserved(dtype, ph, pw, stride):
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(dtype)
    out, cache = fl.max_pool_forward_fast(x, _pool_param(ph, pw, stride))
    assert out.dtype == dtype
    assert fl.max_pool_backward_fast(np.ones_like(out), cache).dtype == dtype


# Argument checks

_rng = np.random.default_rng(0)
X = _rng.standard_normal((2, 3, 5, 5))
W = _rng.standard_normal((4, 3, 3, 3))
B = _rng.standard_normal(4)
CP = {"stride": 1, "pad": 1}


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: fl.conv_forward_fast(X, W[:, :2], B, CP),
            ValueError,
            r"conv_forward_strides: w has shape \(4, 2, 3, 3\).*C=3 from x",
        ),
        (lambda: fl.conv_forward_im2col(X, W, B[:3], CP), ValueError, r"b has shape \(3,\)"),
        (lambda: fl.conv_forward_fast(X, W, B, {"stride": 1}), ValueError, r"'stride' and 'pad'"),
        (
            lambda: fl.conv_forward_fast(X, W, B, {"stride": 0, "pad": 1}),
            ValueError,
            r"conv_param\['stride'\] must be at least 1",
        ),
        (
            lambda: fl.conv_forward_fast(X, W, B, {"stride": 1.5, "pad": 1}),
            TypeError,
            r"must be an integer",
        ),
        (
            lambda: fl.conv_forward_fast(X[:, :, :2, :2], W, B, {"stride": 1, "pad": 0}),
            ValueError,
            r"window height 3 is larger than the padded input height 2",
        ),
        (lambda: fl.conv_forward_fast(X.astype(int), W, B, CP), TypeError, r"x must be a floating"),
        (
            lambda: fl.conv_backward_fast(
                np.ones((2, 4, 5, 4)), fl.conv_forward_fast(X, W, B, CP)[1]
            ),
            ValueError,
            r"conv_backward_strides: dout has shape \(2, 4, 5, 4\), expected \(2, 4, 5, 5\)",
        ),
        (
            lambda: fl.conv_backward_im2col(
                np.ones((4, 2, 5, 5)), fl.conv_forward_im2col(X, W, B, CP)[1]
            ),
            ValueError,
            r"conv_backward_im2col: dout has shape",
        ),
        (
            lambda: fl.max_pool_forward_fast(X, {"pool_height": 2, "stride": 2}),
            ValueError,
            r"max_pool_forward_fast: pool_param must be a dict with 'pool_height'",
        ),
        (
            lambda: fl.max_pool_forward_fast(X, _pool_param(2, 2, 2)),
            ValueError,
            r"max_pool_forward_im2col: windows of height 2 with stride 2 do not tile",
        ),
        (
            lambda: fl.max_pool_forward_reshape(X, _pool_param(2, 2, 1)),
            ValueError,
            r"needs pool_height == pool_width == stride",
        ),
        (
            lambda: fl.max_pool_forward_reshape(X, _pool_param(2, 2, 2)),
            ValueError,
            r"2x2 regions do not tile an input of 5x5",
        ),
        (
            lambda: fl.max_pool_backward_fast(
                np.ones((2, 3, 1, 1)),
                fl.max_pool_forward_fast(X[:, :, :4, :4], _pool_param(2, 2, 2))[1],
            ),
            ValueError,
            r"max_pool_backward_reshape: dout has shape \(2, 3, 1, 1\), expected \(2, 3, 2, 2\)",
        ),
        (
            lambda: fl.max_pool_backward_fast(np.ones((2, 3, 2, 2)), ("naive", None)),
            ValueError,
            r"unknown method 'naive'",
        ),
    ],
)
def test_bad_input_raises_clear_error(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
