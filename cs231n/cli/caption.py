"""``cs231n caption overfit | train | sample | evaluate``: image captioning with RNNs and LSTMs
(NumPy) and the Transformer (PyTorch), over cs231n.captioning (data, training, evaluation)."""

from __future__ import annotations

import time

# The module, not its function: tests replace the loader there.
from ..captioning import data as caption_data
from ..captioning.checkpoint import (
    checkpoint_name,
    checkpoint_paths,
    load_captioner,
    model_description,
    model_vocabulary,
    transformer_checkpoint_path,
)
from ..captioning.data import references_by_image, small_caption_data
from ..captioning.evaluation import (
    caption_texts,
    evaluate_captioner,
    generate_captions,
    write_caption_page,
)
from ..captioning.shapes import caption_is_true
from ..captioning.sizing import require_training_memory
from ..captioning.training import (
    OVERFIT_DEFAULTS,
    overfit_small_data,
    plot_loss_curve,
    train_captioner,
    train_defaults,
)
from ..coco_utils import check_max_train
from ..core import distributed
from ..core.files import atomic_path, require_memory
from ..core.progress import progress_write
from .common import (
    UserError,
    _device_name,
    _positive_float,
    _positive_int,
    add_command,
    add_group,
    continuing,
    figure_output,
    finite_float,
    main_lock,
    writable_output,
)

MODEL_NAMES = {"rnn": "RNN", "lstm": "LSTM", "transformer": "Transformer"}
# Options that apply to one kind of model only: (option, args attribute).
RNN_ONLY = (("--hidden-dim", "hidden_dim"), ("--lr-decay", "lr_decay"))
TRANSFORMER_ONLY = (
    ("--num-heads", "num_heads"),
    ("--num-layers", "num_layers"),
    ("--device", "device"),
)
RNN_HIDDEN_DIM = 512


def _resolve_model_options(args, defaults):
    """Refuse, before any work, the options of the other kind of model (``--hidden-dim`` for a
    Transformer, ``--num-heads`` for an LSTM...), and fill in the chosen model's defaults for
    the options left out (``defaults``: the API's, e.g. ``OVERFIT_DEFAULTS[model]``)."""
    transformer = args.model == "transformer"
    for option, name in TRANSFORMER_ONLY if not transformer else RNN_ONLY:
        if getattr(args, name, None) is not None:
            which = "the Transformer" if not transformer else "the RNN and LSTM"
            raise UserError(f"{option} applies to {which} only, not to --model {args.model}")
    for name in ("num_epochs", "learning_rate", "lr_decay", "num_heads", "num_layers"):
        option = {"num_epochs": "epochs", "learning_rate": "lr"}.get(name, name)
        if getattr(args, option, None) is None and name in defaults:
            setattr(args, option, defaults[name])
    if not transformer and args.hidden_dim is None:
        args.hidden_dim = RNN_HIDDEN_DIM
    if transformer and args.wordvec_dim % args.num_heads:
        raise UserError(
            f"--wordvec-dim {args.wordvec_dim} is not divisible by --num-heads {args.num_heads} "
            "(each head gets wordvec_dim / num_heads dimensions)"
        )


def _hyperparameters(args):
    """The model's and the optimiser's settings, as train_captioner / overfit_small_data take
    them (``_resolve_model_options`` first)."""
    hp = dict(
        cell_type=args.model,
        num_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        wordvec_dim=args.wordvec_dim,
    )
    if args.model == "transformer":
        hp.update(num_heads=args.num_heads, num_layers=args.num_layers)
    else:
        hp.update(lr_decay=args.lr_decay, hidden_dim=args.hidden_dim)
    return hp


def _run_settings(args):
    """How overfit and train run: progress output, seed, and (Transformer) device."""
    settings = dict(
        print_every=args.print_every,
        seed=args.seed,
        verbose=not args.quiet,
        progress=not args.quiet,
    )
    if args.model == "transformer":
        settings["device"] = args.device
    return settings


