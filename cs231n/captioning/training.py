"""The assignment's captioning experiments as functions (used by the CLI and the tests), for the
three captioners: the NumPy ``CaptioningRNN`` with a vanilla RNN or an LSTM cell
(``cell_type`` "rnn" or "lstm") and the PyTorch ``CaptioningTransformer`` (``cell_type``
"transformer")."""

from __future__ import annotations

import numpy as np

from ..captioning_solver import CaptioningSolver
from ..classifiers.rnn import CaptioningRNN
from ..coco_utils import load_coco_vocab, random_caption_data
from ..core.config import data_path
from ..core.files import save_figure

MODEL_TYPES = ("rnn", "lstm", "transformer")

# The course's overfitting settings (RNN_Captioning / LSTM_Captioning / Transformer_Captioning
# notebooks): 50 captions, batch 25.
OVERFIT_DEFAULTS = {
    "rnn": {"lr_decay": 0.95, "num_epochs": 50, "learning_rate": 5e-3},
    "lstm": {"lr_decay": 0.995, "num_epochs": 50, "learning_rate": 5e-3},
    "transformer": {
        "num_epochs": 100,
        "learning_rate": 1e-3,
        "wordvec_dim": 256,
        "num_heads": 2,
        "num_layers": 2,
        "max_length": 30,
    },
}
# The size of the Transformer's feed-forward blocks (TransformerDecoderLayer's default, which
# CaptioningTransformer uses).
TRANSFORMER_FFN_DIM = 2048


def _check_model_type(cell_type):
    if cell_type not in MODEL_TYPES:
        raise ValueError(f'cell_type must be "rnn", "lstm" or "transformer", got {cell_type!r}')


def transformer_parameter_count(
    vocab_size, input_dim, wordvec_dim, num_heads=4, num_layers=2, max_length=50
):
    """How many numbers a CaptioningTransformer with these sizes holds (weights and biases;
    ``num_heads`` and ``max_length`` do not change it)."""
    V, D, W, L = (int(x) for x in (vocab_size, input_dim, wordvec_dim, num_layers))
    F = TRANSFORMER_FFN_DIM
    # Self- and cross-attention (4 linear maps each), the feed-forward block, 3 LayerNorms.
    per_layer = 2 * 4 * (W * W + W) + (W * F + F + F * W + W) + 3 * 2 * W
    return D * W + W + V * W + L * per_layer + W * V + V


def transformer_training_memory_bytes(
    vocab_size, input_dim, wordvec_dim, num_heads, num_layers, batch_size=100, length=17
):
    """A rough upper estimate of the memory training a CaptioningTransformer needs (float32):
    parameters, gradients and Adam's two moments, and one minibatch's activations (attention
    maps, feed-forward activations, word scores), kept for the backward pass."""
    params = transformer_parameter_count(vocab_size, input_dim, wordvec_dim, num_heads, num_layers)
    N, T, W = int(batch_size), int(length), int(wordvec_dim)
    per_position = int(num_layers) * (
        16 * W + 3 * TRANSFORMER_FFN_DIM + 3 * int(num_heads) * T
    ) + 3 * int(vocab_size)
    return 16 * params + 4 * N * T * per_position + 4 * N * int(input_dim)


def model_parameter_count(vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type="rnn"):
    """How many numbers a CaptioningRNN with these sizes holds."""
    gates = 4 if cell_type == "lstm" else 1
    V, D, W, H = (int(x) for x in (vocab_size, input_dim, wordvec_dim, hidden_dim))
    return V * W + D * H + H + (W + H + 1) * gates * H + H * V + V


def training_memory_bytes(
    vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type="rnn", batch_size=100, length=17
):
    """A rough upper estimate of the memory training needs: the parameters as built (float64,
    then float32), their gradients and Adam's two moments; and one minibatch's activations
    (embeddings, hidden states and gates, word scores and their softmax)."""
    params = model_parameter_count(vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type)
    gates = 4 if cell_type == "lstm" else 1
    per_step = wordvec_dim + (2 * gates + 4) * hidden_dim + 3 * vocab_size
    activations = 4 * int(batch_size) * int(length) * per_step + 4 * int(batch_size) * input_dim
    return 8 * params + 4 * params * 4 + 2 * activations


