"""Every data asset the project uses: its official source, its pinned checksums, where it is found.

``cs231n data download NAME`` is :func:`fetch`, ``cs231n data status`` is :func:`status`. The
registry :data:`ASSETS` maps each name to an :class:`Asset`:

==============  ===========================================================================
squeezenet      torchvision's SqueezeNet 1.1 weights, ``squeezenet1_1-b8a52dc0.pth``
imagenet-val    the course's ``imagenet_val_25.npz`` (25 labelled ImageNet validation images)
styles          the course's style-transfer images (``styles/*.jpg``) and ``images/kitten.jpg``,
                ``images/sky.jpg``, extracted from its public 2020 assignment archive
mnist           the four MNIST IDX files (``mnist/``)
fashion-mnist   the four Fashion-MNIST IDX files (``fashion-mnist/``)
coco            the course's ``coco_captioning.zip`` (about 1 GB), unpacked into
                ``coco_captioning/`` (see :func:`fetch_dataset`)
text-embed      the course's ``text_embeddings.pt``: CLIP ViT-B/32 text embeddings of the 2484
                emoji texts (diffusion)
emoji           the course's ``emoji_data.npz``: the 32x32 emoji images and their texts
ddpm-model      the course's pretrained DDPM, ``ddpm/model-70000.pt`` (about 150 MB)
simclr-model    the course's SimCLR ResNet-50 pretrained on CIFAR-10,
                ``pretrained_model/pretrained_simclr_model.pth`` (about 100 MB)
cifar10         CIFAR-10's ``cifar-10-python.tar.gz`` (163 MB, MD5-checked), unpacked into
                ``cifar-10-batches-py/`` (the course's ``load_CIFAR10``, SimCLR)
==============  ===========================================================================

Every file is checked against a pinned SHA-256 (the COCO archive's is not published: only its
size is checked, against the server's; neither is ``emoji_data.npz``'s, ``model-70000.pt``'s
nor ``pretrained_simclr_model.pth``'s, which could not be fetched to pin them: they are checked
for being whole, not for their contents). Files land in the data directory
(:func:`cs231n.core.config.data_dir`); an archive from which only some files are taken is downloaded
into the cache (``downloads/``) and deleted once its files are extracted and checked. Downloads
resume (HTTP Range) and show progress (:mod:`cs231n.data.download`); every archive is unpacked by
:func:`cs231n.data.archives.extract`.

This registry is the only list of the project's data: ``cs231n data status``, ``data path`` and
``data download``, the demo and the COCO loaders all read it.

A mirror (``CS231N_MIRROR`` or the ``mirror`` argument) replaces every official URL by
``MIRROR/NAME/FILE``, where NAME is the asset's name and FILE the official URL's last part
(e.g. ``MIRROR/styles/assignment3_jupyter.zip``): point it at a local copy of the files, laid
out that way, to install on machines without internet.

No PyTorch: status and downloads work before anything heavy is imported.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..core.config import cache_path, data_dir
from .archives import ArchiveError, extract
from .download import DownloadError, IntegrityError, download, file_sha256

MIRROR_ENV_VAR = "CS231N_MIRROR"

# What the files taken from an asset's archive may expand to, in all (the seven style images:
# 2.3 MB), so that a decompression bomb cannot fill the disk.
MAX_MEMBERS_BYTES = 64 << 20


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: ``path`` (relative to the data directory; for an archive, its file
    name in the cache), the official ``urls`` (tried in turn), its SHA-256 and size in bytes
    (None: not published), and its MD5 where that is the only published checksum (CIFAR-10)."""

    path: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None = None
    md5: str | None = None


@dataclass(frozen=True)
class Member:
    """A file taken from an archive: ``member`` (its path in the archive) is written to
    ``path`` (relative to the data directory) once its SHA-256 matches."""

    member: str
    path: str
    sha256: str


@dataclass(frozen=True)
class Dataset:
    """An archive unpacked whole into ``folder`` of the data directory: the ``files`` it must
    provide, and ``optional`` ones it may (listed by ``cs231n data path``, never required)."""

    folder: str
    files: tuple[str, ...]
    optional: tuple[str, ...] = ()


