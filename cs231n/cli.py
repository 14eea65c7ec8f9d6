"""The ``cs231n`` command line: a thin layer over the package's API."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import __version__
from .config import DATA_ENV_VAR, data_dir, default_data_dir
from .download import DATASETS, asset_status, fetch_dataset, missing_files


class UserError(Exception):
    """A problem the user can fix. Like the library's own input errors, it is printed as one
    line with exit status 2 (set CS231N_DEBUG=1 for the traceback)."""


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _add_data_dir(parser):
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"data directory (default: ${DATA_ENV_VAR}, else {default_data_dir()})",
    )


def _add_output(parser, default, metavar, help):
    """The ``-o/--output`` option every command that writes a file has."""
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None if default is None else Path(default),
        metavar=metavar,
        help=help,
    )


def _add_device(parser):
    parser.add_argument(
        "--device", default=None, help="torch device (default: cuda when available, else cpu)"
    )


def _writable_output(path) -> Path:
    """Fail before hours of work, not after: the output's folder must be creatable."""
    path = Path(path)
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UserError(f"cannot write {path}: {parent} is not a writable folder")
    return path


def cmd_caption_overfit(args) -> int:
    from .captioning_experiments import overfit_small_data, plot_loss_curve, small_caption_data

    out = _writable_output(args.output or f"caption_overfit_{args.cell}.png")
    data, source = small_caption_data(
        num_train=args.num_train, seed=args.seed, data_root=args.data_dir
    )
    print(
        f"Overfitting a {args.cell.upper()} captioning model on {args.num_train} captions: {source}"
    )
    start = time.perf_counter()
    _, solver = overfit_small_data(
        cell_type=args.cell,
        data=data,
        num_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        lr_decay=args.lr_decay,
        hidden_dim=args.hidden_dim,
        wordvec_dim=args.wordvec_dim,
        print_every=args.print_every,
        seed=args.seed,
        verbose=not args.quiet,
        progress=not args.quiet,
    )
    seconds = time.perf_counter() - start
    plot_loss_curve(
        solver.loss_history, out, title=f"{args.cell.upper()} overfitting: loss per iteration"
    )
    history = solver.loss_history
    print(
        f"Final loss: {history[-1]:.6f} after {len(history)} iterations "
        f"(first {history[0]:.4f}; {seconds:.1f} s)"
    )
    print(f"Loss curve saved to {out}")
    return 0


def _describe_data(data, name):
    return (
        f"{name} data: {data['train_captions'].shape[0]} training captions of "
        f"{data['train_features'].shape[0]} images, {data['val_captions'].shape[0]} validation "
        f"captions, vocabulary {len(data['idx_to_word'])}, features {data['train_features'].shape[1]}"
    )


def cmd_caption_train(args) -> int:
    from tqdm.auto import tqdm

    from .captioning_experiments import load_caption_data, plot_loss_curve, train_captioner

    checkpoint = Path(args.checkpoint or f"caption_{args.cell}")
    _writable_output(checkpoint.with_suffix(".json"))
    data, name = load_caption_data(args.data, args.data_dir, args.max_train, log=print)
    print(_describe_data(data, name))
    start = time.perf_counter()
    model, solver, reports = train_captioner(
        data,
        checkpoint=checkpoint,
        resume=args.resume,
        seed=args.seed,
        print_every=args.print_every,
        verbose=not args.quiet,
        progress=not args.quiet,
        extra={"data": name, "max_train": args.max_train},
        log=tqdm.write,
        cell_type=args.cell,
        num_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        lr_decay=args.lr_decay,
        hidden_dim=args.hidden_dim,
        wordvec_dim=args.wordvec_dim,
    )
    seconds = time.perf_counter() - start
    curve = plot_loss_curve(
        solver.loss_history,
        Path(f"{checkpoint.with_suffix('')}_loss.png"),
        title=f"{args.cell.upper()} on {name}: training loss",
    )
    last = reports[-1] if reports else {}
    summary = ", ".join(f"{k} {v:.4f}" for k, v in last.items() if isinstance(v, float))
    print(f"Trained {solver.epoch} epochs in {seconds:.0f} s; {summary}")
    print(f"Checkpoint: {checkpoint}.npz / .json; loss curve: {curve}")
    return 0


def _load_for_checkpoint(args):
    from .captioning_checkpoint import load_checkpoint
    from .captioning_experiments import load_caption_data

    model, meta, _ = load_checkpoint(args.checkpoint)
    source = args.data or meta["extra"].get("data", "auto")
    data, name = load_caption_data(source, args.data_dir, log=print)
    if [model.idx_to_word[i] for i in range(len(model.idx_to_word))] != list(data["idx_to_word"]):
        raise UserError(
            f"{args.checkpoint} was trained with another vocabulary than the {name} data's "
            "(pass --data to choose the data set)"
        )
    return model, data, name


def _decoding_methods(args):
    if args.temperature is not None:
        return [("sample", {"temperature": args.temperature, "seed": args.seed})]
    if args.beam_size > 1:
        return [("beam", {"beam_size": args.beam_size})]
    return [("greedy", {})]


