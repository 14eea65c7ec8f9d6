"""The course's emoji data set for the diffusion question, with its CLIP text embeddings.

Course module (2025 and 2026 editions, ``DDPM.ipynb``): names, signatures and defaults are the
course's starter ``cs231n/emoji_dataset.py``. An item is ``(image, {"text_emb": (512,) float32,
"text": str})``: a (3, image_size, image_size) float image in [0, 1] and one of its texts with
that text's CLIP ViT-B/32 embedding (precomputed, ``text_embeddings.pt``).

Where the data comes from (the course downloads both files into ``cs231n/datasets/``):

- ``text_embeddings.pt``: ``text_emb_path`` when that file exists, else the data directory's
  (``cs231n data download text-embed``, pinned checksum), else ``cs231n/datasets/``'s;
- the images: ``data_path`` when that file exists, else the data directory's
  ``emoji_data.npz`` (``cs231n data download emoji``), else ``cs231n/datasets/``'s, else the
  offline substitute rendered from the Noto Color Emoji font (:mod:`cs231n.data.emoji`: 1963
  of the 2484 texts with Debian's font of 2023, one image each), built once into the cache.

Nothing is downloaded behind the caller's back: :func:`download_data` does it when asked.
:class:`ClipEmbed` needs OpenAI's ``clip`` package and its weights (optional): without them it
says so; the known texts need no CLIP model.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm.auto import tqdm  # noqa: F401  (the course's star-import gives it)

from .core.config import data_path
from .core.torch_utils import torch_load
from .data import assets
from .data import emoji as offline_emoji

# The course's file names -> the asset that provides them.
ASSET_OF_FILE = {
    "emoji_data.npz": "emoji",
    "text_embeddings.pt": "text-embed",
    "model-70000.pt": "ddpm-model",
}


def get_text_augs():
    """The course's paraphrases of each text (``datasets/paraphrases_dict.pkl``, a joblib
    pickle the course's starter reads but does not ship; ``EmojiDataset`` never uses it:
    ``load_augs`` is False there). Returns {text: [paraphrase, ...]}; FileNotFoundError
    without the file, ImportError without joblib."""
    path = Path(__file__).parent / "datasets" / "paraphrases_dict.pkl"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the course's starter reads it but does not distribute it"
        )
    try:
        import joblib
    except ImportError:
        raise ImportError("get_text_augs needs joblib (pip install joblib)") from None
    augs = {}
    for text, paraphrases in joblib.load(path).items():
        augs[text] = [p.strip().split("\n")[-1] for p in paraphrases.split(",")]
    return augs


class ClipEmbed:
    """CLIP ViT-B/32's text encoder on ``device``: ``embed(text)`` -> (512,) tensor on the CPU.

    Needs OpenAI's ``clip`` package (``pip install git+https://github.com/openai/CLIP``) and
    its weights (downloaded by ``clip.load`` on first use); ImportError naming it otherwise."""

    def __init__(self, device):
        try:
            import clip
        except ImportError:
            raise ImportError(
                "ClipEmbed needs OpenAI's clip package (pip install "
                "git+https://github.com/openai/CLIP.git) and its ViT-B/32 weights; without "
                "them, use the texts of text_embeddings.pt (TextEmbedder.embed(text=...))"
            ) from None
        self.clip = clip
        self.model, self.preprocess = clip.load("ViT-B/32", device=device)
        self.model = self.model.eval()
        self.device = device

    def embed(self, text):
        with torch.inference_mode():
            tokens = self.clip.tokenize(text).to(self.device)
            return self.model.encode_text(tokens)[0].cpu()


class TextEmbedder:
    """Precomputed text embeddings (``text_embeddings.pt``: ``idx_mapping`` text -> row,
    ``embs`` (N, 512) float16, and a PCA of them: ``pca_components`` (512, 512), ``mean``
    (512,)), looked up by text, optionally projected on the first ``num_pca`` components."""

    def __init__(self):
        self.loaded = None

    def load_processed(self, data_path):
        self.loaded = torch_load(data_path, "text embeddings")
        missing = {"idx_mapping", "embs", "pca_components", "mean"} - set(self.loaded)
        if missing:
            raise ValueError(f"{data_path}: not text embeddings (no {', '.join(sorted(missing))})")

    def save_processed(self, all_texts, path):
        """Embed ``all_texts`` with CLIP (on CUDA, as the course does) and save them with their
        PCA to ``path`` (which must not exist)."""
        if os.path.exists(path):
            raise FileExistsError(f"{path} exists; choose another path")
        text_embedder = ClipEmbed(device="cuda")
        all_texts = list(set(all_texts))
        idx_mapping = {text: i for i, text in enumerate(all_texts)}
        embs = torch.stack([text_embedder.embed(text) for text in all_texts])
        data = embs.float().numpy()
        mean = data.mean(axis=0)
        _, _, vt = np.linalg.svd(data - mean, full_matrices=False)
        torch.save(
            {
                "idx_mapping": idx_mapping,
                "embs": embs,
                "pca_components": torch.from_numpy(vt).float(),
                "mean": torch.from_numpy(mean).float(),
            },
            path,
        )

    @property
    def texts(self) -> list[str]:
        """The known texts, in their row order."""
        mapping = self.loaded["idx_mapping"]
        return sorted(mapping, key=mapping.get)

    def embed(self, *, text=None, emb=None, num_pca=None):
        """The embedding of a known ``text`` (float32), or ``emb`` as given; projected on the
        first ``num_pca`` PCA components when given. Exactly one of ``text`` and ``emb``.
        KeyError for an unknown text, naming the nearest known ones."""
        if (text is None) == (emb is None):
            raise ValueError("TextEmbedder.embed: give exactly one of text= and emb=")
        if emb is None:
            mapping = self.loaded["idx_mapping"]
            if text not in mapping:
                raise KeyError(unknown_text_message(text, mapping))
            emb = self.loaded["embs"][mapping[text]].float()
        if num_pca is not None:
            emb = self.encode_pca(emb, num_pca)
        return emb

    def encode_pca(self, emb, num_pca):
        return self.loaded["pca_components"][:num_pca] @ (emb - self.loaded["mean"])

    def decode_pca(self, emb):
        num_pca = emb.shape[0]
        return self.loaded["pca_components"][:num_pca].T @ emb + self.loaded["mean"]


def unknown_text_message(text, known) -> str:
    """One line: ``text`` is not among the known texts, with the nearest ones."""
    near = nearest_texts(str(text), known)
    hint = f"; nearest: {', '.join(repr(t) for t in near)}" if near else ""
    return (
        f"unknown text {text!r}: not among the {len(known)} texts with precomputed CLIP "
        f"embeddings (new text needs a CLIP model){hint}"
    )


def nearest_texts(text, known, n=5):
    """The ``n`` known texts nearest to ``text``: most words in common first (so that "cowboy
    hat face" finds "face with cowboy hat"), then the most similar spelling."""
    words = set(text.lower().split())

    def score(candidate):
        theirs = set(candidate.split())
        overlap = len(words & theirs) / max(1, len(words | theirs))
        return overlap + 0.5 * difflib.SequenceMatcher(None, text.lower(), candidate).ratio()

    ranked = sorted(known, key=score, reverse=True)[:n]
    return [t for t in ranked if score(t) >= 0.35]


def download_data(fpath):
    """Download the course file named like ``fpath`` (``emoji_data.npz``,
    ``text_embeddings.pt`` or ``model-70000.pt``) from the course's server (or
    ``$CS231N_MIRROR``) to ``fpath``, unless it is there; checked against its pinned checksum
    where there is one (DownloadError otherwise)."""
    fpath = Path(fpath)
    if fpath.exists():
        print(f"{fpath.name} already downloaded.")
        return fpath
    name = ASSET_OF_FILE.get(fpath.name)
    if name is None:
        raise ValueError(
            f"download_data: {fpath.name!r} is not a course file (known: "
            f"{', '.join(ASSET_OF_FILE)})"
        )
    print(f"Downloading...{fpath}")
    assets.fetch_file_to(name, fpath)
    print("Download complete.")
    return fpath


def _course_file(given, name) -> Path | None:
    """The first of ``given``, the data directory's ``name`` and the course's own place
    (``cs231n/datasets/NAME``, where its starter downloads) that exists, else None."""
    candidates = [Path(given)] if given is not None else []
    candidates += [data_path(name), Path(__file__).parent / "datasets" / name]
    return next((p for p in candidates if p.is_file()), None)


def _to_tensor(img, image_size):
    """The course's ``Resize(image_size), CenterCrop(image_size), ToTensor()`` without
    torchvision: the shorter side resized (bilinear, antialiased) to ``image_size``, the
    centre cropped, (3, S, S) float in [0, 1]."""

    img = img.convert("RGB")
    w, h = img.size
    if (w, h) != (image_size, image_size):
        scale = image_size / min(w, h)
        size = (max(image_size, round(w * scale)), max(image_size, round(h * scale)))
        img = img.resize(size, Image.BILINEAR, reducing_gap=None)
        left, top = (size[0] - image_size) // 2, (size[1] - image_size) // 2
        img = img.crop((left, top, left + image_size, top + image_size))
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())