def check_training_size(data, hp, what=None):
    """Raise ValueError, before any work, when training a model with hyperparameters ``hp``
    (hidden_dim, wordvec_dim, cell_type, batch_size; for the Transformer wordvec_dim,
    num_heads, num_layers, batch_size) on ``data`` would not fit in memory."""
    from ..core.files import require_memory

    if hp.get("cell_type") == "transformer":
        nbytes = transformer_training_memory_bytes(
            len(data["idx_to_word"]),
            data["train_features"].shape[1],
            hp["wordvec_dim"],
            hp["num_heads"],
            hp["num_layers"],
            hp["batch_size"],
            data["train_captions"].shape[1],
        )
        what = what or (
            f"training a Transformer with wordvec_dim={hp['wordvec_dim']}, "
            f"num_layers={hp['num_layers']}, batch_size={hp['batch_size']}"
        )
        require_memory(nbytes, what)
        return
    nbytes = training_memory_bytes(
        len(data["idx_to_word"]),
        data["train_features"].shape[1],
        hp["wordvec_dim"],
        hp["hidden_dim"],
        hp["cell_type"],
        hp["batch_size"],
        data["train_captions"].shape[1],
    )
    what = what or (
        f"training with hidden_dim={hp['hidden_dim']}, wordvec_dim={hp['wordvec_dim']}, "
        f"batch_size={hp['batch_size']}"
    )
    require_memory(nbytes, what)


def check_caption_data(data, where="the data"):
    """What training relies on, for a data dict that did not come from load_coco_data (which
    checks its files): a consistent vocabulary, and finite features."""
    from ..coco_utils import all_finite, check_vocabulary

    for key in ("idx_to_word", "word_to_idx", "train_captions", "train_features"):
        if key not in data:
            raise KeyError(f"{where}: no {key!r}")
    check_vocabulary(data["idx_to_word"], data["word_to_idx"], where)
    for split in ("train", "val"):
        key = f"{split}_features"
        if key in data and not all_finite(data[key]):
            raise ValueError(f"{where}: {key} hold NaN or infinite values")


def small_caption_data(num_train=50, seed=231, data_root=None):
    """50 captions in the COCO format to overfit on, and a description of where they came from.

    Uses the real COCO vocabulary when ``coco2014_vocab.json`` is in the data directory; the
    features and captions are random (the COCO HDF5 files are not needed).
    """
    path = data_path("coco_captioning", "coco2014_vocab.json", data_root=data_root)
    if path.exists():
        vocab = load_coco_vocab(path)
        source = f"random captions over the COCO vocabulary ({path})"
    else:
        vocab = None
        source = "random captions over a placeholder 1004-word vocabulary"
    return random_caption_data(num_train=num_train, vocab=vocab, seed=seed), source


