"""Checkpoints of captioning models: ``NAME.npz`` (parameters, optimiser state, and a copy of
the metadata) plus ``NAME.json`` (model configuration, vocabulary, training progress, and the
SHA-256 of the ``NAME.npz`` it belongs to).

The two files cannot be renamed into place as one, so the ``.npz`` is complete on its own: it
is written first (atomically) and carries the metadata it belongs with; the JSON, written last,
is the readable copy and names the ``.npz`` by its digest. A save killed between the two renames
leaves a new ``.npz`` beside the previous JSON: loading sees that the digest differs and uses
the metadata inside the ``.npz``, so the parameters, the optimiser state and the progress
always come from one save. Everything loaded is checked (shapes, finite floats, a consistent
vocabulary, a sane training state), and each problem is one error naming the file.

Format ``cs231n-captioning/2``; ``cs231n-captioning/1`` checkpoints (no digest, no metadata in
the ``.npz``) still load.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from pathlib import Path

import numpy as np

from .classifiers.rnn import CaptioningRNN
from .io_utils import atomic_path

FORMAT = "cs231n-captioning/2"
FORMATS = ("cs231n-captioning/1", FORMAT)  # what load_checkpoint reads
META_KEY = "meta.json"  # the metadata inside the .npz, as UTF-8 bytes (uint8)


def checkpoint_paths(path) -> tuple[Path, Path]:
    """``(NAME.npz, NAME.json)`` for ``NAME``, ``NAME.npz`` or ``NAME.json``."""
    path = Path(path)
    if path.suffix in (".npz", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".npz"), path.with_name(path.name + ".json")


def checkpoint_name(path) -> Path:
    """``NAME`` for ``NAME``, ``NAME.npz`` or ``NAME.json`` (what its lock is named after)."""
    npz_path = checkpoint_paths(path)[0]
    return npz_path.with_name(npz_path.name[: -len(".npz")])


def checkpoint_exists(path) -> bool:
    """Whether there is a checkpoint to load (its JSON, or a ``.npz`` that carries its own)."""
    return any(p.exists() for p in checkpoint_paths(path))


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
    text = json.dumps(meta)
    arrays[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with atomic_path(npz_path) as tmp:
        np.savez(tmp, **arrays)
        digest = _sha256(tmp)
    # Last: the JSON names the .npz it belongs to. A kill before this rename leaves the new .npz
    # with the previous JSON, and load_checkpoint then uses the metadata inside the .npz.
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps({**meta, "npz_sha256": digest}), encoding="utf-8")
    return json_path


def load_checkpoint(path):
    """``(model, meta, optim_state)``: the model with its parameters, the JSON metadata, and the
    saved optimiser configs ({param: config}) or None when the checkpoint has none.

    Raises FileNotFoundError when the checkpoint is missing and ValueError, naming the file,
    when it is damaged or inconsistent.
    """
    npz_path, json_path = checkpoint_paths(path)
    if not npz_path.exists():
        raise FileNotFoundError(
            f"checkpoint file not found: {npz_path if json_path.exists() else json_path}"
        )
    meta = None
    if json_path.exists():
        meta = _read_json(json_path)
        _check_format(meta, json_path)
    arrays = _read_npz(npz_path)
    embedded = arrays.pop(META_KEY, None)
    if meta is not None:
        digest = meta.get("npz_sha256")
        if digest is None and meta["format"] == FORMAT:
            raise ValueError(f"{json_path}: missing key 'npz_sha256'")
        if digest is not None and digest != _sha256(npz_path):
            if embedded is None:
                raise ValueError(
                    f"{npz_path} does not belong to {json_path} (the SHA-256 differs) and "
                    "carries no metadata of its own: the checkpoint is damaged"
                )
            # A save stopped between the two renames: the .npz is the newer file, complete,
            # and its own metadata belongs with it; the JSON does not.
            meta = None
        elif digest is None and embedded is not None:
            meta = None  # a format-1 JSON beside a format-2 .npz: the .npz is the newer
    elif embedded is None:
        raise FileNotFoundError(f"checkpoint file not found: {json_path}")
    where = json_path
    if meta is None:
        where = f"{npz_path} ({META_KEY})"
        text = bytes(np.asarray(embedded, dtype=np.uint8)).decode("utf-8", "replace")
        meta = _parse_json(text, where)
    config, idx_to_word = _check_meta(meta, where)
    _check_model_memory(config, len(idx_to_word), where)

    word_to_idx = {w: i for i, w in enumerate(idx_to_word)}
    try:
        model = CaptioningRNN(word_to_idx, **config)
    except (ValueError, TypeError, MemoryError) as e:
        raise ValueError(f"{where}: cannot build the model it describes ({e})") from None
    for name, value in model.params.items():
        key = f"param/{name}"
        if key not in arrays:
            raise ValueError(f"{npz_path}: missing array {key!r}")
        _check_array(npz_path, key, arrays[key], value.shape)
        model.params[name] = arrays[key].astype(model.dtype, copy=False)

    optim_state = None
    training = meta.get("training")
    if training is not None:
        _check_training(training, where, model.params)
        optim_state = {name: dict(s) for name, s in training["optim_scalars"].items()}
        for key, value in arrays.items():
            if key.startswith("optim/"):
                parts = key.split("/", 2)
                if len(parts) != 3 or parts[1] not in model.params:
                    raise ValueError(f"{npz_path}: unexpected array {key!r}")
                _, name, field = parts
                _check_array(npz_path, key, value, model.params[name].shape)
                optim_state[name][field] = value.astype(model.dtype, copy=False)
        _check_optim_state(optim_state, training, f"{where} / {npz_path.name}")
    return model, meta, optim_state


def restore_solver(solver, meta, optim_state):
    """Put a saved training state back into a freshly built solver (for resuming).

    Raises ValueError when the state does not fit the solver's model (a parameter without its
    optimiser state, moments of the wrong shape, an impossible epoch)."""
    training = meta["training"]
    _check_training(training, "checkpoint", solver.model.params)
    if set(optim_state) != set(solver.model.params):
        raise ValueError(
            f"checkpoint: optimiser state for {sorted(optim_state)}, the model has "
            f"{sorted(solver.model.params)}"
        )
    for name, config in optim_state.items():
        for key, value in config.items():
            if isinstance(value, np.ndarray) and value.shape != solver.model.params[name].shape:
                raise ValueError(
                    f"checkpoint: optimiser state {name}/{key} has shape {value.shape}, the "
                    f"parameter {solver.model.params[name].shape}"
                )
    _check_optim_state(optim_state, training, "checkpoint")
    from . import optim

    if solver.update_rule is optim.adam and training["epoch"] > 0:
        steps = len(training["loss_history"])
        for name, config in optim_state.items():
            if any(k not in config for k in ("m", "v", "t")):
                raise ValueError(f"checkpoint: Adam's state m, v, t of {name} is missing")
            if config["t"] != steps:
                raise ValueError(
                    f"checkpoint: Adam's step count t of {name} is {config['t']}, but "
                    f"{steps} iterations were trained (loss_history)"
                )
    solver.epoch = training["epoch"]
    solver.loss_history = list(training["loss_history"])
    solver.optim_configs = optim_state
    np.random.set_state(_decode_state(training["numpy_random_state"]))


# ----------------------------------------------------------------------------------------------
# Reading and checking


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_npz(path) -> dict:
    """Every array of the .npz, read in full (so a damaged member fails here, by name)."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):
        what = "empty" if not head else "not a ZIP archive"
        raise ValueError(f"{path}: not a readable .npz file ({what})")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # every member's CRC: NumPy may stop before a member's end
        if bad is not None:
            raise ValueError(f"member {bad} is damaged (CRC mismatch)")
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, RuntimeError) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e or type(e).__name__})") from None
    except Exception as e:  # zlib.error and other decoder failures of a damaged file
        raise ValueError(f"{path}: not a readable .npz file ({e or type(e).__name__})") from None


