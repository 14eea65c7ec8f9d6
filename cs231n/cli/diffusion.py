"""``cs231n diffusion train | sample | score``: the course's DDPM on emoji (text-conditioned) and
Fashion-MNIST (class-conditioned), over cs231n.diffusion."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..core.files import atomic_path
from ..core.progress import progress_bar
from ..diffusion.settings import (
    DATASETS,
    FASHION_CLASSES,
    LR_SCHEDULES,
    MIN_SNR_GAMMA_RANGE,
    QUICK,
    defaults,
    fashion_class,
)
from .common import (
    UserError,
    _positive_int,
    add_command,
    add_group,
    continuing,
    figure_output,
    finite_float,
    int_list,
    int_range,
    main_lock,
    writable_output,
)

MAX_SAMPLES = 256


def _settings(args):
    """Model and training settings: each option as given, else --quick's, else the default."""
    quick = QUICK if args.quick else {}

    def pick(key, default):
        value = getattr(args, key, None)
        return value if value is not None else quick.get(key, default)

    model_defaults, train_defaults = defaults(args.data)
    model = {key: pick(key, default) for key, default in model_defaults.items()}
    training = {key: pick(key, default) for key, default in train_defaults.items()}
    return model, training, pick("max_images", None)


def cmd_diffusion_train(args) -> int:
    from ..diffusion.training import check_model_config

    model, training, max_images = _settings(args)
    try:
        check_model_config(model)
    except ValueError as e:
        raise UserError(e) from None
    run_dir = writable_output(Path(args.output or f"diffusion_{args.data}") / "config.json").parent
    with main_lock(run_dir):
        return _train(args, run_dir, model, training, max_images)


def _train(args, run_dir, model, training, max_images):
    from ..core.torch_utils import resolve_device
    from ..diffusion.training import train

    device = resolve_device(args.device)
    print(
        f"DDPM on {args.data}: U-Net width {model['dim']}, levels {model['dim_mults']}, "
        f"{model['timesteps']} diffusion steps; {training['steps']} training steps of "
        f"{training['batch_size']} images, Adam {training['lr']:g} ({training['lr_schedule']}) "
        f"on {device} -> {run_dir}"
    )
    resume = continuing(args, run_dir, run_dir / "model.pt", ("step",), training["steps"], "step")
    bar = progress_bar(total=training["steps"], desc="diffusion", disable=args.quiet)

    def progress(step, loss):
        bar.n = step
        bar.set_postfix_str(f"loss: {loss:.4f}", refresh=False)
        bar.update(0)

    start = time.perf_counter()
    try:
        trainer = train(
            run_dir,
            args.data,
            model=model,
            max_images=max_images,
            seed=args.seed,
            device=device,
            resume=resume,
            data_root=args.data_dir,
            callback=progress,
            **training,
        )
    finally:
        bar.close()
    last = trainer.history[-1] if trainer.history else float("nan")
    print(
        f"Done in {time.perf_counter() - start:.0f} s: {trainer.step} steps, last loss "
        f"{last:.4f}; checkpoint {run_dir / 'model.pt'}, samples {run_dir / 'samples.png'}"
    )
    return 0


def _conditions(args):
    """The --prompt or --class values, in order ("--class all": every class)."""
    if args.class_name is None:
        return list(args.prompt)
    if any(c.strip().lower() == "all" for c in args.class_name):
        return list(FASHION_CLASSES)
    return list(args.class_name)


def cmd_diffusion_sample(args) -> int:
    import torch

    from ..diffusion.sampling import check_sampling, generate, trajectory_frames
    from ..diffusion.training import condition, load_run, save_grid

    out = figure_output(args.output)
    traj_out = figure_output(args.trajectory) if args.trajectory else None
    names = _conditions(args)
    total = args.n * len(names)
    if total > MAX_SAMPLES:
        raise UserError(
            f"-n {args.n} samples for each of {len(names)} conditions is {total} images; "
            f"at most {MAX_SAMPLES} in one grid"
        )
    try:
        diffusion, config = load_run(args.run_dir, args.device)
        kind = "prompt" if args.class_name is None else "class_name"
        cond = torch.stack(
            [condition(config, data_root=args.data_dir, **{kind: name}) for name in names]
        ).repeat_interleave(args.n, dim=0)
        sampler, steps = check_sampling(diffusion, args.sampler, args.steps, args.cfg_scale)
    except (ValueError, FileNotFoundError) as e:
        raise UserError(e) from None
    what = ", ".join(repr(name) for name in names)
    guidance = f"guidance {args.cfg_scale:g}" if args.cfg_scale is not None else "no guidance"
    each = " each" if len(names) > 1 else ""
    print(f"{args.n} samples{each} of {what}, {sampler} in {steps} steps, {guidance}")
    start = time.perf_counter()
    images = generate(
        diffusion,
        cond,
        n=total,
        cfg_scale=args.cfg_scale,
        sampler=sampler,
        steps=steps,
        seed=args.seed,
        trajectory=traj_out is not None,
        progress=not args.quiet,
    )
    if traj_out is not None:
        # up to 8 rows: the first sample of each condition, or the first samples of the one
        first = images[:: args.n] if len(names) > 1 else images
        frames, columns = trajectory_frames(first[:8])
        save_grid(frames, traj_out, nrow=columns)
        images = images[:, -1]
        print(f"Trajectory: {traj_out}")
    # one row per condition when there are several; else a square grid
    save_grid(images, out, nrow=args.n if len(names) > 1 else None)
    print(f"Samples: {out} ({time.perf_counter() - start:.1f} s)")
    return 0


