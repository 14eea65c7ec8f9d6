"""Style transfer and feature inversion in either framework: the PyTorch driver
(cs231n.style_transfer_pytorch) or the TensorFlow one (cs231n.style_transfer_tensorflow, on the
same pretrained weights), behind one call with ``framework="pytorch"`` or ``"tensorflow"``;
and the images they read and write.

PyTorch is imported when a model is loaded and TensorFlow only when asked for, so that a wrong
image file is reported at once."""

from __future__ import annotations

from pathlib import Path

from ..core.files import atomic_path
from ..image_utils import load_image

FRAMEWORKS = ("pytorch", "tensorflow")


def _is_tensorflow(framework):
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    return framework == "tensorflow"


def check_images(paths):
    """Read each image once, so that a missing or unreadable one is reported (naming it)
    before the model is loaded and minutes are spent."""
    for path in paths:
        load_image(path)


def load_cnn(framework="pytorch", device=None, data_root=None):
    """The pretrained SqueezeNet the driver of ``framework`` takes: PyTorch's features (on
    ``device``), or the course's TensorFlow model on the same weights."""
    if _is_tensorflow(framework):
        from ..classifiers.squeezenet import pretrained_squeezenet

        return pretrained_squeezenet(data_root)
    from ..style_transfer_pytorch import default_cnn

    return default_cnn(device, data_root)


def preset_arguments(framework, name):
    """The course's settings for preset ``name`` with ``framework``'s layer indices (the
    TensorFlow model's are PyTorch's minus one: its convolutions include their ReLU)."""
    if _is_tensorflow(framework):
        from ..style_transfer_tensorflow import PRESETS

        return {k: v for k, v in PRESETS[name].items() if k != "style_image"}
    from ..style_transfer_pytorch import preset_arguments as pytorch_preset_arguments

    return pytorch_preset_arguments(name)


def inversion_arguments(framework, layer):
    """The course's feature-inversion settings, rebuilding the image from ``layer`` of
    PyTorch's SqueezeNet features (1 to 12 for TensorFlow, whose fused ReLUs make its own index
    one less)."""
    settings = preset_arguments(framework, "feature_inversion")
    settings["content_layer"] = layer - 1 if _is_tensorflow(framework) else layer
    return settings


def run_transfer(framework, cnn, content, styles, optimizer="adam", save_every=None, **settings):
    """``transfer`` of ``framework``'s driver with the model ``cnn`` (:func:`load_cnn`), the
    content image, the list of style images and the driver's keyword arguments. The TensorFlow
    driver takes one style image and Adam, without blending, colour preservation, scales or
    intermediate images: asking it for them is a ValueError."""
    if not _is_tensorflow(framework):
        from ..style_transfer_pytorch import transfer

        return transfer(
            content, styles, cnn=cnn, optimizer=optimizer, save_every=save_every, **settings
        )
    from ..style_transfer_tensorflow import transfer

    unsupported = {
        f"{len(styles)} style images": len(styles) != 1,
        f"optimizer {optimizer!r}": optimizer != "adam",
        "save_every": save_every is not None,
        "style_blend": settings.pop("style_blend", None) is not None,
        "preserve_colors": bool(settings.pop("preserve_colors", False)),
        "scales": settings.pop("scales", 1) > 1,
    }
    asked = [what for what, given in unsupported.items() if given]
    if asked:
        raise ValueError(f"the TensorFlow style transfer does not support {', '.join(asked)}")
    return transfer(content, styles[0], cnn=cnn, **settings)


def save_images(result, out):
    """Write the result's image to ``out`` (any format PIL writes) and its intermediate images,
    if any, beside it as ``OUT_NNNN.png`` (NNNN: the iteration). Returns the intermediates'
    paths."""
    from ..net_visualization_pytorch import deprocess

    _save_image(result.pil(), out)
    stem = out.with_suffix("")
    saved = []
    for t, img in getattr(result, "intermediates", []):  # the TensorFlow driver keeps none
        path = Path(f"{stem}_{t:04d}{out.suffix}")
        saved.append(_save_image(deprocess(img.cpu(), should_rescale=False), path))
    return saved


def _save_image(pil_image, path):
    with atomic_path(path) as tmp:  # a reader never sees half an image
        pil_image.save(tmp)
    return path
