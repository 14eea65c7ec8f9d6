"""SqueezeNet 1.1 in PyTorch, with torchvision's module layout (no torchvision needed).

``squeezenet1_1(weights=None)`` builds the network; its state-dict keys are torchvision's
(``features.0.weight`` ... ``classifier.1.bias``), so torchvision's pretrained file and the
course's copy load unchanged. Pretrained weights are found, in order: an explicit path;
``$CS231N_DATA/squeezenet1_1.pt`` (or torchvision's file name there); the torch hub cache; a
download from torchvision's official URL, checked against the hash in its file name.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from pathlib import Path

import torch
from torch import nn

from .config import data_path

TORCHVISION_URL = "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth"
TORCHVISION_FILE = "squeezenet1_1-b8a52dc0.pth"
COURSE_FILE = "squeezenet1_1.pt"
NUM_PARAMETERS = 1_235_496


class Fire(nn.Module):
    """Squeeze (1x1) then expand (1x1 and 3x3, concatenated), as torchvision names them."""

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [
                self.expand1x1_activation(self.expand1x1(x)),
                self.expand3x3_activation(self.expand3x3(x)),
            ],
            dim=1,
        )


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1 (Iandola et al.): 1000 ImageNet class scores from (N, 3, H, W) images
    normalised with torchvision's mean and std."""

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64),
            Fire(128, 16, 64, 64),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(128, 32, 128, 128),
            Fire(256, 32, 128, 128),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256),
        )
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def find_pretrained_weights(data_root=None) -> Path | None:
    """The first pretrained SqueezeNet 1.1 file found locally, or None."""
    candidates = [
        data_path(COURSE_FILE, data_root=data_root),
        data_path(TORCHVISION_FILE, data_root=data_root),
        Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE,
    ]
    return next((p for p in candidates if p.is_file()), None)


def _download_pretrained() -> Path:
    """torchvision's weights into torch's hub cache, checked against the registry's pinned
    SHA-256 and size (:data:`cs231n.assets.ASSETS`); a mismatch leaves nothing behind."""
    from .assets import ASSETS
    from .download import download

    pinned = ASSETS["squeezenet"].files[0]
    target = Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE
    return download(TORCHVISION_URL, target, expected_size=pinned.size, sha256=pinned.sha256)


def torch_load(path, what="PyTorch file", map_location="cpu"):
    """``torch.load(path, weights_only=True)`` with one-line errors naming the file: missing
    (FileNotFoundError), truncated/empty/foreign (ValueError), or a pickle with Python objects
    beyond tensors, which is refused for safety (ValueError)."""
    import pickle
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
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
    NaN scores and silently empty results. Raises ValueError naming the file and the entry."""
    for key, value in state.items():
        if isinstance(value, dict):
            check_tensors(path, value, what)
        elif torch.is_tensor(value) and value.is_floating_point():
            if not torch.isfinite(value).all():
                raise ValueError(f"{path}: {what} {key!r} holds NaN or infinite values")


def load_state_dict(path) -> dict:
    """A SqueezeNet state dict from ``path`` (``torch.load(weights_only=True)``), checked."""
    state = torch_load(path, "SqueezeNet weights file")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


def squeezenet1_1(weights=None, data_root=None, progress=True) -> SqueezeNet:
    """SqueezeNet 1.1 with torchvision's layout.

    weights: None (random initialisation), "DEFAULT" (pretrained: the local copies, else a
    download from torchvision) or a path to a state dict.
    """
    model = SqueezeNet()
    if weights is None:
        return model
    if isinstance(weights, str | os.PathLike) and str(weights).upper() != "DEFAULT":
        path = Path(weights)
    else:
        path = find_pretrained_weights(data_root)
        if path is None:
            try:
                path = _download_pretrained()
            except OSError as e:
                raise FileNotFoundError(
                    "pretrained SqueezeNet 1.1 weights not found: put squeezenet1_1.pt (the "
                    f"course's) or {TORCHVISION_FILE} (torchvision's, from {TORCHVISION_URL}) in "
                    f"the data directory ({data_path(data_root=data_root)}) or pass a path "
                    f"({e})"
                ) from None
    state = load_state_dict(path)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path}: not a SqueezeNet 1.1 state dict (missing {missing[:4]}, unexpected "
            f"{unexpected[:4]})"
        )
    for key, value in state.items():
        if (
            not torch.is_tensor(value)
            or value.is_floating_point() != expected[key].is_floating_point()
        ):
            raise ValueError(
                f"{path}: {key} is {getattr(value, 'dtype', type(value).__name__)}, SqueezeNet "
                f"1.1 needs {expected[key].dtype}"
            )
        if value.shape != expected[key].shape:
            raise ValueError(
                f"{path}: {key} has shape {tuple(value.shape)}, SqueezeNet 1.1 needs "
                f"{tuple(expected[key].shape)}"
            )
    check_tensors(path, state)
    model.load_state_dict(state)
    return model


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