class EmojiDataset(Dataset):
    """The emoji images with their texts' CLIP embeddings (see the module's docstring for where
    they come from). ``image_size``: the side of the (3, S, S) images; ``num_text_emb_pca``:
    project the embeddings on that many PCA components (None: the 512-dim embedding).

    ``source`` says which images were read: "course" (``emoji_data.npz``) or "noto" (the
    offline substitute)."""

    def __init__(
        self,
        image_size,
        data_path="data/emoji_data.npz",
        text_emb_path="data/text_embeddings.pt",
        num_text_emb_pca=None,
    ):
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
            raise ValueError(
                f"EmojiDataset: image_size must be a positive integer, got {image_size!r}"
            )
        emb_file = _course_file(text_emb_path, "text_embeddings.pt")
        if emb_file is None:
            raise FileNotFoundError(
                f"EmojiDataset: text_embeddings.pt not found (as {text_emb_path} or in the data "
                f"directory {data_path_dir()}); run `cs231n data download text-embed`"
            )
        self.text_embedder = TextEmbedder()
        self.text_embedder.load_processed(emb_file)
        npz = _course_file(data_path, "emoji_data.npz")
        if npz is not None:
            loaded = np.load(npz, allow_pickle=True)  # the course's file: dicts in an npz
            self.data = [loaded[key].item() for key in loaded]
            self.source = "course"
        else:
            images, texts = offline_emoji.load(offline_emoji.build(emb_file, size=32))
            self.data = [
                {"images": [img], "texts": [t]} for img, t in zip(images, texts, strict=True)
            ]
            self.source = "noto"
        self.image_size = image_size
        self.num_text_emb_pca = num_text_emb_pca
        self.load_augs = False

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):

        imgs = self.data[idx]["images"]
        texts = self.data[idx]["texts"]
        # The course's draws, in its order: an image, then a text (NumPy's global RNG).
        img = imgs[np.random.choice(len(imgs))]
        img = _to_tensor(Image.fromarray(np.asarray(img)), self.image_size)
        text = str(np.random.choice(texts))
        text_emb = self.text_embedder.embed(text=text, num_pca=self.num_text_emb_pca)
        return img, {"text_emb": text_emb, "text": text}

    def random_model_kwargs(self, n):
        """``{"text_emb": (n, D), "text": [n texts]}`` of ``n`` random items."""
        idxs = np.random.choice(len(self), n)
        _, model_kwargs = torch.utils.data.default_collate([self[i] for i in idxs])
        return model_kwargs

    def embed_new_text(self, text, clip_embed):
        """A new text's embedding by a :class:`ClipEmbed` (PCA-projected like the data)."""
        text_emb = clip_embed.embed(text).float().cpu()
        if self.num_text_emb_pca is not None:
            text_emb = self.text_embedder.encode_pca(text_emb, self.num_text_emb_pca)
        return text_emb

    def texts(self) -> list[str]:
        """Every text of the data set."""
        return [t for d in self.data for t in d["texts"]]


def data_path_dir() -> Path:
    return data_path()