def cmd_diffusion_score(args) -> int:
    import json

    from ..diffusion.scoring import check_scorable, run_dataset, score_run

    try:
        check_scorable(run_dataset(args.run_dir), args.run_dir)
    except (ValueError, FileNotFoundError) as e:
        raise UserError(e) from None
    out = writable_output(args.output or Path(args.run_dir) / "scores.json")
    bar = progress_bar(total=args.samples, desc="sampling", disable=args.quiet)

    def progress(done):
        bar.n = done
        bar.update(0)

    try:
        scores = score_run(
            args.run_dir,
            samples=args.samples,
            seed=args.seed,
            sampler=args.sampler,
            steps=args.steps,
            cfg_scale=args.cfg_scale,
            device=args.device,
            data_root=args.data_dir,
            progress=progress,
        )
    except (ValueError, FileNotFoundError) as e:
        raise UserError(e) from None
    finally:
        bar.close()
    guidance = f"guidance {args.cfg_scale:g}" if args.cfg_scale is not None else "no guidance"
    print(
        f"DDPM, {scores['sampler']} in {scores['steps']} steps, {guidance}: classifier test "
        f"accuracy {scores['classifier_test_accuracy']:.1%}; Fréchet distance generated vs test "
        f"{scores['fid_generated_vs_test']:.2f} (real train vs test: "
        f"{scores['fid_train_vs_test_floor']:.2f}), KID {scores['kid_generated_vs_test']:.3g} "
        f"(floor {scores['kid_train_vs_test_floor']:.3g}), {scores['samples']} samples each; "
        f"classes recognised {scores['generated_class_accuracy']:.1%}; sampling "
        f"{scores['sampling_seconds']:.0f} s"
    )
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(scores, indent=2))
    print(f"Scores: {out}")
    return 0


