"""cs231n.style.transfer: the style-transfer work of ``cs231n style | invert`` without the CLI."""

import pytest
import torch

from cs231n.core import tf_utils
from cs231n.style import transfer as job
from cs231n.style_transfer_pytorch import StyleResult

needs_tensorflow = pytest.mark.skipif(
    not tf_utils.tensorflow_available(), reason="TensorFlow is not installed"
)


def test_unknown_framework_is_refused():
    with pytest.raises(ValueError, match="framework must be one of"):
        job.preset_arguments("jax", "starry_night")


def test_inversion_layer_is_pytorchs_numbering():
    assert job.inversion_arguments("pytorch", 3)["content_layer"] == 3


@needs_tensorflow
def test_inversion_layer_in_tensorflow_is_one_less():
    assert job.inversion_arguments("tensorflow", 3)["content_layer"] == 2


@needs_tensorflow
def test_tensorflow_driver_refuses_what_it_lacks_before_any_work():
    with pytest.raises(ValueError, match="2 style images, optimizer 'lbfgs', scales"):
        job.run_transfer("tensorflow", None, "c.png", ["a.png", "b.png"], "lbfgs", scales=2)


def test_missing_image_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.png"):
        job.check_images([tmp_path / "nothing.png"])


def test_save_images_writes_the_result_and_its_intermediates(tmp_path):
    image = torch.zeros(1, 3, 8, 8)
    result = StyleResult(image=image, intermediates=[(1, image), (2, image)])
    saved = job.save_images(result, tmp_path / "out.png")
    assert saved == [tmp_path / "out_0001.png", tmp_path / "out_0002.png"]
    assert all(p.is_file() for p in [tmp_path / "out.png", *saved])