def _read_json(path):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    return _parse_json(text, path)


def _parse_json(text, where):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not valid JSON ({e})") from None


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_format(meta, where):
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: expected a JSON object, got a {type(meta).__name__}")
    if meta.get("format") not in FORMATS:
        raise ValueError(
            f"{where}: not a captioning checkpoint (format {meta.get('format')!r}, expected "
            f"{' or '.join(FORMATS)})"
        )


def _check_meta(meta, where):
    """The model configuration (CaptioningRNN's keyword arguments) and the vocabulary."""
    from .coco_utils import check_vocabulary

    _check_format(meta, where)
    for key in ("model", "idx_to_word"):
        if key not in meta:
            raise ValueError(f"{where}: missing key {key!r}")
    model = meta["model"]
    if not isinstance(model, dict):
        raise ValueError(f"{where}: 'model' must be an object, got {type(model).__name__}")
    missing = [k for k in ("cell_type", "input_dim", "wordvec_dim", "hidden_dim") if k not in model]
    if missing:
        raise ValueError(f"{where}: 'model' lacks {', '.join(map(repr, missing))}")
    if model["cell_type"] not in ("rnn", "lstm"):
        raise ValueError(
            f"{where}: model cell_type must be 'rnn' or 'lstm', got {model['cell_type']!r}"
        )
    for key in ("input_dim", "wordvec_dim", "hidden_dim"):
        if not _is_int(model[key]) or model[key] < 1:
            raise ValueError(f"{where}: model {key} must be a positive integer, got {model[key]!r}")
    dtype = model.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"{where}: model dtype must be 'float32' or 'float64', got {dtype!r}")
    idx_to_word = meta["idx_to_word"]
    if not isinstance(idx_to_word, list):
        raise ValueError(f"{where}: idx_to_word must be a list of words")
    check_vocabulary(
        idx_to_word, {w: i for i, w in enumerate(idx_to_word) if isinstance(w, str)}, where
    )
    if "extra" in meta and not isinstance(meta["extra"], dict):
        raise ValueError(f"{where}: 'extra' must be an object")
    meta.setdefault("extra", {})
    config = {k: model[k] for k in ("cell_type", "input_dim", "wordvec_dim", "hidden_dim")}
    config["dtype"] = np.dtype(dtype).type
    return config, idx_to_word


