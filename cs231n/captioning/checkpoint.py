"""Checkpoints of captioning models: ``NAME.npz`` (parameters, optimiser state, and a copy of
the metadata) plus ``NAME.json`` (model configuration, vocabulary, training progress, and the
SHA-256 of the ``NAME.npz`` it belongs to).

The two files cannot be renamed into place as one, so the ``.npz`` is complete on its own: it
is written first (atomically) and carries the metadata it belongs with; the JSON, written last,
is the readable copy and names the ``.npz`` by its digest. A save killed between the two renames
leaves a new ``.npz`` beside the previous JSON: loading sees that the digest differs and uses
the metadata inside the ``.npz``, so the parameters, the optimiser state and the progress
always come from one save. Everything loaded is checked (shapes, finite floats, a consistent
vocabulary, a sane training state, random states that can be restored) by the project's one
checkpoint mechanism (:mod:`cs231n.core.checkpoints`), and each problem is one error naming the
file.

Format ``cs231n-captioning/2``; ``cs231n-captioning/1`` checkpoints (no digest, no metadata in
the ``.npz``) still load.

The PyTorch ``CaptioningTransformer`` is saved as one file, ``NAME.pt`` (format
``cs231n-captioning-transformer/1``), renamed into place whole: the metadata (configuration,
vocabulary, progress, the caller's ``extra``), the weights, Adam's state, and the torch, CUDA
and NumPy random states, so that resuming continues exactly as an uninterrupted run.
:func:`load_captioner` loads either kind from ``NAME`` (or a file name), telling them apart by
the files present.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from pathlib import Path

import numpy as np

from .. import optim
from ..classifiers.rnn import CaptioningRNN
from ..coco_utils import check_vocabulary
from ..core.checkpoints import (
    check_array,
    check_cuda_rngs,
    check_model_size,
    check_numpy_rng,
    check_optimizer_state,
    check_state,
    check_torch_rng,
    check_zip,
)
from ..core.edition import edition_for, using_edition
from ..core.files import atomic_path
from .sizing import model_parameter_count, transformer_parameter_count

FORMAT = "cs231n-captioning/2"
FORMATS = ("cs231n-captioning/1", FORMAT)  # what load_checkpoint reads
META_KEY = "meta.json"  # the metadata inside the .npz, as UTF-8 bytes (uint8)


SUFFIXES = (".npz", ".json", ".pt")  # the files of a checkpoint NAME


def checkpoint_paths(path) -> tuple[Path, Path]:
    """``(NAME.npz, NAME.json)`` for ``NAME``, ``NAME.npz``, ``NAME.json`` or ``NAME.pt``."""
    name = checkpoint_name(path)
    return name.with_name(name.name + ".npz"), name.with_name(name.name + ".json")


def checkpoint_name(path) -> Path:
    """``NAME`` for ``NAME``, ``NAME.npz``, ``NAME.json`` or ``NAME.pt`` (what its lock is
    named after)."""
    path = Path(path)
    return path.with_suffix("") if path.suffix in SUFFIXES else path


def transformer_checkpoint_path(path) -> Path:
    """``NAME.pt``, the Transformer's checkpoint file, for ``NAME`` or any of its files."""
    name = checkpoint_name(path)
    return name.with_name(name.name + ".pt")


def checkpoint_kind(path):
    """Which checkpoint ``path`` names: "transformer" (``NAME.pt``), "rnn" (``NAME.npz`` +
    ``NAME.json``, an RNN or LSTM) or None when there is none. A name with its suffix is that
    kind; a bare ``NAME`` with both kinds beside it is ambiguous (ValueError)."""
    path = Path(path)
    if path.suffix == ".pt":
        return "transformer" if path.exists() else None
    if path.suffix in (".npz", ".json"):
        return "rnn" if checkpoint_exists(path) else None
    pt, rnn = transformer_checkpoint_path(path).exists(), checkpoint_exists(path)
    if pt and rnn:
        npz_path, json_path = checkpoint_paths(path)
        raise ValueError(
            f"{path}: both a Transformer checkpoint ({path}.pt) and an RNN/LSTM checkpoint "
            f"({npz_path.name} / {json_path.name}) are there; name one with its extension"
        )
    return "transformer" if pt else "rnn" if rnn else None


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
    check_state(
        npz_path,
        {k: v for k, v in arrays.items() if k.startswith("param/")},
        {f"param/{name}": value for name, value in model.params.items()},
        "array",
    )
    for name in model.params:
        model.params[name] = arrays[f"param/{name}"].astype(model.dtype, copy=False)

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
                check_array(
                    npz_path, f"array {key!r}", value, model.params[name].shape,
                    nonnegative=field == "v",
                )  # fmt: skip
                optim_state[name][field] = value.astype(model.dtype, copy=False)
        _check_optim_state(optim_state, training, f"{where} / {npz_path.name}")
    return model, meta, optim_state


