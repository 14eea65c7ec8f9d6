"""Tests for cs231n.rnn_layers_pytorch (the 2025–2026 editions' PyTorch RNN layers, Assignment 2):
the notebook's numbers, its gradient checks, the NumPy twin (values, and autograd's gradients
against the hand-written backward passes, float64), dtypes, devices and argument checks.

Where an expected value comes from: "RNN_Captioning_pytorch.ipynb" is the course's Assignment 2
notebook of the 2025 and 2026 editions (the two have the same checks and numbers); it checks no
LSTM layer, so the LSTM values are those of "LSTM_Captioning.ipynb", the NumPy assignment's
notebook of the 2018–2020 editions (Assignment 3), for the same functions and arguments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import check_against_torch

from cs231n import rnn_layers as rl
from cs231n import rnn_layers_pytorch as rt
from cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

COURSE_NAMES = [
    "affine_forward",
    "lstm_forward",
    "lstm_step_forward",
    "rnn_forward",
    "rnn_step_forward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "word_embedding_forward",
]


def tensors(*arrays):
    return [torch.from_numpy(np.asarray(a)) for a in arrays]


# ----------------------------------------------------------------------------------------------
# RNN_Captioning_pytorch.ipynb (2025, 2026): the forward checks, with its expected arrays


def test_rnn_step_forward_notebook_values():
    """RNN_Captioning_pytorch.ipynb (2025, 2026), "Vanilla RNN: Step Forward": errors e-8 or
    less."""
    N, D, H = 3, 10, 4
    x = np.linspace(-0.4, 0.7, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.2, 0.5, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.1, 0.9, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.3, 0.7, num=H * H).reshape(H, H)
    b = np.linspace(-0.2, 0.4, num=H)
    next_h = rt.rnn_step_forward(*tensors(x, prev_h, Wx, Wh, b)).numpy()
    expected_next_h = np.asarray(
        [
            [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
            [0.66854692, 0.79562378, 0.87755553, 0.92795967],
            [0.97934501, 0.99144213, 0.99646691, 0.99854353],
        ]
    )
    assert rel_error(expected_next_h, next_h) < 1e-8
    np.testing.assert_allclose(next_h, expected_next_h, rtol=0, atol=5.000001e-9)  # 8 decimals


def test_rnn_forward_notebook_values():
    """RNN_Captioning_pytorch.ipynb (2025, 2026), "Vanilla RNN: Forward": errors e-7 or less."""
    N, T, D, H = 2, 3, 4, 5
    x = np.linspace(-0.1, 0.3, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.3, 0.1, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.4, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.4, 0.1, num=H * H).reshape(H, H)
    b = np.linspace(-0.7, 0.1, num=H)
    h = rt.rnn_forward(*tensors(x, h0, Wx, Wh, b)).numpy()
    expected_h = np.asarray(
        [
            [
                [-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
                [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
                [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525],
            ],
            [
                [-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
                [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
                [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043],
            ],
        ]
    )
    assert h.shape == (N, T, H)
    assert rel_error(expected_h, h) < 1e-7
    np.testing.assert_allclose(h, expected_h, rtol=0, atol=5.000001e-9)


def test_word_embedding_forward_notebook_values():
    """RNN_Captioning_pytorch.ipynb (2025, 2026), "Word Embedding: Forward": error e-8 or less."""
    V, D = 5, 3
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    W = np.linspace(0, 1, num=V * D).reshape(V, D)
    out = rt.word_embedding_forward(*tensors(x, W)).numpy()
    expected_out = np.asarray(
        [
            [
                [0.0, 0.07142857, 0.14285714],
                [0.64285714, 0.71428571, 0.78571429],
                [0.21428571, 0.28571429, 0.35714286],
                [0.42857143, 0.5, 0.57142857],
            ],
            [
                [0.42857143, 0.5, 0.57142857],
                [0.21428571, 0.28571429, 0.35714286],
                [0.0, 0.07142857, 0.14285714],
                [0.64285714, 0.71428571, 0.78571429],
            ],
        ]
    )
    # 8 printed decimals: 0.07142857 against 1/14 is a relative error of 1.0e-8 ("e-8").
    assert rel_error(expected_out, out) < 1.1e-8
    np.testing.assert_allclose(out, expected_out, rtol=0, atol=5.000001e-9)
    np.testing.assert_array_equal(out, W[x])  # a lookup copies rows exactly


def test_lstm_step_forward_notebook_values():
    """LSTM_Captioning.ipynb (2018–2020), "LSTM: step forward": errors e-8 or less."""
    N, D, H = 3, 4, 5
    x = np.linspace(-0.4, 1.2, num=N * D).reshape(N, D)
    prev_h = np.linspace(-0.3, 0.7, num=N * H).reshape(N, H)
    prev_c = np.linspace(-0.4, 0.9, num=N * H).reshape(N, H)
    Wx = np.linspace(-2.1, 1.3, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.7, 2.2, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.3, 0.7, num=4 * H)
    next_h, next_c = rt.lstm_step_forward(*tensors(x, prev_h, prev_c, Wx, Wh, b))
    expected_next_h = np.asarray(
        [
            [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
            [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
            [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299],
        ]
    )
    expected_next_c = np.asarray(
        [
            [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
            [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
            [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676],
        ]
    )
    assert rel_error(expected_next_h, next_h.numpy()) < 1e-8
    assert rel_error(expected_next_c, next_c.numpy()) < 1e-8


def test_lstm_forward_notebook_values():
    """LSTM_Captioning.ipynb (2018–2020), "LSTM: forward": error e-7 or less."""
    N, D, H, T = 2, 5, 4, 3
    x = np.linspace(-0.4, 0.6, num=N * T * D).reshape(N, T, D)
    h0 = np.linspace(-0.4, 0.8, num=N * H).reshape(N, H)
    Wx = np.linspace(-0.2, 0.9, num=4 * D * H).reshape(D, 4 * H)
    Wh = np.linspace(-0.3, 0.6, num=4 * H * H).reshape(H, 4 * H)
    b = np.linspace(0.2, 0.7, num=4 * H)
    h = rt.lstm_forward(*tensors(x, h0, Wx, Wh, b)).numpy()
    expected_h = np.asarray(
        [
            [
                [0.01764008, 0.01823233, 0.01882671, 0.0194232],
                [0.11287491, 0.12146228, 0.13018446, 0.13902939],
                [0.31358768, 0.33338627, 0.35304453, 0.37250975],
            ],
            [
                [0.45767879, 0.4761092, 0.4936887, 0.51041945],
                [0.6704845, 0.69350089, 0.71486014, 0.7346449],
                [0.81733511, 0.83677871, 0.85403753, 0.86935314],
            ],
        ]
    )
    assert rel_error(expected_h, h) < 1e-7
    np.testing.assert_allclose(h, expected_h, rtol=0, atol=5.000001e-9)


# ----------------------------------------------------------------------------------------------
# RNN_Captioning_pytorch.ipynb (2025, 2026): its gradient checks, as its cells run them
# (autograd against the numerical gradient, the notebook's seeds, shapes and bounds)


def _autograd_vs_numeric(forward, arrays, seed_upstream):
    """Autograd's gradients of ``sum(forward(*arrays) * dout)`` and the numerical ones."""
    ts = [torch.from_numpy(a).requires_grad_() for a in arrays]
    out = forward(*ts)
    dout = torch.from_numpy(seed_upstream(out.shape))
    out.backward(dout)
    errors = []
    for i, t in enumerate(ts):

        def f(a, i=i):
            args = list(arrays)
            args[i] = a
            with torch.no_grad():
                return forward(*(torch.from_numpy(v) for v in args)).numpy()

        num = eval_numerical_gradient_array(f, arrays[i], dout.numpy())
        errors.append(rel_error(num, t.grad.numpy()))
    return errors