def _class_name(text):
    if text.strip().lower() == "all":
        return text
    try:
        fashion_class(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _default_text(key):
    """A setting's default for --help: one value, or each data set's where they differ."""
    values = {}
    for name in DATASETS:
        model, training = defaults(name)
        value = {**model, **training}[key]
        if isinstance(value, list):
            value = ",".join(map(str, value))
        values[name] = "off" if value is None else value
    if len(set(map(str, values.values()))) == 1:
        return str(values[DATASETS[0]])
    return ", ".join(f"{value} for {name}" for name, value in values.items())


def add_parser(commands):
    group = add_group(
        commands,
        "diffusion",
        "diffusion_command",
        help="the course's DDPM with classifier-free guidance (PyTorch)",
        description="The course's denoising diffusion model (2025/2026), text-conditioned on "
        "emoji and class-conditioned on Fashion-MNIST.",
    )
    train = add_command(
        group,
        "train",
        cmd_diffusion_train,
        help="train a DDPM on emoji or Fashion-MNIST",
        description="Train the course's U-Net DDPM. Emoji: the course's emoji_data.npz when in "
        "the data directory, else emoji rendered from the Noto Color Emoji font, conditioned on "
        "the course's CLIP text embeddings (`cs231n data download text-embed`). Fashion-MNIST: "
        "padded to 32x32, conditioned on its class. The run folder holds config.json, model.pt "
        "(--restart starts over; otherwise a run continues exactly where it stopped), "
        "milestones model-STEP.pt, sample grids and losses.json. --quick: a smoke test.",
    )
    train.add_argument("--data", choices=DATASETS, default="emoji", help="(default: %(default)s)")
    # (flag, type, settings key, what it is): help says each data set's default
    for flag, kind, key, what in (
        ("--steps", int_range(1, 10**7), "steps", "training steps"),
        ("--batch-size", _positive_int, "batch_size", "images per training step"),
        ("--lr", finite_float(0, low_inclusive=False), "lr", "Adam learning rate"),
        ("--dim", int_range(4, 1024), "dim", "U-Net width"),
        ("--dim-mults", int_list(1), "dim_mults", "U-Net levels' width multipliers"),
        ("--timesteps", int_range(1, 100000), "timesteps", "diffusion steps"),
        (
            "--min-snr-gamma",
            finite_float(*MIN_SNR_GAMMA_RANGE),
            "min_snr_gamma",
            "Min-SNR loss weighting min(SNR, gamma)/SNR (Hang et al. 2023; 5 is theirs; off: "
            "the course's weighting)",
        ),
        ("--save-every", _positive_int, "save_every", "a checkpoint every N steps"),
        ("--sample-every", _positive_int, "sample_every", "a sample grid every N steps"),
    ):
        train.add_argument(
            flag, type=kind, default=None, help=f"{what} (default: {_default_text(key)})".lstrip()
        )
    train.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=None,
        help=f"the learning rate over the run: constant (the course's) or cosine, falling "
        f"towards 0 at the last step (default: {_default_text('lr_schedule')})",
    )
    train.add_argument(
        "--max-images", type=_positive_int, default=None, help="train on the first N images"
    )
    train.add_argument("--quick", action="store_true", help="smoke test: a tiny model, 20 steps")
    train.add_resume_restart()
    train.add_seed()
    train.add_device()
    train.add_nproc()
    train.add_output(None, "RUN_DIR", "the run folder (default: diffusion_DATA)")
    train.add_quiet()
    train.add_data_dir()

    sample = add_command(
        group,
        "sample",
        cmd_diffusion_sample,
        help="a grid of samples for prompts or classes",
        description="Samples of a trained run for emoji texts (--prompt, each one of the course's "
        "2484 texts: there is no CLIP model here to embed new text) or Fashion-MNIST classes "
        f"(--class: {', '.join(FASHION_CLASSES)}), by the course's ancestral sampler or DDIM "
        "in fewer steps, with classifier-free guidance of scale --cfg-scale. Several --prompt or "
        "--class options give one row of -n samples each.",
    )
    sample.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a diffusion run folder")
    which = sample.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--prompt",
        action="append",
        help="an emoji text, e.g. 'face with cowboy hat'; repeat for one row of -n per prompt",
    )
    which.add_argument(
        "--class",
        dest="class_name",
        action="append",
        type=_class_name,
        help="a Fashion-MNIST class, or 'all'; repeat for one row of -n per class",
    )
    sample.add_argument(
        "--cfg-scale",
        type=finite_float(),
        default=None,
        help="classifier-free guidance scale w: (w+1) eps(x, c) - w eps(x) (default: none)",
    )
    sample.add_argument(
        "--sampler", choices=["ddpm", "ddim"], default="ddpm", help="(default: %(default)s)"
    )
    sample.add_argument(
        "--steps",
        type=_positive_int,
        default=None,
        help="DDIM steps (default: all of the model's)",
    )
    sample.add_argument(
        "-n",
        type=int_range(1, MAX_SAMPLES),
        default=16,
        help="samples of each prompt or class (default: %(default)s)",
    )
    sample.add_argument(
        "--trajectory",
        type=Path,
        default=None,
        metavar="PNG",
        help="also save the denoising trajectory (up to 8 samples, 10 steps each)",
    )
    sample.add_seed()
    sample.add_device()
    sample.add_output("diffusion_samples.png", "PNG", "sample grid (default: %(default)s)")
    sample.add_quiet()
    sample.add_data_dir()

    score = add_command(
        group,
        "score",
        cmd_diffusion_score,
        help="Fréchet distance and KID of samples vs real images (Fashion-MNIST runs)",
        description="Score a Fashion-MNIST run as `cs231n gan score` scores a GAN: the same "
        "domain classifier (trained once, cached), the same real test images and sample count, "
        "so the numbers compare. The samples are class-balanced; also reported: how often the "
        "classifier recognises the class asked for. Emoji runs are refused: the classifier is "
        "Fashion-MNIST's. The scores are written to RUN_DIR/scores.json (or -o).",
    )
    score.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a Fashion-MNIST run folder")
    score.add_argument(
        "--samples",
        type=int_range(2, 10000),
        default=2000,
        help="generated and real images compared, 2 to 10000 (default: %(default)s, as gan score)",
    )
    score.add_argument(
        "--sampler", choices=["ddpm", "ddim"], default="ddpm", help="(default: %(default)s)"
    )
    score.add_argument(
        "--steps", type=_positive_int, default=None, help="DDIM steps (default: all)"
    )
    score.add_argument(
        "--cfg-scale",
        type=finite_float(),
        default=None,
        help="classifier-free guidance scale (default: none)",
    )
    score.add_seed(help=None)
    score.add_device()
    score.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="JSON",
        help="where to write the scores (default: RUN_DIR/scores.json)",
    )
    score.add_quiet()
    score.add_data_dir()
