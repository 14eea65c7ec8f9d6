"""The course's SimCLR Model (cs231n/simclr/model.py): its size, outputs and state-dict keys."""

import pytest
import torch

from cs231n.simclr.model import Model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return Model()


def test_parameter_count(model):
    # "# Model Params: 24.62M" (self_supervised_learning.ipynb, 2021-2026, printed by thop).
    n = sum(p.numel() for p in model.parameters())
    assert round(n / 1e6, 2) == 24.62
    assert n == 24_615_616


def test_architecture(model):
    assert model.f[0].kernel_size == (3, 3) and model.f[0].stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    assert [type(m).__name__ for m in model.g] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert model.g[0].bias is None and model.g[3].out_features == 128


def test_forward_is_normalised(model):
    model.eval()
    with torch.no_grad():
        feature, out = model(torch.randn(3, 3, 32, 32))
    assert feature.shape == (3, 2048) and out.shape == (3, 128)
    assert torch.allclose(feature.norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)


def test_course_checkpoint_layout_loads(model):
    # The course's pretrained_simclr_model.pth is Model().state_dict(): keys f.* and g.*; the
    # notebook loads it with strict=False, also into its Classifier (f and fc).
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert "f.0.weight" in state and "f.4.0.conv1.weight" in state and "g.3.bias" in state
    other = Model()
    other.load_state_dict(state, strict=True)
    assert torch.equal(other.f[0].weight, model.f[0].weight)


def test_feature_dim():
    assert Model(feature_dim=16).g[3].out_features == 16
    with pytest.raises(ValueError, match="feature_dim"):
        Model(feature_dim=0)
