"""Checking what a checkpoint holds before anything is built from it or resumed: the one
mechanism every checkpoint reader of the project uses, for every model and every framework
(NumPy ``.npz``, PyTorch ``.pt``, Keras ``.weights.h5``).

A checkpoint that loads is not yet one that can be used: a NaN weight or Adam moment trains
NaNs (and then saves them over the good file), integer weights are cast silently into a float
model, a moment of the wrong shape fails at the first step, a random state that is garbage fails
(or hangs, or reads out of bounds) when the first number is drawn, and a configuration
describing a huge model fails in the allocator. Each function here checks one part, in the
order a reader needs them (the file, the sizes before allocation, the weights against the model
its configuration builds, the optimiser state against those weights, the random states), and
raises ``ValueError(f"{path}: ...")``: one line naming the file and what is wrong.

- :func:`check_zip`: a ZIP container (``.pt``, ``.npz``) whose members are whole (their CRCs:
  a flipped bit anywhere is found) and whose unpacked size fits in memory.
- :func:`check_model_size`: a model of ``count`` parameters fits in memory, before it is built.
- :func:`check_array`, :func:`check_state`: arrays or tensors against the model's (every key,
  no other, shapes, dtypes: floats where the model has floats; finite; variances non-negative).
- :func:`check_finite`: every floating array of a nested dict finite (where no model is known).
- :func:`check_optimizer_state`: a PyTorch optimiser's ``state_dict()`` (Adam's) against the
  parameters: one entry per parameter, step counts, moments of the parameters' shapes, finite,
  second moments non-negative, hyperparameters in range.
- :func:`check_numpy_rng`, :func:`check_torch_rng`, :func:`check_cuda_rngs`: random states
  that can be restored and draw numbers (tried on a private generator).
- :func:`check_keras_weights` (before ``load_weights``) and :func:`check_keras_model` (after):
  a Keras weights file against the model.

NumPy arrays and PyTorch tensors are both accepted wherever arrays are; PyTorch is imported only
by the functions that need it, TensorFlow never (Keras files are read with h5py).
"""

from __future__ import annotations

import math
import sys
import zipfile
from pathlib import Path

import numpy as np

from .files import format_bytes, memory_limit, require_memory

# ----------------------------------------------------------------------------------------------
# The file and the sizes