# The sizes of the data the caption commands build before they know it: the COCO vocabulary
# (1004 words, 17-word captions) and its 512 PCA features. Shapes' are smaller.
COCO_VOCAB, COCO_FEATURES, CAPTION_LENGTH = 1004, 512, 17


def _model_options(args):
    if args.model == "transformer":
        sizes = f"--wordvec-dim {args.wordvec_dim}, --num-layers {args.num_layers}"
    else:
        sizes = f"--hidden-dim {args.hidden_dim}, --wordvec-dim {args.wordvec_dim}"
    return f"{sizes}, --model {args.model}, --batch-size {args.batch_size}"


def _check_model_size(args, vocab_size, input_dim, batch_size=1):
    """Refuse, before any work, a model (and minibatch) that cannot fit in memory."""
    hp = {
        "cell_type": args.model,
        "wordvec_dim": args.wordvec_dim,
        "hidden_dim": getattr(args, "hidden_dim", None),
        "num_heads": getattr(args, "num_heads", None),
        "num_layers": getattr(args, "num_layers", None),
        "batch_size": batch_size,
    }
    what = f"a model with {_model_options(args)}"
    try:
        require_training_memory(vocab_size, input_dim, hp, CAPTION_LENGTH, what)
    except ValueError as e:
        raise UserError(e) from None


def _clamp_batch_size(args, num_captions, log=print):
    """A minibatch larger than the training set only repeats captions: use the whole set."""
    if args.batch_size > num_captions:
        log(
            f"note: --batch-size {args.batch_size} is more than the {num_captions} training "
            f"captions; using {num_captions}"
        )
        args.batch_size = num_captions


def cmd_caption_overfit(args) -> int:

    _resolve_model_options(args, OVERFIT_DEFAULTS[args.model])
    out = figure_output(args.output or f"caption_overfit_{args.model}.png")
    try:  # random captions and features, built in memory
        per_caption = 2 * (4 * CAPTION_LENGTH + 4 + 4 * COCO_FEATURES)
        require_memory(args.num_train * per_caption, f"--num-train {args.num_train}")
    except ValueError as e:
        raise UserError(e) from None
    _clamp_batch_size(args, args.num_train)
    _check_model_size(args, COCO_VOCAB, COCO_FEATURES, args.batch_size)
    data, source = small_caption_data(
        num_train=args.num_train, seed=args.seed, data_root=args.data_dir
    )
    label = MODEL_NAMES[args.model]
    print(f"Overfitting a {label} captioning model on {args.num_train} captions: {source}")
    start = time.perf_counter()
    _, solver = overfit_small_data(data=data, **_hyperparameters(args), **_run_settings(args))
    seconds = time.perf_counter() - start
    plot_loss_curve(solver.loss_history, out, title=f"{label} overfitting: loss per iteration")
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

    _resolve_model_options(args, train_defaults(args.model))
    if args.model != "transformer" and distributed.env_world_size() > 1:
        raise UserError(
            f"caption train --model {args.model} is NumPy code and trains in one process; "
            "several processes (torchrun, --nproc) train --model transformer"
        )
    checkpoint = checkpoint_name(args.checkpoint or f"caption_{args.model}")
    if args.model == "transformer":
        writable_output(transformer_checkpoint_path(checkpoint))
    else:
        writable_output(checkpoint.with_name(checkpoint.name + ".json"))
    if args.max_train is not None:
        try:
            check_max_train(args.max_train)
        except ValueError as e:
            raise UserError(f"--max-train {args.max_train}: {e}") from None
    _check_model_size(args, 4, 1)  # the smallest data: the model alone must fit
    # One run per checkpoint name: a second one is refused, naming this one's PID.
    with main_lock(checkpoint):
        return _train(args, checkpoint)


