"""cs231n.ddpm_trainer.Trainer: the course's API (DDPM.ipynb 2025/2026, "Training" cell:
``Trainer(diffusion, dataset, device, train_batch_size=..., weight_decay=..., train_lr=...,
train_num_steps=..., results_folder=...)``, ``train()``, ``save``/``load(milestone)``), the
course's checkpoint layout (``model-MILESTONE.pt`` with ``step``, ``model``, ``opt``), and
what the project's run folder adds: exact resume, refused settings, atomic files."""

import json

import numpy as np
import pytest
import torch

from cs231n.ddpm_trainer import Trainer, save_image_grid
from cs231n.gaussian_diffusion import GaussianDiffusion
from cs231n.unet import Unet


class TinyEmoji(torch.utils.data.Dataset):
    """Eight 8x8 images with 3-dim "text embeddings"; draws a text with NumPy like the course's
    EmojiDataset, so that NumPy's random state matters to the batches."""

    def __init__(self):
        g = torch.Generator().manual_seed(1)
        self.images = torch.rand(8, 3, 8, 8, generator=g)
        self.embs = torch.randn(8, 2, 3, generator=g)

    def __len__(self):
        return 8

    def __getitem__(self, i):
        k = np.random.choice(2)
        return self.images[i], {"text_emb": self.embs[i, k], "text": f"text {i} {k}"}

    def random_model_kwargs(self, n):
        items = [self[i] for i in np.random.choice(len(self), n)]
        return torch.utils.data.default_collate(items)[1]


def make(tmp_path, steps, folder="run", **kwargs):
    torch.manual_seed(0)
    model = Unet(dim=4, condition_dim=3, dim_mults=(1, 2))
    diffusion = GaussianDiffusion(model, image_size=8, timesteps=10)
    return Trainer(
        diffusion,
        TinyEmoji(),
        "cpu",
        train_batch_size=3,
        train_num_steps=steps,
        sample_every=4,
        save_every=2,
        results_folder=tmp_path / folder,
        num_samples=4,
        **kwargs,
    )


def test_trains_and_writes_the_course_files(tmp_path):
    np.random.seed(0)
    trainer = make(tmp_path, 4)
    losses = trainer.train()
    assert len(losses) == 4 and all(np.isfinite(losses))
    run = tmp_path / "run"
    names = {p.name for p in run.iterdir()}
    assert {"model-2.pt", "model-4.pt", "model.pt", "sample-4.png", "losses.json"} <= names
    saved = torch.load(run / "model-4.pt", weights_only=True)
    assert saved["step"] == 4 and {"model", "opt"} <= set(saved)
    assert json.loads((run / "config.json").read_text())["train_batch_size"] == 3
    assert trainer.diffusion_model.training  # back in training mode after the samples


