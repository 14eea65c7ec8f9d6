"""``cs231n demo``: every part of the assignment on the data this machine has, in one report.

Each part runs on its own; a part whose data is missing is reported (what is missing and how to
get it) and skipped, and the others still run. ``quick`` shrinks every part to a smoke test.
The report is ``OUT/index.html`` with its figures beside it in ``OUT/`` (a few MB: something to
mail or publish). The training runs (the GANs', SimCLR's and the DDPM's checkpoints, sample
grids, losses) go to a runs folder that the report names and links: ``runs``, else a folder in
the cache, one per report folder and mode (:func:`default_runs_dir`).
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from pathlib import Path

import numpy as np

# The captioning data is read as caption_data.load_caption_data (not imported by name) so
# that tests can replace it.
from ..captioning import data as caption_data
from ..captioning.data import coco_available, references_by_image
from ..captioning.evaluation import evaluate_captioner, write_caption_page
from ..captioning.training import plot_loss_curve, train_captioner
from ..core import html
from ..core.config import cache_key, cache_path, data_path
from ..core.files import atomic_path
from ..data import assets
from ..data.download import DownloadError
from ..data.mnist import load_mnist, torch_dataset
from ..data_utils import load_imagenet_val
from ..diffusion.settings import FASHION_CLASSES, TRAIN_DEFAULTS


class Section:
    """One part of the report: its blocks of HTML (text, tables, images, links; made by
    cs231n.core.html), plus timing and status."""

    def __init__(self, title):
        self.title = title
        self.blocks = []
        self.status = "ok"
        self.seconds = 0.0

    def text(self, text):
        self.blocks.append(html.paragraph(text))

    def table(self, header, rows):
        self.blocks.append(html.table(header, rows))

    def image(self, name, caption):
        self.blocks.append(html.figure(name, caption))

    def link(self, href, text):
        self.blocks.append(html.paragraph(html.link(href, text)))

    def to_html(self) -> html.Html:
        return html.section(self.title, self.blocks, note=f"({self.status}, {self.seconds:.0f} s)")


# Quick mode's captioning: a small Shapes set (generated in ~2 s, cached apart from the full
# one), one epoch of a small model, no Java (METEOR's start-up alone takes ~20 s per score).
QUICK_SHAPES = (600, 100)  # training and validation images
QUICK_CAPTION_HYPER = dict(num_epochs=1, hidden_dim=64, wordvec_dim=32, batch_size=50)
QUICK_TRANSFORMER_HYPER = dict(
    num_epochs=1, wordvec_dim=32, num_heads=2, num_layers=1, batch_size=50
)
# The full demo trains 4 epochs of the RNN and the LSTM (`cs231n caption train`: 10) and 1 of
# the Transformer (an iteration costs about 4 times an LSTM's on a 2-core CPU) so that the whole
# demo, its SSL and DDPM parts included, keeps to 15 minutes there with an empty cache.
FULL_CAPTION_EPOCHS = 4
FULL_TRANSFORMER_EPOCHS = 1  # ~100 s on a 2-core CPU (Shapes); `caption train` keeps 10
CAPTION_MODELS = {"lstm": "LSTM", "rnn": "RNN", "transformer": "Transformer"}


def caption_hyper(model, quick):
    """What the demo trains for ``model`` ("lstm", "rnn", "transformer"): train_captioner's
    hyperparameters."""
    if model == "transformer":
        hyper = QUICK_TRANSFORMER_HYPER if quick else {"num_epochs": FULL_TRANSFORMER_EPOCHS}
    else:
        hyper = QUICK_CAPTION_HYPER if quick else {"num_epochs": FULL_CAPTION_EPOCHS}
    return {"cell_type": model, **hyper}


def captioning(out, sec, quick, data_root, log, runs=None):
    data, name = caption_data.load_caption_data(
        "auto",
        data_root,
        # quick: 3000 of COCO's captions (drawn with replacement); the quick Shapes set has 3000
        max_train=3000 if quick and coco_available(data_root) else None,
        log=log,
        shapes_size=QUICK_SHAPES if quick else (4000, 500),
    )
    sec.text(
        f"Data: {name} ({data['train_captions'].shape[0]} training captions"
        + (f", {len(data['val_scenes'])} validation images" if "val_scenes" in data else "")
        + ")."
    )
    if quick:
        sec.text(
            "Quick mode: one epoch of small models; scored without METEOR (its Java start-up "
            "alone takes longer than the rest), captions tokenised in Python."
        )
    else:
        sec.text(
            f"{FULL_CAPTION_EPOCHS} epochs of the RNN and the LSTM, {FULL_TRANSFORMER_EPOCHS} "
            "of the Transformer (`cs231n caption train` trains 10: see the README's numbers), "
            "to keep the demo short on a CPU. The Transformer's loss is averaged over word "
            "positions (the course's), the RNNs' summed over words."
        )
    rows = []
    for cell, model_name in CAPTION_MODELS.items():
        start = time.perf_counter()
        model, solver, _ = train_captioner(
            data, verbose=False, progress=not quick, **caption_hyper(cell, quick)
        )
        seconds = time.perf_counter() - start
        plot_loss_curve(
            solver.loss_history, out / f"caption_{cell}_loss.png", f"{model_name} training loss"
        )
        results = evaluate_captioner(
            model, data, max_images=50 if quick else 500, use_java=False if quick else None
        )
        for label, r in results.items():
            m = r["metrics"]
            rows.append(
                [
                    model_name,
                    label,
                    seconds,
                    m["Bleu_1"],
                    m["Bleu_4"],
                    m.get("METEOR", "-"),
                    m["ROUGE_L"],
                    m["CIDEr"],
                    r.get("semantic_accuracy", "-"),
                ]
            )
        sec.image(f"caption_{cell}_loss.png", f"{model_name}: training loss")
        if cell == "lstm":
            sample = sorted(results["greedy"]["captions"])[:8]
            refs = references_by_image(data, "val")
            page_rows = [
                {
                    "image": data["val_images"][i]
                    if "val_images" in data
                    else str(data["val_urls"][i]),
                    "generated": {k: v["captions"][i] for k, v in results.items()},
                    "references": refs[i],
                }
                for i in sample
            ]
            write_caption_page(out / "captions.html", page_rows, "LSTM captions (validation)")
            sec.link("captions.html", "Captions of 8 validation images, with the images")
        notes = {
            n for r in results.values() for n in r["notes"] if not (quick and "METEOR skipped" in n)
        }
        for note in notes:
            sec.text(f"Note: {note}")
    sec.table(
        [
            "model",
            "decoding",
            "train s",
            "BLEU-1",
            "BLEU-4",
            "METEOR",
            "ROUGE-L",
            "CIDEr",
            "semantic acc.",
        ],
        rows,
    )


def network_visualization(out, sec, quick, data_root, log, runs=None):
    import torch

    from ..net_visualization_pytorch import class_visualization, deprocess, fool, preprocess
    from ..pretrained.squeezenet import load_model
    from ..vision.attribution import METHODS, attribute
    from ..vision.figures import fooling_figure, image_figure, saliency_figure

    model = load_model("DEFAULT", data_root, None)
    X, y, names = load_imagenet_val(num=5, data_root=data_root)
    x = torch.cat([preprocess(img, size=None) for img in X])
    methods = ["gradient", "grad-cam"] if quick else list(METHODS)
    maps = {m: attribute(m, model, x, torch.from_numpy(y)).cpu().numpy() for m in methods}
    saliency_figure(out / "saliency.png", X, maps, [names[int(c)].split(",")[0] for c in y])
    sec.image("saliency.png", "Saliency maps (rows: " + ", ".join(methods) + ")")
    result = fool(model, x[:1], torch.tensor([6]), max_iterations=100)
    fooled = np.asarray(deprocess(result.images[:1].cpu(), should_rescale=False))
    fooling_figure(out / "fooling.png", X[0], fooled, [names[int(y[0])].split(",")[0], names[6]])
    sec.image(
        "fooling.png",
        f"Fooling image 0 as class 6 (stingray): {'success' if result.success[0] else 'failed'} "
        f"after {int(result.iterations[0])} steps, L2 {float(result.l2[0]):.2f}",
    )
    rows = []
    for target in (76, 78, 113):
        img, p = class_visualization(
            target,
            model,
            num_iterations=10 if quick else 100,
            generator=torch.Generator().manual_seed(0),
            size=112 if quick else 224,  # quick: a quarter of the pixels to push through
        )
        image_figure(
            out / f"class_{target}.png", img, f"{names[target].split(',')[0]} (p = {p:.2f})"
        )
        sec.image(f"class_{target}.png", f"Class visualization {target}: {names[target]}")
        rows.append([target, names[target], p])
    sec.table(["class", "name", "probability reached"], rows)


def style_transfer(out, sec, quick, data_root, log, runs=None):
    from ..style_transfer_pytorch import PRESETS, default_cnn, preset_arguments, transfer

    cnn = default_cnn(None, data_root)
    content = data_path("styles", "tubingen.jpg", data_root=data_root)
    rows = []
    for name in ("composition_vii", "the_scream", "starry_night", "feature_inversion"):
        args = preset_arguments(name)
        if quick:
            args["style_size"] = 64
        start = time.perf_counter()
        result = transfer(
            content,
            [data_path("styles", PRESETS[name]["style_image"], data_root=data_root)],
            cnn=cnn,
            image_size=64 if quick else 192,
            iterations=10 if quick else 200,
            **args,
        )
        seconds = time.perf_counter() - start
        with atomic_path(out / f"style_{name}.png") as tmp:
            result.pil().save(tmp)
        sec.image(f"style_{name}.png", name.replace("_", " "))
        last = result.losses[-1]
        rows.append([name, seconds, last["content"], last["style"], last["tv"]])
    sec.table(["preset", "seconds", "content loss", "style loss", "TV loss"], rows)


def gans(out, sec, quick, data_root, log, runs=None):
    """The GANs: each trained in its own run folder under ``runs`` (default:
    :func:`default_runs_dir`), its final sample grid copied into the report."""
    from ..gan.metrics import GeneratorScorer
    from ..gan.training import load_generator, train

    images, _ = load_mnist("fashion-mnist", "train", data_root)
    if quick:
        images = images[:512]
    x = torch_dataset(images).tensors[0]
    schedule = (
        {"gan fc": 1, "lsgan fc": 1, "gan dc": 1}
        if quick
        else {"gan fc": 4, "lsgan fc": 4, "gan dc": 1}
    )
    sec.text(
        "Epochs: "
        + ", ".join(f"{k} {v}" for k, v in schedule.items())
        + (
            " (the course trains 10, 10 and 5; `cs231n gan train` keeps that schedule; the demo "
            "trains fewer to keep the whole demo within 15 minutes on a 2-core CPU)"
            if not quick
            else " (quick mode)"
        )
    )
    runs = Path(runs) if runs is not None else default_runs_dir(out, quick)
    log(f"   GAN runs (outside the report): {runs / 'gan'}")
    rows, folders = [], []
    scorer = None
    for spec, epochs in schedule.items():
        loss, arch = spec.split()
        run = runs / "gan" / f"{arch}_{loss}"
        folders.append((spec, run))
        start = time.perf_counter()
        train(run, x, loss=loss, arch=arch, epochs=epochs, resume=False)
        seconds = time.perf_counter() - start
        shutil.copy(run / "samples" / "final.png", out / f"gan_{arch}_{loss}.png")
        sec.image(f"gan_{arch}_{loss}.png", f"{loss} / {arch} after {epochs} epoch(s)")
        if scorer is None:  # loaded (or trained, once) for the first GAN, reused for the rest
            scorer = GeneratorScorer(
                "fashion-mnist",
                data_root,
                samples=200 if quick else 2000,
                log=log,
                classifier="quick" if quick else "full",
            )
        scores = scorer.score(load_generator(run)[0])
        rows.append(
            [
                f"{loss} {arch}",
                epochs,
                seconds,
                scores["fid_generated_vs_test"],
                scores["fid_train_vs_test_floor"],
                scores["classifier_test_accuracy"],
            ]
        )
    sec.table(
        [
            "model",
            "epochs",
            "seconds",
            "Fréchet distance",
            "floor (real vs real)",
            "classifier accuracy",
        ],
        rows,
    )
    # The runs stay out of the report folder (their checkpoints are ~99% of its weight), so
    # the report names where they are: a link, and the path itself for a copied report.
    sec.text(
        "The run folders (checkpoint, sample grids, losses; `cs231n gan sample` reads them) "
        "are kept outside this report:"
    )
    sec.blocks.append(
        html.bullet_list(
            [
                html.join([f"{spec}: ", html.link(run.resolve().as_uri(), str(run.resolve()))])
                for spec, run in folders
            ]
        )
    )
    if scorer is not None:
        sec.text(_scoring_classifier_text(scorer.info))


def _scoring_classifier_text(info):
    """Which classifier scored the GANs, in words (its features define the Fréchet distance)."""
    c1, c2 = info["channels"]
    text = (
        f"Scored with the {info['kind']} scoring classifier (SmallCNN, {c1}/{c2} channels, "
        f"{info['hidden']}-d features; {info['epochs']} epoch(s) on {info['train_images']} "
        f"training images): test accuracy {info['test_accuracy']:.1%}."
    )
    if info["kind"] != "full":
        text += (
            " Its Fréchet distances are not comparable with the full classifier's (the one "
            "behind the README's numbers, 88.0% test accuracy)."
        )
    return text


# The self-supervised part: the course's SimCLR (loss and training loop) on Fashion-MNIST, then
# the weighted kNN and the linear probe of `cs231n ssl evaluate` against the random-init encoder
# and the raw pixels; the supervised baseline is left out (it trains as long as SimCLR did, so
# it would double the part's time). Quick: `cs231n ssl train --quick`'s network (width 8) for 8
# steps on 256 images, a smoke test; full: the default network (width 16) for 184 steps of 128
# pairs (0.44-0.51 s a step on an idle 2-core CPU in the README's runs: about 2 minutes with the
# evaluation), where `cs231n ssl train` trains 1560 steps (20000 images x 10 epochs, 680 s).
QUICK_SSL = {
    "train": {"max_images": 256, "width": 8, "epochs": 2, "batch_size": 64},
    "test_images": 200,
    "probe_iterations": 50,
}
FULL_SSL = {
    "train": {"max_images": 6000, "width": 16, "epochs": 4, "batch_size": 128},
    "test_images": 2000,
    "probe_iterations": 200,
}


def self_supervised(out, sec, quick, data_root, log, runs=None):
    """SimCLR on Fashion-MNIST: pretrained in its own run folder under ``runs`` (default:
    :func:`default_runs_dir`) by :func:`cs231n.ssl.training.train_ssl`, measured by
    :func:`cs231n.ssl.evaluation.evaluate` without the supervised baseline; its table, loss
    curve, neighbours and embedding figures in the report."""
    from ..ssl.evaluation import evaluate
    from ..ssl.training import DEFAULTS, load_ssl_data, parameter_count, train_ssl

    plan = QUICK_SSL if quick else FULL_SSL
    config = {**DEFAULTS, **plan["train"]}
    runs = Path(runs) if runs is not None else default_runs_dir(out, quick)
    run = runs / "ssl" / "fashion_mnist"
    log(f"   SSL run (outside the report): {run}")
    data = load_ssl_data("fashion-mnist", data_root, config["max_images"])
    trainer = train_ssl(run, config, data=data, resume=False, progress=not quick)
    results = evaluate(
        run,
        data=data,
        test_images=plan["test_images"],
        probe_iterations=plan["probe_iterations"],
        supervised=False,
    )
    enc = results["encoders"]
    sec.text(
        f"SimCLR (the course's contrastive loss, τ = {config['temperature']:g}, and training "
        f"loop) pretrained a small ResNet (width {config['width']}, "
        f"{parameter_count(trainer.model) / 1e6:.2f} M parameters, 32×32 input) on the first "
        f"{results['train_images']} Fashion-MNIST training images: {config['epochs']} epochs of "
        f"{config['batch_size']} pairs, {trainer.seconds:.0f} s"
        + (" (quick mode: a smoke test of the pipeline)." if quick else ".")
        + f" Then the frozen encoder was measured on {results['test_images']} test images by "
        f"the course's weighted kNN (k = {results['knn']['k']}, every training image in the "
        f"bank) and by a linear probe fitted on {results['labelled_images']} labels (10%), "
        "against the same encoder randomly initialised (the course's baseline) and the raw "
        "pixels. The supervised baseline (the same network trained with those labels for as "
        "long) is left out here to keep the demo short: `cs231n ssl evaluate RUN` measures it. "
        "The README has the full-length run's numbers (`cs231n ssl train`: 20000 images × 10 "
        "epochs)."
    )
    probe = {k: enc[k]["linear_probe_top1"] for k in enc}
    sec.text(
        f"SimCLR's linear probe: {probe['simclr'] - probe['random']:+.1f} points against the "
        f"random encoder, {probe['simclr'] - probe['pixels']:+.1f} against the raw pixels"
        + (
            " (a smoke test: too short to learn anything)."
            if quick
            else " (a short run: the README's 11-minute one beats the pixels by 2 points, its "
            "random encoder by 10.7)."
        )
    )
    names = {"simclr": "SimCLR", "random": "random init", "pixels": "raw pixels"}
    sec.table(
        ["encoder", "kNN top-1 %", "kNN top-5 %", "linear probe %", "features + scoring s"],
        [
            [
                label,
                enc[k]["knn_top1"],
                enc[k]["knn_top5"],
                enc[k]["linear_probe_top1"],
                enc[k]["seconds"],
            ]
            for k, label in names.items()
        ],
    )
    for name, caption in (
        ("loss", "The contrastive loss (NT-Xent) per epoch"),
        ("neighbours", "Test images (query) and their nearest training images: in the SimCLR "
         "space (left) and in pixel space (right)"),
        ("embedding", "The test images' features projected to 2-D (PCA), coloured by class: "
         "SimCLR, random initialisation, pixels"),
    ):  # fmt: skip
        shutil.copy(run / f"{name}.png", out / f"ssl_{name}.png")
        sec.image(f"ssl_{name}.png", caption)
    sec.text(
        "The run folder (checkpoint, losses, evaluation.json; `cs231n ssl evaluate` reads it):"
    )
    sec.blocks.append(html.bullet_list([html.link(run.resolve().as_uri(), str(run.resolve()))]))


# The diffusion part: the course's DDPM on Fashion-MNIST, class-conditioned. Quick: the tiny
# smoke-test model (`cs231n diffusion train --quick`) for a few steps on a slice, scored by the
# quick classifier; full: a few minutes of the default U-Net (`cs231n diffusion train` trains
# it longer: see the README's numbers), scored by DDIM with and without guidance as the
# GANs are (the same classifier and sample count).
QUICK_DIFFUSION = {
    "model": {"dim": 8, "dim_mults": [1, 2], "timesteps": 10},
    "train": {"steps": 10, "batch_size": 16, "max_images": 256},
    "samples": 100,
    "per_class": 2,
    "rows": [("ddim", 5, None)],
}
# Full: ~1 s a training step and ~0.1 s a sampling step of 250 images on an idle 2-core CPU
# (width 16), so a few minutes; DDIM in 10 steps keeps the 2000 samples (the GANs' count, so
# the Fréchet distances compare) to about a minute per row.
FULL_DIFFUSION = {
    "model": {"dim": 16, "dim_mults": [1, 2, 4], "timesteps": 100},
    "train": {"steps": 300, "batch_size": 64, "max_images": None},
    "samples": 2000,
    "per_class": 8,
    # one scored row (guided: the better of the two; each row is ~25-50 s of sampling)
    "rows": [("ddim", 10, 2.0)],
}
DIFFUSION_GUIDANCE = 2.0  # the guided sample grid's scale w


def diffusion(out, sec, quick, data_root, log, runs=None):
    """The course's DDPM on Fashion-MNIST: trained in its own run folder under ``runs``
    (default: :func:`default_runs_dir`), sample grids (one row per class) without and with
    classifier-free guidance, a denoising trajectory, and the scores of ``cs231n diffusion
    score`` (the GANs' scorer) for the samplers of ``rows``."""
    import torch

    from ..diffusion.sampling import generate, trajectory_frames
    from ..diffusion.scoring import score_diffusion
    from ..diffusion.training import save_grid, train
    from ..pretrained.domain_classifier import DomainScorer

    plan = QUICK_DIFFUSION if quick else FULL_DIFFUSION
    model, steps = plan["model"], plan["train"]["steps"]
    runs = Path(runs) if runs is not None else default_runs_dir(out, quick)
    run = runs / "diffusion" / "fashion_mnist"
    log(f"   diffusion run (outside the report): {run}")
    sec.text(
        f"The course's U-Net DDPM (width {model['dim']}, levels {model['dim_mults']}, "
        f"{model['timesteps']} diffusion steps), class-conditioned on Fashion-MNIST (a one-hot "
        f"label in the text embedding's place), {steps} training steps of "
        f"{plan['train']['batch_size']} images"
        + (
            " (quick mode: a smoke test of the pipeline; the samples are noise)."
            if quick
            else (
                ". So few steps show the pipeline, not recognisable garments (a Fréchet "
                "distance of about 570 here); `cs231n diffusion train --data fashion-mnist` "
                f"trains {TRAIN_DEFAULTS['steps']} (13 minutes on a 2-core CPU), whose samples "
                "and scores are in the README."
            )
        )
    )
    start = time.perf_counter()
    trainer = train(
        run,
        "fashion-mnist",
        model=model,
        save_every=steps,
        sample_every=10**9,
        resume=False,
        data_root=data_root,
        **plan["train"],
    )
    seconds = time.perf_counter() - start
    diffusion_model = trainer.diffusion_model.eval()
    per_class = plan["per_class"]
    labels = torch.arange(10).repeat_interleave(per_class)
    cond = torch.nn.functional.one_hot(labels, 10).float()
    sampler, sample_steps, _ = plan["rows"][0]
    for name, scale in (("plain", None), ("guided", DIFFUSION_GUIDANCE)):
        images = generate(diffusion_model, cond, len(cond), scale, sampler, sample_steps)
        save_grid(images, out / f"diffusion_{name}.png", nrow=per_class)
        sec.image(
            f"diffusion_{name}.png",
            f"{sampler.upper()} in {sample_steps} steps, "
            + ("no guidance" if scale is None else f"guidance w = {scale:g}")
            + f"; one row per class: {', '.join(FASHION_CLASSES)}",
        )
    trajectory = generate(diffusion_model, cond[::per_class][:4], 4, trajectory=True)
    frames, columns = trajectory_frames(trajectory)
    save_grid(frames, out / "diffusion_trajectory.png", nrow=columns)
    sec.image(
        "diffusion_trajectory.png",
        f"The ancestral sampler's trajectory over {model['timesteps']} steps, from noise "
        f"(left) to the image: {', '.join(FASHION_CLASSES[:4])}",
    )
    scorer = DomainScorer(
        "fashion-mnist",
        data_root,
        samples=plan["samples"],
        log=log,
        classifier="quick" if quick else "full",
    )
    rows = []
    for sampler, sample_steps, scale in plan["rows"]:
        s = score_diffusion(diffusion_model, scorer, sampler, sample_steps, scale)
        rows.append(
            [
                sampler,
                sample_steps,
                "-" if scale is None else scale,
                seconds,
                s["sampling_seconds"],
                s["fid_generated_vs_test"],
                s["kid_generated_vs_test"],
                s["fid_train_vs_test_floor"],
                s["generated_class_accuracy"],
            ]
        )
    sec.table(
        [
            "sampler",
            "steps",
            "guidance",
            "train s",
            "sampling s",
            "Fréchet distance",
            "KID",
            "floor (real vs real)",
            "class recognised",
        ],
        rows,
    )
    sec.text(
        f"Scored as the GANs, on {plan['samples']} class-balanced samples: "
        + _scoring_classifier_text(scorer.info)
    )
    sec.text("The run folder (checkpoint, losses; `cs231n diffusion sample` reads it):")
    sec.blocks.append(html.bullet_list([html.link(run.resolve().as_uri(), str(run.resolve()))]))


# (title, function, the assets it needs: names in cs231n.data.assets.ASSETS)
PARTS = [
    ("Image captioning (RNN and LSTM in NumPy, Transformer in PyTorch)", captioning, ()),
    ("Network visualization (SqueezeNet)", network_visualization, ("squeezenet", "imagenet-val")),
    ("Style transfer", style_transfer, ("squeezenet", "styles")),
    ("GANs (Fashion-MNIST)", gans, ("fashion-mnist",)),
    ("Self-supervised learning (SimCLR, Fashion-MNIST)", self_supervised, ("fashion-mnist",)),
    ("Diffusion (DDPM, Fashion-MNIST)", diffusion, ("fashion-mnist",)),
]
DEMO_ASSETS = tuple(dict.fromkeys(name for *_, needs in PARTS for name in needs))


def prepare_assets(data_root=None, fetch=False, mirror=None, log=print):
    """Fetch the demo's missing assets (when ``fetch``); returns ``(missing, notes)``: the names
    still missing and one line per failed fetch.

    Fetching stops at the first download that fails: on a machine without a connection the
    others would fail the same way, each after its own wait."""
    missing = [n for n in DEMO_ASSETS if assets.locate(n, data_root) is None]
    notes = []
    if fetch and missing:
        log(f"Fetching what the demo needs: {', '.join(missing)}")
        for name in list(missing):
            try:
                assets.fetch(name, data_root, mirror=mirror, log=log)
            except (DownloadError, PermissionError) as e:
                notes.append(f"{name}: {e}")
                break
            missing.remove(name)
    return missing, notes


def missing_assets_block(missing, data_root=None) -> str:
    """The message for assets the demo lacks: each asset, what uses it, and the one command."""
    width = max(len(n) for n in missing)
    lines = ["Missing data (the parts that need it are skipped):"]
    lines += [
        f"  {n:<{width}}  {assets.ASSETS[n].description}; used by {assets.ASSETS[n].used_by}"
        for n in missing
    ]
    lines += ["Fetch it with one command:", "  " + assets.download_command(missing, data_root)]
    return "\n".join(lines)


def default_runs_dir(out, quick) -> Path:
    """Where the demo's training runs go unless told: ``CACHE/demo_runs/KEY``, KEY from the
    report folder's absolute path and the mode, so that two reports never share runs (two
    demos at once would otherwise be refused each other's run folders)."""
    key = cache_key(report=str(Path(out).resolve()), quick=bool(quick))
    return cache_path("demo_runs", key)


def run_demo(
    out="report", quick=False, data_root=None, log=print, fetch=False, mirror=None, runs=None
):
    """Run every part; write OUT/index.html; return (path, sections).

    ``fetch``: download the missing assets first (:func:`prepare_assets`); without it, or when
    that fails, the parts whose assets are missing are skipped and both the log and the report
    name each missing asset and the one command that fetches them. ``runs``: the folder for
    the training runs (checkpoints), outside the report unless asked (default:
    :func:`default_runs_dir`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(runs) if runs is not None else default_runs_dir(out, quick)
    missing, notes = prepare_assets(data_root, fetch, mirror, log)
    sections = []
    notice = None
    if missing:
        notice = "\n".join([*notes, missing_assets_block(missing, data_root)])
        log(notice)
    for title, part, needs in PARTS:
        sec = Section(title)
        log(f"== {title}")
        start = time.perf_counter()
        lacking = [n for n in needs if n in missing]
        try:
            if lacking:
                command = assets.download_command(lacking, data_root)
                raise FileNotFoundError(f"missing {', '.join(lacking)} (fetch: {command})")
            part(out, sec, quick, data_root, log, runs)
        except (FileNotFoundError, ImportError) as e:
            sec.status = "skipped"
            sec.text(f"Skipped: {e}.")
            log(f"   skipped: {e}")
        except Exception as e:  # one broken part must not lose the others
            sec.status = "failed"
            sec.blocks.append(html.preformatted(traceback.format_exc()))
            log(f"   failed: {e!r}")
        sec.seconds = time.perf_counter() - start
        log(f"   {sec.status} in {sec.seconds:.0f} s")
        sections.append(sec)
    path = write_report(out, sections, quick, notice)
    return path, sections


# Sets the page's title once it has loaded: "images-ok N", or "images-broken" and the images
# that did not load (what a headless browser reports in the tests).
IMAGE_CHECK = html.Html("""<script>
window.addEventListener("load", function () {
  var imgs = Array.from(document.images);
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; });
  document.title = broken.length ? "images-broken " + broken.map(function (i) { return i.src; }).join(" ")
                                 : "images-ok " + imgs.length;
});
</script>""")


def write_report(out, sections, quick, notice=None):
    """OUT/index.html: one section per part; ``notice`` (plain text, e.g. the missing data)
    shown first."""
    parts = [html.preformatted(notice, class_="notice")] if notice else []
    parts += [sec.to_html() for sec in sections]
    summary = json.dumps(
        {s.title: {"status": s.status, "seconds": round(s.seconds, 1)} for s in sections}
    )
    page = html.page(
        "cs231n-a3 report",
        [html.join(parts), IMAGE_CHECK, html.comment(f"summary: {summary}")],
        heading=f"cs231n-a3: the whole assignment{' (quick mode)' if quick else ''}",
    )
    return html.write_page(out / "index.html", page)
