"""PyTorch utilities every job stands on: checked loads of PyTorch files, class indices of any
integer type, the device (checked against this machine), and the eval-mode guard that leaves a
caller's model as it found it."""

from __future__ import annotations

import contextlib
import functools
import inspect
import zipfile
from pathlib import Path

import torch
from torch import nn

from .checkpoints import check_finite, check_zip


def torch_load(path, what="PyTorch file", map_location="cpu"):
    """``torch.load(path, weights_only=True)`` with one-line errors naming the file: missing
    (FileNotFoundError), truncated/empty/foreign (ValueError), a damaged member (a bit flipped
    anywhere: its CRC, :func:`cs231n.core.checkpoints.check_zip`), contents larger than memory,
    or a pickle with Python objects beyond tensors, which is refused for safety (ValueError).
    What it holds is checked by the caller, against its model (:mod:`cs231n.core.checkpoints`)."""
    import pickle

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    if zipfile.is_zipfile(path):  # PyTorch's format since 1.6: whole, and of a size that fits
        check_zip(path, what)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        if not zipfile.is_zipfile(path):  # PyTorch files are zip archives
            raise ValueError(
                f"{path}: not a readable {what} (not a PyTorch file: empty, truncated, text or "
                "another format)"
            ) from None
        raise ValueError(
            f"{path}: not a {what} this program can read: it holds Python objects beyond "
            "tensors, which are not loaded for safety (weights_only)"
        ) from None
    except Exception as e:  # zip errors, truncated or empty files, text...
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{path}: not a readable {what} ({reason})") from None


def check_tensors(path, state, what="weights"):
    """Every floating tensor in ``state`` (a dict, nested) is finite: NaN weights would give
    NaN scores and silently empty results. Raises ValueError naming the file and the entry.
    (:func:`cs231n.core.checkpoints.check_finite`; where the model is known,
    :func:`~cs231n.core.checkpoints.check_state` checks shapes and dtypes too.)"""
    check_finite(path, state, what)


def class_indices(func: str, name: str, target, n: int, num_classes=None, device=None):
    """``target`` as a (n,) int64 tensor of class indices on ``device``.

    Accepts a Python int or sequence, a NumPy array or a tensor of any integer dtype (int16,
    uint8, ...); a single index is used for every one of the ``n`` images. Raises ValueError,
    naming ``func`` and the argument ``name``, for floats, booleans, a wrong count, or indices
    outside ``[0, num_classes)``.
    """
    import numpy as np

    if (
        isinstance(target, bool)
        or (torch.is_tensor(target) and target.dtype == torch.bool)
        or (isinstance(target, np.ndarray) and target.dtype == np.bool_)
    ):
        raise ValueError(f"{func}: {name} must hold integer class indices, got booleans")
    if torch.is_tensor(target):
        t = target.detach()
    else:
        array = np.asarray(target)
        if array.dtype == object or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise ValueError(
                f"{func}: {name} must hold integer class indices, got {array.dtype} values"
            )
        t = torch.from_numpy(array.astype(np.int64))
    if t.is_floating_point() or t.is_complex():
        raise ValueError(f"{func}: {name} must hold integer class indices, got {t.dtype}")
    t = t.reshape(-1).to(device=device, dtype=torch.long)
    if t.numel() == 1 and n > 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"{func}: {name} has {t.numel()} class indices for {n} images")
    if n and (int(t.min()) < 0 or (num_classes is not None and int(t.max()) >= num_classes)):
        bound = f"[0, {num_classes})" if num_classes is not None else "non-negative"
        raise ValueError(
            f"{func}: {name} has class index {int(t.min()) if int(t.min()) < 0 else int(t.max())}"
            f" outside {bound}"
        )
    return t


