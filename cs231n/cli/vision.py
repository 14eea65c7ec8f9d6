"""``cs231n saliency | fool | visualize-class``: network visualization with the pretrained
SqueezeNet, over cs231n.vision.attribution, cs231n.net_visualization_pytorch and the model and figures
of cs231n.vision.figures; here, what reads the command line's images and classes."""

from __future__ import annotations

import time
from pathlib import Path

from .common import (
    UserError,
    _positive_float,
    add_command,
    check_framework,
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
    """The pretrained SqueezeNet of ``--framework`` (PyTorch's, or the TensorFlow model on the
    same weights) and the class names."""
    names = class_names(args.data_dir)
    if args.framework == "tensorflow":
        from ..classifiers.squeezenet import pretrained_squeezenet

        return pretrained_squeezenet(args.data_dir, weights=args.weights), names
    from ..pretrained.squeezenet import load_model

    model = load_model(args.weights or "DEFAULT", args.data_dir, args.device)
    return model, names


def _check_framework(args, command, pytorch_only=()):
    check_framework(args, command, [("--device", args.device is not None), *pytorch_only])


def _nhwc(X):
    """A (N, 3, H, W) torch batch as the (N, H, W, 3) float32 array the TensorFlow model takes."""
    return X.permute(0, 2, 3, 1).contiguous().numpy()


def _nchw(X):
    """A (N, H, W, 3) array back as the (N, 3, H, W) torch batch of the figures' helpers."""
    import numpy as np
    import torch

    return torch.from_numpy(np.ascontiguousarray(np.transpose(X, (0, 3, 1, 2))))


def _tf_scores(model, X):
    """The TensorFlow model's class scores for NHWC images, a NumPy array."""
    return model(X, training=False).numpy()


def _top_predictions(model, X, names, framework):
    """:func:`top_prediction` of either framework's model for the (N, 3, H, W) batch X."""
    if framework != "tensorflow":
        return top_prediction(model, X, names)
    import numpy as np

    scores = _tf_scores(model, _nhwc(X))
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    idx = probs.argmax(axis=1)
    return [(int(i), names[int(i)], float(probs[k, i])) for k, i in enumerate(idx)]


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


def saliency_maps(method, model, X, targets, framework="pytorch"):
    """The attribution maps (N, H, W) of ``method`` for the batch X (N, 3, H, W, normalised)
    and class indices ``targets``, as a NumPy array: what ``cs231n saliency`` draws. With
    ``framework="tensorflow"``, ``model`` is the TensorFlow SqueezeNet and the method the
    assignment's vanilla gradient (``compute_saliency_maps``)."""
    import torch

    if framework == "tensorflow":
        from ..net_visualization_tensorflow import compute_saliency_maps

        if method != "gradient":
            raise ValueError(f"{method} is PyTorch-only; TensorFlow has the gradient method")
        return compute_saliency_maps(_nhwc(X), targets, model)
    from ..vision.attribution import attribute

    return attribute(method, model, X, torch.tensor(targets)).cpu().numpy()


def cmd_saliency(args) -> int:
    from ..vision.attribution import METHODS
    from ..vision.figures import saliency_figure

    _check_framework(args, "saliency", [(f"--method {args.method}", args.method != "gradient")])
    out = figure_output(args.output)
    model, names = _vision_setup(args)
    X, crops, labels, shown = _load_inputs(args.images, args.data_dir)
    predictions = _top_predictions(model, X, names, args.framework)
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


def _fool_pytorch(args, model, X, names):
    """``cs231n fool`` in PyTorch: (target, fooling image (1, 3, H, W), fooled, iterations,
    L2, Linf)."""
    import torch

    from ..net_visualization_pytorch import fool, pick_targets

    generator = torch.Generator().manual_seed(args.seed)
    if args.target in ("random", "least-likely"):
        target = pick_targets(model, X, args.target, generator)
    else:
        target = torch.tensor([resolve_class(args.target, names)])
    result = fool(model, X, target, max_iterations=args.max_iterations, objective=args.objective)
    return (
        int(result.targets[0]),
        result.images[:1].cpu(),
        bool(result.success[0]),
        int(result.iterations[0]),
        float(result.l2[0]),
        float(result.linf[0]),
    )


def _pick_target(scores, mode, seed):
    """:func:`cs231n.net_visualization_pytorch.pick_targets` for one image's class scores
    (a (1, C) NumPy array), the same draw from the same seed."""
    import torch

    scores = torch.from_numpy(scores)
    if mode == "least-likely":
        return int(scores.argmin(dim=1)[0])
    generator = torch.Generator().manual_seed(seed)
    offset = torch.randint(1, scores.shape[1], (1,), generator=generator)
    return int((scores.argmax(dim=1) + offset)[0] % scores.shape[1])


def _fool_tensorflow(args, model, X, names):
    """``cs231n fool`` in TensorFlow: what :func:`_fool_pytorch` returns."""
    import numpy as np

    from ..net_visualization_tensorflow import fool

    x = _nhwc(X)
    if args.target in ("random", "least-likely"):
        target = _pick_target(_tf_scores(model, x), args.target, args.seed)
    else:
        target = resolve_class(args.target, names)
    fooled_image, iterations, fooled = fool(
        model, x, [target], max_iterations=args.max_iterations, objective=args.objective
    )
    delta = (fooled_image - x).ravel()
    l2, linf = float(np.linalg.norm(delta)), float(np.abs(delta).max())
    return target, _nchw(fooled_image), bool(fooled), int(iterations), l2, linf


def cmd_fool(args) -> int:
    import numpy as np

    from ..net_visualization_pytorch import deprocess
    from ..vision.figures import fooling_figure

    _check_framework(args, "fool")
    out = figure_output(args.output)
    model, names = _vision_setup(args)
    X, crops, _, shown = _load_inputs([args.image], args.data_dir)
    run = _fool_tensorflow if args.framework == "tensorflow" else _fool_pytorch
    t, image, success, iterations, l2, linf = run(args, model, X, names)
    before, after = (_top_predictions(model, x, names, args.framework)[0] for x in (X, image))
    status = "fooled" if success else "NOT fooled"
    print(f"{shown[0]}: predicted {before[1]} ({before[2]:.1%}); target {t} ({names[t]})")
    print(
        f"{status} after {iterations} iterations: now {after[1]} ({after[2]:.1%}); "
        f"perturbation L2 {l2:.3f}, Linf {linf:.3f} (normalised pixels)"
    )
    fooled = np.asarray(deprocess(image, should_rescale=False))
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
    return 0 if success else 1


def cmd_visualize_class(args) -> int:
    from tqdm.auto import tqdm

    from ..vision.figures import image_figure

    _check_framework(args, "visualize-class")
    out = figure_output(args.output)
    model, names = _vision_setup(args)
    target = resolve_class(args.target, names)
    bar = tqdm(total=args.iterations, desc=names[target].split(",")[0], disable=args.quiet)
    settings = dict(
        l2_reg=args.l2_reg,
        learning_rate=args.learning_rate,
        num_iterations=args.iterations,
        callback=lambda t, img: bar.update(1),
    )
    try:
        if args.framework == "tensorflow":
            from ..net_visualization_tensorflow import class_visualization

            img, probability = class_visualization(target, model, seed=args.seed, **settings)
            img = _nchw(img)
        else:
            import torch

            from ..net_visualization_pytorch import class_visualization

            generator = torch.Generator().manual_seed(args.seed)
            img, probability = class_visualization(target, model, generator=generator, **settings)
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
