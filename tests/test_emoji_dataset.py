"""cs231n.emoji_dataset: the course's EmojiDataset API (DDPM.ipynb 2025/2026: ``EmojiDataset(
image_size)``, items ``(image, {"text_emb", "text"})``, ``random_model_kwargs``), read from the
course's ``emoji_data.npz`` layout when present and from the offline substitute otherwise;
TextEmbedder's lookups and PCA; the errors for unknown texts and a missing CLIP."""

from pathlib import Path

import numpy as np
import pytest
import torch
from local_server import serving

from cs231n import emoji_dataset
from cs231n.data import emoji
from cs231n.data.download import DownloadError
from cs231n.emoji_dataset import ClipEmbed, EmojiDataset, TextEmbedder

TEXTS = ["grinning face", "crying face", "face with cowboy hat", "tophat"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    g = torch.Generator().manual_seed(0)
    embs = torch.randn(len(TEXTS), 512, generator=g)
    mean = embs.mean(0)
    _, _, vt = torch.linalg.svd(embs - mean, full_matrices=False)
    torch.save(
        {
            "idx_mapping": {t: i for i, t in enumerate(TEXTS)},
            "embs": embs.half(),
            "pca_components": vt,
            "mean": mean,
        },
        tmp_path / "data" / "text_embeddings.pt",
    )
    return tmp_path / "data"


def test_reads_the_course_npz_layout(data_dir, monkeypatch):
    monkeypatch.chdir(data_dir)
    # The course's file: one pickled dict per key, several images and texts each.
    images = np.zeros((2, 40, 48, 3), np.uint8)
    images[1] = 255
    np.savez(
        data_dir / "emoji_data.npz",
        a=np.array({"images": images, "texts": ["crying face", "grinning face"]}),
        b=np.array({"images": images[:1], "texts": ["face with cowboy hat"]}),
    )
    ds = EmojiDataset(32)
    assert ds.source == "course" and len(ds) == 2
    np.random.seed(0)
    img, kwargs = ds[0]
    assert img.shape == (3, 32, 32) and img.dtype == torch.float32
    assert kwargs["text"] in ("crying face", "grinning face")
    torch.testing.assert_close(
        kwargs["text_emb"], ds.text_embedder.embed(text=kwargs["text"]), rtol=0, atol=0
    )
    batch = ds.random_model_kwargs(5)
    assert batch["text_emb"].shape == (5, 512) and len(batch["text"]) == 5


@pytest.mark.skipif(
    not any(p.is_file() for p in emoji.FONT_PATHS), reason="needs fonts-noto-color-emoji"
)
def test_falls_back_to_the_rendered_emoji(data_dir, monkeypatch):
    monkeypatch.chdir(data_dir.parent)
    ds = EmojiDataset(16, num_text_emb_pca=3)
    assert ds.source == "noto"
    assert set(ds.texts()) == {"grinning face", "crying face", "face with cowboy hat"}
    img, kwargs = ds[0]
    assert img.shape == (3, 16, 16) and 0 <= img.min() and img.max() <= 1
    assert kwargs["text_emb"].shape == (3,)


def test_text_embedder(data_dir):
    te = TextEmbedder()
    te.load_processed(data_dir / "text_embeddings.pt")
    e = te.embed(text="crying face")
    assert e.dtype == torch.float32 and e.shape == (512,)
    # The PCA round trip with all components is the identity (4 texts: rank 3 + the mean).
    full = te.encode_pca(e, 4)
    torch.testing.assert_close(te.decode_pca(full), e, rtol=0, atol=2e-2)
    with pytest.raises(KeyError, match="unknown text 'cryin face'.*nearest: 'crying face'"):
        te.embed(text="cryin face")
    with pytest.raises(ValueError, match="exactly one of text= and emb="):
        te.embed()


def test_missing_files_and_clip(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="cs231n data download text-embed"):
        EmojiDataset(32)
    with pytest.raises(ValueError, match="'x.bin' is not a course file"):
        emoji_dataset.download_data(tmp_path / "x.bin")
    monkeypatch.setitem(__import__("sys").modules, "clip", None)
    with pytest.raises(ImportError, match="ClipEmbed needs OpenAI's clip package"):
        ClipEmbed("cpu")


SHARED_EMB = Path(__file__).resolve().parents[2] / "shared" / "data" / "text_embeddings.pt"


@pytest.mark.skipif(not SHARED_EMB.is_file(), reason="needs the course's text_embeddings.pt")
def test_download_data_checks_the_pinned_file(tmp_path, monkeypatch, capsys):
    """download_data(fpath) fetches the course's file (here from a local mirror, as
    MIRROR/ASSET/FILE) and checks its pinned SHA-256: the real bytes pass, others do not."""
    real = SHARED_EMB.read_bytes()
    with serving({"/text-embed/text_embeddings.pt": real}) as srv:
        monkeypatch.setenv("CS231N_MIRROR", srv.base)
        dest = tmp_path / "datasets" / "text_embeddings.pt"
        assert emoji_dataset.download_data(dest) == dest
        assert dest.read_bytes() == real
        emoji_dataset.download_data(dest)  # present: nothing asked of the server
        assert len(srv.requests) == 1
        assert "already downloaded" in capsys.readouterr().out
    with serving({"/text-embed/text_embeddings.pt": b"not the file"}) as srv:
        monkeypatch.setenv("CS231N_MIRROR", srv.base)
        with pytest.raises(DownloadError):
            emoji_dataset.download_data(tmp_path / "other" / "text_embeddings.pt")
        assert not (tmp_path / "other" / "text_embeddings.pt").exists()