def overfit_small_data(
    cell_type="rnn",
    data=None,
    num_epochs=None,
    batch_size=25,
    learning_rate=None,
    lr_decay=None,
    hidden_dim=512,
    wordvec_dim=256,
    print_every=10,
    seed=231,
    verbose=True,
    progress=False,
    num_heads=None,
    num_layers=None,
    max_length=None,
    device=None,
):
    """Overfit a captioning model on a small data set, as the notebooks do.

    ``cell_type``: "rnn" or "lstm" (a NumPy CaptioningRNN: ``hidden_dim``, ``wordvec_dim``,
    Adam with ``lr_decay`` per epoch) or "transformer" (a PyTorch CaptioningTransformer:
    ``wordvec_dim``, ``num_heads``, ``num_layers``, ``max_length``, Adam on ``device``; the
    RNN's ``hidden_dim`` and ``lr_decay`` do not apply). None takes the course's value
    (:data:`OVERFIT_DEFAULTS`): 50 epochs at 5e-3 for the RNNs (decay 0.95 RNN, 0.995 LSTM);
    100 epochs at 1e-3, wordvec_dim 256, 2 heads, 2 layers, max_length 30 for the Transformer.
    ``data``: a COCO-format dict (default: :func:`small_caption_data`).

    Returns ``(model, solver)``; ``solver.loss_history`` holds the per-iteration losses (the
    Transformer's are averaged over every word position, as the course's solver does).
    """
    _check_model_type(cell_type)
    if data is None:
        data, _ = small_caption_data(seed=seed)
    given = dict(
        num_epochs=num_epochs,
        learning_rate=learning_rate,
        lr_decay=lr_decay,
        wordvec_dim=wordvec_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        max_length=max_length,
    )
    hp = {**OVERFIT_DEFAULTS[cell_type], **{k: v for k, v in given.items() if v is not None}}
    check_caption_data(data)
    hp.update(hidden_dim=hidden_dim, cell_type=cell_type, batch_size=batch_size)
    check_training_size(data, hp)
    if cell_type == "transformer":
        from ..captioning_solver_transformer import CaptioningSolverTransformer

        model = _new_transformer(data, hp, seed)
        solver = CaptioningSolverTransformer(
            model,
            data,
            idx_to_word=data["idx_to_word"],
            num_epochs=hp["num_epochs"],
            batch_size=batch_size,
            learning_rate=hp["learning_rate"],
            print_every=print_every,
            verbose=verbose,
            progress=progress,
            device=device,
        )
        solver.train()
        return model, solver
    np.random.seed(seed)
    model = CaptioningRNN(
        cell_type=cell_type,
        word_to_idx=data["word_to_idx"],
        input_dim=data["train_features"].shape[1],
        hidden_dim=hidden_dim,
        wordvec_dim=hp["wordvec_dim"],
        dtype=np.float32,
    )
    solver = CaptioningSolver(
        model,
        data,
        update_rule="adam",
        num_epochs=hp["num_epochs"],
        batch_size=batch_size,
        optim_config={"learning_rate": hp["learning_rate"]},
        lr_decay=hp["lr_decay"],
        verbose=verbose,
        print_every=print_every,
        progress=progress,
    )
    solver.train()
    return model, solver


def _new_transformer(data, hp, seed):
    """A CaptioningTransformer for ``data`` with ``hp``'s sizes, seeded as the course's
    notebook does (torch, then NumPy's global state, which draws the minibatches)."""
    import torch

    from ..classifiers.transformer import CaptioningTransformer

    length = data["train_captions"].shape[1] - 1  # the model reads captions[:, :-1]
    if hp["max_length"] < length:
        raise ValueError(
            f"max_length {hp['max_length']} is shorter than the captions the model reads "
            f"({length} words)"
        )
    torch.manual_seed(seed)
    np.random.seed(seed)
    return CaptioningTransformer(
        word_to_idx=data["word_to_idx"],
        input_dim=data["train_features"].shape[1],
        wordvec_dim=hp["wordvec_dim"],
        num_heads=hp["num_heads"],
        num_layers=hp["num_layers"],
        max_length=hp["max_length"],
    )