def test_rnn_step_gradient_check_notebook():
    """RNN_Captioning_pytorch.ipynb (2025, 2026), "Vanilla RNN: Step Backward":
    errors on the order of 1e-9 or less."""
    np.random.seed(231)
    N, D, H = 4, 5, 6
    arrays = [np.random.randn(*s) for s in ((N, D), (N, H), (D, H), (H, H), (H,))]
    errors = _autograd_vs_numeric(rt.rnn_step_forward, arrays, lambda s: np.random.randn(*s))
    assert max(errors) < 1e-8, errors  # 9.7e-10 here: "on the order of"


def test_rnn_forward_gradient_check_notebook():
    """RNN_Captioning_pytorch.ipynb (2025, 2026), "Vanilla RNN: Backward":
    errors on the order of 1e-6 or less."""
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 5
    arrays = [np.random.randn(*s) for s in ((N, T, D), (N, H), (D, H), (H, H), (H,))]
    errors = _autograd_vs_numeric(rt.rnn_forward, arrays, lambda s: np.random.randn(*s))
    assert max(errors) < 1e-6, errors  # 1.3e-7 here


def test_word_embedding_gradient_check_notebook():
    """RNN_Captioning_pytorch.ipynb (2025, 2026), "Word Embedding: Backward":
    error on the order of 1e-11 or less."""
    np.random.seed(231)
    N, T, V, D = 50, 3, 5, 6
    x = torch.from_numpy(np.random.randint(V, size=(N, T)))
    W = np.random.randn(V, D)
    Wt = torch.from_numpy(W).requires_grad_()
    out = rt.word_embedding_forward(x, Wt)
    dout = np.random.randn(*out.shape)
    out.backward(torch.from_numpy(dout))
    f = lambda W: rt.word_embedding_forward(x, torch.from_numpy(W)).detach().numpy()  # noqa: E731
    dW_num = eval_numerical_gradient_array(f, W, dout)
    assert rel_error(Wt.grad.numpy(), dW_num) < 1e-11  # 3.3e-12 here