@dataclass(frozen=True)
class Asset:
    """One named asset, fetched one of three ways: its ``files`` downloaded one by one; its
    ``members`` taken from ``archive`` (downloaded into the cache, then deleted); or ``archive``
    unpacked into the data directory as ``dataset`` (downloaded there, or copied there by hand)."""

    name: str
    description: str
    used_by: str
    size: str  # for people: how much a download is
    files: tuple[RemoteFile, ...] = ()
    archive: RemoteFile | None = None
    members: tuple[Member, ...] = ()
    dataset: Dataset | None = None
    # Other places that count as present (checked in order after the data directory).
    alternatives: tuple = field(default=(), repr=False)
    in_all: bool = True

    @property
    def targets(self) -> list[str]:
        """The paths, relative to the data directory, that the asset provides."""
        if self.dataset is not None:
            return [f"{self.dataset.folder}/{f}" for f in self.dataset.files]
        return [f.path for f in self.files] + [m.path for m in self.members]

    @property
    def optional_targets(self) -> list[str]:
        """Paths the asset may also provide: listed, never required."""
        if self.dataset is None:
            return []
        return [f"{self.dataset.folder}/{f}" for f in self.dataset.optional]


def _torch_hub_checkpoint(name: str) -> Path:
    """Where ``torch.hub`` keeps a downloaded checkpoint (torch's own rule, without importing
    torch: ``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        xdg = os.environ.get("XDG_CACHE_HOME")
        torch_home = str(Path(xdg) / "torch") if xdg else str(Path.home() / ".cache" / "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints" / name


SQUEEZENET_FILE = "squeezenet1_1-b8a52dc0.pth"
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def _idx_files(folder, base_urls, checksums):
    """The four gzipped IDX files of an MNIST-format data set: (sha256, size) per file."""
    return tuple(
        RemoteFile(
            f"{folder}/{stem}.gz",
            tuple(f"{base}{stem}.gz" for base in base_urls),
            *checksums[stem],
        )
        for stem in IDX_FILES
    )


def _idx_folder(folder: Path) -> Path | None:
    """``folder`` if it holds all four IDX files (gzipped or not), else None."""
    ok = all((folder / s).is_file() or (folder / f"{s}.gz").is_file() for s in IDX_FILES)
    return folder if ok else None


def _course_a3_urls(name: str) -> tuple[str, ...]:
    """The course's 2025/2026 assignment-3 storage (the 2026 starter uses https, 2025's http)."""
    return tuple(
        f"{scheme}://cs231n.stanford.edu/2025/storage/a3/{name}" for scheme in ("https", "http")
    )


DDPM_CHECKPOINT = "model-70000.pt"
# The course's SimCLR weights: where its notebooks put them (relative to the data directory
# here), and the official URL of the 2021-2024 notebooks' download cell, then 2025's storage.
SIMCLR_CHECKPOINT = "pretrained_model/pretrained_simclr_model.pth"
SIMCLR_URLS = (
    "http://downloads.cs.stanford.edu/downloads/cs231n/pretrained_simclr_model.pth",
    "https://cs231n.stanford.edu/2025/storage/a3/pretrained_simclr_model.pth",
)

_STYLES_ARCHIVE = "https://cs231n.github.io/assignments/2020/assignment3_jupyter.zip"

# The files load_coco_data reads (with PCA features), as the course's archive names them
# (cs231n.coco_utils.COCO_FILES is this tuple).
COCO_FILES = (
    "coco2014_captions.h5",
    "coco2014_vocab.json",
    "train2014_vgg16_fc7_pca.h5",
    "val2014_vgg16_fc7_pca.h5",
    "train2014_urls.txt",
    "val2014_urls.txt",
)
# The archive's uncompressed features: unpacked when present, needed by nothing.
# CIFAR-10, python version: the archive's folder and the files the course's load_CIFAR10 reads.
# URL, MD5 and size as published on https://www.cs.toronto.edu/~kriz/cifar.html (and pinned by
# torchvision's CIFAR10 class); no SHA-256 is published.
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_SIZE = 170_498_071
CIFAR10_FILES = tuple(f"data_batch_{b}" for b in range(1, 6)) + ("test_batch",)

COCO_OPTIONAL = ("train2014_vgg16_fc7.h5", "val2014_vgg16_fc7.h5")

ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            "squeezenet",
            "SqueezeNet 1.1 pretrained on ImageNet (torchvision's weights)",
            "network visualization, style transfer",
            "4.7 MB",
            files=(
                RemoteFile(
                    SQUEEZENET_FILE,
                    (f"https://download.pytorch.org/models/{SQUEEZENET_FILE}",),
                    # torchvision publishes the first 8 digits in the file name; in full:
                    "b8a52dc049b60e4b6ab68ad0df457362afab8b6304b2febdc1650a5dab4d7e7b",
                    4_958_839,
                ),
            ),
            # The course's copy under its own name, or torchvision's download in the hub cache.
            alternatives=(
                lambda root: root / "squeezenet1_1.pt",
                lambda root: _torch_hub_checkpoint(SQUEEZENET_FILE),
            ),
        ),
        Asset(
            "imagenet-val",
            "the course's 25 labelled ImageNet validation images (imagenet_val_25.npz)",
            "network visualization",
            "3.8 MB",
            files=(
                RemoteFile(
                    "imagenet_val_25.npz",
                    ("http://cs231n.stanford.edu/imagenet_val_25.npz",),
                    "35141609d22457c791e8fbe10c2d3b09ed0d6a04b669173e9fbebb0b4915cd3c",
                    3_940_548,
                ),
            ),
        ),
        Asset(
            "styles",
            "the course's style-transfer images (styles/*.jpg, images/kitten.jpg, images/sky.jpg)",
            "style transfer",
            "3.9 MB archive",
            archive=RemoteFile(
                "assignment3_jupyter.zip",
                (_STYLES_ARCHIVE,),
                "60580829f18462314732bdf95e136f6672ebee2b505a290acddd8b101d0cfd54",
                4_084_100,
            ),
            members=tuple(
                Member(f"assignment3/{src}", dest, sha)
                for src, dest, sha in (
                    (
                        "styles/tubingen.jpg",
                        "styles/tubingen.jpg",
                        "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506",
                    ),
                    (
                        "styles/composition_vii.jpg",
                        "styles/composition_vii.jpg",
                        "8f992ed4aecd6dd56972d7bc8166761de7c94e670ee6effa8fd05f3daeb33409",
                    ),
                    (
                        "styles/the_scream.jpg",
                        "styles/the_scream.jpg",
                        "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee",
                    ),
                    (
                        "styles/starry_night.jpg",
                        "styles/starry_night.jpg",
                        "c31741a09141c2e2d07fc7aa6bdf135c369b804f9433e43fa3ceac19386d1ee6",
                    ),
                    (
                        "styles/muse.jpg",
                        "styles/muse.jpg",
                        "b8a36cd8752497510389782159ccf141d41c3446002a079b458fb7b774d3928a",
                    ),
                    (
                        "kitten.jpg",
                        "images/kitten.jpg",
                        "39faf9635202b538a7612e69c1d866be487cee7f69d8e166e4b59662d0ec68cf",
                    ),
                    (
                        "sky.jpg",
                        "images/sky.jpg",
                        "0821432e1977d34c378b7b192e478af95437c64cf4ed021de13c13d8f48333f9",
                    ),
                )
            ),
        ),
        Asset(
            "mnist",
            "MNIST handwritten digits, four IDX files",
            "cs231n gan train --dataset mnist",
            "11 MB",
            files=_idx_files(
                "mnist",
                (
                    "https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "http://yann.lecun.com/exdb/mnist/",
                ),
                {
                    "train-images-idx3-ubyte": (
                        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                        9_912_422,
                    ),
                    "train-labels-idx1-ubyte": (
                        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                        28_881,
                    ),
                    "t10k-images-idx3-ubyte": (
                        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                        1_648_877,
                    ),
                    "t10k-labels-idx1-ubyte": (
                        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                        4_542,
                    ),
                },
            ),
            alternatives=(lambda root: _idx_folder(root / "mnist"),),
        ),
        Asset(
            "fashion-mnist",
            "Fashion-MNIST clothing images, four IDX files",
            "GANs",
            "29 MB",
            files=_idx_files(
                "fashion-mnist",
                (
                    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                ),
                {
                    "train-images-idx3-ubyte": (
                        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                        26_421_880,
                    ),
                    "train-labels-idx1-ubyte": (
                        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                        29_515,
                    ),
                    "t10k-images-idx3-ubyte": (
                        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                        4_422_102,
                    ),
                    "t10k-labels-idx1-ubyte": (
                        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                        5_148,
                    ),
                },
            ),
            # Uncompressed IDX files put there by hand, or Debian's dataset-fashion-mnist.
            alternatives=(
                lambda root: _idx_folder(root / "fashion-mnist"),
                lambda root: _idx_folder(DEBIAN_FASHION_MNIST),
            ),
        ),
        Asset(
            "coco",
            "COCO 2014 captions, vocabulary, image URLs and VGG-16 fc7 features (coco_captioning/)",
            "captioning on COCO (otherwise the built-in Shapes data)",
            "about 1 GB",
            # Neither checksum nor size is published: the size is checked against the server's.
            archive=RemoteFile(
                "coco_captioning.zip", ("http://cs231n.stanford.edu/coco_captioning.zip",), None
            ),
            dataset=Dataset("coco_captioning", COCO_FILES, COCO_OPTIONAL),
            in_all=False,
        ),
        Asset(
            "cifar10",
            "CIFAR-10, python version (cifar-10-batches-py/: five training batches, one test)",
            "the course's load_CIFAR10 and SimCLR (cs231n.simclr.data_utils.CIFAR10)",
            "163 MB",
            archive=RemoteFile(
                "cifar-10-python.tar.gz", (CIFAR10_URL,), None, CIFAR10_SIZE, md5=CIFAR10_MD5
            ),
            dataset=Dataset("cifar-10-batches-py", CIFAR10_FILES, ("batches.meta", "readme.html")),
            in_all=False,
        ),
        Asset(
            "text-embed",
            "the course's CLIP ViT-B/32 text embeddings of 2484 emoji texts (text_embeddings.pt)",
            "diffusion (cs231n diffusion, cs231n.emoji_dataset)",
            "3.7 MB",
            files=(
                RemoteFile(
                    "text_embeddings.pt",
                    _course_a3_urls("text_embeddings.pt"),
                    "9660af90fbc0d3793f0c6c7a89b6aa0a6fd1059b22cfddf8c942866ad8068520",
                    3_660_556,
                ),
            ),
        ),
        Asset(
            "emoji",
            "the course's 32x32 emoji images and their texts (emoji_data.npz)",
            "diffusion (otherwise the emoji rendered from the Noto font)",
            "about 30 MB",
            # No checksum or size is published and the file could not be fetched to pin one.
            files=(RemoteFile("emoji_data.npz", _course_a3_urls("emoji_data.npz"), None),),
            in_all=False,
        ),
        Asset(
            "ddpm-model",
            "the course's pretrained emoji DDPM after 70000 steps (ddpm/model-70000.pt)",
            "cs231n.ddpm_trainer.Trainer.download_pretrained",
            "about 150 MB",
            # Unpinned, as emoji_data.npz.
            files=(RemoteFile(f"ddpm/{DDPM_CHECKPOINT}", _course_a3_urls(DDPM_CHECKPOINT), None),),
            in_all=False,
        ),
        Asset(
            "simclr-model",
            "the course's SimCLR ResNet-50 pretrained on CIFAR-10 "
            "(pretrained_model/pretrained_simclr_model.pth)",
            "cs231n ssl evaluate --pretrained-course (cs231n.ssl.evaluation.load_course_pretrained)",
            "about 100 MB",
            # No checksum or size is published: only being whole is checked (the size against
            # the server's), as for emoji_data.npz.
            files=(RemoteFile(SIMCLR_CHECKPOINT, SIMCLR_URLS, None),),
            in_all=False,
        ),
    )
}

ALL = "all"


def asset(name: str) -> Asset:
    """The registry entry ``name``; ValueError naming the known ones otherwise."""
    try:
        return ASSETS[name]
    except KeyError:
        raise ValueError(f"unknown asset {name!r} (known: {', '.join(ASSETS)}, {ALL})") from None


def expand(names) -> list[str]:
    """Asset names with ``all`` replaced by every asset but COCO, duplicates dropped."""
    out = []
    for name in names:
        group = [a.name for a in ASSETS.values() if a.in_all] if name == ALL else [asset(name).name]
        out += [n for n in group if n not in out]
    return out


# --------------------------------------------------------------------------------------------
# Where an asset is


def locate(name: str, data_root=None) -> Path | None:
    """Where the asset is present: the data directory when it holds every target file, else
    the first alternative place that has it (e.g. Debian's Fashion-MNIST), else None."""
    spec = asset(name)
    root = data_dir(data_root)
    if all((root / t).is_file() for t in spec.targets):
        return _common_folder(root, spec.targets)
    for alternative in spec.alternatives:
        path = alternative(root)
        if path is not None and path.exists():
            return path
    return None


def missing_files(name: str, data_root=None) -> list[Path]:
    """The asset's required files that are not in the data directory."""
    root = data_dir(data_root)
    return [root / t for t in asset(name).targets if not (root / t).is_file()]


def file_status(name: str, data_root=None) -> list[tuple[str, bool, bool]]:
    """``(path, present, optional)`` for each file of the asset, relative to the data directory;
    when the asset is found elsewhere instead (:func:`locate`), that one place."""
    spec, root = asset(name), data_dir(data_root)
    rows = [(t, (root / t).is_file(), False) for t in spec.targets]
    where = locate(name, root)
    if where is not None and not all(present for _, present, _ in rows):
        shown = where.relative_to(root) if where.is_relative_to(root) else where
        return [(f"{shown}/" if where.is_dir() else str(shown), True, False)]
    return rows + [(t, (root / t).is_file(), True) for t in spec.optional_targets]


def _common_folder(root: Path, targets) -> Path:
    """The file itself for a one-file asset, else the folder holding all the files."""
    if len(targets) == 1:
        return root / targets[0]
    parents = {PurePosixPath(t).parent for t in targets}
    return root / next(iter(parents)) if len(parents) == 1 else root


@dataclass(frozen=True)
class AssetStatus:
    name: str
    description: str
    used_by: str
    size: str
    where: Path | None  # None: missing

    @property
    def present(self) -> bool:
        return self.where is not None


def status(data_root=None) -> list[AssetStatus]:
    """One :class:`AssetStatus` per asset, in registry order."""
    return [
        AssetStatus(a.name, a.description, a.used_by, a.size, locate(a.name, data_root))
        for a in ASSETS.values()
    ]


def download_command(names, data_root=None) -> str:
    """The one command that fetches ``names`` (with ``--data-dir`` when one was given)."""
    command = "cs231n data download " + " ".join(names)
    return command + (f" --data-dir {data_root}" if data_root is not None else "")


# --------------------------------------------------------------------------------------------
# Fetching


def mirror_url(mirror: str, name: str, url: str) -> str:
    """``url`` on ``mirror``: ``MIRROR/NAME/<last part of url>``."""
    return f"{mirror.rstrip('/')}/{name}/{url.rsplit('/', 1)[-1]}"


def _urls(spec: Asset, remote: RemoteFile, mirror, base_url=None) -> tuple[str, ...]:
    last = remote.urls[0].rsplit("/", 1)[-1]
    if base_url:
        return (f"{base_url.rstrip('/')}/{last}",)
    mirror = mirror or os.environ.get(MIRROR_ENV_VAR) or None
    return (mirror_url(mirror, spec.name, remote.urls[0]),) if mirror else remote.urls


def fetch(
    name: str, data_root=None, mirror=None, progress=True, log=None, url=None, keep_archive=False
) -> Path:
    """Download asset ``name`` into the data directory unless it is already present; returns
    where it is (:func:`locate`).

    Every file is checked against its pinned SHA-256 and size; a file of the right name with a
    wrong checksum is downloaded again. Official URLs are tried in turn (a mirror, when given,
    replaces them; ``url`` replaces them for this one asset: the archive's URL for COCO, else a
    base URL under which each file is found by its file name; ``keep_archive``: COCO's). Raises :class:`~cs231n.data.download.DownloadError` when no source could provide
    a verified copy, ``PermissionError`` when the data directory cannot be written.
    """
    spec = asset(name)
    root = data_dir(data_root)
    where = locate(name, root)
    if where is not None and not stale(name, root):
        return where
    _check_writable(root)
    if spec.dataset is not None:
        return fetch_dataset(
            name,
            root,
            url=url or _urls(spec, spec.archive, mirror)[0],
            progress=progress,
            keep_archive=keep_archive,
            replace_archive=url is not None,
            log=log,
        )
    for remote in spec.files:
        dest = root / remote.path
        if not _verified(dest, remote.sha256):
            if log and dest.is_file():
                log(f"{dest}: checksum mismatch, downloading it again")
            _download_first(spec, remote, dest, _urls(spec, remote, mirror, url), progress)
    if spec.archive is not None:
        _fetch_members(spec, root, _urls(spec, spec.archive, mirror, url), progress)
    return locate(name, root)


def fetch_file_to(name: str, dest, mirror=None, progress=True) -> Path:
    """Download the one file of asset ``name`` to ``dest`` (a path of the caller's choosing,
    as the course's ``download_data(fpath)``), from its official URLs or a mirror, checked
    against its pin; returns ``dest``. ValueError for an asset of several files."""
    spec = asset(name)
    if len(spec.files) != 1 or spec.archive is not None:
        raise ValueError(f"asset {name!r} is not a single file")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remote = spec.files[0]
    return _download_first(spec, remote, dest, _urls(spec, remote, mirror), progress)


def stale(name: str, data_root=None) -> bool:
    """Whether one of the asset's files is in the data directory with the wrong checksum (a
    file put there under the asset's name that is not the asset): :func:`fetch` replaces it."""
    spec, root = asset(name), data_dir(data_root)
    pins = [(f.path, f.sha256) for f in spec.files] + [(m.path, m.sha256) for m in spec.members]
    return any((root / p).is_file() and not _verified(root / p, sha) for p, sha in pins)


def _verified(path: Path, sha256: str | None) -> bool:
    return path.is_file() and (sha256 is None or file_sha256(path) == sha256)


def _check_writable(root: Path) -> None:
    folder = root
    while not folder.exists():
        folder = folder.parent
    if not os.access(folder, os.W_OK) or not folder.stat().st_mode & 0o222:
        raise PermissionError(
            f"the data directory {root} is not writable (set CS231N_DATA or --data-dir to a "
            "folder you can write, then fetch there)"
        )


def _download_first(spec: Asset, remote: RemoteFile, dest: Path, urls, progress) -> Path:
    """Download ``remote`` from the first of ``urls`` that provides a verified copy."""
    errors = []
    for url in urls:
        try:
            return download(
                url, dest, expected_size=remote.size, sha256=remote.sha256, progress=progress
            )
        except DownloadError as e:  # IntegrityError included: a bad copy, try the next source
            errors.append(str(e))
    raise DownloadError(f"could not fetch {remote.path} for {spec.name}: " + " | ".join(errors))


def _fetch_members(spec: Asset, root: Path, urls, progress) -> None:
    """Download the archive into the cache, extract the members that are missing, verified."""
    todo = [m for m in spec.members if not _verified(root / m.path, m.sha256)]
    if not todo:
        return
    archive = cache_path("downloads", spec.archive.path)
    if not _verified(archive, spec.archive.sha256):
        _download_first(spec, spec.archive, archive, urls, progress)
    try:
        extract_members(archive, todo, root)
    except ArchiveError:
        archive.unlink(missing_ok=True)  # verified bytes that still fail: do not keep them
        raise
    archive.unlink()


def extract_members(archive, members, dest_dir) -> list[Path]:
    """Extract ``members`` (:class:`Member`) of ``archive`` into ``dest_dir``, each to its own
    fixed ``path`` (never a path taken from the archive), all or nothing, only once every
    SHA-256 matches. A member is looked up by its exact name, else by its file name when exactly
    one entry has it (another edition's layout). Raises :class:`ArchiveError`."""

    def select(paths):
        return {_find_member(archive, paths, m.member): m.path for m in members}

    sha256 = {m.path: m.sha256 for m in members}
    return extract(archive, dest_dir, select, sha256=sha256, max_bytes=MAX_MEMBERS_BYTES)


def _find_member(archive, paths, member: str) -> PurePosixPath:
    exact = PurePosixPath(member)
    if exact in paths:
        return exact
    same = [p for p in paths if p.name == exact.name]
    if len(same) == 1:
        return same[0]
    found = "no entry" if not same else f"{len(same)} entries"
    raise ArchiveError(f"{archive}: {found} named {exact.name!r} (expected {member!r})")


# --------------------------------------------------------------------------------------------
# A dataset: an archive unpacked into its own folder (COCO)


def _dataset(name) -> Asset:
    known = [a.name for a in ASSETS.values() if a.dataset is not None]
    if name not in known:
        raise ValueError(f"unknown dataset {name!r} (known: {', '.join(sorted(known))})")
    return ASSETS[name]


def fetch_dataset(
    name: str,
    data_root=None,
    url: str | None = None,
    progress: bool = True,
    keep_archive=False,
    replace_archive=False,
    log=None,
) -> Path:
    """Download and unpack a dataset into the data directory; returns its folder.

    Does nothing when every required file is already there. An archive already in the data
    directory (e.g. copied there by hand from another machine) is used instead of downloading,
    unless ``replace_archive`` (a URL the user named: the archive is downloaded from it and
    replaces the one there once verified; ``log`` says so); an interrupted download resumes on
    the next call. ``url`` overrides the registry's URL. The archive is deleted after a
    successful extraction unless ``keep_archive``.
    """
    spec = _dataset(name)
    root = data_dir(data_root)
    folder = root / spec.dataset.folder
    if not missing_files(name, root):
        return folder
    archive = root / spec.archive.path
    downloaded = replace_archive or not archive.is_file()
    if replace_archive and archive.is_file() and log:
        log(f"note: {archive} is already here; it is replaced by the download from {url}")
    if downloaded:
        download(
            url or spec.archive.urls[0],
            archive,
            expected_size=spec.archive.size,
            sha256=spec.archive.sha256,
            progress=progress,
        )
    _check_md5(spec.archive, archive, downloaded)
    try:
        extract(archive, folder, _dataset_entries(spec.dataset))
    except ArchiveError as e:
        if downloaded:
            # Its bytes came from the network and cannot be used; a rerun fetches a new copy.
            archive.unlink()
            raise ArchiveError(f"{e} (the download was deleted; run again to retry)") from None
        raise ArchiveError(f"{e} (delete it and run again to download a fresh copy)") from None
    missing = missing_files(name, root)
    if missing:
        remedy = "" if downloaded else "; delete it, or give --url, to download another copy"
        raise ArchiveError(
            f"{archive} did not provide {', '.join(p.name for p in missing)} in {folder}{remedy}"
        )
    if not keep_archive:
        archive.unlink()
    return folder


def file_md5(path, chunk_size: int = 1 << 20) -> str:
    """The MD5 of a file (for archives whose only published checksum is an MD5)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _check_md5(remote: RemoteFile, archive: Path, downloaded: bool) -> None:
    """An archive with a published MD5 must match it before anything is unpacked: a download
    that does not is deleted (IntegrityError, the next run fetches it again); one put there by
    hand is left for the user to replace (ArchiveError)."""
    if remote.md5 is None:
        return
    actual = file_md5(archive)
    if actual == remote.md5:
        return
    if downloaded:
        archive.unlink()
        raise IntegrityError(
            f"{archive}: MD5 {actual}, expected {remote.md5} (the download was deleted; run "
            "again to retry)"
        )
    raise ArchiveError(
        f"{archive}: MD5 {actual}, expected {remote.md5} (not the official archive: delete it "
        "and run again to download a fresh copy)"
    )


def _dataset_entries(dataset: Dataset):
    """The dataset's files in an archive: an entry counts when its path is ``FOLDER/NAME`` (the
    course's layout) or ``NAME``; every other entry is ignored, so a dataset's archive can never
    replace other files of the data directory."""
    wanted = {*dataset.files, *dataset.optional}

    def select(paths):
        return {
            p: p.name
            for p in paths
            if p.name in wanted and p.parts in ((p.name,), (dataset.folder, p.name))
        }

    return select


__all__ = [
    "ALL",
    "ASSETS",
    "ArchiveError",
    "Asset",
    "AssetStatus",
    "COCO_FILES",
    "Dataset",
    "DownloadError",
    "IntegrityError",
    "Member",
    "MIRROR_ENV_VAR",
    "RemoteFile",
    "asset",
    "download_command",
    "expand",
    "extract_members",
    "fetch",
    "fetch_dataset",
    "file_status",
    "locate",
    "mirror_url",
    "missing_files",
    "stale",
    "status",
]
