"""Tests for cs231n.layer_utils: every sandwich layer against the same chain in PyTorch (values and
autograd, float64) and against numerical gradients; caches and bn_param updates; the course's
affine_ln_relu_forward, which fails in the course (layernorm_forward undefined), works here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import check_against_torch, numerical_grads

from cs231n import layer_utils as lu
from cs231n.gradient_check import rel_error

CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def _affine_inputs(seed=0, N=4, D=6, M=5):
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal((N, 2, D // 2)),
        rng.standard_normal((D, M)),
        rng.standard_normal(M),
        rng.standard_normal(M),
        rng.standard_normal(M),
    ]


def _conv_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal((2, 3, 4, 6)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
        rng.standard_normal(4),
        rng.standard_normal(4),
    ]


def _torch_affine(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b


def test_affine_relu_matches_torch():
    check_against_torch(
        lu.affine_relu_forward,
        lu.affine_relu_backward,
        lambda x, w, b: torch.relu(_torch_affine(x, w, b)),
        _affine_inputs()[:3],
    )


def test_affine_bn_relu_matches_torch_and_updates_bn_param():
    bn_param = {"mode": "train"}
    inputs = _affine_inputs(1)
    check_against_torch(
        lambda x, w, b, g, be: lu.affine_bn_relu_forward(x, w, b, g, be, bn_param),
        lu.affine_bn_relu_backward,
        lambda x, w, b, g, be: torch.relu(
            F.batch_norm(_torch_affine(x, w, b), None, None, g, be, training=True, eps=1e-5)
        ),
        inputs,
    )
    x, w, b = inputs[:3]
    a = x.reshape(4, -1) @ w + b
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * a.mean(axis=0), rtol=1e-12)


def test_affine_ln_relu_matches_torch():
    check_against_torch(
        lambda x, w, b, g, be: lu.affine_ln_relu_forward(x, w, b, g, be, {}),
        lu.affine_ln_relu_backward,
        lambda x, w, b, g, be: torch.relu(F.layer_norm(_torch_affine(x, w, b), (5,), g, be)),
        _affine_inputs(2),
    )


def test_conv_relu_matches_torch():
    check_against_torch(
        lambda x, w, b: lu.conv_relu_forward(x, w, b, CONV),
        lu.conv_relu_backward,
        lambda x, w, b: torch.relu(F.conv2d(x, w, b, padding=1)),
        _conv_inputs()[:3],
    )


@pytest.mark.parametrize("mode", ["train", "test"])
def test_conv_bn_relu_matches_torch(mode):
    rng = np.random.default_rng(7)
    mean, var = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    bn_param = {"mode": mode, "running_mean": mean.copy(), "running_var": var.copy()}
    check_against_torch(
        lambda x, w, b, g, be: lu.conv_bn_relu_forward(x, w, b, g, be, CONV, bn_param),
        lu.conv_bn_relu_backward,
        lambda x, w, b, g, be: torch.relu(
            F.batch_norm(
                F.conv2d(x, w, b, padding=1),
                None if mode == "train" else torch.from_numpy(mean),
                None if mode == "train" else torch.from_numpy(var),
                g,
                be,
                training=mode == "train",
                eps=1e-5,
            )
        ),
        _conv_inputs(3),
    )


@pytest.mark.parametrize(
    "pool_param",
    [POOL, {"pool_height": 3, "pool_width": 2, "stride": 1}],
    ids=["reshape", "im2col"],
)
def test_conv_relu_pool_matches_torch(pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    check_against_torch(
        lambda x, w, b: lu.conv_relu_pool_forward(x, w, b, CONV, pool_param),
        lu.conv_relu_pool_backward,
        lambda x, w, b: F.max_pool2d(torch.relu(F.conv2d(x, w, b, padding=1)), (ph, pw), s),
        _conv_inputs(4)[:3],
    )


# Numerical gradients, as in the course notebooks


def _check_numerically(forward, backward, inputs, seed=0, zero=()):
    """rel_error < 1e-7 for every gradient (the finite differences of a chain lose about a
    digit against the course's 1e-8 for single layers), except the inputs listed in ``zero``:
    a bias followed by normalisation has gradient exactly 0, where rel_error only measures
    rounding noise, so both sides are checked to be ~0 instead."""
    out, cache = forward(*inputs)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    grads = backward(dout, cache)
    nums = numerical_grads(lambda *a: forward(*a)[0], inputs, dout, range(len(inputs)))
    for i, (g, n) in enumerate(zip(grads, nums, strict=True)):
        assert g.shape == n.shape
        if i in zero:
            np.testing.assert_allclose(g, 0, atol=1e-12)
            np.testing.assert_allclose(n, 0, atol=1e-9)
        else:
            assert rel_error(g, n) < 1e-7, f"gradient {i}"


def test_affine_relu_numerical():
    _check_numerically(lu.affine_relu_forward, lu.affine_relu_backward, _affine_inputs(5)[:3])


def test_affine_bn_relu_numerical():
    _check_numerically(
        lambda *a: lu.affine_bn_relu_forward(*a, {"mode": "train"}),
        lu.affine_bn_relu_backward,
        _affine_inputs(6),
        zero=(2,),
    )


def test_affine_ln_relu_numerical():
    _check_numerically(
        lambda *a: lu.affine_ln_relu_forward(*a, {}), lu.affine_ln_relu_backward, _affine_inputs(7)
    )


def test_conv_relu_pool_numerical():
    _check_numerically(
        lambda x, w, b: lu.conv_relu_pool_forward(x, w, b, CONV, POOL),
        lu.conv_relu_pool_backward,
        _conv_inputs(8)[:3],
    )


def test_conv_bn_relu_numerical():
    _check_numerically(
        lambda x, w, b, g, be: lu.conv_bn_relu_forward(x, w, b, g, be, CONV, {"mode": "train"}),
        lu.conv_bn_relu_backward,
        _conv_inputs(9),
        zero=(2,),
    )


def test_course_affine_ln_relu_runs_here():
    """The course's affine_ln_relu_forward raises NameError (its A3 layers.py has no
    layernorm_forward); here the sandwich runs and each output row is a normalised ReLU."""
    x, w, b, gamma, beta = _affine_inputs(10)
    out, cache = lu.affine_ln_relu_forward(x, w, b, np.ones(5), np.zeros(5), {"eps": 1e-5})
    a = x.reshape(4, -1) @ w + b
    a_ln = (a - a.mean(axis=1, keepdims=True)) / np.sqrt(a.var(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, np.maximum(a_ln, 0), rtol=1e-12, atol=1e-15)
    fc_cache, ln_cache, relu_cache = cache
    assert fc_cache[0] is x
    grads = lu.affine_ln_relu_backward(np.ones_like(out), cache)
    assert [g.shape for g in grads] == [x.shape, w.shape, (5,), (5,), (5,)]


def test_caches_hold_the_parts_in_forward_order():
    x, w, b, gamma, beta = _conv_inputs(11)
    _, cache = lu.conv_relu_pool_forward(x, w, b, CONV, POOL)
    conv_cache, relu_cache, pool_cache = cache
    assert conv_cache[0] is x and conv_cache[3] is CONV
    assert relu_cache.shape == (2, 4, 4, 6)
    assert pool_cache[0] == "reshape"
    _, cache = lu.conv_bn_relu_forward(x, w, b, gamma, beta, CONV, {"mode": "train"})
    assert len(cache) == 3
    _, cache = lu.affine_relu_forward(*_affine_inputs()[:3])
    assert len(cache) == 2


def test_errors_name_the_part_that_failed():
    x, w, b = _conv_inputs()[:3]
    with pytest.raises(ValueError, match=r"conv_forward_strides: w has shape"):
        lu.conv_relu_forward(x, w[:, :2], b, CONV)
    with pytest.raises(ValueError, match=r"max_pool_forward_im2col: windows of height 3"):
        lu.conv_relu_pool_forward(x, w, b, CONV, {"pool_height": 3, "pool_width": 3, "stride": 2})
    xa, wa, ba, g, be = _affine_inputs()
    with pytest.raises(ValueError, match=r"layernorm_forward: gamma has shape \(4,\)"):
        lu.affine_ln_relu_forward(xa, wa, ba, g[:4], be, {})