def _train(args, checkpoint):
    data, name = caption_data.load_caption_data(
        args.data, args.data_dir, args.max_train, log=print, seed=args.seed
    )
    _clamp_batch_size(args, data["train_captions"].shape[0])
    _check_model_size(
        args, len(data["idx_to_word"]), data["train_features"].shape[1], args.batch_size
    )
    print(_describe_data(data, name))
    label = MODEL_NAMES[args.model]
    if args.model == "transformer":
        from ..core.torch_utils import resolve_device

        print(f"Training a {label} on {resolve_device(args.device)}")
    if args.model == "transformer":
        saved = [transformer_checkpoint_path(checkpoint)]
    else:
        saved = checkpoint_paths(checkpoint)[::-1]  # the JSON (with the epoch), else the .npz
    resume = continuing(args, checkpoint, saved, ("training", "epoch"), args.epochs)
    start = time.perf_counter()
    model, solver, reports = train_captioner(
        data,
        checkpoint=checkpoint,
        resume=resume,
        extra={"data": name, "max_train": args.max_train},
        log=progress_write,
        **_hyperparameters(args),
        **_run_settings(args),
    )
    seconds = time.perf_counter() - start
    curve = plot_loss_curve(
        solver.loss_history,
        checkpoint.with_name(f"{checkpoint.name}_loss.png"),
        title=f"{label} on {name}: training loss",
    )
    last = reports[-1] if reports else {}
    summary = ", ".join(f"{k} {v:.4f}" for k, v in last.items() if isinstance(v, float))
    print(f"Trained {solver.epoch} epochs in {seconds:.0f} s; {summary}")
    if args.model == "transformer":
        files = str(transformer_checkpoint_path(checkpoint))
    else:
        files = f"{checkpoint}.npz / .json"
    print(f"Checkpoint: {files}; loss curve: {curve}")
    return 0


def _load_for_checkpoint(args):

    model, meta = load_captioner(args.checkpoint)
    source = args.data or meta["extra"].get("data", "auto")
    if source not in ("auto", "coco", "builtin"):
        raise UserError(
            f"{args.checkpoint}: unknown data set {source!r} in its metadata (pass --data)"
        )
    data, name = caption_data.load_caption_data(source, args.data_dir, log=print)
    if model_vocabulary(model) != list(data["idx_to_word"]):
        raise UserError(
            f"{args.checkpoint} was trained with another vocabulary than the {name} data's "
            "(pass --data to choose the data set)"
        )
    return model, data, f"{model_description(meta)} on {name}"


def _decoding_methods(args):
    if args.temperature is not None:
        return [("sample", {"temperature": args.temperature, "seed": args.seed})]
    if args.beam_size > 1:
        return [("beam", {"beam_size": args.beam_size})]
    return [("greedy", {})]


def cmd_caption_sample(args) -> int:
    import numpy as np

    out = writable_output(args.output)
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
    write_caption_page(out, rows, title=f"Captions from {args.checkpoint} ({name} {args.split})")
    print(f"Page with images saved to {out}")
    return 0


def cmd_caption_evaluate(args) -> int:
    import json

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
        out = writable_output(args.output)
        summary = {
            label: {k: v for k, v in r.items() if k != "captions"} for label, r in results.items()
        }
        with atomic_path(out) as tmp:
            tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        print(f"Results saved to {out}")
    return 0


# ----------------------------------------------------------------------------------------------
# Options


def _add_data_set(p, default, help):
    p.add_argument("--data", choices=["auto", "coco", "builtin"], default=default, help=help)


