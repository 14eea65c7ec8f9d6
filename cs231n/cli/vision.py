"""``cs231n saliency | fool | visualize-class``: network visualization with the pretrained
SqueezeNet, over cs231n.attribution, cs231n.net_visualization_pytorch and the model and figures
of cs231n.net_visualization_cli; here, what reads the command line's images and classes."""

from __future__ import annotations

import time
from pathlib import Path

from .common import (
    UserError,
    _positive_float,
    add_command,
    figure_output,
    finite_float,
    int_range,
)

MIN_SIDE = 32  # SqueezeNet's smallest useful input; smaller images get a clear error


def class_names(data_root=None):
    from ..data_utils import load_imagenet_classes

    names = load_imagenet_classes(data_root)
    return names if names is not None else [f"class {i}" for i in range(1000)]


def resolve_class(text, names):
    """A class index from an index ("76") or a name ("tarantula", "stingray", "great white
    shark"): exact match on any of a class's comma-separated names, else a unique substring."""
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(names):
            raise ValueError(f"class index {index} outside [0, {len(names)})")
        return index
    wanted = text.lower()
    exact = [i for i, n in enumerate(names) if wanted in (s.strip().lower() for s in n.split(","))]
    if len(exact) == 1:
        return exact[0]
    partial = [i for i, n in enumerate(names) if wanted in n.lower()]
    if len(partial) == 1:
        return partial[0]
    found = exact or partial
    if not found:
        raise ValueError(f"no ImageNet class matches {text!r}")
    listing = "; ".join(f"{i}: {names[i]}" for i in found[:8])
    raise ValueError(f"{text!r} matches {len(found)} classes ({listing}); give the index")


def load_images(paths, size=224):
    """Images as a (N, 3, size, size) batch (shorter side scaled to ``size``, centre crop) and
    the (size, size, 3) uint8 crops for the figures."""
    import numpy as np
    import torch

    from ..image_utils import load_image, resize_shorter_side
    from ..net_visualization_pytorch import preprocess

    crops = []
    for path in paths:
        img = load_image(path)
        if min(img.shape[:2]) < MIN_SIDE:
            raise ValueError(
                f"{path}: {img.shape[1]}x{img.shape[0]} pixels is too small (at least {MIN_SIDE})"
            )
        if max(img.shape[:2]) > 20000:
            raise ValueError(f"{path}: {img.shape[1]}x{img.shape[0]} pixels is too large")
        img = np.asarray(resize_shorter_side(img, size))
        h, w = img.shape[:2]
        top, left = (h - size) // 2, (w - size) // 2
        crops.append(img[top : top + size, left : left + size])
    batch = torch.cat([preprocess(c, size=None) for c in crops])
    return batch, np.stack(crops)


def top_prediction(model, x, names):
    import torch

    with torch.no_grad():
        probs = torch.softmax(model(x.to(next(model.parameters()).device)), dim=1).cpu()
    p, idx = probs.max(dim=1)
    return [(int(i), names[int(i)], float(q)) for i, q in zip(idx, p, strict=True)]


def _vision_setup(args):
    from ..net_visualization_cli import load_model

    names = class_names(args.data_dir)
    model = load_model(args.weights or "DEFAULT", args.data_dir, args.device)
    return model, names


def _load_inputs(specs, data_root):
    """Images from files or ``val:K`` (image K of the course's imagenet_val_25.npz). Returns the
    batch, the uint8 crops, labels (None for files) and display names."""
    import numpy as np
    import torch

    from ..net_visualization_pytorch import preprocess

    batch_parts, crops, labels, shown = [], [], [], []
    if any(s.startswith("val:") for s in specs):
        from ..data_utils import load_imagenet_val

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

    from ..attribution import METHODS, attribute
    from ..net_visualization_cli import saliency_figure

    out = figure_output(args.output)
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

    from ..net_visualization_cli import fooling_figure
    from ..net_visualization_pytorch import deprocess, fool, pick_targets

    out = figure_output(args.output)
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
    from tqdm.auto import tqdm

    from ..net_visualization_cli import image_figure
    from ..net_visualization_pytorch import class_visualization

    out = figure_output(args.output)
    model, names = _vision_setup(args)
    target = resolve_class(args.target, names)
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
        help="SqueezeNet 1.1 state dict (default: pretrained weights from the data "
        "directory, the torch hub cache, or torchvision's URL)",
    )
    p.add_device()
    p.add_data_dir()


def add_parser(commands):
    saliency = add_command(
        commands,
        "saliency",
        cmd_saliency,
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
