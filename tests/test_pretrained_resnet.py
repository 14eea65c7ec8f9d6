"""ResNet with torchvision's module names (cs231n/pretrained/resnet.py): parameter counts and a
state dict laid out as torchvision's loads unchanged."""

import pytest
import torch

from cs231n.pretrained.resnet import resnet18, resnet34, resnet50, torchvision_or_own

# torchvision's documented sizes (torchvision.models docs, "num_params", 1000 classes).
PARAMS = {resnet18: 11_689_512, resnet34: 21_797_672, resnet50: 25_557_032}


@pytest.mark.parametrize("build", list(PARAMS), ids=lambda f: f.__name__)
def test_parameter_count(build):
    assert sum(p.numel() for p in build().parameters()) == PARAMS[build]


def _torchvision_keys(block_counts, bottleneck):
    """{key: shape} of torchvision's ResNet state dict, written out from its naming rule
    (torchvision models/resnet.py): stem ``conv1``/``bn1``, ``layerS.B.convI``/``bnI``, the
    first block of a stage with ``downsample.0`` (1x1 conv) and ``downsample.1`` (BN), ``fc``."""
    keys = {}

    def bn(prefix, c):
        for name in ("weight", "bias", "running_mean", "running_var"):
            keys[f"{prefix}.{name}"] = (c,)
        keys[f"{prefix}.num_batches_tracked"] = ()

    keys["conv1.weight"] = (64, 3, 7, 7)
    bn("bn1", 64)
    inplanes = 64
    expansion = 4 if bottleneck else 1
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), block_counts), 1):
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            if bottleneck:
                convs = [(planes, inplanes, 1), (planes, planes, 3), (planes * 4, planes, 1)]
            else:
                convs = [(planes, inplanes, 3), (planes, planes, 3)]
            for i, (out_c, in_c, k) in enumerate(convs, 1):
                keys[f"{p}.conv{i}.weight"] = (out_c, in_c, k, k)
                bn(f"{p}.bn{i}", out_c)
            if b == 0 and (stage > 1 or inplanes != planes * expansion):
                keys[f"{p}.downsample.0.weight"] = (planes * expansion, inplanes, 1, 1)
                bn(f"{p}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    keys["fc.weight"] = (1000, 512 * expansion)
    keys["fc.bias"] = (1000,)
    return keys


@pytest.mark.parametrize(
    "build, blocks, bottleneck, count",
    # 122 and 320 entries: torchvision's resnet18/resnet50 state dicts.
    [(resnet18, (2, 2, 2, 2), False, 122), (resnet50, (3, 4, 6, 3), True, 320)],
)
def test_torchvision_state_dict_loads(build, blocks, bottleneck, count):
    keys = _torchvision_keys(blocks, bottleneck)
    assert len(keys) == count
    g = torch.Generator().manual_seed(0)
    state = {
        k: torch.tensor(3) if k.endswith("num_batches_tracked") else torch.randn(s, generator=g)
        for k, s in keys.items()
    }
    model = build()
    model.load_state_dict(state, strict=True)
    assert torch.equal(model.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
    assert torch.equal(model.fc.bias, state["fc.bias"])


def test_forward_shape_and_channels():
    model = resnet18(num_classes=10, in_channels=1).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 64, 64)).shape == (2, 10)


def test_torchvision_or_own():
    assert callable(torchvision_or_own("resnet50"))
    with pytest.raises(ValueError, match="resnet18"):
        torchvision_or_own("resnet99")
