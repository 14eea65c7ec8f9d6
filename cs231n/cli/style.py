"""``cs231n style | invert``: style transfer and feature inversion, over cs231n.style.transfer
(either framework's driver); here, the options, the progress bar and what is printed."""

from __future__ import annotations

import time

from ..core.progress import progress_bar
from ..style.transfer import (
    check_images,
    inversion_arguments,
    load_cnn,
    preset_arguments,
    run_transfer,
    save_images,
)
from .common import (
    UserError,
    _positive_float,
    _positive_int,
    add_command,
    check_framework,
    finite_float,
    image_output,
    int_range,
)

MIN_SIZE, MAX_SIZE = 32, 4096  # pixels; larger outputs: --scales
MAX_SCALES = 7  # 4096 px halved 6 times is 64 px: more scales would only repeat the smallest


def _checked_output_and_size(args, images):
    """The checks made before the model is loaded: the output, the images, the size."""
    out = image_output(args.output)
    check_images(images)
    return out, args.size


def _progress_bar(args):
    """A progress bar (cs231n.core.progress) and the ``callback(t, losses)`` of the transfer
    functions that moves it."""
    bar = progress_bar(total=args.iterations, desc="style", disable=args.quiet)

    def progress(t, terms):
        if bar.n >= bar.total:
            bar.reset()
        bar.update(1)
        bar.set_postfix({k: f"{v:.3g}" for k, v in terms.items()})

    return bar, progress


def _run_transfer(args, content, styles, out, size, **settings):
    """The style transfer of ``--framework`` with the options both commands have and
    ``settings``; saves the images."""
    cnn = load_cnn(args.framework, args.device, args.data_dir)
    bar, progress = _progress_bar(args)
    start = time.perf_counter()
    try:
        result = run_transfer(
            args.framework,
            cnn,
            content,
            styles,
            optimizer=args.optimizer,
            save_every=args.save_every,
            callback=progress,
            image_size=size,
            iterations=args.iterations,
            seed=args.seed,
            **settings,
        )
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    intermediates = save_images(result, out)
    last = result.losses[-1]
    terms = ", ".join(f"{k} {v:.4g}" for k, v in last.items())
    print(f"{len(result.losses)} iterations in {seconds:.1f} s; final losses: {terms}")
    if intermediates:
        stem = out.with_suffix("")
        print(f"Intermediate images: {stem}_NNNN{out.suffix} ({len(intermediates)})")
    print(f"Image saved to {out}")
    return 0


def _check_framework(args, command, pytorch_only=()):
    """The options the TensorFlow driver lacks are refused before any work."""
    check_framework(
        args,
        command,
        [
            (f"--optimizer {args.optimizer}", args.optimizer != "adam"),
            ("--save-every", args.save_every is not None),
            ("--device", args.device is not None),
            *pytorch_only,
        ],
    )


def cmd_style(args) -> int:
    _check_framework(
        args,
        "style",
        [
            (f"blending {len(args.styles)} style images", len(args.styles) > 1),
            ("--style-weights", args.style_weights is not None),
            ("--preserve-colors", args.preserve_colors),
            (f"--scales {args.scales}", args.scales > 1),
        ],
    )
    out, size = _checked_output_and_size(args, [args.content, *args.styles])
    settings = preset_arguments(args.framework, args.preset)
    settings.pop("init_random", None)
    if args.style_size is not None:
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
        size,
        style_blend=args.style_weights,
        preserve_colors=args.preserve_colors,
        scales=args.scales,
        init_random=args.init == "random",
        **settings,
    )


def cmd_invert(args) -> int:
    _check_framework(args, "invert", [("--layer 0", args.layer == 0)])
    out, size = _checked_output_and_size(args, [args.image])
    settings = inversion_arguments(args.framework, args.layer)
    print(f"Reconstructing {args.image} from SqueezeNet layer {args.layer} features, from noise")
    return _run_transfer(args, args.image, [args.image], out, size, **settings)


# ----------------------------------------------------------------------------------------------
# Options


def _add_transfer_args(p, default_output):
    """The options both commands end with: size, optimisation, output, device and data."""
    p.add_argument(
        "--size",
        type=int_range(MIN_SIZE, MAX_SIZE),
        default=192,
        help=f"output's shorter side in pixels, {MIN_SIZE} to {MAX_SIZE} (default: %(default)s)",
    )
    p.add_iterations(200, "optimisation steps (default: %(default)s)")
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
    p.add_seed()
    p.add_output(
        default_output, "IMAGE", "output image; any format PIL writes (default: %(default)s)"
    )
    p.add_quiet()
    p.add_device()
    p.add_framework()
    p.add_data_dir()


def add_parser(commands):
    style = add_command(
        commands,
        "style",
        cmd_style,
        help="neural style transfer: paint an image in the style of others",
        description="Style transfer (Gatys et al.) on the pretrained SqueezeNet with the course's "
        "losses and presets. Several style images are blended (--style-weights). Images may be "
        "any common format. --framework tensorflow runs the TensorFlow driver: one style "
        "image, Adam, no --preserve-colors, --scales or --save-every.",
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
        type=finite_float(0),
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
        type=finite_float(0),
        default=None,
        help="override the preset's content weight (0: texture synthesis)",
    )
    style.add_argument(
        "--style-size",
        type=int_range(MIN_SIZE, MAX_SIZE),
        default=None,
        help=f"style images' shorter side, {MIN_SIZE} to {MAX_SIZE} (default: the preset's)",
    )
    style.add_argument(
        "--preserve-colors", action="store_true", help="keep the content image's colours"
    )
    style.add_argument(
        "--scales",
        type=int_range(1, MAX_SCALES),
        default=1,
        help=f"optimise at 1, 2, 4... times smaller sizes first (large outputs; 1 to {MAX_SCALES})",
    )
    style.add_argument(
        "--init",
        choices=["content", "random"],
        default="content",
        help="start from the content image or from noise (default: %(default)s)",
    )
    _add_transfer_args(style, "stylized.png")

    invert = add_command(
        commands,
        "invert",
        cmd_invert,
        help="feature inversion: rebuild an image from SqueezeNet features",
        description="Start from noise and optimise until the image's features at one layer "
        "match the given image's (the course's feature-inversion settings).",
    )
    invert.add_argument("image", metavar="IMAGE")
    invert.add_argument(
        "--layer",
        type=int_range(0, 12),
        default=3,
        help="SqueezeNet features layer, 0 to 12 (PyTorch's numbering; 1 to 12 with "
        "--framework tensorflow, whose convolutions include their ReLU) (default: %(default)s)",
    )
    _add_transfer_args(invert, "inverted.png")