def cmd_caption_sample(args) -> int:
    import numpy as np

    from .captioning_experiments import (
        caption_texts,
        generate_captions,
        references_by_image,
        write_caption_page,
    )
    from .shapes_captioning import caption_is_true

    out = _writable_output(args.output)
    model, data, name = _load_for_checkpoint(args)
    refs = references_by_image(data, args.split)
    candidates = sorted(refs)
    rng = np.random.default_rng(args.seed)
    images = sorted(rng.choice(candidates, size=min(args.num, len(candidates)), replace=False))
    features = data[f"{args.split}_features"][images]
    rows = [{"generated": {}, "references": refs[i], "verdicts": {}} for i in images]
    for method, options in [("greedy", {})] + [
        m for m in _decoding_methods(args) if m[0] != "greedy"
    ]:
        label = method if method != "beam" else f"beam {options['beam_size']}"
        texts = caption_texts(model, generate_captions(model, features, method, **options))
        for row, i, text in zip(rows, images, texts, strict=True):
            row["generated"][label] = text
            if f"{args.split}_scenes" in data:
                row["verdicts"][label] = caption_is_true(
                    text.split(), data[f"{args.split}_scenes"][i]
                )
    for row, i in zip(rows, images, strict=True):
        key = f"{args.split}_images"
        row["image"] = data[key][i] if key in data else str(data[f"{args.split}_urls"][i])
        print(f"[{args.split} image {i}]")
        for label, text in row["generated"].items():
            verdict = row["verdicts"].get(label)
            mark = "" if verdict is None else ("  (true)" if verdict else "  (false)")
            print(f"  {label:>8}: {text}{mark}")
        print(f"  {'truth':>8}: {row['references'][0]}")
    write_caption_page(out, rows, title=f"Captions from {args.checkpoint} on {name} {args.split}")
    print(f"Page with images saved to {out}")
    return 0


def cmd_caption_evaluate(args) -> int:
    import json

    from .captioning_experiments import evaluate_captioner
    from .io_utils import atomic_path

    model, data, name = _load_for_checkpoint(args)
    methods = [("greedy", {}), ("beam", {"beam_size": args.beam_size})]
    results = evaluate_captioner(model, data, args.split, methods, max_images=args.max_images)
    metric_names = list(next(iter(results.values()))["metrics"])
    has_semantic = any("semantic_accuracy" in r for r in results.values())
    header = f"{'':10s}" + "".join(f"{m:>9s}" for m in metric_names)
    header += f"{'semantic':>10s}" * has_semantic + f"{'seconds':>9s}"
    print(f"{name} {args.split}: {len(next(iter(results.values()))['captions'])} images")
    print(header)
    for label, r in results.items():
        line = f"{label:10s}" + "".join(f"{r['metrics'][m]:9.4f}" for m in metric_names)
        if has_semantic:
            line += f"{r['semantic_accuracy']:10.4f}"
        print(line + f"{r['seconds']:9.1f}")
    for note in {n for r in results.values() for n in r["notes"]}:
        print(f"note: {note}")
    if args.output:
        out = _writable_output(args.output)
        summary = {
            label: {k: v for k, v in r.items() if k != "captions"} for label, r in results.items()
        }
        with atomic_path(out) as tmp:
            tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        print(f"Results saved to {out}")
    return 0


def _vision_setup(args):
    from .net_visualization_cli import class_names, load_model

    names = class_names(args.data_dir)
    model = load_model(args.weights or "DEFAULT", args.data_dir, args.device)
    return model, names


def _load_inputs(specs, data_root):
    """Images from files or ``val:K`` (image K of the course's imagenet_val_25.npz). Returns the
    batch, the uint8 crops, labels (None for files) and display names."""
    import numpy as np
    import torch

    from .net_visualization_cli import load_images
    from .net_visualization_pytorch import preprocess

    batch_parts, crops, labels, shown = [], [], [], []
    if any(s.startswith("val:") for s in specs):
        from .data_utils import load_imagenet_val

        X, y, _ = load_imagenet_val(data_root=data_root)
    for spec in specs:
        if spec.startswith("val:"):
            k = int(spec[4:])
            if not 0 <= k < len(X):
                raise UserError(f"{spec}: imagenet_val_25 has images 0..{len(X) - 1}")
            batch_parts.append(preprocess(X[k], size=None))
            crops.append(X[k])
            labels.append(int(y[k]))
            shown.append(spec)
        else:
            b, c = load_images([spec])
            batch_parts.append(b)
            crops.append(c[0])
            labels.append(None)
            shown.append(Path(spec).name)
    return torch.cat(batch_parts), np.stack(crops), labels, shown


def cmd_saliency(args) -> int:
    import torch

    from .attribution import METHODS, attribute
    from .net_visualization_cli import resolve_class, saliency_figure, top_prediction

    out = _writable_output(args.output)
    model, names = _vision_setup(args)
    X, crops, labels, shown = _load_inputs(args.images, args.data_dir)
    predictions = top_prediction(model, X, names)
    if args.target is not None:
        targets = [resolve_class(args.target, names)] * len(shown)
    else:  # the true label when known, else the predicted class
        targets = [
            lab if lab is not None else pred[0]
            for lab, pred in zip(labels, predictions, strict=True)
        ]
    methods = list(METHODS) if args.method == "all" else [args.method]
    maps = {}
    for method in methods:
        start = time.perf_counter()
        maps[method] = attribute(method, model, X, torch.tensor(targets)).cpu().numpy()
        print(f"{method}: {time.perf_counter() - start:.2f} s for {len(shown)} image(s)")
    titles = []
    for name, target, (_, pred_name, prob) in zip(shown, targets, predictions, strict=True):
        print(
            f"{name}: predicted {pred_name} ({prob:.1%}); map for class {target} ({names[target]})"
        )
        titles.append(
            f"{names[target].split(',')[0]}\n(pred. {pred_name.split(',')[0]} {prob:.0%})"
        )
    saliency_figure(out, crops, maps, titles)
    print(f"Figure saved to {out}")
    return 0