def model_input(func: str, name: str, X, model, channels=None) -> torch.Tensor:
    """``X`` (N, C, H, W) checked and made ready for ``model``: detached, on the model's device,
    in the dtype of its weights (a float64 or integer image batch would otherwise fail deep in
    a convolution). Raises ValueError naming ``func`` and ``name`` for another shape, another
    number of ``channels`` (when given) or values that are not finite."""
    if not torch.is_tensor(X) or X.ndim != 4 or (channels is not None and X.shape[1] != channels):
        shape = tuple(X.shape) if torch.is_tensor(X) else type(X).__name__
        c = channels if channels is not None else "C"
        raise ValueError(f"{func}: {name} must be a (N, {c}, H, W) tensor, got {shape}")
    if X.is_complex() or X.dtype == torch.bool:
        raise ValueError(f"{func}: {name} must hold real pixel values, got {X.dtype}")
    weight = next((p for p in model.parameters() if p.is_floating_point()), None)
    dtype = weight.dtype if weight is not None else torch.get_default_dtype()
    device = weight.device if weight is not None else X.device
    X = X.detach().to(device=device, dtype=dtype)
    if not torch.isfinite(X).all():
        raise ValueError(f"{func}: {name} holds NaN or infinite values")
    return X


_OUT_OF_MEMORY = ("can't allocate memory", "out of memory", "not enough memory")


def refuses_oversized(init):
    """Decorator for a model's ``__init__``: an allocation the machine cannot make (PyTorch's
    "DefaultCPUAllocator: can't allocate memory: you tried to allocate ..." from deep inside a
    layer) becomes one MemoryError naming the class and the sizes it was given."""

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except RuntimeError as e:
            if not any(words in str(e) for words in _OUT_OF_MEMORY):
                raise
            given = [repr(a) for a in args if not isinstance(a, dict)]
            given += [f"{k}={v!r}" for k, v in kwargs.items() if not isinstance(v, dict)]
            line = str(e).strip().splitlines()[0]
            raise MemoryError(
                f"{type(self).__name__}({', '.join(given)}): the model does not fit in this "
                f"machine's memory ({line.split(': ', 1)[-1][:160]})"
            ) from None

    return wrapper


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def available_devices() -> list[str]:
    """The devices this machine can run on: "cpu", then "cuda:0", ... and "mps" when present."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def resolve_device(device=None) -> torch.device:
    """``device`` (a name such as "cpu", "cuda", "cuda:1", or a torch.device) checked against
    this machine; None gives :func:`default_device`. Raises ValueError naming the device and
    the ones available (instead of PyTorch's list of every device type, or "Torch not compiled
    with CUDA enabled" at the first tensor moved)."""
    if device is None:
        return default_device()
    available = available_devices()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"unknown device {device!r}; available here: {', '.join(available)}"
        ) from None
    if dev.type == "cpu":
        return dev
    name = f"{dev.type}:{dev.index if dev.index is not None else 0}"
    if dev.type == "mps":
        name = "mps"
    if name not in available:
        raise ValueError(
            f"device {device!r} is not available here; available: {', '.join(available)}"
        )
    return dev


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Run ``model`` in eval mode with its parameters frozen; afterwards every module's
    train/eval mode and every parameter's ``requires_grad`` are as they were. Gradients then flow
    to the inputs only: no ``.grad`` is created or changed on any parameter."""
    modes = [(m, m.training) for m in model.modules()]
    # Lazy parameters (not yet initialised) cannot be touched; they hold no gradient anyway.
    flags = [(p, p.requires_grad) for p in model.parameters() if not nn.parameter.is_lazy(p)]
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training
        for p, flag in flags:
            p.requires_grad_(flag)


def leaves_model_unchanged(func):
    """Decorator: ``func``'s argument ``model`` is used under :func:`evaluating`, so the API
    function leaves the caller's model as it found it (mode, ``requires_grad``, no gradients)."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        model = signature.bind(*args, **kwargs).arguments["model"]
        with evaluating(model):
            return func(*args, **kwargs)

    return wrapper
