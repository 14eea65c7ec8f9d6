"""cs231n.classification_solver_vit: the course's 2025 ViT classification solver on small
image sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_transformer_layers import one_torch_thread  # noqa: F401 (autouse fixture)
from torch import nn

from cs231n.classification_solver_vit import ClassificationSolverViT
from cs231n.classifiers.transformer import VisionTransformer


def small_vit(seed=0):
    torch.manual_seed(seed)
    return VisionTransformer(
        img_size=16,
        patch_size=8,
        embed_dim=64,
        num_layers=2,
        num_heads=4,
        dim_feedforward=128,
        dropout=0.0,
    )


def test_vit_solver_options_and_results():
    torch.manual_seed(0)
    images, labels = torch.rand(20, 3, 16, 16), torch.randint(0, 10, (20,))
    dataset = torch.utils.data.TensorDataset(images, labels)
    model = small_vit()
    solver = ClassificationSolverViT(
        dataset, (images[:8].numpy(), labels[:8].numpy()), model, verbose=False
    )
    assert (solver.learning_rate, solver.weight_decay) == (1e-4, 0.0)
    assert (solver.batch_size, solver.num_epochs) == (64, 2)
    assert isinstance(solver.optimizer, torch.optim.Adam)
    results = solver.train(device="cpu")
    assert results is solver.results
    assert set(results) == {"train_loss", "train_acc@1", "test_loss", "test_acc@1", "best_test_acc"}
    assert all(
        len(results[k]) == 2 for k in ("train_loss", "train_acc@1", "test_loss", "test_acc@1")
    )
    assert results["best_test_acc"] == max(results["test_acc@1"])
    assert all(0 <= a <= 1 for a in results["train_acc@1"] + results["test_acc@1"])
    # The test loss is the mean cross-entropy over the test set, in eval mode.
    with torch.no_grad():
        model.eval()
        loss = nn.functional.cross_entropy(model(images[:8]), labels[:8]).item()
    assert abs(results["test_loss"][-1] - loss) < 1e-5
    with pytest.raises(ValueError, match='Unrecognized arguments "epochs"'):
        ClassificationSolverViT(dataset, dataset, model, epochs=3)
    with pytest.raises(ValueError, match="3 images and 2 labels"):
        ClassificationSolverViT((images[:3], labels[:2]), dataset, model)


def test_vit_solver_memorises_one_batch_and_resumes(capsys):
    """64 random images with random labels, trained and tested on themselves: the test
    accuracy reaches 1.0; stopping and continuing gives the same results as one run."""
    torch.manual_seed(231)
    images, labels = torch.rand(64, 3, 16, 16), torch.randint(0, 10, (64,))
    data = (images, labels)

    def solver(epochs):
        return ClassificationSolverViT(
            data, data, small_vit(231), learning_rate=3e-3, num_epochs=epochs, seed=0
        )

    whole = solver(40)
    whole.train(device="cpu")
    assert whole.results["best_test_acc"] == 1.0, whole.results["test_acc@1"][-5:]
    parts = solver(15)
    parts.train(device="cpu")
    parts.num_epochs = 40
    parts.train(device="cpu")
    np.testing.assert_allclose(parts.results["test_loss"], whole.results["test_loss"], rtol=1e-5)
    assert "Epoch 40/40: train loss" in capsys.readouterr().out


def test_train_val_is_the_courses_epoch():
    """The 2025/2026 module's own function: (mean loss, top-1, top-5) as fractions; training
    with an optimizer, testing without one (no parameter changes, no gradients)."""
    from cs231n.classification_solver_vit import train_val

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 7))
    images, labels = torch.randn(20, 3, 2, 2), torch.arange(20) % 7
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, labels), batch_size=8
    )
    before = [p.detach().clone() for p in model.parameters()]
    loss, top1, top5 = train_val(model, loader, None, 1, 1, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    scores = model(images)
    assert loss == pytest.approx(nn.functional.cross_entropy(scores, labels).item(), rel=1e-6)
    assert top1 == (scores.argmax(1) == labels).sum().item() / 20
    assert top5 == (scores.topk(5).indices == labels[:, None]).any(1).sum().item() / 20
    assert 0 <= top1 <= top5 <= 1
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    train_val(model, loader, optimizer, 1, 1, progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_the_solver_refuses_images_that_are_not_finite():
    """The ViT solver trained on NaN images, silently (issue #19 f)."""
    model = small_vit()
    images = torch.rand(8, 3, 16, 16)
    images[2, 0, 0, 0] = float("nan")
    labels = torch.arange(8) % 10
    before = [p.detach().clone() for p in model.parameters()]
    solver = ClassificationSolverViT(
        (images, labels), (images, labels), model, num_epochs=1, batch_size=8, verbose=False
    )
    with pytest.raises(ValueError, match="train data holds NaN or infinite pixel values"):
        solver.train(device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