def test_temporal_affine_gradient_check_notebook():
    """RNN_Captioning_pytorch.ipynb (2025, 2026), "Temporal Affine Layer":
    errors on the order of e-9 or less."""
    np.random.seed(231)
    N, T, D, M = 2, 3, 4, 5
    arrays = [np.random.randn(*s) for s in ((N, T, D), (D, M), (M,))]
    errors = _autograd_vs_numeric(rt.temporal_affine_forward, arrays, lambda s: np.random.randn(*s))
    assert max(errors) < 1e-9, errors  # 2.9e-10 here


@pytest.mark.parametrize(
    "N, T, p, low, high",
    # "Temporal Softmax Loss": check_loss(100, 1, 10, 1.0) "about 2.3", (100, 10, 10, 1.0)
    # "about 23", (5000, 10, 10, 0.1) "within 2.2-2.4".
    [(100, 1, 1.0, 2.2, 2.4), (100, 10, 1.0, 22, 24), (5000, 10, 0.1, 2.2, 2.4)],
)
def test_temporal_softmax_loss_sanity_notebook(N, T, p, low, high):
    V = 10
    np.random.seed(231)
    x = 0.001 * torch.from_numpy(np.random.randn(N, T, V))
    y = torch.from_numpy(np.random.randint(V, size=(N, T)))
    mask = torch.from_numpy(np.random.rand(N, T)) <= p
    loss = rt.temporal_softmax_loss(x, y, mask).item()
    assert low < loss < high
    assert loss == pytest.approx(mask.sum().item() / N * math.log(V), rel=1e-3)


def test_temporal_softmax_loss_gradient_check_notebook():
    """RNN_Captioning_pytorch.ipynb (2025, 2026), "Temporal Softmax Loss" gradient check
    (seed 231231): dx error e-7 or less."""
    np.random.seed(231231)
    N, T, V = 7, 8, 9
    x = torch.from_numpy(np.random.randn(N, T, V))
    y = torch.from_numpy(np.random.randint(V, size=(N, T)))
    mask = torch.from_numpy(np.random.rand(N, T) > 0.5)
    x.requires_grad_()
    loss = rt.temporal_softmax_loss(x, y, mask, verbose=False)
    loss.backward()
    dx_num = eval_numerical_gradient(
        lambda a: rt.temporal_softmax_loss(torch.from_numpy(a), y, mask),
        x.detach().numpy(),
        verbose=False,
    )
    assert rel_error(x.grad.numpy(), dx_num) < 1e-7