def cmd_fool(args) -> int:
    import numpy as np
    import torch

    from .net_visualization_cli import fooling_figure, resolve_class, top_prediction
    from .net_visualization_pytorch import deprocess, fool, pick_targets

    out = _writable_output(args.output)
    model, names = _vision_setup(args)
    X, crops, _, shown = _load_inputs([args.image], args.data_dir)
    generator = torch.Generator().manual_seed(args.seed)
    if args.target in ("random", "least-likely"):
        target = pick_targets(model, X, args.target, generator)
    else:
        target = torch.tensor([resolve_class(args.target, names)])
    before = top_prediction(model, X, names)[0]
    result = fool(model, X, target, max_iterations=args.max_iterations, objective=args.objective)
    after = top_prediction(model, result.images, names)[0]
    t = int(result.targets[0])
    status = "fooled" if result.success[0] else "NOT fooled"
    print(f"{shown[0]}: predicted {before[1]} ({before[2]:.1%}); target {t} ({names[t]})")
    print(
        f"{status} after {int(result.iterations[0])} iterations: now {after[1]} ({after[2]:.1%}); "
        f"perturbation L2 {float(result.l2[0]):.3f}, Linf {float(result.linf[0]):.3f} "
        "(normalised pixels)"
    )
    fooled = np.asarray(deprocess(result.images[:1].cpu(), should_rescale=False))
    fooling_figure(
        out,
        crops[0],
        fooled,
        [
            f"{before[1].split(',')[0]} ({before[2]:.0%})",
            f"{after[1].split(',')[0]} ({after[2]:.0%})",
        ],
    )
    print(f"Figure saved to {out}")
    return 0 if result.success[0] else 1


def cmd_visualize_class(args) -> int:
    import torch

    from .net_visualization_cli import image_figure, resolve_class
    from .net_visualization_pytorch import class_visualization

    out = _writable_output(args.output)
    model, names = _vision_setup(args)
    target = resolve_class(args.target, names)
    from tqdm.auto import tqdm

    bar = tqdm(total=args.iterations, desc=names[target].split(",")[0], disable=args.quiet)
    img, probability = class_visualization(
        target,
        model,
        l2_reg=args.l2_reg,
        learning_rate=args.learning_rate,
        num_iterations=args.iterations,
        callback=lambda t, img: bar.update(1),
        generator=torch.Generator().manual_seed(args.seed),
    )
    bar.close()
    print(
        f"Class {target} ({names[target]}): probability {probability:.1%} after {args.iterations} iterations"
    )
    image_figure(out, img, f"{names[target].split(',')[0]} (p = {probability:.2f})")
    print(f"Figure saved to {out}")
    return 0


def _save_image(pil_image, path):
    from .io_utils import atomic_path

    with atomic_path(path) as tmp:
        pil_image.save(tmp)
    return path


def _check_inputs(paths):
    """Missing or unreadable images are reported before the model is loaded."""
    from .image_utils import load_image

    for path in paths:
        load_image(path)


def _check_size(value, name="--size"):
    if not 32 <= value <= 4096:
        raise UserError(f"{name} {value}: use 32 to 4096 pixels (larger outputs: add --scales)")


def _run_transfer(args, content, styles, out, **settings):
    from tqdm.auto import tqdm

    from .style_transfer_pytorch import default_cnn, transfer

    cnn = default_cnn(args.device, args.data_dir)
    bar = tqdm(
        total=settings["iterations"] * 1, desc="style", disable=args.quiet, dynamic_ncols=True
    )

    def progress(t, terms):
        if bar.n >= bar.total:
            bar.reset()
        bar.update(1)
        bar.set_postfix({k: f"{v:.3g}" for k, v in terms.items()})

    start = time.perf_counter()
    try:
        result = transfer(content, styles, cnn=cnn, callback=progress, **settings)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    _save_image(result.pil(), out)
    stem = out.with_suffix("")
    for t, img in result.intermediates:
        from .net_visualization_pytorch import deprocess

        _save_image(deprocess(img.cpu(), should_rescale=False), Path(f"{stem}_{t:04d}{out.suffix}"))
    last = result.losses[-1]
    terms = ", ".join(f"{k} {v:.4g}" for k, v in last.items())
    print(f"{len(result.losses)} iterations in {seconds:.1f} s; final losses: {terms}")
    if result.intermediates:
        print(f"Intermediate images: {stem}_NNNN{out.suffix} ({len(result.intermediates)})")
    print(f"Image saved to {out}")
    return 0


