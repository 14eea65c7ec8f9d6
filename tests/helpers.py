"""Shared test helpers: compare a NumPy layer with a PyTorch autograd re-computation, in the
spirit of tinygrad's ``helper_test_op``, plus a normwise relative error for random shapes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from cs231n.gradient_check import eval_numerical_gradient_array


def norm_rel_error(a, b) -> float:
    """``||a - b|| / max(||a|| + ||b||, 1e-12)`` over all entries (Frobenius norm).

    The course's ``rel_error`` is elementwise, so one entry whose true value is ~0 (common with
    random shapes: a gate that is almost closed, a single-element sum) makes it blow up even when
    both gradients agree to full precision in absolute terms. The normwise version measures the
    error relative to the size of the whole gradient instead.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shape mismatch {a.shape} vs {b.shape}"
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def _as_tuple(x):
    return tuple(x) if isinstance(x, tuple | list) else (x,)


def random_like(rng: np.random.Generator, out):
    """A random upstream gradient with the shape and dtype of ``out`` (array or tuple of arrays)."""
    douts = tuple(
        rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype) for o in _as_tuple(out)
    )
    return douts if isinstance(out, tuple) else douts[0]


def check_against_torch(
    np_forward: Callable,
    np_backward: Callable,
    torch_forward: Callable,
    inputs: Sequence[np.ndarray],
    *,
    differentiable: Sequence[int] | None = None,
    atol: float = 1e-10,
    rtol: float = 1e-10,
    seed: int = 0,
):
    """Check a NumPy forward/backward pair against PyTorch autograd, in float64.

    ``np_forward(*inputs) -> (out, cache)`` where ``out`` is an array, a Python float or a tuple of
    arrays; ``np_backward(dout, cache)`` returns the gradients of the ``differentiable`` inputs,
    in order (a bare array when there is one). ``torch_forward(*tensors)`` computes the same
    ``out`` from torch tensors (tuple for tuple). ``differentiable`` lists input indices (default:
    every floating-point input). A random upstream gradient is drawn from ``seed``, pushed
    through both backward passes, and every value and gradient is compared.

    Returns ``(out, grads)`` from the NumPy side, for further checks.
    """
    inputs = [np.asarray(a) for a in inputs]
    if differentiable is None:
        differentiable = [i for i, a in enumerate(inputs) if np.issubdtype(a.dtype, np.floating)]
    tensors = []
    for i, a in enumerate(inputs):
        t = torch.from_numpy(a.copy())
        if i in differentiable:
            t = t.double().requires_grad_(True)
        tensors.append(t)

    out, cache = np_forward(*inputs)
    t_out = torch_forward(*tensors)
    outs, t_outs = _as_tuple(out), _as_tuple(t_out)
    assert len(outs) == len(t_outs)
    for k, (o, to) in enumerate(zip(outs, t_outs, strict=True)):
        np.testing.assert_allclose(
            o, to.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"forward output {k}"
        )

    dout = random_like(np.random.default_rng(seed), out)
    grads = _as_tuple(np_backward(dout, cache))
    assert len(grads) == len(differentiable), "np_backward must return one grad per input"
    torch.autograd.backward(
        list(t_outs), [torch.as_tensor(np.asarray(d, dtype=np.float64)) for d in _as_tuple(dout)]
    )
    for i, g in zip(differentiable, grads, strict=True):
        expected = tensors[i].grad
        expected = np.zeros(inputs[i].shape) if expected is None else expected.numpy()
        np.testing.assert_allclose(g, expected, rtol=rtol, atol=atol, err_msg=f"grad of input {i}")
    return out, grads


def numerical_grads(f: Callable, inputs: Sequence[np.ndarray], dout, which: Sequence[int]):
    """Centred-difference gradients of ``sum(f(*inputs) * dout)`` for the inputs in ``which``.

    ``f`` returns one array (stack several outputs, and their ``dout``, to check them together).
    """
    inputs = list(inputs)
    grads = []
    for i in which:

        def fi(xi, i=i):
            args = list(inputs)
            args[i] = xi
            return f(*args)

        grads.append(eval_numerical_gradient_array(fi, inputs[i], dout))
    return grads
