"""Captions of a whole data set by greedy, beam or temperature decoding, scored with the COCO
metrics (and semantic accuracy on the built-in set); the validation numbers after each epoch;
a page of captioned images."""

from __future__ import annotations

import time

import numpy as np

from ..coco_utils import decode_captions
from ..core import html
from . import decode
from .checkpoint import model_vocabulary
from .data import references_by_image, strip_tokens
from .metrics import coco_metrics
from .shapes import semantic_accuracy


def generate_captions(
    model, features, method="greedy", beam_size=3, temperature=1.0, max_length=16, seed=None
):
    """Word ids (N, max_length) from ``method`` "greedy", "beam" or "sample" (temperature)."""

    if method == "greedy":
        return decode.greedy(model, features, max_length)
    if method == "beam":
        return decode.beam_search(model, features, beam_size=beam_size, max_length=max_length)
    if method == "sample":
        return decode.sample_temperature(model, features, temperature, max_length, seed=seed)
    raise ValueError(f'method must be "greedy", "beam" or "sample", got {method!r}')


def caption_texts(model, captions):
    """The captions (N, T) word ids of ``model`` as text, without special tokens."""

    return [strip_tokens(t) for t in decode_captions(captions, model_vocabulary(model))]


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
    import io

    from PIL import Image

    cards = []
    for row in rows:
        image = row["image"]
        if isinstance(image, str):
            src = image
        else:  # embedded, enlarged without blurring: the built-in set's images are 32 px
            img = Image.fromarray(np.asarray(image, dtype=np.uint8))
            scale = max(1, 192 // max(img.size))
            img = img.resize((img.size[0] * scale, img.size[1] * scale), Image.NEAREST)
            buffer = io.BytesIO()
            img.save(buffer, format="PNG")
            src = html.data_url(buffer.getvalue())
        lines = []
        for method, text in row["generated"].items():
            verdict = row.get("verdicts", {}).get(method)
            mark = "" if verdict is None else (" ✓" if verdict else " ✗")
            lines.append(html.paragraph(html.bold(f"{method}:"), f" {text}{mark}"))
        captions = html.element(
            "div", *lines, html.paragraph("ground truth:"), html.bullet_list(row["references"])
        )
        cards.append(html.element("div", html.image(src, "image"), captions, class_="card"))
    return html.write_page(path, html.page(title, [html.join(cards)]))


def transformer_loss(model, features, captions, batch_size=500):
    """The course's loss of a CaptioningTransformer (masked cross-entropy averaged over every
    word position) on captions (N, T) of features (N, D), in eval mode, without gradients."""
    import torch

    from ..captioning_solver_transformer import transformer_temporal_softmax_loss

    device = model.output.weight.device
    total = 0.0
    with decode.decoding(model):
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

    report = {}
    n = min(max_captions, data["val_captions"].shape[0])
    if n:
        captions = data["val_captions"][:n]
        features = data["val_features"][data["val_image_idxs"][:n]]
        if decode.is_transformer(model):
            report["val_loss"] = transformer_loss(model, features, captions)
        else:
            report["val_loss"] = float(model.loss(features, captions)[0])
    if "val_scenes" in data:
        m = min(max_images, len(data["val_scenes"]))
        texts = caption_texts(model, model.sample(data["val_features"][:m], max_length=16))
        report["semantic_accuracy"] = semantic_accuracy(texts, data["val_scenes"][:m])
    return report