def cmd_style(args) -> int:
    from .style_transfer_pytorch import preset_arguments

    out = _writable_output(args.output)
    _check_inputs([args.content, *args.styles])
    settings = preset_arguments(args.preset)
    settings.pop("init_random", None)
    size = args.size or 192
    _check_size(size)
    if args.style_size:
        _check_size(args.style_size, "--style-size")
        settings["style_size"] = args.style_size
    if args.content_weight is not None:
        settings["content_weight"] = args.content_weight
    settings["style_weights"] = tuple(w * args.style_scale for w in settings["style_weights"])
    if args.style_weights and len(args.style_weights) != len(args.styles):
        raise UserError(
            f"--style-weights has {len(args.style_weights)} values for {len(args.styles)} style images"
        )
    print(
        f"Content {args.content}; style {', '.join(args.styles)}; preset {args.preset}; {size} px"
    )
    return _run_transfer(
        args,
        args.content,
        args.styles,
        out,
        image_size=size,
        iterations=args.iterations,
        optimizer=args.optimizer,
        style_blend=args.style_weights,
        preserve_colors=args.preserve_colors,
        scales=args.scales,
        save_every=args.save_every,
        init_random=args.init == "random",
        seed=args.seed,
        **settings,
    )


def cmd_invert(args) -> int:
    from .style_transfer_pytorch import preset_arguments

    out = _writable_output(args.output)
    _check_inputs([args.image])
    settings = preset_arguments("feature_inversion")
    size = args.size or 192
    _check_size(size)
    settings["content_layer"] = args.layer
    print(f"Reconstructing {args.image} from SqueezeNet layer {args.layer} features, from noise")
    return _run_transfer(
        args,
        args.image,
        [args.image],
        out,
        image_size=size,
        iterations=args.iterations,
        optimizer=args.optimizer,
        save_every=args.save_every,
        seed=args.seed,
        **settings,
    )


def _torch_device(name):
    from .models import default_device

    return name if name is not None else str(default_device())


def cmd_gan_train(args) -> int:
    from tqdm.auto import tqdm

    from .gan_training import train
    from .mnist_data import load_mnist, torch_dataset

    run_dir = _writable_output(Path(args.output) / "config.json").parent
    images, _ = load_mnist(args.dataset, "train", args.data_dir)
    if args.max_images:
        images = images[: args.max_images]
    x = torch_dataset(images).tensors[0]
    print(
        f"{args.loss} GAN, {args.arch} networks, {len(x)} {args.dataset} images, {args.epochs} epochs -> {run_dir}"
    )
    per_epoch = len(x) // args.batch_size
    bar = tqdm(total=args.epochs * per_epoch, desc="gan", disable=args.quiet, dynamic_ncols=True)

    def progress(it, d, g):
        bar.n = it + 1
        bar.set_postfix_str(f"D: {d:.4f} G: {g:.4f}", refresh=False)
        bar.update(0)

    start = time.perf_counter()
    try:
        history = train(
            run_dir,
            x,
            loss=args.loss,
            arch=args.arch,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            sample_every=args.sample_every,
            spectral_norm=args.spectral_norm,
            device=args.device or "cpu",
            callback=progress,
            resume=not args.restart,
        )
    finally:
        bar.close()
    d, g = history[-1] if history else (float("nan"), float("nan"))
    print(f"Done in {time.perf_counter() - start:.0f} s; last D: {d:.4f} G: {g:.4f}")
    print(f"Samples: {run_dir / 'samples'}; checkpoint: {run_dir / 'checkpoint.pt'}")
    return 0


def cmd_gan_sample(args) -> int:
    from .gan_training import generate, load_generator, save_grid

    out = _writable_output(args.output)
    G, config = load_generator(args.run_dir, _torch_device(args.device))
    save_grid(
        generate(G, args.n, seed=args.seed).numpy(), out, f"{config['loss']} / {config['arch']}"
    )
    print(f"{args.n} samples saved to {out}")
    return 0


def cmd_gan_score(args) -> int:
    import json

    from .gan_metrics import score_generator
    from .gan_training import load_generator

    G, config = load_generator(args.run_dir, _torch_device(args.device))
    scores = score_generator(G, args.dataset, args.data_dir, samples=args.samples, seed=args.seed)
    print(
        f"{config['loss']} / {config['arch']}: classifier test accuracy "
        f"{scores['classifier_test_accuracy']:.1%}; Fréchet distance generated vs test "
        f"{scores['fid_generated_vs_test']:.2f} (real train vs test: "
        f"{scores['fid_train_vs_test_floor']:.2f}), {scores['samples']} samples each"
    )
    from .io_utils import atomic_path

    with atomic_path(Path(args.run_dir) / "scores.json") as tmp:
        tmp.write_text(json.dumps(scores, indent=2))
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    out = _writable_output(Path(args.output) / "index.html").parent
    start = time.perf_counter()
    path, sections = run_demo(out, quick=args.quick, data_root=args.data_dir)
    ran = [s for s in sections if s.status == "ok"]
    print(
        f"Report: {path.resolve()} ({len(ran)} of {len(sections)} parts ran, "
        f"{time.perf_counter() - start:.0f} s)"
    )
    return 0 if ran else 1


def cmd_data_download(args) -> int:
    if args.name in ("mnist", "fashion-mnist"):
        from .mnist_data import fetch_mnist

        mirrors = [args.url.rstrip("/") + "/"] if args.url else None
        folder = fetch_mnist(args.name, args.data_dir, progress=not args.quiet, mirrors=mirrors)
        print(f"{args.name}: ready in {folder}")
        return 0
    spec = DATASETS[args.name]
    root = data_dir(args.data_dir)
    folder = root / spec["folder"]
    if not missing_files(args.name, root):
        print(f"{args.name}: already present in {folder}")
        return 0
    archive = root / spec["archive"]
    if archive.is_file():  # fetch_dataset unpacks it without downloading
        print(f"Unpacking {archive}")
    else:
        print(f"Downloading {args.url or spec['url']} into {root}")
    fetch_dataset(
        args.name, root, url=args.url, progress=not args.quiet, keep_archive=args.keep_archive
    )
    print(f"{args.name}: ready in {folder}")
    return 0


def cmd_data_path(args) -> int:
    root = Path(os.path.abspath(data_dir(args.data_dir)))
    # The path alone on the first line, for scripts (`cs231n data path | sed -n 1p`).
    print(root)
    if not root.is_dir():
        print("  (the folder does not exist yet)")
    for name, present, optional in asset_status(root):
        print(f"  {'present' if present else 'missing'}  {name}{' (optional)' if optional else ''}")
    for name in DATASETS:
        if missing_files(name, root):
            print(f"Run `cs231n data download {name}` to fetch the missing {name} files.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cs231n",
        description="Stanford CS231n Assignment 3 as software: image captioning with RNNs and "
        "LSTMs (NumPy), network visualization, style transfer and GANs (PyTorch).",
        epilog=f"Data (COCO features, pretrained weights, images) is looked up in ${DATA_ENV_VAR} "
        "(default: a per-user cache folder). Run `cs231n COMMAND --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    caption = commands.add_parser(
        "caption",
        help="image captioning with RNNs and LSTMs (NumPy)",
        description="Image captioning with vanilla RNNs and LSTMs, written in NumPy.",
    )
    caption_commands = caption.add_subparsers(dest="caption_command", metavar="SUBCOMMAND")
    overfit = caption_commands.add_parser(
        "overfit",
        help="overfit a captioning model on 50 captions (the assignment's sanity check)",
        description="Train a captioning model on 50 training captions with the assignment's "
        "settings (Adam, learning rate 5e-3, batch 25, 50 epochs, hidden 512, word vectors 256) "
        "until it memorises them; prints the loss and saves a loss-curve image. A correct model "
        "ends below 0.1 (RNN) or 0.5 (LSTM).",
    )
    overfit.add_argument(
        "--cell",
        choices=["rnn", "lstm"],
        default="rnn",
        help="recurrent cell (default: %(default)s)",
    )
    overfit.add_argument(
        "--epochs", type=_positive_int, default=50, help="training epochs (default: %(default)s)"
    )
    overfit.add_argument(
        "--batch-size", type=_positive_int, default=25, help="minibatch size (default: %(default)s)"
    )
    overfit.add_argument(
        "--lr", type=_positive_float, default=5e-3, help="Adam learning rate (default: %(default)s)"
    )
    overfit.add_argument(
        "--lr-decay",
        type=_positive_float,
        default=None,
        help="learning-rate decay per epoch (default: 0.95 RNN, 0.995 LSTM)",
    )
    overfit.add_argument(
        "--hidden-dim", type=_positive_int, default=512, help="hidden size H (default: %(default)s)"
    )
    overfit.add_argument(
        "--wordvec-dim",
        type=_positive_int,
        default=256,
        help="word-vector size W (default: %(default)s)",
    )
    overfit.add_argument(
        "--num-train",
        type=_positive_int,
        default=50,
        help="training captions to memorise (default: %(default)s)",
    )
    overfit.add_argument(
        "--print-every",
        type=_positive_int,
        default=10,
        help="print the loss every N iterations (default: %(default)s)",
    )
    overfit.add_argument("--seed", type=int, default=231, help="random seed (default: %(default)s)")
    _add_output(overfit, None, "PNG", "loss-curve image (default: caption_overfit_CELL.png)")
    overfit.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar or per-iteration losses"
    )
    _add_data_dir(overfit)
    overfit.set_defaults(func=cmd_caption_overfit)

    train = caption_commands.add_parser(
        "train",
        help="train a captioning model on COCO or the built-in Shapes data",
        description="Train a captioning RNN/LSTM with Adam. Uses the course's COCO data when it "
        "is in the data directory, else the built-in Shapes data set (generated on first use, "
        "no download). Saves a checkpoint after every epoch (NAME.npz + NAME.json), prints the "
        "validation loss (and, on Shapes, the semantic accuracy of greedy captions), and writes "
        "NAME_loss.png.",
    )
    train.add_argument(
        "--cell",
        choices=["rnn", "lstm"],
        default="lstm",
        help="recurrent cell (default: %(default)s)",
    )
    train.add_argument(
        "--data",
        choices=["auto", "coco", "builtin"],
        default="auto",
        help="data set (default: %(default)s: COCO if present, else built-in)",
    )
    train.add_argument(
        "--epochs", type=_positive_int, default=10, help="training epochs (default: %(default)s)"
    )
    train.add_argument(
        "--batch-size",
        type=_positive_int,
        default=100,
        help="minibatch size (default: %(default)s)",
    )
    train.add_argument(
        "--lr", type=_positive_float, default=5e-3, help="Adam learning rate (default: %(default)s)"
    )
    train.add_argument(
        "--lr-decay",
        type=_positive_float,
        default=0.95,
        help="learning-rate decay per epoch (default: %(default)s)",
    )
    train.add_argument(
        "--hidden-dim", type=_positive_int, default=512, help="hidden size H (default: %(default)s)"
    )
    train.add_argument(
        "--wordvec-dim",
        type=_positive_int,
        default=256,
        help="word-vector size W (default: %(default)s)",
    )
    train.add_argument(
        "--max-train",
        type=_positive_int,
        default=None,
        help="use this many training captions (sampled with replacement)",
    )
    train.add_argument(
        "--print-every",
        type=_positive_int,
        default=100,
        help="print the loss every N iterations (default: %(default)s)",
    )
    train.add_argument("--seed", type=int, default=231, help="random seed (default: %(default)s)")
    train.add_argument(
        "-o",
        "--checkpoint",
        default=None,
        metavar="NAME",
        help="checkpoint name (default: caption_CELL)",
    )
    train.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint if it exists"
    )
    train.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar or periodic losses"
    )
    _add_data_dir(train)
    train.set_defaults(func=cmd_caption_train)

    def add_checkpoint_args(p):
        p.add_argument("checkpoint", metavar="CHECKPOINT", help="NAME, NAME.npz or NAME.json")
        p.add_argument(
            "--data",
            choices=["auto", "coco", "builtin"],
            default=None,
            help="data set (default: the one the checkpoint was trained on)",
        )
        p.add_argument(
            "--split",
            choices=["train", "val"],
            default="val",
            help="which images (default: %(default)s)",
        )
        _add_data_dir(p)

    sample = caption_commands.add_parser(
        "sample",
        help="caption some images with a trained model and write an HTML page",
        description="Caption images with greedy decoding (the assignment's sample), beam search "
        "(--beam-size) or temperature sampling (--temperature); prints the captions and writes "
        "a page with the images, generated and ground-truth captions.",
    )
    add_checkpoint_args(sample)
    sample.add_argument(
        "--num", type=_positive_int, default=8, help="number of images (default: %(default)s)"
    )
    sample.add_argument(
        "--beam-size",
        type=_positive_int,
        default=3,
        help="beam width; 1 for greedy only (default: %(default)s)",
    )
    sample.add_argument(
        "--temperature",
        type=_positive_float,
        default=None,
        help="sample with this temperature instead of beam search",
    )
    sample.add_argument(
        "--seed",
        type=int,
        default=0,
        help="which images, and the sampling seed (default: %(default)s)",
    )
    _add_output(sample, "captions.html", "HTML", "page to write (default: %(default)s)")
    sample.set_defaults(func=cmd_caption_sample)

    evaluate = caption_commands.add_parser(
        "evaluate",
        help="BLEU, METEOR, ROUGE-L, CIDEr (and semantic accuracy on Shapes)",
        description="Score greedy and beam-search captions of the validation images with the "
        "standard COCO caption evaluation (pycocoevalcap). METEOR and the PTB tokenizer need "
        "Java; without it they are replaced or skipped, and the output says so.",
    )
    add_checkpoint_args(evaluate)
    evaluate.add_argument(
        "--beam-size",
        type=_positive_int,
        default=3,
        help="beam width for the beam row (default: %(default)s)",
    )
    evaluate.add_argument(
        "--max-images", type=_positive_int, default=None, help="score only the first N images"
    )
    _add_output(evaluate, None, "JSON", "also save the scores as JSON")
    evaluate.set_defaults(func=cmd_caption_evaluate)
    caption.set_defaults(func=lambda args: _missing_subcommand(caption))

    def add_vision_args(p):
        p.add_argument(
            "--weights",
            default=None,
            metavar="PATH",
            help="SqueezeNet 1.1 state dict (default: pretrained weights from the data "
            "directory, the torch hub cache, or torchvision's URL)",
        )
        _add_device(p)
        _add_data_dir(p)

    saliency = commands.add_parser(
        "saliency",
        help="saliency maps and other attributions for images (SqueezeNet)",
        description="Which pixels matter for a class: vanilla gradient saliency (the "
        "assignment's), SmoothGrad, Integrated Gradients or Grad-CAM, for each image, as a "
        "figure. IMAGE is a file or val:K (image K of the course's imagenet_val_25.npz).",
    )
    saliency.add_argument("images", nargs="+", metavar="IMAGE")
    saliency.add_argument(
        "--method",
        default="gradient",
        choices=["gradient", "smoothgrad", "integrated-gradients", "grad-cam", "all"],
        help="attribution method (default: %(default)s)",
    )
    saliency.add_argument(
        "--target",
        default=None,
        metavar="CLASS",
        help="class index or name (default: the true label for val:K, else the predicted class)",
    )
    _add_output(saliency, "saliency.png", "PNG", "figure (default: %(default)s)")
    add_vision_args(saliency)
    saliency.set_defaults(func=cmd_saliency)

    fool_cmd = commands.add_parser(
        "fool",
        help="make a fooling image: a tiny change that flips SqueezeNet's prediction",
        description="Normalised gradient ascent (step 1) until the model predicts the target "
        "class; prints iterations and perturbation size and saves the image, the fooling image "
        "and their difference. Exit status 1 if not fooled.",
    )
    fool_cmd.add_argument("image", metavar="IMAGE", help="a file or val:K")
    fool_cmd.add_argument(
        "--target",
        required=True,
        metavar="CLASS",
        help="class index or name, 'random' or 'least-likely'",
    )
    fool_cmd.add_argument(
        "--max-iterations",
        type=_positive_int,
        default=100,
        help="gradient steps at most (default: %(default)s)",
    )
    fool_cmd.add_argument("--seed", type=int, default=0, help="for 'random' (default: %(default)s)")
    fool_cmd.add_argument(
        "--objective",
        choices=["margin", "score"],
        default="margin",
        help="ascend the target's margin over the best other class (default; "
        "fools all of 100 test images) or its score (the assignment's "
        "make_fooling_image, 97%%)",
    )
    _add_output(fool_cmd, "fooling.png", "PNG", "figure (default: %(default)s)")
    add_vision_args(fool_cmd)
    fool_cmd.set_defaults(func=cmd_fool)

    visualize = commands.add_parser(
        "visualize-class",
        help="generate an image SqueezeNet sees as a given class",
        description="Class visualization (the assignment's recipe: gradient ascent from noise "
        "with L2 regularisation, jitter, blur and clamping); reports the class probability the "
        "image reaches.",
    )
    visualize.add_argument(
        "target", metavar="CLASS", help="class index or name (e.g. 76 or tarantula)"
    )
    visualize.add_argument(
        "--iterations",
        type=_positive_int,
        default=100,
        help="gradient steps (default: %(default)s)",
    )
    visualize.add_argument("--l2-reg", type=float, default=1e-3, help="(default: %(default)s)")
    visualize.add_argument(
        "--learning-rate", type=_positive_float, default=25.0, help="(default: %(default)s)"
    )
    visualize.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    _add_output(visualize, "class.png", "PNG", "figure (default: %(default)s)")
    visualize.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_vision_args(visualize)
    visualize.set_defaults(func=cmd_visualize_class)

    def add_style_common(p, default_output):
        p.add_argument(
            "--size", type=int, default=None, help="output's shorter side in pixels (default: 192)"
        )
        p.add_argument(
            "--iterations",
            type=_positive_int,
            default=200,
            help="optimisation steps (default: %(default)s)",
        )
        p.add_argument(
            "--optimizer",
            choices=["adam", "lbfgs"],
            default="adam",
            help="adam: the course's schedule; lbfgs: often sharper (default: %(default)s)",
        )
        p.add_argument(
            "--save-every",
            type=_positive_int,
            default=None,
            metavar="K",
            help="also save the image every K iterations (OUT_NNNN.png)",
        )
        p.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
        _add_output(
            p, default_output, "IMAGE", "output image; any format PIL writes (default: %(default)s)"
        )
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        _add_device(p)
        _add_data_dir(p)

    style = commands.add_parser(
        "style",
        help="neural style transfer: paint an image in the style of others",
        description="Style transfer (Gatys et al.) on the pretrained SqueezeNet with the course's "
        "losses and presets. Several style images are blended (--style-weights). Images may be "
        "any common format.",
    )
    style.add_argument("content", metavar="CONTENT")
    style.add_argument("styles", nargs="+", metavar="STYLE")
    style.add_argument(
        "--preset",
        default="starry_night",
        choices=["composition_vii", "the_scream", "starry_night"],
        help="the course's layer weights and sizes to start from (default: %(default)s)",
    )
    style.add_argument(
        "--style-weights",
        type=float,
        nargs="+",
        default=None,
        metavar="W",
        help="blend weights of the style images (default: equal)",
    )
    style.add_argument(
        "--style-scale",
        type=_positive_float,
        default=1.0,
        help="multiply the preset's style weights (stronger style > 1; default: 1)",
    )
    style.add_argument(
        "--content-weight",
        type=float,
        default=None,
        help="override the preset's content weight (0: texture synthesis)",
    )
    style.add_argument("--style-size", type=int, default=None, help="style images' shorter side")
    style.add_argument(
        "--preserve-colors", action="store_true", help="keep the content image's colours"
    )
    style.add_argument(
        "--scales",
        type=_positive_int,
        default=1,
        help="optimise at 1, 2, 4... times smaller sizes first (large outputs)",
    )
    style.add_argument(
        "--init",
        choices=["content", "random"],
        default="content",
        help="start from the content image or from noise (default: %(default)s)",
    )
    add_style_common(style, "stylized.png")
    style.set_defaults(func=cmd_style)

    invert = commands.add_parser(
        "invert",
        help="feature inversion: rebuild an image from SqueezeNet features",
        description="Start from noise and optimise until the image's features at one layer "
        "match the given image's (the course's feature-inversion settings).",
    )
    invert.add_argument("image", metavar="IMAGE")
    invert.add_argument(
        "--layer", type=int, default=3, help="SqueezeNet features layer (default: 3)"
    )
    add_style_common(invert, "inverted.png")
    invert.set_defaults(func=cmd_invert)

    gan_cmd = commands.add_parser(
        "gan",
        help="GANs on MNIST-format images (PyTorch)",
        description="Train, sample and score GANs on Fashion-MNIST "
        "(Debian's dataset-fashion-mnist), MNIST or a folder of IDX files.",
    )
    gan_commands = gan_cmd.add_subparsers(dest="gan_command", metavar="SUBCOMMAND")
    gan_train = gan_commands.add_parser(
        "train",
        help="train a GAN into a run folder",
        description="Train with the assignment's networks and "
        "Adam settings; samples of a fixed noise batch every "
        "--sample-every iterations, a checkpoint every epoch "
        "(an interrupted run resumes).",
    )
    gan_train.add_argument(
        "--loss", choices=["gan", "lsgan", "wgan-gp"], default="gan", help="(default: %(default)s)"
    )
    gan_train.add_argument(
        "--arch", choices=["fc", "dc"], default="fc", help="(default: %(default)s)"
    )
    gan_train.add_argument(
        "--dataset",
        default="fashion-mnist",
        help="fashion-mnist, mnist or a folder of IDX files (default: %(default)s)",
    )
    gan_train.add_argument(
        "--epochs", type=_positive_int, default=10, help="(default: %(default)s)"
    )
    gan_train.add_argument(
        "--batch-size", type=_positive_int, default=128, help="(default: %(default)s)"
    )
    gan_train.add_argument(
        "--max-images", type=_positive_int, default=None, help="train on the first N images only"
    )
    gan_train.add_argument(
        "--sample-every",
        type=_positive_int,
        default=250,
        help="save a sample grid every N iterations (default: %(default)s)",
    )
    gan_train.add_argument(
        "--spectral-norm", action="store_true", help="spectral normalisation in the discriminator"
    )
    gan_train.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    gan_train.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    _add_device(gan_train)
    gan_train.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    gan_train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_data_dir(gan_train)
    gan_train.set_defaults(func=cmd_gan_train)
    gan_sample = gan_commands.add_parser("sample", help="a grid of samples from a trained run")
    gan_sample.add_argument("run_dir", metavar="RUN_DIR")
    gan_sample.add_argument("-n", type=_positive_int, default=64, help="(default: %(default)s)")
    gan_sample.add_argument("--seed", type=int, default=0)
    _add_device(gan_sample)
    _add_output(gan_sample, "gan_samples.png", "PNG", "sample grid (default: %(default)s)")
    gan_sample.set_defaults(func=cmd_gan_sample)
    gan_score = gan_commands.add_parser(
        "score",
        help="Fréchet distance of samples vs real images",
        description="Train (once) a small CNN on the data set and "
        "report its test accuracy and the Fréchet distance of its "
        "penultimate features, generated vs real test images, with "
        "the real-train vs real-test floor.",
    )
    gan_score.add_argument("run_dir", metavar="RUN_DIR")
    gan_score.add_argument("--dataset", default="fashion-mnist")
    gan_score.add_argument(
        "--samples", type=_positive_int, default=2000, help="(default: %(default)s)"
    )
    gan_score.add_argument("--seed", type=int, default=0)
    _add_device(gan_score)
    _add_data_dir(gan_score)
    gan_score.set_defaults(func=cmd_gan_score)

    demo = commands.add_parser(
        "demo",
        help="run every part of the assignment and write an HTML report",
        description="Captioning (COCO or the built-in Shapes data), network visualization, style "
        "transfer and GANs on the real data this machine has, ending in OUT/index.html. A part "
        "whose data is missing says what is missing and how to get it; the command fails only "
        "if no part could run. --quick runs everything with tiny settings (about 2 minutes).",
    )
    demo.add_argument("--quick", action="store_true", help="tiny settings: a smoke test")
    _add_output(demo, "report", "DIR", "report folder (default: %(default)s)")
    _add_data_dir(demo)
    demo.set_defaults(func=cmd_demo)

    data = commands.add_parser(
        "data",
        help="download the course's data; show the data directory",
        description=f"The data directory: ${DATA_ENV_VAR}, else {default_data_dir()} "
        "(--data-dir overrides both).",
    )
    data_commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    fetch = data_commands.add_parser(
        "download",
        help="download and unpack a dataset into the data directory",
        description="Download a dataset's archive into the data directory, check it, unpack it "
        "and delete the archive. Does nothing when the files are already there; an interrupted "
        "download resumes when run again. Offline, download the archive elsewhere and copy it "
        "into the data directory: it is then unpacked without downloading.",
    )
    fetch.add_argument(
        "name",
        choices=sorted([*DATASETS, "mnist", "fashion-mnist"]),
        help="; ".join(f"{k}: {v['description']}" for k, v in sorted(DATASETS.items()))
        + "; mnist, fashion-mnist: the four IDX files from the official mirrors (MD5-checked)",
    )
    fetch.add_argument(
        "--url",
        help=f"download from URL instead (default for coco: {DATASETS['coco']['url']})",
    )
    fetch.add_argument(
        "--keep-archive", action="store_true", help="keep the zip archive after unpacking it"
    )
    fetch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_data_dir(fetch)
    fetch.set_defaults(func=cmd_data_download)
    path = data_commands.add_parser(
        "path",
        help="print the data directory and which known files it holds",
        description="Print the data directory (first line) and, for each file the assignment "
        "uses, whether it is present.",
    )
    _add_data_dir(path)
    path.set_defaults(func=cmd_data_path)
    data.set_defaults(func=lambda args: _missing_subcommand(data))
    return parser


def _missing_subcommand(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`cs231n data path | head -1`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UserError, OSError, KeyError, ValueError, TypeError, FloatingPointError) as e:
        if os.environ.get("CS231N_DEBUG"):
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"cs231n: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cs231n: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