def _add_model_options(p, *, model, epochs_help, batch_size, lr_decay_help, heads, data=None):
    """The model (``--model``, alias ``--cell``), the data set (``data``: its default, train
    only), and the training and model sizes overfit and train share, in that order. Options of
    one kind of model default to None here: :func:`_resolve_model_options` fills them in."""
    p.add_argument(
        "--model",
        "--cell",
        dest="model",
        choices=list(MODEL_NAMES),
        default=model,
        help="rnn or lstm: the NumPy CaptioningRNN with that cell; transformer: the PyTorch "
        "CaptioningTransformer. --cell is the older name of this option (default: %(default)s)",
    )
    if data is not None:
        _add_data_set(p, data, "data set (default: %(default)s: COCO if present, else built-in)")
    p.add_argument("--epochs", type=_positive_int, default=None, help=epochs_help)
    p.add_batch_size(batch_size, "minibatch size (default: %(default)s)")
    p.add_argument(
        "--lr",
        type=_positive_float,
        default=None,
        help="Adam learning rate (default: 5e-3 RNN/LSTM, 1e-3 Transformer)",
    )
    p.add_argument(
        "--lr-decay",
        type=finite_float(0, 1, low_inclusive=False),
        default=None,
        help=lr_decay_help,
    )
    p.add_argument(
        "--hidden-dim",
        type=_positive_int,
        default=None,
        help=f"RNN/LSTM: hidden size H (default: {RNN_HIDDEN_DIM})",
    )
    p.add_argument(
        "--wordvec-dim",
        type=_positive_int,
        default=256,
        help="word-vector size W (the Transformer's model width) (default: %(default)s)",
    )
    p.add_argument(
        "--num-heads",
        type=_positive_int,
        default=None,
        help=f"Transformer: attention heads, dividing W (default: {heads})",
    )
    p.add_argument(
        "--num-layers",
        type=_positive_int,
        default=None,
        help="Transformer: decoder layers (default: 2)",
    )
    p.add_argument(
        "--device",
        type=_device_name,
        default=None,
        help="Transformer: torch device (default: cuda when available, else cpu; the RNN and "
        "LSTM run in NumPy on the CPU)",
    )


def _add_print_every_and_seed(p, print_every):
    p.add_argument(
        "--print-every",
        type=_positive_int,
        default=print_every,
        help="print the loss every N iterations (default: %(default)s)",
    )
    p.add_seed(231, "random seed (default: %(default)s)")


def _add_checkpoint_args(p):
    p.add_argument(
        "checkpoint",
        metavar="CHECKPOINT",
        help="NAME (RNN, LSTM or Transformer: told apart by the files there), NAME.npz or "
        "NAME.json (RNN/LSTM), or NAME.pt (Transformer)",
    )
    _add_data_set(p, None, "data set (default: the one the checkpoint was trained on)")
    p.add_argument(
        "--split",
        choices=["train", "val"],
        default="val",
        help="which images (default: %(default)s)",
    )
    p.add_data_dir()


def _add_beam_size(p, help):
    p.add_argument("--beam-size", type=_positive_int, default=3, help=help)