def _check_model_memory(config, vocab_size, where):
    from .captioning_experiments import model_parameter_count
    from .io_utils import require_memory

    count = model_parameter_count(
        vocab_size,
        config["input_dim"],
        config["wordvec_dim"],
        config["hidden_dim"],
        config["cell_type"],
    )
    require_memory(count * 16, f"{where}: the model it describes ({count:,} parameters)")


def _check_array(npz_path, key, array, shape):
    if array.shape != tuple(shape):
        raise ValueError(
            f"{npz_path}: {key} has shape {array.shape}, the model needs {tuple(shape)}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{npz_path}: {key} must hold floats, got {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError(f"{npz_path}: {key} holds NaN or infinite values")


def _check_training(training, where, params):
    if not isinstance(training, dict):
        raise ValueError(f"{where}: 'training' must be an object")
    for key in ("epoch", "loss_history", "optim_scalars", "numpy_random_state"):
        if key not in training:
            raise ValueError(f"{where}: 'training' lacks {key!r}")
    history = training["loss_history"]
    if not isinstance(history, list) or not all(_is_number(x) for x in history):
        raise ValueError(f"{where}: training loss_history must be a list of numbers")
    epoch = training["epoch"]
    # Every epoch is at least one iteration, each with its loss.
    if not _is_int(epoch) or not 0 <= epoch <= len(history):
        raise ValueError(
            f"{where}: training epoch must be an integer from 0 to {len(history)} (the "
            f"iterations in loss_history), got {epoch!r}"
        )
    scalars = training["optim_scalars"]
    if not isinstance(scalars, dict) or not all(isinstance(v, dict) for v in scalars.values()):
        raise ValueError(f"{where}: training optim_scalars must map parameters to objects")
    if set(scalars) != set(params):
        raise ValueError(
            f"{where}: optimiser state for {sorted(scalars)}, the model has {sorted(params)}"
        )
    try:
        state = _decode_state(training["numpy_random_state"])
        np.random.RandomState().set_state(state)
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(
            f"{where}: training numpy_random_state is not a NumPy random state ({e})"
        ) from None


def _check_optim_state(optim_state, training, where):
    """The same state for every parameter; Adam's ``m``, ``v`` (non-negative) and ``t`` (a
    non-negative integer) together; the hyperparameters finite."""
    for name, config in optim_state.items():
        for key in ("learning_rate", "beta1", "beta2", "epsilon"):
            value = config.get(key, 0.0)
            if not _is_number(value) or not math.isfinite(value):
                raise ValueError(
                    f"{where}: optimiser {name}/{key} must be a finite number, got {value!r}"
                )
        if config.get("learning_rate", 0.0) < 0:
            raise ValueError(f"{where}: optimiser {name}/learning_rate is negative")
        if "t" in config and (not _is_int(config["t"]) or config["t"] < 0):
            raise ValueError(
                f"{where}: optimiser {name}/t must be a non-negative integer, got {config['t']!r}"
            )
        present = [k for k in ("m", "v", "t") if k in config]
        if present and len(present) < 3:
            missing = sorted({"m", "v", "t"} - set(present))
            raise ValueError(f"{where}: optimiser state {name}/{', '.join(missing)} is missing")
        for key in ("m", "v"):
            if key in config and not isinstance(config[key], np.ndarray):
                raise ValueError(f"{where}: optimiser state {name}/{key} must be an array")
        if "v" in config and (config["v"] < 0).any():
            raise ValueError(f"{where}: optimiser state {name}/v has negative values")
    first, *others = optim_state
    for name in others:
        if sorted(optim_state[name]) != sorted(optim_state[first]):
            raise ValueError(
                f"{where}: the optimiser state of {name} has {sorted(optim_state[name])}, that "
                f"of {first} {sorted(optim_state[first])}"
            )


def _encode_state(state):
    name, keys, pos, has_gauss, cached = state
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _decode_state(state):
    name, keys, pos, has_gauss, cached = state
    return name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached
