"""The pretrained SqueezeNet 1.1 as a TensorFlow checkpoint in the layout of the course's own
``squeezenet.ckpt``, converted exactly from the project's PyTorch weights
(:mod:`cs231n.pretrained.squeezenet`) once per source file into the cache.

The course's file is Keras 2's object-based ``save_weights`` of its SqueezeNet: the i-th layer
with weights is ``net/layer_with_weights-{i}``, a Fire module's convolutions are under their
attribute names, so e.g. ``net/layer_with_weights-1/squeeze/kernel/.ATTRIBUTES/VARIABLE_VALUE``.
Kernels are (kh, kw, in, out), biases (out,); ten layers, 52 variables. The layout is written
out here as a table (:data:`TORCH_NAMES`, :func:`checkpoint_shapes`), so this module needs
neither the course's model class nor PyTorch until it converts; a test checks the table against
``cs231n.classifiers.squeezenet.checkpoint_variables`` of the built model.

The course's 2017 and 2018 TensorFlow 1 notebooks load another file, from the course's
``squeezenet_tf.zip``, with a TF1 ``Saver``: variables named by their ``variable_scope`` paths,
``features/layer0/weights``, ``features/layerK/fire/{squeeze,e11,e33}/{weights,bias}`` for the
Fire modules (K = 3, 4, 6, 7, 9 ... 12), ``classifier/layer1/{weights,bias}`` (52 variables, the
same shapes).
:func:`squeezenet_tf1_checkpoint` writes that layout from the same table
(:func:`tf1_key`), once per source file, as a name-based V2 checkpoint (``squeezenet.ckpt.index``
and ``.data-00000-of-00001``, what the 2018 notebook checks for) plus a V1 checkpoint file at the
prefix itself (``squeezenet.ckpt``, what the 2017 notebook checks for; TF1 ``Saver.restore``
reads it when the V2 files are absent). No ``.meta`` graph: the course's code builds its graph
itself.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..core.config import cache_key, cache_path
from ..core.files import clear_cache_entry
from ..core.tf_utils import import_tensorflow
from ..data.download import file_sha256

tf = import_tensorflow()

# Bump when the converted checkpoint changes for the same source weights (layout, conversion).
CHECKPOINT_VERSION = 1
TF1_CHECKPOINT_VERSION = 1  # the same, for the 2017/2018 layout
CHECKPOINT_NAME = "squeezenet.ckpt"  # the course's file name
VARIABLE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"  # object-based checkpoints' key ending

# torchvision's modules with weights, in the order of the course's Keras layers; the Fire
# modules' (inplanes, squeeze, expand1x1, expand3x3) sizes.
CONV0 = "features.0"
FIRES = {
    "features.3": (64, 16, 64, 64),
    "features.4": (128, 16, 64, 64),
    "features.6": (128, 32, 128, 128),
    "features.7": (256, 32, 128, 128),
    "features.9": (256, 48, 192, 192),
    "features.10": (384, 48, 192, 192),
    "features.11": (384, 64, 256, 256),
    "features.12": (512, 64, 256, 256),
}
CLASSIFIER = "classifier.1"
FIRE_PARTS = ("squeeze", "expand1x1", "expand3x3")
# The 2017/2018 graph's names for torchvision's Fire convolutions and parameters.
TF1_FIRE_PARTS = {"squeeze": "squeeze", "expand1x1": "e11", "expand3x3": "e33"}
TF1_ATTRS = {"weight": "weights", "bias": "bias"}


def _key(i: int, part: str, attr: str) -> str:
    path = f"{part}/" if part else ""
    return f"net/layer_with_weights-{i}/{path}{attr}{VARIABLE_SUFFIX}"


@functools.cache
def _layout(num_classes: int = 1000) -> tuple[dict, dict]:
    """({checkpoint key: torchvision key}, {checkpoint key: shape}) of SqueezeNet 1.1."""
    names, shapes = {}, {}

    def conv(i, part, torch_module, kh, cin, cout):
        for attr, torch_attr, shape in (
            ("kernel", "weight", (kh, kh, cin, cout)),
            ("bias", "bias", (cout,)),
        ):
            names[_key(i, part, attr)] = f"{torch_module}.{torch_attr}"
            shapes[_key(i, part, attr)] = shape

    conv(0, "", CONV0, 3, 3, 64)
    for i, (module, (inp, sp, e1, e3)) in enumerate(FIRES.items(), start=1):
        conv(i, "squeeze", f"{module}.squeeze", 1, inp, sp)
        conv(i, "expand1x1", f"{module}.expand1x1", 1, sp, e1)
        conv(i, "expand3x3", f"{module}.expand3x3", 3, sp, e3)
    conv(len(FIRES) + 1, "", CLASSIFIER, 1, 512, num_classes)
    return names, shapes


def torch_names() -> dict:
    """{checkpoint key: torchvision state-dict key}. The course named its layers after
    torchvision's module indices: ``features/layer3/fire`` + ``squeeze`` + ``kernel`` is
    ``features.3.squeeze.weight``."""
    return dict(_layout()[0])


def checkpoint_shapes(num_classes: int = 1000) -> dict:
    """{checkpoint key: shape} of SqueezeNet 1.1 with ``num_classes`` classes."""
    return dict(_layout(num_classes)[1])


def arrays_from_torch(state, num_classes: int | None = None) -> dict:
    """{checkpoint key: float32 array} from a torchvision-keyed state dict: convolution
    weights (out, in, kh, kw) become kernels (kh, kw, in, out), biases stay as they are.
    Raises ValueError naming the tensor whose shape does not fit."""
    if num_classes is None:
        num_classes = int(state[f"{CLASSIFIER}.bias"].shape[0])
    names, shapes = _layout(num_classes)
    arrays = {}
    for key, torch_key in names.items():
        value = state[torch_key].detach().cpu().numpy().astype(np.float32)
        if value.ndim == 4:
            value = value.transpose(2, 3, 1, 0)
        if value.shape != shapes[key]:
            raise ValueError(
                f"{torch_key} has shape {value.shape} once converted, the model needs {shapes[key]}"
            )
        arrays[key] = value
    return arrays


def write_checkpoint(arrays: dict, prefix) -> Path:
    """Write {checkpoint key: array} as a TensorFlow checkpoint at ``prefix`` (files
    ``prefix.index`` and ``prefix.data-00000-of-00001``). The file carries the object graph of
    the course's Keras 2 model (``net`` -> ``layer_with_weights-i`` -> ``squeeze`` ... ->
    ``kernel``), rebuilt from plain ``tf.Module`` objects, so ``load_weights`` of the course's
    own model reads it too."""
    root = tf.Module()
    for key, value in arrays.items():
        *path, attr = key.removesuffix(VARIABLE_SUFFIX).split("/")
        node = root
        for part in path:
            if not hasattr(node, part):
                setattr(node, part, tf.Module())
            node = getattr(node, part)
        setattr(node, attr, tf.Variable(value, name=attr))
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    tf.train.Checkpoint(net=root.net).write(str(prefix))
    return prefix


def tf1_key(torch_key: str) -> str:
    """The 2017/2018 graph's variable name of a torchvision state-dict key:
    ``features.0.weight`` -> ``features/layer0/weights``, ``features.3.expand3x3.bias`` ->
    ``features/layer3/fire/e33/bias``, ``classifier.1.weight`` -> ``classifier/layer1/weights``."""
    section, index, *part, attr = torch_key.split(".")
    path = [section, f"layer{index}"]
    if part:
        path += ["fire", TF1_FIRE_PARTS[part[0]]]
    return "/".join([*path, TF1_ATTRS[attr]])


def tf1_keys() -> dict:
    """{2020 checkpoint key: 2017/2018 variable name}, in the table's order (52 variables)."""
    return {key: tf1_key(torch_key) for key, torch_key in _layout()[0].items()}


def tf1_checkpoint_shapes(num_classes: int = 1000) -> dict:
    """{2017/2018 variable name: shape} of SqueezeNet 1.1 with ``num_classes`` classes."""
    names, shapes = _layout(num_classes)
    return {tf1_key(names[key]): shape for key, shape in shapes.items()}


def tf1_arrays_from_torch(state, num_classes: int | None = None) -> dict:
    """{2017/2018 variable name: float32 array} from a torchvision-keyed state dict; the same
    arrays as :func:`arrays_from_torch` (kernels (kh, kw, in, out)), under the graph's names."""
    keys = tf1_keys()
    return {keys[key]: value for key, value in arrays_from_torch(state, num_classes).items()}


def write_tf1_checkpoint(arrays: dict, prefix, v2_files: bool = True, v1_file: bool = True) -> Path:
    """Write {variable name: array} as a name-based TensorFlow checkpoint at ``prefix``, the
    format a TF1 ``Saver`` restores: V2 files ``prefix.index`` and
    ``prefix.data-00000-of-00001`` (``v2_files``), and the same tensors as a V1 checkpoint in
    the file ``prefix`` itself (``v1_file``). Runs in a graph of its own, so it works whether
    the caller's TensorFlow runs eagerly or in graph mode."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    names = list(arrays)
    values = [np.asarray(arrays[name]) for name in names]
    with tf.Graph().as_default():
        holders = [tf.compat.v1.placeholder(tf.as_dtype(v.dtype), v.shape) for v in values]
        writes = []
        if v1_file:
            writes.append(tf.raw_ops.Save(filename=str(prefix), tensor_names=names, data=holders))
        if v2_files:
            writes.append(
                tf.raw_ops.SaveV2(
                    prefix=str(prefix),
                    tensor_names=names,
                    shape_and_slices=[""] * len(names),
                    tensors=holders,
                )
            )
        with tf.compat.v1.Session() as sess:
            for write in writes:  # one after the other: both may write beside ``prefix``
                sess.run(write, feed_dict=dict(zip(holders, values, strict=True)))
    return prefix


def _is_sound(prefix, shapes: dict) -> bool:
    """Whether the checkpoint at ``prefix`` holds every variable of ``shapes``, of that shape,
    readable and finite (a truncated or damaged file fails here)."""
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        for key, shape in shapes.items():
            value = reader.get_tensor(key)
            if value.shape != shape or not np.isfinite(value).all():
                return False
    except (tf.errors.OpError, IndexError, ValueError):
        return False
    return True


def checkpoint_is_sound(prefix) -> bool:
    """Whether ``prefix`` is a complete SqueezeNet 1.1 checkpoint: every variable present, of
    the right shape, readable and finite (a truncated or damaged file fails here)."""
    return Path(f"{prefix}.index").is_file() and _is_sound(prefix, checkpoint_shapes())


def tf1_checkpoint_is_sound(prefix) -> bool:
    """Whether ``prefix`` is a complete cached checkpoint in the 2017/2018 layout: sound V2
    files, and the V1 file at ``prefix`` with the SHA-256 recorded beside it when written."""
    prefix = Path(prefix)
    if not (Path(f"{prefix}.index").is_file() and prefix.is_file()):
        return False
    try:
        info = json.loads((prefix.parent / "source.json").read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(info, dict) or info.get("v1_sha256") != file_sha256(prefix):
        return False
    return _is_sound(prefix, tf1_checkpoint_shapes())


def _write_tf1_entry(state, prefix) -> dict:
    arrays = tf1_arrays_from_torch(state)
    # The V1 file first, checked on its own (a reader prefers V2 files where they exist).
    write_tf1_checkpoint(arrays, prefix, v2_files=False)
    if not _is_sound(prefix, tf1_checkpoint_shapes()):
        raise RuntimeError(f"{prefix}: the V1 checkpoint just written does not read back")
    v1_sha256 = file_sha256(prefix)
    write_tf1_checkpoint(arrays, prefix, v1_file=False)
    return {"v1_sha256": v1_sha256}


def _write_entry(state, prefix) -> dict:
    write_checkpoint(arrays_from_torch(state), prefix)
    return {}


def _converted(kind: str, version: int, write, is_sound, data_root, weights) -> Path:
    """The cached conversion ``cache/KIND/KEY/squeezenet.ckpt`` of the pretrained PyTorch
    weights (KEY from the source file's SHA-256 and ``version``): returned as it is when
    ``is_sound``, else (re)built by ``write(state_dict, prefix)`` in a temporary folder renamed
    into place. ``write`` returns extra facts for ``source.json``."""
    from .squeezenet import find_pretrained_weights, squeezenet1_1

    source = Path(weights) if weights is not None else find_pretrained_weights(data_root)
    if source is None:  # downloads torchvision's file, or says where to put one
        squeezenet1_1("DEFAULT", data_root=data_root)
        source = find_pretrained_weights(data_root)
    sha256 = file_sha256(source)
    folder = cache_path(kind, cache_key(source_sha256=sha256, version=version))
    prefix = folder / CHECKPOINT_NAME
    if is_sound(prefix):
        return prefix
    clear_cache_entry(folder)  # damaged, half-written or not even a folder: rebuild

    state = squeezenet1_1(weights=source).state_dict()  # checks the file is SqueezeNet 1.1's
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        extra = write(state, staging / CHECKPOINT_NAME)
        info = {"source": str(source), "source_sha256": sha256, "version": version, **extra}
        (staging / "source.json").write_text(json.dumps(info, indent=1) + "\n")
        try:
            os.rename(staging, folder)
        except OSError:  # another process put a complete entry there first
            if not is_sound(prefix):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return prefix


def squeezenet_checkpoint(data_root=None, weights=None) -> Path:
    """The prefix of the pretrained SqueezeNet TensorFlow checkpoint, made once per source.

    The source is the project's PyTorch SqueezeNet 1.1 weights: ``weights`` (a path to a state
    dict) or, by default, what :func:`cs231n.pretrained.squeezenet.find_pretrained_weights`
    finds (the data directory's ``squeezenet1_1.pt``, ...; else torchvision's file is
    downloaded). The checkpoint lives in the cache under ``squeezenet_tf/KEY/squeezenet.ckpt``,
    KEY from the SHA-256 of the source file and :data:`CHECKPOINT_VERSION`; it is written in a
    temporary folder renamed into place, and an entry that is incomplete or damaged is rebuilt.
    Importing PyTorch (to read the source) is needed only here.
    """
    return _converted(
        "squeezenet_tf", CHECKPOINT_VERSION, _write_entry, checkpoint_is_sound, data_root, weights
    )


def squeezenet_tf1_checkpoint(data_root=None, weights=None) -> Path:
    """The prefix of the pretrained SqueezeNet checkpoint in the course's 2017/2018 layout (the
    file its TF1 notebooks restore with ``SqueezeNet(save_path=SAVE_PATH, sess=sess)``), made
    once per source like :func:`squeezenet_checkpoint`, under
    ``squeezenet_tf1/KEY/squeezenet.ckpt`` (KEY from the source's SHA-256 and
    :data:`TF1_CHECKPOINT_VERSION`). Both ``prefix`` (a V1 checkpoint file) and
    ``prefix.index`` (V2) exist, so the 2017 notebook's ``os.path.exists(SAVE_PATH)`` and the
    2018 notebook's ``os.path.exists(SAVE_PATH + ".index")`` both pass; the two hold the same
    tensors."""
    return _converted(
        "squeezenet_tf1",
        TF1_CHECKPOINT_VERSION,
        _write_tf1_entry,
        tf1_checkpoint_is_sound,
        data_root,
        weights,
    )
