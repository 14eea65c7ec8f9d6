"""``cs231n saliency | fool | visualize-class``: network visualization with the pretrained
SqueezeNet, over cs231n.vision (the images, the classes, the work in either framework, the
figures); here, the options and what is printed."""

from __future__ import annotations

import time

from ..core.progress import progress_bar
from ..vision.classes import class_names, resolve_class
from .common import (
    _positive_float,
    add_command,
    check_framework,
    figure_output,
    finite_float,
    int_range,
)


def _vision_setup(args):
    """The pretrained SqueezeNet of ``--framework`` and the class names."""
    from ..vision.frameworks import load_squeezenet

    names = class_names(args.data_dir)
    return load_squeezenet(args.framework, args.data_dir, args.weights, args.device), names


def _check_framework(args, command, pytorch_only=()):
    check_framework(args, command, [("--device", args.device is not None), *pytorch_only])


def cmd_saliency(args) -> int:
    from ..vision.attribution import METHODS
    from ..vision.figures import saliency_figure
    from ..vision.frameworks import saliency_maps, top_predictions
    from ..vision.images import load_inputs

    _check_framework(args, "saliency", [(f"--method {args.method}", args.method != "gradient")])
    out = figure_output(args.output)
    model, names = _vision_setup(args)
    X, crops, labels, shown = load_inputs(args.images, args.data_dir)
    predictions = top_predictions(model, X, names, args.framework)
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
        maps[method] = saliency_maps(method, model, X, targets, args.framework)
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

    from ..net_visualization_pytorch import deprocess
    from ..vision.figures import fooling_figure
    from ..vision.frameworks import TARGET_MODES, fool_image, top_predictions
    from ..vision.images import load_inputs

    _check_framework(args, "fool")
    out = figure_output(args.output)
    model, names = _vision_setup(args)
    X, crops, _, shown = load_inputs([args.image], args.data_dir)
    target = args.target if args.target in TARGET_MODES else resolve_class(args.target, names)
    result = fool_image(
        model,
        X,
        target,
        args.framework,
        max_iterations=args.max_iterations,
        objective=args.objective,
        seed=args.seed,
    )
    t = result.target
    before, after = (top_predictions(model, x, names, args.framework)[0] for x in (X, result.image))
    status = "fooled" if result.fooled else "NOT fooled"
    print(f"{shown[0]}: predicted {before[1]} ({before[2]:.1%}); target {t} ({names[t]})")
    print(
        f"{status} after {result.iterations} iterations: now {after[1]} ({after[2]:.1%}); "
        f"perturbation L2 {result.l2:.3f}, Linf {result.linf:.3f} (normalised pixels)"
    )
    fooled = np.asarray(deprocess(result.image, should_rescale=False))
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
    return 0 if result.fooled else 1


def cmd_visualize_class(args) -> int:
    from ..vision.figures import image_figure
    from ..vision.frameworks import visualize_class

    _check_framework(args, "visualize-class")
    out = figure_output(args.output)
    model, names = _vision_setup(args)
    target = resolve_class(args.target, names)
    bar = progress_bar(total=args.iterations, desc=names[target].split(",")[0], disable=args.quiet)
    try:
        img, probability = visualize_class(
            model,
            target,
            args.framework,
            seed=args.seed,
            l2_reg=args.l2_reg,
            learning_rate=args.learning_rate,
            num_iterations=args.iterations,
            callback=lambda t, img: bar.update(1),
        )
    finally:
        bar.close()
    print(
        f"Class {target} ({names[target]}): probability {probability:.1%} after {args.iterations} iterations"
    )
    image_figure(out, img, f"{names[target].split(',')[0]} (p = {probability:.2f})")
    print(f"Figure saved to {out}")
    return 0


# ----------------------------------------------------------------------------------------------
# Options


def _add_figure_output(p, default):
    p.add_output(default, "PNG", "figure (default: %(default)s)")


def _add_model_args(p):
    """The options every command here ends with: the weights, the device, the data."""
    p.add_argument(
        "--weights",
        default=None,
        metavar="PATH",
        help="SqueezeNet 1.1 state dict, converted once for --framework tensorflow "
        "(default: pretrained weights from the data directory, the torch hub cache, or "
        "torchvision's URL)",
    )
    p.add_device()
    p.add_framework()
    p.add_data_dir()


def add_parser(commands):
    saliency = add_command(
        commands,
        "saliency",
        cmd_saliency,
        help="saliency maps and other attributions for images (SqueezeNet)",
        description="Which pixels matter for a class: vanilla gradient saliency (the "
        "assignment's), SmoothGrad, Integrated Gradients or Grad-CAM, for each image, as a "
        "figure. IMAGE is a file or val:K (image K of the course's imagenet_val_25.npz). "
        "--framework tensorflow has the vanilla gradient (the assignment's TensorFlow code).",
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
    _add_figure_output(saliency, "saliency.png")
    _add_model_args(saliency)

    fool_cmd = add_command(
        commands,
        "fool",
        cmd_fool,
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
        type=int_range(1, 100_000),
        default=100,
        help="gradient steps at most (default: %(default)s)",
    )
    fool_cmd.add_seed(0, "for 'random' (default: %(default)s)")
    fool_cmd.add_argument(
        "--objective",
        choices=["margin", "score"],
        default="margin",
        help="ascend the target's margin over the best other class (default; "
        "fools all of 100 test images) or its score (the assignment's "
        "make_fooling_image, 97%%)",
    )
    _add_figure_output(fool_cmd, "fooling.png")
    _add_model_args(fool_cmd)

    visualize = add_command(
        commands,
        "visualize-class",
        cmd_visualize_class,
        help="generate an image SqueezeNet sees as a given class",
        description="Class visualization (the assignment's recipe: gradient ascent from noise "
        "with L2 regularisation, jitter, blur and clamping); reports the class probability the "
        "image reaches.",
    )
    visualize.add_argument(
        "target", metavar="CLASS", help="class index or name (e.g. 76 or tarantula)"
    )
    visualize.add_iterations(100, "gradient steps (default: %(default)s)")
    visualize.add_argument(
        "--l2-reg", type=finite_float(0), default=1e-3, help="(default: %(default)s)"
    )
    visualize.add_argument(
        "--learning-rate", type=_positive_float, default=25.0, help="(default: %(default)s)"
    )
    visualize.add_seed()
    _add_figure_output(visualize, "class.png")
    visualize.add_quiet()
    _add_model_args(visualize)