# ----------------------------------------------------------------------------------------------
# The NumPy twin: same values, autograd's gradients equal to its backward passes (float64)


def _inputs(rng, N=4, T=5, D=6, H=7, gates=1):
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, gates * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, gates * H)) / np.sqrt(H)
    b = 0.1 * rng.standard_normal(gates * H)
    return x, h0, Wx, Wh, b


def _tuple_out(torch_forward):
    return lambda *ts: tuple(torch_forward(*ts))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("layer", ["rnn_step", "rnn", "lstm_step", "lstm"])
def test_recurrences_equal_the_numpy_twin(layer, seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b = _inputs(rng, gates=4 if "lstm" in layer else 1)
    if layer == "rnn_step":
        args = (rl.rnn_step_forward, rl.rnn_step_backward, rt.rnn_step_forward)
        inputs = [x[:, 0], h0, Wx, Wh, b]
    elif layer == "rnn":
        args = (rl.rnn_forward, rl.rnn_backward, rt.rnn_forward)
        inputs = [x, h0, Wx, Wh, b]
    elif layer == "lstm_step":

        def np_forward(*a):
            next_h, next_c, cache = rl.lstm_step_forward(*a)
            return (next_h, next_c), cache

        args = (
            np_forward,
            lambda dout, cache: rl.lstm_step_backward(*dout, cache),
            _tuple_out(rt.lstm_step_forward),
        )
        inputs = [x[:, 0], h0, rng.standard_normal(h0.shape), Wx, Wh, b]
    else:
        args = (rl.lstm_forward, rl.lstm_backward, rt.lstm_forward)
        inputs = [x, h0, Wx, Wh, b]
    check_against_torch(*args, inputs, atol=1e-13, rtol=1e-11, seed=seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_word_embedding_equals_the_numpy_twin(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 7, size=(4, 5))
    x[0, :3] = 2  # a repeated word: its gradient rows add up
    W = rng.standard_normal((7, 6))
    check_against_torch(
        rl.word_embedding_forward,
        lambda dout, cache: (rl.word_embedding_backward(dout, cache),),
        rt.word_embedding_forward,
        [x, W],
        differentiable=[1],
        atol=0,
        rtol=1e-15,
        seed=seed,
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_affine_layers_equal_the_numpy_twin(seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((4, 5, 6)), rng.standard_normal((6, 3)), rng.standard_normal(3)
    check_against_torch(
        rl.temporal_affine_forward,
        rl.temporal_affine_backward,
        rt.temporal_affine_forward,
        [x, w, b],
        atol=1e-13,
        rtol=1e-12,
        seed=seed,
    )
    x4 = rng.standard_normal((4, 2, 3, 5))  # (N, d_1, d_2, d_3): flattened to D = 30
    w4 = rng.standard_normal((30, 3))
    check_against_torch(
        rl.affine_forward,
        rl.affine_backward,
        rt.affine_forward,
        [x4, w4, b],
        atol=1e-13,
        rtol=1e-12,
        seed=seed,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_temporal_softmax_loss_equals_the_numpy_twin(seed):
    rng = np.random.default_rng(seed)
    N, T, V = 4, 6, 9
    x = 3 * rng.standard_normal((N, T, V))
    y = rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) > 0.4
    loss, dx = rl.temporal_softmax_loss(x, y, mask)
    xt = torch.from_numpy(x).requires_grad_()
    t_loss = rt.temporal_softmax_loss(xt, torch.from_numpy(y), torch.from_numpy(mask))
    t_loss.backward()
    assert t_loss.item() == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(xt.grad.numpy(), dx, rtol=1e-12, atol=1e-16)
    assert torch.all(xt.grad[~torch.from_numpy(mask)] == 0)
    # 0/1 weights as numbers count like booleans.
    as_numbers = rt.temporal_softmax_loss(xt, torch.from_numpy(y), torch.from_numpy(mask * 1))
    assert as_numbers.item() == t_loss.item()


def test_large_scores_are_stable():
    x = torch.tensor([[[1000.0, 0.0, -1000.0]]], dtype=torch.float64)
    loss = rt.temporal_softmax_loss(x, torch.tensor([[1]]), torch.tensor([[True]]))
    assert loss.item() == pytest.approx(1000.0)


# ----------------------------------------------------------------------------------------------
# Dtypes, devices, the module's namespace


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_outputs_keep_the_input_dtype(dtype):
    rng = np.random.default_rng(0)
    x, h0, Wx, Wh, b = (torch.from_numpy(a).to(dtype) for a in _inputs(rng))
    assert rt.rnn_forward(x, h0, Wx, Wh, b).dtype == dtype
    assert rt.rnn_step_forward(x[:, 0], h0, Wx, Wh, b).dtype == dtype
    scores = rt.temporal_affine_forward(x, Wx, b)
    y = torch.zeros(scores.shape[:2], dtype=torch.int32)  # word ids of any integer dtype
    assert rt.temporal_softmax_loss(scores, y, y == 0).dtype == dtype
    assert rt.word_embedding_forward(y, Wx).dtype == dtype


def test_float32_values_agree_with_float64():
    rng = np.random.default_rng(1)
    arrays = _inputs(rng, gates=4)
    h64 = rt.lstm_forward(*(torch.from_numpy(a) for a in arrays))
    h32 = rt.lstm_forward(*(torch.from_numpy(a).float() for a in arrays))
    np.testing.assert_allclose(h32.numpy(), h64.numpy(), atol=1e-6)


def test_star_import_gives_the_course_names_and_torch():
    namespace: dict = {}
    exec("from cs231n.rnn_layers_pytorch import *", namespace)
    for name in COURSE_NAMES:
        assert callable(namespace[name]), name
    assert namespace["torch"] is torch


def test_verbose_prints_the_flattened_shape(capsys):
    x = torch.zeros(2, 3, 4)
    rt.temporal_softmax_loss(x, torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3), True)
    assert "(6, 4)" in capsys.readouterr().out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_equals_cpu():
    rng = np.random.default_rng(0)
    for gates, forward in ((1, rt.rnn_forward), (4, rt.lstm_forward)):
        cpu = [torch.from_numpy(a) for a in _inputs(rng, gates=gates)]
        gpu = [t.cuda().requires_grad_() for t in cpu]
        for t in cpu:
            t.requires_grad_()
        h_cpu, h_gpu = forward(*cpu), forward(*gpu)
        assert h_gpu.device.type == "cuda"
        np.testing.assert_allclose(h_gpu.detach().cpu().numpy(), h_cpu.detach().numpy(), atol=1e-12)
        h_cpu.sum().backward()
        h_gpu.sum().backward()
        for a, b in zip(cpu, gpu, strict=True):
            np.testing.assert_allclose(b.grad.cpu().numpy(), a.grad.numpy(), atol=1e-11)
    scores = torch.randn(2, 3, 5, dtype=torch.float64, device="cuda")
    y = torch.tensor([[1, 2, 3], [4, 0, 1]])  # ids on the CPU are moved to the scores' device
    loss = rt.temporal_softmax_loss(scores, y, torch.ones(2, 3, dtype=torch.bool, device="cuda"))
    assert loss.device.type == "cuda"


# ----------------------------------------------------------------------------------------------
# Bad input: one clear error naming the function, the argument and the shapes


def _good():
    rng = np.random.default_rng(0)
    return [torch.from_numpy(a) for a in _inputs(rng, N=2, T=3, D=4, H=5)]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda x, h0, Wx, Wh, b: rt.rnn_forward(x, h0[:1], Wx, Wh, b),
            ValueError,
            r"rnn_forward: h0 has shape \(1, 5\), expected \(N=2, H\) \(N=2 from x \(2, 3, 4\)\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.rnn_forward(x, h0, Wx, Wh[:, :4], b),
            ValueError,
            r"rnn_forward: Wh has shape \(5, 4\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.rnn_forward(x[:, 0], h0, Wx, Wh, b),
            ValueError,
            r"rnn_forward: x must have 3 dimensions \('N', 'T', 'D'\), got shape \(2, 4\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.rnn_forward(x[:, :0], h0, Wx, Wh, b),
            ValueError,
            r"rnn_forward: x has shape \(2, 0, 4\): a sequence needs at least 1 timestep",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.rnn_step_forward(x[:, 0], h0, Wx, Wh, b.float()),
            TypeError,
            r"rnn_step_forward: b is torch.float32 but x is torch.float64",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.rnn_step_forward(x[:, 0].numpy(), h0, Wx, Wh, b),
            TypeError,
            r"rnn_step_forward: x must be a torch tensor, got ndarray",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.rnn_step_forward(x[:, 0].long(), h0, Wx, Wh, b),
            TypeError,
            r"rnn_step_forward: x must be a floating-point tensor, got torch.int64",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.rnn_step_forward(x[:, 0], h0, Wx.to("meta"), Wh, b),
            ValueError,
            r"rnn_step_forward: Wx is on meta but x is on cpu",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.lstm_forward(x, h0, Wx, Wh, b),
            ValueError,
            r"lstm_forward: Wx has shape \(4, 5\), expected \(D=4, 4H=20\) "
            r"\(H=5 from h0 \(2, 5\)\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.lstm_step_forward(
                x[:, 0], h0, h0[:, :2], Wx.repeat(1, 4), Wh.repeat(1, 4), b.repeat(4)
            ),
            ValueError,
            r"lstm_step_forward: prev_c has shape \(2, 2\), expected \(N=2, H=5\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.affine_forward(x, Wx, b),
            ValueError,
            r"affine_forward: x has shape \(2, 3, 4\), expected \(N, d_1, ..., d_k\) with "
            r"d_1 \* ... \* d_k = D=4",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.temporal_affine_forward(x, Wx, b[:2]),
            ValueError,
            r"temporal_affine_forward: b has shape \(2,\), expected \(M=5\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.word_embedding_forward(torch.tensor([[0, 9]]), Wx),
            ValueError,
            r"word_embedding_forward: x holds word id 9, outside the vocabulary \[0, 4\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.word_embedding_forward(torch.tensor([[-1, 2]]), Wx),
            ValueError,
            r"word_embedding_forward: x holds word id -1, outside the vocabulary \[0, 4\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.word_embedding_forward(torch.tensor([[0.0, 2.0]]), Wx),
            TypeError,
            r"word_embedding_forward: x must hold integer word ids, got dtype torch.float32",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.word_embedding_forward(torch.tensor([[1, 0]]).bool(), Wx),
            TypeError,
            r"word_embedding_forward: x must hold integer word ids, got dtype torch.bool",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.temporal_softmax_loss(
                x, torch.zeros(2, 2, dtype=torch.long), torch.ones(2, 3)
            ),
            ValueError,
            r"temporal_softmax_loss: y has shape \(2, 2\), expected \(N=2, T=3\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.temporal_softmax_loss(
                x, torch.zeros(2, 3, dtype=torch.long), torch.ones(3, 2)
            ),
            ValueError,
            r"temporal_softmax_loss: mask has shape \(3, 2\), expected \(N=2, T=3\)",
        ),
        (
            lambda x, h0, Wx, Wh, b: rt.temporal_softmax_loss(
                x, torch.full((2, 3), 4), torch.ones(2, 3)
            ),
            ValueError,
            r"temporal_softmax_loss: y holds word id 4, outside the vocabulary \[0, 4\)",
        ),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call(*_good())


def test_non_finite_scores_raise_clearly():
    x = torch.zeros(2, 3, 4, dtype=torch.float64)
    x[1, 2, 0] = float("nan")
    with pytest.raises(FloatingPointError, match=r"the scores \(2, 3, 4\) hold 1 NaN/inf values"):
        rt.temporal_softmax_loss(x, torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3))
