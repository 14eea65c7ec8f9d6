"""Checkpoints of captioning models: ``NAME.npz`` (parameters and optimiser state) plus
``NAME.json`` (model configuration, vocabulary, training progress).

Both files are written atomically, the JSON last, so an interrupted save leaves the previous
checkpoint intact and a checkpoint with its JSON is always complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .classifiers.rnn import CaptioningRNN
from .io_utils import atomic_path

FORMAT = "cs231n-captioning/1"


def checkpoint_paths(path) -> tuple[Path, Path]:
    """``(NAME.npz, NAME.json)`` for ``NAME``, ``NAME.npz`` or ``NAME.json``."""
    path = Path(path)
    if path.suffix in (".npz", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".npz"), path.with_name(path.name + ".json")


def model_config(model) -> dict:
    p = model.params
    return {
        "cell_type": model.cell_type,
        "input_dim": int(p["W_proj"].shape[0]),
        "wordvec_dim": int(p["W_embed"].shape[1]),
        "hidden_dim": int(p["W_proj"].shape[1]),
        "dtype": np.dtype(model.dtype).name,
    }


def save_checkpoint(path, model, solver=None, extra=None) -> Path:
    """Save ``model`` (and, given a solver, its optimiser state and progress). Returns the
    JSON path. ``extra`` is stored as is (e.g. the data set and the command's arguments)."""
    npz_path, json_path = checkpoint_paths(path)
    arrays = {f"param/{k}": v for k, v in model.params.items()}
    meta = {
        "format": FORMAT,
        "model": model_config(model),
        "idx_to_word": [model.idx_to_word[i] for i in range(len(model.idx_to_word))],
        "extra": extra or {},
    }
    if solver is not None:
        scalars = {}
        for name, config in solver.optim_configs.items():
            scalars[name] = {}
            for key, value in config.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optim/{name}/{key}"] = value
                else:
                    scalars[name][key] = value
        meta["training"] = {
            "epoch": solver.epoch,
            "loss_history": [float(x) for x in solver.loss_history],
            "optim_scalars": scalars,
            "numpy_random_state": _encode_state(np.random.get_state()),
        }
    with atomic_path(npz_path) as tmp:
        np.savez(tmp, **arrays)
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(meta), encoding="utf-8")
    return json_path


def load_checkpoint(path):
    """``(model, meta, optim_state)``: the model with its parameters, the JSON metadata, and the
    saved optimiser configs ({param: config}) or None when the checkpoint has none."""
    npz_path, json_path = checkpoint_paths(path)
    for p in (json_path, npz_path):
        if not p.exists():
            raise FileNotFoundError(f"checkpoint file not found: {p}")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{json_path}: not valid JSON ({e})") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"{json_path}: not a {FORMAT} checkpoint (format {meta.get('format')!r})")
    config = dict(meta["model"])
    config["dtype"] = np.dtype(config["dtype"]).type
    word_to_idx = {w: i for i, w in enumerate(meta["idx_to_word"])}
    model = CaptioningRNN(word_to_idx, **config)
    try:
        with np.load(npz_path) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"{npz_path}: not a readable .npz file ({e})") from None
    for name, value in model.params.items():
        key = f"param/{name}"
        if key not in arrays:
            raise KeyError(f"{npz_path}: missing array {key!r}")
        if arrays[key].shape != value.shape:
            raise ValueError(
                f"{npz_path}: {key} has shape {arrays[key].shape}, the model needs {value.shape}"
            )
        model.params[name] = arrays[key].astype(model.dtype, copy=False)

    optim_state = None
    training = meta.get("training")
    if training is not None:
        optim_state = {name: dict(s) for name, s in training["optim_scalars"].items()}
        for key, value in arrays.items():
            if key.startswith("optim/"):
                _, name, field = key.split("/", 2)
                optim_state.setdefault(name, {})[field] = value
    return model, meta, optim_state


def restore_solver(solver, meta, optim_state):
    """Put a saved training state back into a freshly built solver (for resuming)."""
    training = meta["training"]
    solver.epoch = training["epoch"]
    solver.loss_history = list(training["loss_history"])
    solver.optim_configs = optim_state
    np.random.set_state(_decode_state(training["numpy_random_state"]))


def _encode_state(state):
    name, keys, pos, has_gauss, cached = state
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _decode_state(state):
    name, keys, pos, has_gauss, cached = state
    return name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached
