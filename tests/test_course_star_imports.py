"""``from cs231n.X import *`` gives what the course's module X gives: its public names
(tests/data/course_api.json) and the modules it imports at its top, which the notebooks use
after the star-import (the 2021–2026 Transformer notebooks import ``numpy`` themselves but take
``torch`` from ``from cs231n.transformer_layers import *``).

``COURSE_IMPORTS`` is read from the course's starter code (2017–2026: the cs231n.github.io
archives for 2018–2024, public copies of the 2025 and 2026 releases): per module, every name the
course's file binds by an import at its top, with the object the package gives for it.
``NOT_GIVEN`` lists the course's top-level imports the package does not re-create, and why.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import types
from pathlib import Path

import pytest

API = json.loads((Path(__file__).parent / "data" / "course_api.json").read_text())

# module -> {name bound by the course's top-level imports: "module" or "module:attribute"}
COURSE_IMPORTS = {
    "cs231n.captioning_solver": {
        "np": "numpy",
        "optim": "cs231n.optim",
        "sample_coco_minibatch": "cs231n.coco_utils:sample_coco_minibatch",
    },
    "cs231n.captioning_solver_transformer": {
        "np": "numpy",
        "optim": "cs231n.optim",
        "torch": "torch",
        "sample_coco_minibatch": "cs231n.coco_utils:sample_coco_minibatch",
        "decode_captions": "cs231n.coco_utils:decode_captions",
    },
    "cs231n.captioning_solver_pytorch": {  # 2025–2026, assignment 2
        "np": "numpy",
        "optim": "cs231n.optim",
        "torch": "torch",
        "sample_coco_minibatch": "cs231n.coco_utils:sample_coco_minibatch",
        "decode_captions": "cs231n.coco_utils:decode_captions",
    },
    "cs231n.classification_solver_vit": {"torch": "torch", "tqdm": "tqdm.auto:tqdm"},
    "cs231n.classifiers.rnn": {"np": "numpy"},
    "cs231n.classifiers.rnn_pytorch": {"np": "numpy", "torch": "torch"},  # 2025–2026
    "cs231n.classifiers.squeezenet": {"tf": "tensorflow"},
    "cs231n.classifiers.transformer": {
        "np": "numpy",
        "copy": "copy",
        "torch": "torch",
        "nn": "torch.nn",
        # through `from ..transformer_layers import *`
        "F": "torch.nn.functional",
        "math": "math",
        "MultiHeadAttention": "cs231n.transformer_layers:MultiHeadAttention",
        "PositionalEncoding": "cs231n.transformer_layers:PositionalEncoding",
    },
    "cs231n.coco_utils": {"os": "os", "json": "json", "np": "numpy"},
    "cs231n.data_utils": {"pickle": "pickle", "np": "numpy", "os": "os", "platform": "platform"},
    "cs231n.fast_layers": {
        "np": "numpy",
        # through `from .im2col import *`
        "get_im2col_indices": "cs231n.im2col:get_im2col_indices",
        "im2col_indices": "cs231n.im2col:im2col_indices",
        "col2im_indices": "cs231n.im2col:col2im_indices",
    },
    "cs231n.gan_pytorch": {
        "np": "numpy",
        "torch": "torch",
        "nn": "torch.nn",
        "optim": "torch.optim",
        "sampler": "torch.utils.data.sampler",
        "PIL": "PIL",
    },
    "cs231n.gan_tf": {"np": "numpy", "tf": "tensorflow"},
    "cs231n.gradient_check": {"np": "numpy", "randrange": "random:randrange"},
    "cs231n.im2col": {"np": "numpy"},
    "cs231n.image_utils": {
        "urllib": "urllib",
        "os": "os",
        "tempfile": "tempfile",
        "io": "io",
        "np": "numpy",
    },
    "cs231n.layer_utils": {"np": "numpy"},  # through `from .layers import *`
    "cs231n.layers": {"np": "numpy"},
    "cs231n.net_visualization_pytorch": {
        "torch": "torch",
        "random": "random",
        "np": "numpy",
        "SQUEEZENET_MEAN": "cs231n.image_utils:SQUEEZENET_MEAN",
        "SQUEEZENET_STD": "cs231n.image_utils:SQUEEZENET_STD",
    },
    "cs231n.net_visualization_tensorflow": {"tf": "tensorflow", "np": "numpy"},
    "cs231n.optim": {"np": "numpy"},
    "cs231n.rnn_layers": {"np": "numpy"},
    "cs231n.rnn_layers_pytorch": {"torch": "torch"},  # 2025–2026; the notebook star-imports it
    "cs231n.style_transfer_pytorch": {
        "torch": "torch",
        "nn": "torch.nn",
        "PIL": "PIL",
        "np": "numpy",
        "SQUEEZENET_MEAN": "cs231n.image_utils:SQUEEZENET_MEAN",
        "SQUEEZENET_STD": "cs231n.image_utils:SQUEEZENET_STD",
    },
    "cs231n.style_transfer_tensorflow": {"tf": "tensorflow", "np": "numpy"},
    # The SimCLR subpackage (2021-2026). Without torchvision (which does not load here) its
    # transforms and CIFAR-10 dataset are the package's own, with torchvision's names.
    "cs231n.simclr.contrastive_loss": {"torch": "torch", "np": "numpy"},
    "cs231n.simclr.data_utils": {
        "Image": "PIL.Image",
        "transforms": "cs231n.data.transforms",
        "CIFAR10": "cs231n.simclr.data_utils:_CIFAR10",
        "random": "random",
        "torch": "torch",
    },
    "cs231n.simclr.model": {
        "torch": "torch",
        "nn": "torch.nn",
        "F": "torch.nn.functional",
        "resnet50": "cs231n.pretrained.resnet:resnet50",
    },
    "cs231n.simclr.utils": {
        "torch": "torch",
        "optim": "torch.optim",
        "DataLoader": "torch.utils.data:DataLoader",
        "tqdm": "tqdm:tqdm",
        "np": "numpy",
        "simclr_loss_vectorized": "cs231n.simclr.contrastive_loss:simclr_loss_vectorized",
        "rel_error": "cs231n.simclr.contrastive_loss:rel_error",
    },
    # The DDPM question (2025-2026): the course's imports but einops, torchvision, joblib, clip.
    "cs231n.gaussian_diffusion": {
        "torch": "torch",
        "nn": "torch.nn",
        "tqdm": "tqdm.auto:tqdm",
        "math": "math",
    },
    "cs231n.unet": {
        "copy": "copy",
        "einsum": "torch:einsum",
        "nn": "torch.nn",
        "torch": "torch",
        "F": "torch.nn.functional",
        "math": "math",
    },
    "cs231n.ddpm_trainer": {
        "math": "math",
        "os": "os",
        "torch": "torch",
        "DataLoader": "torch.utils.data:DataLoader",
        "Adam": "torch.optim:Adam",
        "tqdm": "tqdm.auto:tqdm",
    },
    "cs231n.emoji_dataset": {
        "os": "os",
        "Image": "PIL.Image",
        "np": "numpy",
        "torch": "torch",
        "Dataset": "torch.utils.data:Dataset",
        "tqdm": "tqdm.auto:tqdm",
    },
    "cs231n.transformer_layers": {
        "torch": "torch",
        "nn": "torch.nn",
        "F": "torch.nn.functional",
        "math": "math",
    },
}

# The course's top-level imports the package leaves out: "name (module): why".
NOT_GIVEN = {
    "cs231n.coco_utils": ["h5py: the package reads the course's HDF5 files with it inside a "
                          "function; importing it costs 0.14 s on every `cs231n` command"],
    "cs231n.data_utils": ["imread (scipy.misc, then imageio): neither is a dependency"],
    "cs231n.image_utils": ["imread, imresize (scipy.misc, imageio): not dependencies",
                           "Image (PIL.Image): loaded inside the functions that decode images"],
    "cs231n.gan_pytorch": ["torchvision, T (torchvision.transforms): not installed"],
    "cs231n.style_transfer_pytorch": ["torchvision, T (torchvision.transforms): not installed"],
    "cs231n.net_visualization_pytorch": ["T (torchvision.transforms): not installed",
                                         "gaussian_filter1d (scipy.ndimage): not a dependency"],
    "cs231n.net_visualization_tensorflow": ["gaussian_filter1d (scipy.ndimage): not a dependency"],
    "cs231n.classifiers.rnn": ["the functions of `from ..layers import *` and "
                               "`from ..rnn_layers import *`: import them from their modules"],
    "cs231n.layer_utils": ["the layer functions of `from .layers import *` and "
                           "`from .fast_layers import *` beyond the ones it uses"],
    "cs231n.unet": ["rearrange (einops): not a dependency (the package reshapes with torch)"],
    "cs231n.ddpm_trainer": ["save_image (torchvision.utils): not installed (the package's "
                            "own PNG writer)"],
    "cs231n.emoji_dataset": ["T (torchvision.transforms): not installed",
                             "joblib: not a dependency", "clip: optional (ClipEmbed needs it, "
                             "with a clear error without it)"],
    "cs231n.simclr.utils": ["pd (pandas), profile and clever_format (thop): not dependencies "
                            "(the notebook's setup cell installs thop and imports them itself)"],
}  # fmt: skip

MODULES = sorted(set(API) | set(COURSE_IMPORTS))
REQUIRES = {m: API.get(m, {}).get("requires") for m in MODULES}


def _resolve(target: str):
    module, _, attribute = target.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attribute) if attribute else obj


def test_every_course_module_is_covered():
    assert set(API) <= set(COURSE_IMPORTS), sorted(set(API) - set(COURSE_IMPORTS))
    assert set(NOT_GIVEN) <= set(COURSE_IMPORTS)


@pytest.mark.parametrize("module", MODULES)
def test_star_import_gives_the_courses_names_and_modules(module):
    if REQUIRES[module]:
        pytest.importorskip(REQUIRES[module], reason=f"{module} needs {REQUIRES[module]}")
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not in this checkout yet")
    namespace: dict = {}
    exec(f"from {module} import *", namespace)  # a fresh namespace, as a notebook's
    missing = [name for name in API.get(module, {}).get("names", {}) if name not in namespace]
    assert not missing, f"`from {module} import *` lacks the course's {missing}"
    for name, target in COURSE_IMPORTS[module].items():
        assert name in namespace, f"`from {module} import *` lacks `{name}` ({target})"
        assert namespace[name] is _resolve(target), f"{module}: `{name}` is not {target}"


def test_the_transformer_notebooks_first_check_runs_after_the_star_import():
    """The 2021–2026 notebooks' setup cell imports numpy and star-imports the layers; their
    first check then calls ``torch`` (a NameError before this was fixed)."""
    namespace: dict = {}
    exec("import numpy as np\nfrom cs231n.transformer_layers import *", namespace)
    exec(
        "torch.manual_seed(231)\n"
        "attn = MultiHeadAttention(8, num_heads=2)\n"
        "attn.eval()\n"
        "data = torch.randn(1, 3, 8)\n"
        "out = attn(query=data, key=data, value=data)\n"
        "pe = PositionalEncoding(8)(data)\n",
        namespace,
    )
    assert tuple(namespace["out"].shape) == (1, 3, 8)
    assert isinstance(namespace["nn"], types.ModuleType) and namespace["F"].gelu