def add_parser(commands):
    caption_commands = add_group(
        commands,
        "caption",
        "caption_command",
        help="image captioning with RNNs and LSTMs (NumPy) and Transformers (PyTorch)",
        description="Image captioning with vanilla RNNs and LSTMs, written in NumPy, and with "
        "the course's captioning Transformer, in PyTorch.",
    )
    overfit = add_command(
        caption_commands,
        "overfit",
        cmd_caption_overfit,
        help="overfit a captioning model on 50 captions (the assignment's sanity check)",
        description="Train a captioning model on 50 training captions with the assignment's "
        "settings until it memorises them; prints the loss and saves a loss-curve image. "
        "RNN/LSTM: Adam, learning rate 5e-3, batch 25, 50 epochs, hidden 512, word vectors "
        "256; a correct model ends below 0.1 (RNN) or 0.5 (LSTM). Transformer (the course's "
        "Transformer_Captioning notebook): Adam 1e-3, batch 25, 100 epochs, word vectors 256, "
        "2 heads, 2 layers, max_length 30, seed 231; its loss (averaged over word positions) "
        "ends below 0.03.",
    )
    _add_model_options(
        overfit,
        model="rnn",
        epochs_help="training epochs (default: 50 RNN/LSTM, 100 Transformer)",
        batch_size=25,
        lr_decay_help="RNN/LSTM: learning-rate decay per epoch (default: 0.95 RNN, 0.995 LSTM)",
        heads=2,
    )
    overfit.add_argument(
        "--num-train",
        type=_positive_int,
        default=50,
        help="training captions to memorise (default: %(default)s)",
    )
    _add_print_every_and_seed(overfit, 10)
    overfit.add_output(None, "PNG", "loss-curve image (default: caption_overfit_MODEL.png)")
    overfit.add_quiet("no progress bar or per-iteration losses")
    overfit.add_data_dir()

    train = add_command(
        caption_commands,
        "train",
        cmd_caption_train,
        help="train a captioning model on COCO or the built-in Shapes data",
        description="Train a captioning RNN, LSTM or Transformer with Adam. Uses the course's "
        "COCO data when it is in the data directory, else the built-in Shapes data set "
        "(generated on first use, no download). Saves a checkpoint after every epoch "
        "(NAME.npz + NAME.json for the RNN/LSTM, NAME.pt for the Transformer), prints the "
        "validation loss (and, on Shapes, the semantic accuracy of greedy captions), and "
        "writes NAME_loss.png. A run whose checkpoint is there continues exactly where it "
        "stopped (--restart starts over). RNN/LSTM defaults: "
        "learning rate 5e-3 decaying by 0.95 per epoch, hidden 512, word vectors 256, in NumPy "
        "on the CPU. Transformer defaults (the course's solver and model): learning rate "
        "1e-3, word vectors 256, 4 heads, 2 layers, feed-forward 2048, dropout 0.1, "
        "positions up to 50; on the GPU when there is one (--device).",
    )
    _add_model_options(
        train,
        model="lstm",
        data="auto",
        epochs_help="training epochs (default: 10)",
        batch_size=100,
        lr_decay_help="RNN/LSTM: learning-rate decay per epoch (default: 0.95)",
        heads=4,
    )
    train.add_argument(
        "--max-train",
        type=_positive_int,
        default=None,
        help="use this many training captions (sampled with replacement)",
    )
    _add_print_every_and_seed(train, 100)
    train.add_argument(
        "-o",
        "--checkpoint",
        default=None,
        metavar="NAME",
        help="checkpoint name (default: caption_MODEL)",
    )
    train.add_resume_restart()
    train.add_quiet("no progress bar or periodic losses")
    train.add_data_dir()
    train.add_nproc()

    sample = add_command(
        caption_commands,
        "sample",
        cmd_caption_sample,
        help="caption some images with a trained model and write an HTML page",
        description="Caption images with greedy decoding (the assignment's sample), beam search "
        "(--beam-size) or temperature sampling (--temperature), with a trained RNN, LSTM or "
        "Transformer; prints the captions and writes a page with the images, generated and "
        "ground-truth captions.",
    )
    _add_checkpoint_args(sample)
    sample.add_argument(
        "--num", type=_positive_int, default=8, help="number of images (default: %(default)s)"
    )
    _add_beam_size(sample, "beam width; 1 for greedy only (default: %(default)s)")
    sample.add_argument(
        "--temperature",
        type=_positive_float,
        default=None,
        help="sample with this temperature instead of beam search",
    )
    sample.add_seed(0, "which images, and the sampling seed (default: %(default)s)")
    sample.add_output("captions.html", "HTML", "page to write (default: %(default)s)")

    evaluate = add_command(
        caption_commands,
        "evaluate",
        cmd_caption_evaluate,
        help="BLEU, METEOR, ROUGE-L, CIDEr (and semantic accuracy on Shapes)",
        description="Score greedy and beam-search captions of the validation images (from a "
        "trained RNN, LSTM or Transformer) with the standard COCO caption evaluation "
        "(pycocoevalcap). METEOR and the PTB tokenizer need Java; without it they are replaced "
        "or skipped, and the output says so.",
    )
    _add_checkpoint_args(evaluate)
    _add_beam_size(evaluate, "beam width for the beam row (default: %(default)s)")
    evaluate.add_argument(
        "--max-images", type=_positive_int, default=None, help="score only the first N images"
    )
    evaluate.add_output(None, "JSON", "also save the scores as JSON")