def check_zip(path, what="checkpoint") -> None:
    """``path`` is a whole ZIP archive (a PyTorch file, a ``.npz``): its members' unpacked size
    fits in memory (read from the directory, before anything is unpacked), and every member's
    CRC matches (a bit flipped anywhere in the file is found; PyTorch and NumPy do not look)."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
            limit = memory_limit()
            if total > limit:
                raise ValueError(
                    f"{path}: its contents unpack to {format_bytes(total)}, more than the "
                    f"{format_bytes(limit)} of memory this machine has"
                )
            bad = archive.testzip()
    except ValueError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(
            f"{path}: not a readable {what} ({_first_line(e)}: empty, truncated or another format)"
        ) from None
    except Exception as e:  # zlib errors of a damaged member, unsupported compression...
        raise ValueError(f"{path}: not a readable {what} ({_first_line(e)})") from None
    if bad is not None:
        raise ValueError(
            f"{path}: member {bad} is damaged (CRC mismatch: the file changed after it was written)"
        )


def check_model_size(path, count, what="the model it describes") -> None:
    """Refuse, before it is built, a model of ``count`` parameters that this machine cannot
    hold while training (the parameters, their gradients and Adam's two moments, float32)."""
    require_memory(int(count) * 16, f"{path}: {what} ({int(count):,} parameters)")


# ----------------------------------------------------------------------------------------------
# Arrays and state dicts


def _torch_tensor(value) -> bool:
    torch = sys.modules.get("torch")  # a tensor exists only where PyTorch is loaded
    return torch is not None and torch.is_tensor(value)


def _kind(value) -> str:
    """ "f" (floating), "i" (integer), "b" (bool), "c" (complex) or another NumPy kind."""
    if _torch_tensor(value):
        if value.is_floating_point():
            return "f"
        if value.is_complex():
            return "c"
        return "b" if str(value.dtype) == "torch.bool" else "i"
    kind = value.dtype.kind
    return "i" if kind == "u" else kind


def _dtype_name(value) -> str:
    return str(value.dtype).removeprefix("torch.")


def _shape(value) -> tuple:
    return tuple(int(n) for n in value.shape)


def _all_finite(value) -> bool:
    if _torch_tensor(value):
        import torch

        return bool(torch.isfinite(value).all())
    return bool(np.isfinite(value).all())


KIND_NAMES = {"f": "floats", "i": "integers", "b": "booleans", "c": "complex numbers"}


def check_array(path, label, value, shape=None, kind="f", nonnegative=False) -> None:
    """One array or tensor ``value``, called ``label`` in messages: ``shape`` (when given),
    values of ``kind`` ("f" floats, any precision; "i" integers; "b" booleans), finite, and
    non-negative when ``nonnegative``. Sizes are compared before any value is read."""
    if not (isinstance(value, np.ndarray) or _torch_tensor(value)):
        raise ValueError(f"{path}: {label} is not an array (got {type(value).__name__})")
    if _torch_tensor(value) and str(value.layout) != "torch.strided":
        raise ValueError(f"{path}: {label} is a {value.layout} tensor, not a dense one")
    if shape is not None and _shape(value) != tuple(shape):
        raise ValueError(
            f"{path}: {label} has shape {_shape(value)}, the model needs {tuple(shape)}"
        )
    if _kind(value) != kind:
        raise ValueError(
            f"{path}: {label} must hold {KIND_NAMES.get(kind, kind)}, got {_dtype_name(value)}"
        )
    if kind == "f" and not _all_finite(value):
        raise ValueError(f"{path}: {label} holds NaN or infinite values")
    if nonnegative and kind in "fi" and bool((value < 0).any()):
        raise ValueError(f"{path}: {label} has negative values")


# Entries that are variances or counts: a negative one is not a value training can produce.
NONNEGATIVE_SUFFIXES = ("running_var", "num_batches_tracked", "moving_variance")


def check_state(path, state, expected, what="weight") -> None:
    """A state dict (``{name: array or tensor}``) against the model's (``expected``: the
    ``state_dict()`` or ``params`` of the model its configuration builds): every entry the
    model has and no other, each of the model's shape and kind of dtype (floats where the model
    has floats, integers where it has integers), finite; variances and counts non-negative."""
    if not isinstance(state, dict):
        raise ValueError(f"{path}: the {what}s are not a state dict (got {type(state).__name__})")
    for key in expected:
        if key not in state:
            raise ValueError(
                f"{path}: {what} {key!r} is missing ({len(state)} in the file, the model it "
                f"describes has {len(expected)})"
            )
    for key in state:
        if key not in expected:
            raise ValueError(
                f"{path}: unexpected {what} {key!r} (the model it describes has no such {what})"
            )
    for key, reference in expected.items():
        check_array(
            path,
            f"{what} {key!r}",
            state[key],
            _shape(reference),
            _kind(reference),
            nonnegative=str(key).endswith(NONNEGATIVE_SUFFIXES),
        )


def check_finite(path, state, what="weight") -> None:
    """Every floating array or tensor in ``state`` (a dict, nested) is finite, where there is
    no model to compare with (a checkpoint's own check before its model is known)."""
    for key, value in state.items():
        if isinstance(value, dict):
            check_finite(path, value, what)
        elif (isinstance(value, np.ndarray) or _torch_tensor(value)) and _kind(value) == "f":
            if not _all_finite(value):
                raise ValueError(f"{path}: {what} {key!r} holds NaN or infinite values")


# ----------------------------------------------------------------------------------------------
# Optimiser state (PyTorch)


def _number(value):
    """A float for a Python number or a one-element tensor/array; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if (isinstance(value, np.ndarray) or _torch_tensor(value)) and _shape(value) in ((), (1,)):
        if _kind(value) in "fi":
            return float(value.reshape(()).item())
    return None


# Adam's (and AdamW's) hyperparameters: (check, what it must be).
HYPERPARAMETERS = {
    "lr": (lambda x: x > 0, "a positive number"),
    "eps": (lambda x: x >= 0, "a non-negative number"),
    "weight_decay": (lambda x: x >= 0, "a non-negative number"),
}
MOMENTS = {"exp_avg": False, "exp_avg_sq": True, "max_exp_avg_sq": True}  # name: non-negative


def check_optimizer_state(path, state, params, steps=None, what="optimiser state") -> None:
    """A PyTorch optimiser's ``state_dict()`` (Adam, AdamW) against ``params``, the model's
    ``[(name, parameter), ...]`` in the optimiser's order (``list(model.named_parameters())``):

    - ``param_groups`` covering the parameters 0..n-1 once each, with a positive finite learning
      rate, betas in [0, 1), non-negative ``eps`` and ``weight_decay``;
    - one ``state`` entry per parameter at most, each with a whole non-negative step count:
      ``steps`` when given (then, after any step, every parameter has its entry), else the same
      for every parameter;
    - ``exp_avg``, ``exp_avg_sq`` (``max_exp_avg_sq``) of the parameter's shape, floats,
      finite; the second moments non-negative.
    """
    params = list(params)
    n = len(params)
    if not isinstance(state, dict) or not {"state", "param_groups"} <= set(state):
        raise ValueError(
            f"{path}: {what} is not an optimiser state dict (it needs 'state' and 'param_groups')"
        )
    groups, entries = state["param_groups"], state["state"]
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise ValueError(f"{path}: {what} param_groups must be a list of dictionaries")
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: {what} 'state' must be a dictionary")
    indices = [i for g in groups for i in (g.get("params") or [])]
    if indices != list(range(n)):
        raise ValueError(
            f"{path}: {what} is for {len(indices)} parameters, the model it describes has {n}"
        )
    for g in groups:
        for key, (ok, must) in HYPERPARAMETERS.items():
            if key in g:
                value = _number(g[key])
                if value is None or not math.isfinite(value) or not ok(value):
                    raise ValueError(f"{path}: {what} {key} must be {must}, got {g[key]!r}")
        if "betas" in g:
            betas = g["betas"]
            values = [_number(b) for b in betas] if isinstance(betas, list | tuple) else []
            if len(values) != 2 or not all(v is not None and 0 <= v < 1 for v in values):
                raise ValueError(
                    f"{path}: {what} betas must be two numbers in [0, 1), got {betas!r}"
                )
    counts = {}
    for index, entry in entries.items():
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise ValueError(
                f"{path}: {what} has an entry for parameter {index!r}, the model has {n} (0..{n - 1})"
            )
        name, param = params[index]
        where = f"parameter {index} ({name})"
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: {what} of {where} is not a dictionary")
        if set(MOMENTS) & set(entry):
            missing = [k for k in ("step", "exp_avg", "exp_avg_sq") if k not in entry]
            if missing:
                raise ValueError(f"{path}: {what} of {where} lacks {', '.join(missing)}")
        if "step" in entry:
            step = _number(entry["step"])
            if step is None or not math.isfinite(step) or step < 0 or step != int(step):
                raise ValueError(
                    f"{path}: {what} of {where}: the step count must be a whole number >= 0, "
                    f"got {entry['step']!r}"
                )
            if steps is not None and step != steps:
                raise ValueError(
                    f"{path}: {what} of {where}: Adam's step count is {step:g}, but {steps} "
                    "iterations were trained"
                )
            counts[index] = step
        for key, value in entry.items():
            if key in MOMENTS:
                check_array(
                    path, f"{what} {key} of {where}", value, _shape(param), "f", MOMENTS[key]
                )
            elif key != "step" and _torch_tensor(value) and _kind(value) == "f":
                check_array(path, f"{what} {key} of {where}", value)
    if steps is not None and steps > 0 and len(entries) != n:
        raise ValueError(
            f"{path}: {what} covers {len(entries)} of the {n} parameters, after {steps} iterations"
        )
    if steps is None and len(set(counts.values())) > 1:
        a, b = min(counts, key=counts.get), max(counts, key=counts.get)
        raise ValueError(
            f"{path}: {what} step counts differ between parameters ({counts[a]:g} for "
            f"parameter {a} ({params[a][0]}), {counts[b]:g} for parameter {b} ({params[b][0]}))"
        )
    # Last, what PyTorch itself requires of the structure: loaded into a throwaway Adam.
    import torch

    probe = torch.optim.Adam([p for _, p in params])
    try:
        probe.load_state_dict(state)
    except (ValueError, KeyError, RuntimeError, TypeError) as e:
        raise ValueError(f"{path}: {what} does not fit the model ({e})") from None


# ----------------------------------------------------------------------------------------------
# Random states


MT19937_KEYS = 624


def check_numpy_rng(path, state, what="numpy_random_state"):
    """NumPy's legacy ``np.random.get_state()`` (as saved: ``[name, keys, pos, has_gauss,
    cached_gaussian]``, keys a list or an array) made into the tuple ``np.random.set_state``
    takes, after checking it: "MT19937", 624 keys in [0, 2**32), ``pos`` in 0..624 (NumPy
    does not check it: a larger one reads outside the state), ``has_gauss`` 0 or 1, a finite
    cached Gaussian, and a state that draws numbers (all-zero keys draw only zeros, and a
    Gaussian then never comes). Tried on a private generator, never the global one."""
    expected = "[name, 624 keys, pos, has_gauss, cached_gaussian]"

    def refuse(reason):
        return ValueError(f"{path}: {what} is not a NumPy random state ({reason})")

    if not isinstance(state, list | tuple) or len(state) != 5:
        raise refuse(f"expected {expected}")
    name, keys, pos, has_gauss, cached = state
    if name != "MT19937":
        raise refuse(f"generator {name!r}, expected 'MT19937'")
    if isinstance(keys, np.ndarray):
        array = keys
    elif isinstance(keys, list | tuple) and all(
        isinstance(k, int) and not isinstance(k, bool) for k in keys
    ):
        array = np.array(keys, dtype=object)
    else:
        raise refuse(f"keys must be {MT19937_KEYS} integers")
    if array.shape != (MT19937_KEYS,) or (array.dtype != object and array.dtype.kind not in "iu"):
        raise refuse(f"keys must be {MT19937_KEYS} integers, got {array.shape} {array.dtype}")
    if any(not 0 <= int(k) < 2**32 for k in array):
        raise refuse("keys must be in [0, 2**32)")
    if isinstance(pos, bool) or not isinstance(pos, int | np.integer) or not 0 <= pos <= 624:
        raise refuse(f"pos must be an integer from 0 to 624, got {pos!r}")
    if isinstance(has_gauss, bool) or has_gauss not in (0, 1):
        raise refuse(f"has_gauss must be 0 or 1, got {has_gauss!r}")
    if _number(cached) is None or not math.isfinite(_number(cached)):
        raise refuse(f"cached_gaussian must be a finite number, got {cached!r}")
    decoded = (name, np.asarray([int(k) for k in array], dtype=np.uint32), int(pos),
               int(has_gauss), float(cached))  # fmt: skip
    probe = np.random.RandomState()
    try:
        probe.set_state(decoded)
        drawn = probe.randint(0, 2**31, size=64)
    except Exception as e:  # whatever NumPy objects to, in one line
        raise refuse(_first_line(e)) from None
    if not drawn.any():
        raise refuse("it is degenerate: it draws only zeros")
    return decoded


def check_torch_rng(path, state, what="random state"):
    """A CPU generator's state (``torch.get_rng_state()``) that can be restored and draws
    numbers; returns it on the CPU. Tried on a private generator, never the global one."""
    import torch

    reference = torch.get_rng_state()
    if (
        not torch.is_tensor(state)
        or state.dtype != torch.uint8
        or tuple(state.shape) != tuple(reference.shape)
    ):
        found = (
            f"{state.dtype} {tuple(state.shape)}"
            if torch.is_tensor(state)
            else type(state).__name__
        )
        raise ValueError(
            f"{path}: {what} is not a torch random state (a uint8 tensor of "
            f"{reference.numel()} bytes; got {found})"
        )
    state = state.detach().cpu()
    probe = torch.Generator()
    try:
        probe.set_state(state)
        drawn = torch.randint(0, 2**31, (64,), generator=probe)
    except (RuntimeError, ValueError, TypeError) as e:
        raise ValueError(
            f"{path}: {what} is not a valid torch random state ({_first_line(e)})"
        ) from None
    if not drawn.any():
        raise ValueError(f"{path}: {what} is degenerate: it draws only zeros")
    return state


def check_cuda_rngs(path, states, what="cuda_rng_states"):
    """The CUDA generators' states (``torch.cuda.get_rng_state_all()``): a list of uint8
    tensors, one per device (restored only on a machine with as many). Returns them on the
    CPU."""
    import torch

    if not isinstance(states, list | tuple) or not all(
        torch.is_tensor(t) and t.dtype == torch.uint8 and t.ndim == 1 for t in states
    ):
        raise ValueError(f"{path}: {what} must be a list of CUDA random states (uint8 tensors)")
    return [t.detach().cpu() for t in states]


# ----------------------------------------------------------------------------------------------
# Keras weights (HDF5), read with h5py: TensorFlow is not needed to check them


def _h5_datasets(file):
    """``[(name, dataset)]`` of every dataset in an open HDF5 file, in file order."""
    import h5py

    found = []
    file.visititems(
        lambda name, obj: found.append((name, obj)) if isinstance(obj, h5py.Dataset) else None
    )
    return found


def check_keras_weights(path, model, what="weight") -> None:
    """A Keras weights file (``NAME.weights.h5``) fits ``model`` before ``load_weights``: the
    arrays it holds have the shapes of the model's variables (compared from the file's
    directory, before any array is read), hold floats, and are finite."""
    from collections import Counter

    import h5py

    path = Path(path)
    expected = [tuple(int(n) for n in w.shape) for w in model.weights]
    try:
        with h5py.File(path, "r") as f:
            datasets = _h5_datasets(f)
            shapes = [tuple(int(n) for n in ds.shape) for _, ds in datasets]
            if Counter(shapes) != Counter(expected):
                only_file = sorted((Counter(shapes) - Counter(expected)).elements())
                only_model = sorted((Counter(expected) - Counter(shapes)).elements())
                example = (
                    f"an array of shape {only_file[0]} the model has not"
                    if only_file
                    else f"no array of shape {only_model[0]}"
                )
                raise ValueError(
                    f"{path}: its {what}s do not fit the model: {len(shapes)} arrays of "
                    f"{sum(math.prod(s) for s in shapes):,} numbers, the model has "
                    f"{len(expected)} of {sum(math.prod(s) for s in expected):,} ({example})"
                )
            for name, ds in datasets:
                if ds.dtype.kind != "f":
                    raise ValueError(f"{path}: {what} {name!r} must hold floats, got {ds.dtype}")
                if not np.isfinite(ds[()]).all():
                    raise ValueError(f"{path}: {what} {name!r} holds NaN or infinite values")
    except ValueError:
        raise
    except Exception as e:  # h5py's OSError for a file that is not HDF5, truncated, ...
        raise ValueError(f"{path}: not a readable Keras weights file ({_first_line(e)})") from None


def check_keras_model(path, model, what="weight") -> None:
    """After ``load_weights(path)``: every variable of ``model`` finite, and its variances
    (batch normalisation's ``moving_variance``) non-negative."""
    for w in model.weights:
        name = getattr(w, "path", None) or w.name
        value = np.asarray(w.numpy() if hasattr(w, "numpy") else w)
        check_array(
            path,
            f"{what} {name!r}",
            value,
            kind="f",
            nonnegative=str(name).removesuffix(":0").endswith(NONNEGATIVE_SUFFIXES),
        )


def _first_line(e) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