def test_resume_continues_exactly(tmp_path):
    np.random.seed(0)
    straight = make(tmp_path, 6, "straight")
    straight.train()
    np.random.seed(0)
    make(tmp_path, 4, "resumed").train()
    np.random.seed(123)  # a resumed run puts back NumPy's state: this draw must not matter
    resumed = make(tmp_path, 6, "resumed", resume=True)
    new = resumed.train()
    assert len(new) == 2
    assert resumed.history == straight.history
    for a, b in zip(
        straight.diffusion_model.state_dict().values(),
        resumed.diffusion_model.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_load_reads_the_course_checkpoint_layout(tmp_path):
    trainer = make(tmp_path, 0)
    other = make(tmp_path, 0, "course")
    # The course's save(): {"step", "model", "opt"} only, no settings or random state.
    course = {
        "step": 70000,
        "model": other.diffusion_model.state_dict(),
        "opt": other.opt.state_dict(),
    }
    (tmp_path / "run").mkdir()
    torch.save(course, tmp_path / "run" / "model-70000.pt")
    trainer.load(70000)
    assert trainer.step == 70000


def test_refusals(tmp_path):
    with pytest.raises(ValueError, match="must specify results folder"):
        Trainer(GaussianDiffusion(None, image_size=8), TinyEmoji(), "cpu")
    with pytest.raises(ValueError, match="train_batch_size must be at least 1, got 0"):
        Trainer(
            GaussianDiffusion(None, image_size=8),
            TinyEmoji(),
            "cpu",
            train_batch_size=0,
            results_folder=tmp_path,
        )
    with pytest.raises(ValueError, match="unknown device 'gpu9'"):
        Trainer(GaussianDiffusion(None, image_size=8), TinyEmoji(), "gpu9", results_folder=tmp_path)
    make(tmp_path, 2).train()
    torch.manual_seed(0)
    model = Unet(dim=4, condition_dim=3, dim_mults=(1, 2))
    other = Trainer(
        GaussianDiffusion(model, image_size=8, timesteps=10),
        TinyEmoji(),
        "cpu",
        train_batch_size=5,
        train_num_steps=4,
        results_folder=tmp_path / "run",
        resume=True,
    )
    with pytest.raises(ValueError, match="train_batch_size 3 saved, 5 asked"):
        other.train()
    small = Trainer(
        GaussianDiffusion(Unet(dim=8, condition_dim=3, dim_mults=(1,)), image_size=8),
        TinyEmoji(),
        "cpu",
        train_batch_size=3,
        train_num_steps=4,
        sample_every=4,
        save_every=2,
        results_folder=tmp_path / "run",
    )
    with pytest.raises(ValueError, match="model.pt: the weights do not fit this model"):
        small.load()


def test_image_grid(tmp_path):
    from PIL import Image

    images = torch.zeros(5, 3, 4, 4)
    images[1] = 1.0
    path = save_image_grid(images, tmp_path / "g.png", nrow=2)
    arr = np.asarray(Image.open(path))
    assert arr.shape == (3 * 6 + 2, 2 * 6 + 2, 3)  # three rows of two, 2-pixel padding
    assert arr[2:6, 8:12].min() == 255 and arr[2:6, 2:6].max() == 0


def test_cosine_schedule_steps_and_resumes(tmp_path):
    """lr_schedule="cosine" (beyond the course): each update's rate is train_lr times
    (1 + cos(pi step / T)) / 2, a resume continues it exactly, and a run saved with the
    course's constant rate refuses to continue under another schedule."""
    np.random.seed(0)
    trainer = make(tmp_path, 4, "cos", train_lr=1e-2, lr_schedule="cosine")
    seen = []
    trainer.callback = lambda step, loss: seen.append(trainer.opt.param_groups[0]["lr"])
    trainer.train()
    expected = [1e-2 * (1 + np.cos(np.pi * k / 4)) / 2 for k in range(4)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    config = json.loads((tmp_path / "cos" / "config.json").read_text())
    assert config["lr_schedule"] == "cosine"
    make(tmp_path, 2, "const").train()
    const = json.loads((tmp_path / "const" / "config.json").read_text())
    assert const["lr_schedule"] == "constant"
    with pytest.raises(ValueError, match="lr_schedule 'constant' saved, 'cosine' asked"):
        make(tmp_path, 4, "const", lr_schedule="cosine", resume=True).train()
    # a run saved before lr_schedule existed trained at the constant rate: it continues so
    saved = torch.load(tmp_path / "const" / "model.pt", weights_only=False)
    del saved["config"]["lr_schedule"]
    torch.save(saved, tmp_path / "const" / "model.pt")
    assert len(make(tmp_path, 3, "const", resume=True).train()) == 1
    with pytest.raises(ValueError, match="lr_schedule 'constant' saved, 'cosine' asked"):
        make(tmp_path, 4, "const", lr_schedule="cosine", resume=True).train()
    # exact resume under the schedule
    np.random.seed(0)
    straight = make(tmp_path, 6, "straight", lr_schedule="cosine")
    straight.train()
    np.random.seed(0)
    first = make(tmp_path, 6, "resumed2", lr_schedule="cosine")

    def interrupt(step, loss):  # stopped at step 3: model.pt holds step 2 (save_every 2)
        if step == 3:
            raise KeyboardInterrupt

    first.callback = interrupt
    with pytest.raises(KeyboardInterrupt):
        first.train()
    resumed = make(tmp_path, 6, "resumed2", lr_schedule="cosine", resume=True)
    resumed.train()
    assert resumed.history == straight.history


def test_bad_lr_schedule(tmp_path):
    with pytest.raises(ValueError, match="lr_schedule must be 'constant' or 'cosine', got 'step'"):
        make(tmp_path, 2, lr_schedule="step")


def test_lr_schedules_as_the_command_line_lists_them():
    from cs231n.ddpm_trainer import LR_SCHEDULES
    from cs231n.diffusion.settings import LR_SCHEDULES as listed

    assert listed == LR_SCHEDULES