def restore_solver(solver, meta, optim_state, where="checkpoint"):
    """Put a saved training state back into a freshly built solver (for resuming); ``where``
    names the checkpoint in errors.

    Raises ValueError when the state does not fit the solver's model (a parameter without its
    optimiser state, moments of the wrong shape, an impossible epoch, a random state that
    cannot be restored)."""
    training = meta["training"]
    random_state = _check_training(training, where, solver.model.params)
    params = solver.model.params
    if set(optim_state) != set(params):
        raise ValueError(
            f"{where}: optimiser state for {sorted(optim_state)}, the model has {sorted(params)}"
        )
    for name, config in optim_state.items():
        for key, value in config.items():
            if isinstance(value, np.ndarray):
                check_array(where, f"optimiser state {name}/{key}", value, params[name].shape)
    _check_optim_state(optim_state, training, where)
    if solver.update_rule is optim.adam and training["epoch"] > 0:
        steps = len(training["loss_history"])
        for name, config in optim_state.items():
            if any(k not in config for k in ("m", "v", "t")):
                raise ValueError(f"{where}: Adam's state m, v, t of {name} is missing")
            if config["t"] != steps:
                raise ValueError(
                    f"{where}: Adam's step count t of {name} is {config['t']}, but "
                    f"{steps} iterations were trained (loss_history)"
                )
    solver.epoch = training["epoch"]
    solver.loss_history = list(training["loss_history"])
    solver.optim_configs = optim_state
    np.random.set_state(random_state)


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
    # Every member's CRC (NumPy may stop before a member's end) and the unpacked size.
    check_zip(path, ".npz file")
    try:
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
    count = model_parameter_count(
        vocab_size,
        config["input_dim"],
        config["wordvec_dim"],
        config["hidden_dim"],
        config["cell_type"],
    )
    check_model_size(where, count)


def _check_training(training, where, params):
    """The saved progress and optimiser scalars fit ``params``; returns the NumPy random state,
    checked, as ``np.random.set_state`` takes it."""
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
    return check_numpy_rng(where, training["numpy_random_state"], "training numpy_random_state")


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
        for key in ("beta1", "beta2"):  # as torch's Adam has them: a beta of 1 divides by 0
            if key in config and not 0 <= config[key] < 1:
                raise ValueError(
                    f"{where}: optimiser {name}/{key} must be in [0, 1), got {config[key]!r}"
                )
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
    """``np.random.get_state()`` as JSON (read back by core.checkpoints.check_numpy_rng)."""
    name, keys, pos, has_gauss, cached = state
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


# ----------------------------------------------------------------------------------------------
# The captioning Transformer (PyTorch): one file, NAME.pt

TRANSFORMER_FORMAT = "cs231n-captioning-transformer/1"
TRANSFORMER_KEYS = ("format", "model", "idx_to_word", "extra", "model_state")
TRANSFORMER_CONFIG = ("input_dim", "wordvec_dim", "num_heads", "num_layers", "max_length")


def transformer_config(model) -> dict:
    """The keyword arguments that rebuild ``model`` (a CaptioningTransformer), its type, and
    the edition's choice of activation it was built with."""
    from ..transformer_layers import edition_choices

    return {
        "type": "transformer",
        "input_dim": int(model.visual_projection.in_features),
        "wordvec_dim": int(model.embedding.embedding_dim),
        "num_heads": int(model.transformer.layers[0].self_attn.n_head),
        "num_layers": len(model.transformer.layers),
        "max_length": int(model.max_length),
        # The edition's choice when the model was built (ReLU up to 2024, GELU after): a
        # checkpoint is rebuilt the same whatever edition is in force when it is loaded.
        "activation": edition_choices(model)["activation"],
    }


def model_vocabulary(model) -> list:
    """The words of a captioner, by index (``CaptioningRNN.idx_to_word`` or the inverse of
    ``CaptioningTransformer.word_to_idx``)."""
    if hasattr(model, "idx_to_word"):
        return [model.idx_to_word[i] for i in range(len(model.idx_to_word))]
    words = sorted(model.word_to_idx.items(), key=lambda item: item[1])
    return [w for w, _ in words]