def plot_loss_curve(loss_history, path, title="Training loss history"):
    """Save the loss-per-iteration curve as an image (atomically); returns the path."""
    from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.subplots()
    ax.plot(np.arange(1, len(loss_history) + 1), loss_history)
    ax.set_xlabel("Iteration")
    ax.set_ylabel("Loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


# ----------------------------------------------------------------------------------------------
# Training, decoding and evaluating on a whole data set


def coco_available(data_root=None) -> bool:
    """Whether the course's COCO files are in the data directory."""
    from ..data.download import missing_files

    return not missing_files("coco", data_root=data_root)


def load_caption_data(
    source="auto", data_root=None, max_train=None, log=None, shapes_size=(4000, 500), seed=None
):
    """``(data, name)`` for ``source`` "coco" (the course's files), "builtin" (the Shapes data
    set, generated in the cache on first use) or "auto" (COCO when present, else the built-in
    set). ``shapes_size``: the built-in set's ``(num_train, num_val)`` images. ``max_train``
    captions are drawn with replacement, from ``seed`` when given (the same each time)."""
    from ..coco_utils import load_coco_data
    from . import shapes as shapes_captioning

    if source not in ("auto", "coco", "builtin"):
        raise ValueError(f'data source must be "auto", "coco" or "builtin", got {source!r}')
    if source == "coco" or (source == "auto" and coco_available(data_root)):
        folder = data_path("coco_captioning", data_root=data_root)
        return load_coco_data(folder, max_train, seed=seed), "coco"
    num_train, num_val = shapes_size
    data = shapes_captioning.load_data(
        max_train=max_train, num_train=num_train, num_val=num_val, log=log, sample_seed=seed
    )
    return data, "builtin"


def references_by_image(data, split="val"):
    """{image index: [ground-truth caption, ...]} for the images that have captions."""
    from ..coco_utils import decode_captions

    refs = {}
    texts = decode_captions(data[f"{split}_captions"], data["idx_to_word"])
    for idx, text in zip(data[f"{split}_image_idxs"], texts, strict=True):
        refs.setdefault(int(idx), []).append(_strip_tokens(text))
    return refs


def _strip_tokens(text):
    return " ".join(w for w in text.split() if w not in ("<START>", "<END>", "<NULL>"))


def generate_captions(
    model, features, method="greedy", beam_size=3, temperature=1.0, max_length=16, seed=None
):
    """Word ids (N, max_length) from ``method`` "greedy", "beam" or "sample" (temperature)."""
    from . import decode

    if method == "greedy":
        return decode.greedy(model, features, max_length)
    if method == "beam":
        return decode.beam_search(model, features, beam_size=beam_size, max_length=max_length)
    if method == "sample":
        return decode.sample_temperature(model, features, temperature, max_length, seed=seed)
    raise ValueError(f'method must be "greedy", "beam" or "sample", got {method!r}')


def caption_texts(model, captions):
    """The captions (N, T) word ids of ``model`` as text, without special tokens."""
    from ..coco_utils import decode_captions
    from .checkpoint import model_vocabulary

    return [_strip_tokens(t) for t in decode_captions(captions, model_vocabulary(model))]


def evaluate_captioner(
    model,
    data,
    split="val",
    methods=(("greedy", {}), ("beam", {"beam_size": 3})),
    max_images=None,
    max_length=16,
    batch_size=500,
    use_java=None,
):
    """Metrics for each decoding method on the ``split`` images that have captions.

    Returns {method label: {"metrics": {...}, "notes": [...], "semantic_accuracy": float (the
    built-in data set only), "seconds": float, "captions": {image: text}}}.
    """
    import time

    from .metrics import coco_metrics
    from .shapes import semantic_accuracy

    refs = references_by_image(data, split)
    images = sorted(refs)[:max_images]
    features = data[f"{split}_features"][images]
    results = {}
    for method, options in methods:
        label = method if method != "beam" else f"beam{options.get('beam_size', 3)}"
        start = time.perf_counter()
        texts = []
        for i in range(0, len(images), batch_size):
            ids = generate_captions(
                model, features[i : i + batch_size], method, max_length=max_length, **options
            )
            texts.extend(caption_texts(model, ids))
        seconds = time.perf_counter() - start
        candidates = dict(zip(images, texts, strict=True))
        metrics, notes = coco_metrics(candidates, {i: refs[i] for i in images}, use_java)
        entry = {"metrics": metrics, "notes": notes, "seconds": seconds, "captions": candidates}
        if f"{split}_scenes" in data:
            scenes = [data[f"{split}_scenes"][i] for i in images]
            entry["semantic_accuracy"] = semantic_accuracy(texts, scenes)
        results[label] = entry
    return results


def write_caption_page(path, rows, title="Generated captions"):
    """A self-contained HTML page: one card per image with its generated and true captions.

    rows: dicts with ``image`` (an (H, W, 3) uint8 array, embedded as PNG, or a URL string),
    ``generated`` ({method: caption}), ``references`` ([caption, ...]) and optionally
    ``verdicts`` ({method: bool}, shown as true/false for the built-in data set).
    """
    import base64
    import html
    import io as _io

    from PIL import Image

    from ..core.files import atomic_path

    cards = []
    for row in rows:
        image = row["image"]
        if isinstance(image, str):
            src = html.escape(image)
        else:
            img = Image.fromarray(np.asarray(image, dtype=np.uint8))
            scale = max(1, 192 // max(img.size))
            img = img.resize((img.size[0] * scale, img.size[1] * scale), Image.NEAREST)
            buffer = _io.BytesIO()
            img.save(buffer, format="PNG")
            src = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        lines = []
        for method, text in row["generated"].items():
            verdict = row.get("verdicts", {}).get(method)
            mark = "" if verdict is None else (" ✓" if verdict else " ✗")
            lines.append(f"<p><b>{html.escape(method)}:</b> {html.escape(text)}{mark}</p>")
        refs = "".join(f"<li>{html.escape(r)}</li>" for r in row["references"])
        cards.append(
            f'<div class="card"><img src="{src}" alt="image"><div>{"".join(lines)}'
            f"<p>ground truth:</p><ul>{refs}</ul></div></div>"
        )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} .card{{display:flex;gap:1em;margin:1em 0;
padding:1em;border:1px solid #ccc;border-radius:6px}} .card img{{width:192px;height:auto;
image-rendering:pixelated}} p{{margin:.2em 0}} ul{{margin:.2em 0;color:#555}}</style></head>
<body><h1>{html.escape(title)}</h1>{"".join(cards)}</body></html>
"""
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


TRAIN_DEFAULTS = {
    "cell_type": "lstm",
    "num_epochs": 10,
    "batch_size": 100,
    "learning_rate": 5e-3,
    "lr_decay": 0.95,
    "hidden_dim": 512,
    "wordvec_dim": 256,
}


def transformer_loss(model, features, captions, batch_size=500):
    """The course's loss of a CaptioningTransformer (masked cross-entropy averaged over every
    word position) on captions (N, T) of features (N, D), in eval mode, without gradients."""
    import torch

    from ..captioning_solver_transformer import transformer_temporal_softmax_loss
    from .decode import decoding

    device = model.output.weight.device
    total = 0.0
    with decoding(model):
        for i in range(0, len(captions), batch_size):
            chunk = torch.as_tensor(captions[i : i + batch_size], dtype=torch.long, device=device)
            feats = torch.as_tensor(
                np.asarray(features[i : i + batch_size], dtype=np.float32), device=device
            )
            scores = model(feats, chunk[:, :-1])
            target = chunk[:, 1:]
            loss = transformer_temporal_softmax_loss(scores, target, target != model._null)
            total += loss.item() * len(chunk)
    return total / len(captions)


def validation_report(model, data, max_captions=2000, max_images=300):
    """Quick numbers after an epoch: val loss on up to ``max_captions`` captions (in the
    model's own convention: summed over words for the RNNs, averaged over word positions for
    the Transformer, as their training losses are) and, on the built-in data set, the semantic
    accuracy of greedy captions for ``max_images`` images."""
    from .decode import is_transformer
    from .shapes import semantic_accuracy

    report = {}
    n = min(max_captions, data["val_captions"].shape[0])
    if n:
        captions = data["val_captions"][:n]
        features = data["val_features"][data["val_image_idxs"][:n]]
        if is_transformer(model):
            report["val_loss"] = transformer_loss(model, features, captions)
        else:
            report["val_loss"] = float(model.loss(features, captions)[0])
    if "val_scenes" in data:
        m = min(max_images, len(data["val_scenes"]))
        texts = caption_texts(model, model.sample(data["val_features"][:m], max_length=16))
        report["semantic_accuracy"] = semantic_accuracy(texts, data["val_scenes"][:m])
    return report


# `cs231n caption train --model transformer`: the course's solver defaults (Adam 1e-3, batch 100,
# 10 epochs) and its CaptioningTransformer defaults (4 heads, 2 layers, max_length 50), with
# 256-dimensional word vectors as for the RNNs.
TRANSFORMER_TRAIN_DEFAULTS = {
    "cell_type": "transformer",
    "num_epochs": 10,
    "batch_size": 100,
    "learning_rate": 1e-3,
    "wordvec_dim": 256,
    "num_heads": 4,
    "num_layers": 2,
    "max_length": 50,
}


def train_defaults(cell_type) -> dict:
    """The hyperparameters :func:`train_captioner` uses for ``cell_type`` unless told."""
    _check_model_type(cell_type)
    if cell_type == "transformer":
        return dict(TRANSFORMER_TRAIN_DEFAULTS)
    return {**TRAIN_DEFAULTS, "cell_type": cell_type}


def train_captioner(
    data,
    checkpoint=None,
    resume=False,
    seed=231,
    print_every=100,
    verbose=True,
    progress=True,
    extra=None,
    log=print,
    device=None,
    **hyper,
):
    """Train a captioner on a COCO-format data dict with Adam.

    ``cell_type`` (default "lstm") picks the model: "rnn" or "lstm", a NumPy CaptioningRNN
    (hyperparameters ``TRAIN_DEFAULTS``: num_epochs, batch_size, learning_rate, lr_decay,
    hidden_dim, wordvec_dim), or "transformer", a PyTorch CaptioningTransformer trained by
    CaptioningSolverTransformer on ``device`` (None: the GPU when there is one, else the CPU;
    hyperparameters ``TRANSFORMER_TRAIN_DEFAULTS``: num_epochs, batch_size, learning_rate,
    wordvec_dim, num_heads, num_layers, max_length). With ``checkpoint`` (a NAME) a checkpoint
    is saved atomically after every epoch (``NAME.npz`` + ``NAME.json`` for the RNNs,
    ``NAME.pt`` for the Transformer); with ``resume`` training continues exactly from it, as
    if it had not stopped. Returns ``(model, solver, reports)`` with one validation report per
    epoch (those of the resumed run included).
    """
    cell_type = hyper.get("cell_type", TRAIN_DEFAULTS["cell_type"])
    defaults = train_defaults(cell_type)
    unknown = set(hyper) - set(defaults)
    if unknown:
        raise ValueError(f"unknown hyperparameters for cell_type {cell_type!r}: {sorted(unknown)}")
    hp = {**defaults, **hyper}
    check_caption_data(data)
    check_training_size(data, hp)
    if cell_type == "transformer":

        def work(checkpoint, resume):
            return _train_transformer(
                data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log,
                device,
            )  # fmt: skip
    else:

        def work(checkpoint, resume):
            return _train(
                data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log
            )

    if checkpoint is None:
        return work(None, False)
    from ..core.files import output_lock
    from .checkpoint import checkpoint_name

    with output_lock(checkpoint_name(checkpoint)):  # one run per checkpoint at a time
        _check_checkpoint_kind(checkpoint, cell_type == "transformer")
        return work(checkpoint, resume)


def _check_checkpoint_kind(checkpoint, transformer):
    """Refuse to write one kind of checkpoint beside the other under the same NAME (loading
    NAME would then be ambiguous, and resuming would pick the wrong model)."""
    from .checkpoint import checkpoint_exists, checkpoint_paths, transformer_checkpoint_path

    pt = transformer_checkpoint_path(checkpoint)
    npz, json_path = checkpoint_paths(checkpoint)
    if transformer and checkpoint_exists(checkpoint):
        raise ValueError(
            f"{json_path} / {npz.name} hold an RNN/LSTM checkpoint: give the Transformer "
            f"another name (its checkpoint would be {pt.name} beside them)"
        )
    if not transformer and pt.exists():
        raise ValueError(
            f"{pt} holds a Transformer checkpoint: give the RNN/LSTM another name (its "
            f"checkpoint would be {json_path.name} / {npz.name} beside it)"
        )


def _saved_reports(meta, where):
    reports = meta["extra"].get("reports", [])
    if not (isinstance(reports, list) and all(isinstance(r, dict) for r in reports)):
        raise ValueError(f"{where}: cannot resume, extra.reports must be a list of objects")
    return list(reports)


def _report_logger(model, data, reports, save, verbose, log):
    """What runs after every epoch: a validation report, the checkpoint, a line of output."""

    def end_of_epoch(solver):
        report = {"epoch": solver.epoch, **validation_report(model, data)}
        reports.append(report)
        if save is not None:
            save(solver, reports)
        if verbose:
            shown = ", ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in report.items()
            )
            log(shown)

    return end_of_epoch


def _train_transformer(
    data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log, device
):
    """train_captioner's work for the Transformer, once the checkpoint is held."""
    from ..captioning_solver_transformer import CaptioningSolverTransformer
    from .checkpoint import (
        load_transformer_checkpoint,
        model_vocabulary,
        restore_transformer_solver,
        save_transformer_checkpoint,
        transformer_checkpoint_path,
    )

    training, reports = None, []
    where = transformer_checkpoint_path(checkpoint) if checkpoint is not None else None
    if resume and where is not None and where.exists():
        model, meta, training = load_transformer_checkpoint(where)
        if training is None:
            raise ValueError(f"{where}: cannot resume, it holds no training state")
        reports = _saved_reports(meta, where)
        saved = meta["model"]
        asked = {**hp, "input_dim": int(data["train_features"].shape[1])}
        keys = ("input_dim", "wordvec_dim", "num_heads", "num_layers", "max_length")
        clash = {k: (saved[k], asked[k]) for k in keys if saved[k] != asked[k]}
        if clash:
            raise ValueError(f"{where}: cannot resume, settings differ (saved, asked): {clash}")
        if model_vocabulary(model) != list(data["idx_to_word"]):
            raise ValueError(f"{where}: cannot resume, the vocabulary differs from the data's")
    else:
        model = _new_transformer(data, hp, seed)

    def save(solver, reports):
        extra_saved = {**(extra or {}), "hyper": hp, "reports": reports}
        save_transformer_checkpoint(checkpoint, model, solver, extra_saved)

    solver = CaptioningSolverTransformer(
        model,
        data,
        idx_to_word=data["idx_to_word"],
        learning_rate=hp["learning_rate"],
        batch_size=hp["batch_size"],
        num_epochs=hp["num_epochs"],
        print_every=print_every,
        verbose=verbose,
        progress=progress,
        device=device,
        on_epoch_end=_report_logger(
            model, data, reports, save if checkpoint is not None else None, verbose, log
        ),
    )
    if training is not None:
        restore_transformer_solver(solver, training, where)
    solver.train()
    return model, solver, reports


def _train(data, checkpoint, resume, seed, hp, extra, print_every, verbose, progress, log):
    """train_captioner's work, once its arguments are checked and the checkpoint is held."""
    from .checkpoint import checkpoint_exists, load_checkpoint, restore_solver, save_checkpoint

    state = None
    if resume and checkpoint is not None:
        if checkpoint_exists(checkpoint):
            model, meta, optim_state = load_checkpoint(checkpoint)
            saved = meta["extra"].get("hyper", {})
            saved_reports = meta["extra"].get("reports", [])
            if not isinstance(saved, dict) or not (
                isinstance(saved_reports, list) and all(isinstance(r, dict) for r in saved_reports)
            ):
                raise ValueError(
                    f"{checkpoint}: cannot resume, extra.hyper must be an object and "
                    "extra.reports a list of objects"
                )
            saved = {**saved, "input_dim": int(model.params["W_proj"].shape[0])}
            asked = {**hp, "input_dim": int(data["train_features"].shape[1])}
            clash = {
                k: (saved[k], asked[k])
                for k in ("cell_type", "hidden_dim", "wordvec_dim", "input_dim")
                if k in saved and saved[k] != asked[k]
            }
            if clash:
                raise ValueError(
                    f"{checkpoint}: cannot resume, settings differ (saved, asked): {clash}"
                )
            if model.idx_to_word != {i: w for i, w in enumerate(data["idx_to_word"])}:
                raise ValueError(
                    f"{checkpoint}: cannot resume, the vocabulary differs from the data's"
                )
            state = (meta, optim_state)
    if state is None:
        np.random.seed(seed)
        model = CaptioningRNN(
            data["word_to_idx"],
            input_dim=data["train_features"].shape[1],
            wordvec_dim=hp["wordvec_dim"],
            hidden_dim=hp["hidden_dim"],
            cell_type=hp["cell_type"],
        )
    reports = []

    def save(solver, reports):
        save_checkpoint(
            checkpoint, model, solver, {**(extra or {}), "hyper": hp, "reports": reports}
        )

    end_of_epoch = _report_logger(
        model, data, reports, save if checkpoint is not None else None, verbose, log
    )
    solver = CaptioningSolver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": hp["learning_rate"]},
        lr_decay=hp["lr_decay"],
        batch_size=hp["batch_size"],
        num_epochs=hp["num_epochs"],
        print_every=print_every,
        verbose=verbose,
        progress=progress,
        on_epoch_end=end_of_epoch,
    )
    if state is not None:
        restore_solver(solver, *state)
        reports.extend(state[0]["extra"].get("reports", []))
    solver.train()
    return model, solver, reports
