"""The course's SimCLR loops (cs231n/simclr/utils.py): a pretraining epoch, a classifier epoch,
and the weighted kNN monitor against a NumPy re-derivation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cs231n.simclr.utils import test as knn_test
from cs231n.simclr.utils import train, train_val

# The notebook calls these with the default device='cuda' and device='cuda' spelled out
# (self_supervised_learning.ipynb, its linear-probe cells); here that means the model's device.
NO_CUDA = not torch.cuda.is_available()


class Tiny(nn.Module):
    """The Model interface at toy size: (normalised features, normalised projection)."""

    def __init__(self, d_in=12, d_feat=6, d_out=4):
        super().__init__()
        self.f = nn.Linear(d_in, d_feat)
        self.g = nn.Sequential(
            nn.Linear(d_feat, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, d_out)
        )

    def forward(self, x):
        h = self.f(x.flatten(1))
        return F.normalize(h, dim=-1), F.normalize(self.g(h), dim=-1)


class Identity(nn.Module):
    """Features are the inputs, normalised: the kNN is then computable by hand."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return F.normalize(x, dim=-1), F.normalize(x, dim=-1)


def _pairs(n=16, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    noise = 0.1 * torch.randn(n, d, generator=g)
    return TensorDataset(x, x + noise, torch.arange(n) % 3)


@pytest.mark.parametrize("device", ["cpu", "cuda"] if NO_CUDA else ["cpu"])
def test_train_epoch(device):
    torch.manual_seed(0)
    model = Tiny()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(_pairs(), batch_size=8, shuffle=False)
    losses = [
        train(model, loader, optimizer, e, 5, batch_size=8, device=device, progress=False)
        for e in range(1, 6)
    ]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]  # 5 epochs of Adam on a learnable toy problem
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_train_refuses_bad_settings():
    model = Tiny()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="temperature"):
        train(model, DataLoader(_pairs(), batch_size=8), optimizer, 1, 1, temperature=0)
    with pytest.raises(ValueError, match="at least 2 pairs"):
        # A batch of one: no negatives.
        train(model.eval(), DataLoader(_pairs(n=1), batch_size=1), optimizer, 1, 1, device="cpu")


def _numpy_knn(bank, bank_labels, queries, c, k, t):
    bank = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    preds = []
    for q in queries:
        s = bank @ q
        top = np.argsort(-s, kind="stable")[:k]
        scores = np.zeros(c)
        for idx in top:
            scores[bank_labels[idx]] += np.exp(s[idx] / t)
        preds.append(np.argsort(-scores, kind="stable"))
    return np.array(preds)


@pytest.mark.parametrize("k, t", [(1, 0.5), (5, 0.5), (12, 0.1)])
def test_weighted_knn_against_numpy(k, t):
    g = torch.Generator().manual_seed(k)
    bank, queries = torch.randn(30, 5, generator=g), torch.randn(9, 5, generator=g)
    bank_labels = torch.randint(0, 4, (30,), generator=g)
    query_labels = torch.randint(0, 4, (9,), generator=g)
    memory = DataLoader(TensorDataset(bank, bank, bank_labels), batch_size=7)
    tests = DataLoader(TensorDataset(queries, queries, query_labels), batch_size=4)
    top1, top5 = knn_test(Identity(), memory, tests, 1, 1, 4, temperature=t, k=k, progress=False)
    preds = _numpy_knn(bank.numpy(), bank_labels.numpy(), queries.numpy(), 4, k, t)
    expected1 = np.mean(preds[:, 0] == query_labels.numpy()) * 100
    assert top1 == pytest.approx(expected1)
    assert top5 == 100.0  # four classes: every label is in the top five


def test_knn_refuses_bad_settings():
    data = TensorDataset(torch.randn(6, 3), torch.randn(6, 3), torch.arange(6) % 2)
    loader = DataLoader(data, batch_size=3)
    with pytest.raises(ValueError, match="k=7"):
        knn_test(Identity(), loader, loader, 1, 1, 2, k=7, progress=False)
    with pytest.raises(ValueError, match="k must be"):
        knn_test(Identity(), loader, loader, 1, 1, 2, k=0, progress=False)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        knn_test(Identity(), loader, loader, 1, 1, 1, k=2, progress=False)


def test_train_val_train_and_evaluate():
    torch.manual_seed(0)
    x = torch.randn(64, 10)
    y = (x[:, 0] > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=False)
    model = nn.Linear(10, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for e in range(1, 4):
        train_val(model, loader, optimizer, e, 3, device="cuda", progress=False)
    loss, acc1, acc5 = train_val(model, loader, None, 3, 3, progress=False)
    with torch.no_grad():
        logits = model(x)
    assert loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    assert acc1 == pytest.approx((logits.argmax(1) == y).float().mean().item() * 100)
    assert acc1 > 80 and acc5 == 100.0
    assert not model.training