def transformer_checkpoint_payload(model, solver=None, extra=None) -> dict:
    """What ``NAME.pt`` holds for a CaptioningTransformer: its configuration, vocabulary and
    weights; with ``solver`` (a ``CaptioningSolverTransformer``), also what an exact resume
    needs: Adam's state, the epoch, the loss history, and the torch, CUDA and NumPy random
    states. ``extra`` (plain data) is stored as is."""
    import torch

    payload = {
        "format": TRANSFORMER_FORMAT,
        "model": transformer_config(model),
        "idx_to_word": model_vocabulary(model),
        "extra": extra or {},
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    if solver is not None:
        payload["training"] = {
            "epoch": int(solver.epoch),
            "loss_history": [float(x) for x in solver.loss_history],
            "optimizer": solver.optim.state_dict(),
            "torch_rng_state": torch.get_rng_state(),
            "cuda_rng_states": (
                torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
            ),
            "numpy_random_state": _encode_state(np.random.get_state()),
        }
    return payload


def save_transformer_checkpoint(path, model, solver=None, extra=None) -> Path:
    """Save a CaptioningTransformer as ``NAME.pt`` (atomically: the file is whole or the
    previous one stays); see :func:`transformer_checkpoint_payload`. Returns the path."""
    import torch

    out = transformer_checkpoint_path(path)
    payload = transformer_checkpoint_payload(model, solver, extra)
    with atomic_path(out) as tmp:
        torch.save(payload, tmp)
    return out


def load_transformer_checkpoint(path):
    """``(model, meta, training)`` from ``NAME.pt``: the CaptioningTransformer (on the CPU, in
    eval mode), the metadata (``format``, ``model``, ``idx_to_word``, ``extra``, and
    ``training`` without its tensors: ``epoch``, ``loss_history``), and the saved training
    state (a dict for :func:`restore_transformer_solver`) or None.

    Raises FileNotFoundError when the file is missing and ValueError, naming the file, when it
    is damaged or inconsistent (truncated, not a checkpoint, a foreign pickle, weights that do
    not fit the configuration or are not finite, an optimiser state or random state that
    cannot be restored)."""
    import torch

    from ..classifiers.transformer import CaptioningTransformer
    from ..core.torch_utils import torch_load

    file = transformer_checkpoint_path(path)
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {file}")
    saved = torch_load(file, "captioning checkpoint")  # whole (every member's CRC) and in memory
    if not isinstance(saved, dict) or saved.get("format") != TRANSFORMER_FORMAT:
        found = saved.get("format") if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(
            f"{file}: not a captioning Transformer checkpoint (format {found!r}, expected "
            f"{TRANSFORMER_FORMAT!r})"
        )
    missing = [k for k in TRANSFORMER_KEYS if k not in saved]
    if missing:
        raise ValueError(f"{file}: missing key {missing[0]!r}")
    config = _check_transformer_config(saved["model"], file)
    idx_to_word = saved["idx_to_word"]
    if not isinstance(idx_to_word, list):
        raise ValueError(f"{file}: idx_to_word must be a list of words")
    word_to_idx = {w: i for i, w in enumerate(idx_to_word) if isinstance(w, str)}
    check_vocabulary(idx_to_word, word_to_idx, file)
    if not isinstance(saved["extra"], dict):
        raise ValueError(f"{file}: 'extra' must be a dictionary")
    check_model_size(file, transformer_parameter_count(len(idx_to_word), **config))

    with torch.random.fork_rng(devices=[]):  # building draws initial weights: not the caller's
        try:
            with using_edition(edition_for(saved["model"].get("activation", "gelu"))):
                model = CaptioningTransformer(word_to_idx, **config)
        except (ValueError, TypeError, RuntimeError) as e:
            raise ValueError(f"{file}: cannot build the model it describes ({e})") from None
    # Every weight the model has, of its shape, floats (load_state_dict would cast integers),
    # finite.
    state = saved["model_state"]
    check_state(file, state, model.state_dict(), "weight")
    model.load_state_dict(state)  # check_state made sure it fits
    model.eval()

    meta = {k: saved[k] for k in ("format", "model", "idx_to_word", "extra")}
    training = saved.get("training")
    if training is None:
        return model, meta, None
    _check_transformer_training(training, file, model)
    meta["training"] = {k: training[k] for k in ("epoch", "loss_history")}
    return model, meta, training


def _check_transformer_config(model, where) -> dict:
    if not isinstance(model, dict):
        raise ValueError(f"{where}: 'model' must be a dictionary, got {type(model).__name__}")
    if model.get("type") != "transformer":
        raise ValueError(f"{where}: model type must be 'transformer', got {model.get('type')!r}")
    missing = [k for k in TRANSFORMER_CONFIG if k not in model]
    if missing:
        raise ValueError(f"{where}: 'model' lacks {', '.join(map(repr, missing))}")
    for key in TRANSFORMER_CONFIG:
        if not _is_int(model[key]) or model[key] < 1:
            raise ValueError(f"{where}: model {key} must be a positive integer, got {model[key]!r}")
    if model["wordvec_dim"] % model["num_heads"]:
        raise ValueError(
            f"{where}: model wordvec_dim {model['wordvec_dim']} is not divisible by num_heads "
            f"{model['num_heads']}"
        )
    # Checkpoints written before the edition setting hold GELU models without saying so.
    if model.get("activation", "gelu") not in ("gelu", "relu"):
        raise ValueError(
            f'{where}: model activation must be "gelu" or "relu", got {model["activation"]!r}'
        )
    return {k: model[k] for k in TRANSFORMER_CONFIG}


def _check_transformer_training(training, where, model):
    """The saved training state can be restored: progress, Adam's state for these weights
    (its step count equal to the iterations trained), and valid random states, which it
    returns ({"torch", "cuda", "numpy"}, as their setters take them)."""

    if not isinstance(training, dict):
        raise ValueError(f"{where}: 'training' must be a dictionary")
    keys = ("epoch", "loss_history", "optimizer", "torch_rng_state", "numpy_random_state")
    for key in keys:
        if key not in training:
            raise ValueError(f"{where}: 'training' lacks {key!r}")
    history, epoch = training["loss_history"], training["epoch"]
    if not isinstance(history, list) or not all(
        _is_number(x) and math.isfinite(x) for x in history
    ):
        raise ValueError(f"{where}: training loss_history must be a list of finite numbers")
    if not _is_int(epoch) or not 0 <= epoch <= len(history):
        raise ValueError(
            f"{where}: training epoch must be an integer from 0 to {len(history)} (the "
            f"iterations in loss_history), got {epoch!r}"
        )
    optimizer = training["optimizer"]
    # Adam's state against these weights: a step count per parameter equal to the iterations
    # trained, moments of the parameters' shapes, finite, second moments non-negative.
    check_optimizer_state(
        where, optimizer, list(model.named_parameters()), len(history), "optimiser state"
    )
    return {
        "torch": check_torch_rng(where, training["torch_rng_state"], "training torch_rng_state"),
        "cuda": check_cuda_rngs(
            where, training.get("cuda_rng_states", []), "training cuda_rng_states"
        ),
        "numpy": check_numpy_rng(
            where, training["numpy_random_state"], "training numpy_random_state"
        ),
    }


def restore_transformer_solver(solver, training, where="checkpoint"):
    """Put a saved training state (from :func:`load_transformer_checkpoint`) back into a
    ``CaptioningSolverTransformer`` built on the loaded model: Adam's state, the epoch, the
    loss history and the random states; ``solver.train()`` then continues exactly."""
    import torch

    random_states = _check_transformer_training(training, where, solver.model)
    _set_cuda_rng_states(where, random_states["cuda"])
    solver.optim.load_state_dict(training["optimizer"])
    solver.epoch = int(training["epoch"])
    solver.loss_history = [float(x) for x in training["loss_history"]]
    torch.set_rng_state(random_states["torch"])
    np.random.set_state(random_states["numpy"])


def _set_cuda_rng_states(where, states):
    """The CUDA generators' saved states, restored on a machine with as many devices (else
    left as they are); one that CUDA refuses is one error naming the file."""
    import torch

    if states and torch.cuda.is_available() and len(states) == torch.cuda.device_count():
        try:
            torch.cuda.set_rng_state_all(states)
        except (RuntimeError, ValueError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(
                f"{where}: training cuda_rng_states is not a CUDA random state ({reason})"
            ) from None


def load_captioner(path):
    """``(model, meta)`` for any captioning checkpoint: a ``CaptioningRNN`` (RNN or LSTM) from
    ``NAME.npz`` + ``NAME.json`` or a ``CaptioningTransformer`` (CPU, eval mode) from
    ``NAME.pt``; ``path`` is ``NAME`` or one of its files. ``meta["model"]`` describes the
    model (``cell_type`` "rnn"/"lstm", or ``type`` "transformer"); ``meta["extra"]`` is what
    training stored (the data set, the hyperparameters, per-epoch reports).

    Raises FileNotFoundError naming the files looked for, and ValueError naming the file for a
    damaged checkpoint or an ambiguous name."""
    kind = checkpoint_kind(path)
    if kind is None:
        npz_path, json_path = checkpoint_paths(path)
        if Path(path).suffix == ".pt":
            raise FileNotFoundError(f"checkpoint file not found: {path}")
        if Path(path).suffix in (".npz", ".json"):
            return load_checkpoint(path)[:2]  # names the missing file
        raise FileNotFoundError(
            f"checkpoint file not found: {json_path} (RNN/LSTM) or "
            f"{transformer_checkpoint_path(path)} (Transformer)"
        )
    if kind == "transformer":
        return load_transformer_checkpoint(path)[:2]
    return load_checkpoint(path)[:2]


def model_description(meta) -> str:
    """ "RNN", "LSTM" or "Transformer": the model a checkpoint's metadata describes."""
    model = meta.get("model", {})
    if model.get("type") == "transformer":
        return "Transformer"
    return str(model.get("cell_type", "?")).upper()
