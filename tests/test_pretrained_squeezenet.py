"""SqueezeNet 1.1 (cs231n.core.torch_utils): architecture, weight files and where pretrained weights are
found. Everything but the ``real_*`` tests runs without data or network (random weights)."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from cs231n.core.config import data_path
from cs231n.core.torch_utils import default_device
from cs231n.pretrained import squeezenet as models
from cs231n.pretrained.squeezenet import (
    COURSE_FILE,
    NUM_PARAMETERS,
    TORCHVISION_FILE,
    TORCHVISION_URL,
    SqueezeNet,
    find_pretrained_weights,
    load_state_dict,
    squeezenet1_1,
)


def random_model(seed=0):
    torch.manual_seed(seed)
    return squeezenet1_1(None).eval()


@pytest.fixture(scope="module")
def model():
    return random_model(0)


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory, model):
    path = tmp_path_factory.mktemp("weights") / "random_squeezenet.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No weights anywhere: empty data dir and torch hub cache, and no download."""
    calls = []

    def no_download():
        calls.append(1)
        raise OSError("no network in tests")

    data, torch_home = tmp_path / "data", tmp_path / "torch_home"
    data.mkdir()
    torch_home.mkdir()
    monkeypatch.setenv("CS231N_DATA", str(data))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setattr(models, "_download_pretrained", no_download)
    return data, torch_home / "hub" / "checkpoints", calls


def torchvision_keys():
    """torchvision's squeezenet1_1 state-dict keys, in order, written out independently."""
    keys = ["features.0.weight", "features.0.bias"]
    for i in (3, 4, 6, 7, 9, 10, 11, 12):
        for conv in ("squeeze", "expand1x1", "expand3x3"):
            keys += [f"features.{i}.{conv}.weight", f"features.{i}.{conv}.bias"]
    return keys + ["classifier.1.weight", "classifier.1.bias"]


def test_parameter_count(model):
    assert sum(p.numel() for p in model.parameters()) == 1_235_496 == NUM_PARAMETERS


def test_state_dict_has_torchvision_layout(model):
    state = model.state_dict()
    assert len(state) == 52
    assert list(state) == torchvision_keys()
    assert state["features.0.weight"].shape == (64, 3, 3, 3)
    assert state["features.3.squeeze.weight"].shape == (16, 64, 1, 1)
    assert state["features.12.expand3x3.weight"].shape == (256, 64, 3, 3)
    assert state["classifier.1.weight"].shape == (1000, 512, 1, 1)
    assert state["classifier.1.bias"].shape == (1000,)


@pytest.mark.parametrize("size, n", [(224, 1), (64, 2), (80, 1)])
def test_output_shape(model, size, n):
    with torch.no_grad():
        out = model(torch.randn(n, 3, size, size))
    assert out.shape == (n, 1000)
    assert torch.isfinite(out).all()


def test_random_models_depend_on_seed():
    a, b, c = random_model(0), random_model(0), random_model(1)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
        assert not torch.equal(a(x), c(x))


def test_save_and_load_gives_identical_outputs(model, weights_file):
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        for weights in (weights_file, str(weights_file)):
            loaded = squeezenet1_1(weights).eval()
            assert isinstance(loaded, SqueezeNet)
            assert torch.equal(loaded(x), expected)


def test_checkpoint_with_state_dict_key_loads(model, tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(squeezenet1_1(path).eval()(x), model(x))


def _bad_missing_key(state):
    del state["features.3.squeeze.bias"]
    return state


def _bad_shape(state):
    state["classifier.1.weight"] = torch.zeros(10, 512, 1, 1)
    return state


def _bad_extra_key(state):
    state["features.13.weight"] = torch.zeros(1)
    return state


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (_bad_missing_key, "features.3.squeeze.bias"),
        (_bad_shape, "classifier.1.weight"),
        (_bad_extra_key, "features.13.weight"),
        (lambda state: list(state.values()), "expected a state dict"),
        (lambda state: torch.zeros(3), "expected a state dict"),
    ],
)
def test_bad_state_dict_is_a_value_error_naming_the_file(model, tmp_path, corrupt, match):
    path = tmp_path / "bad_weights.pt"
    torch.save(corrupt(copy.deepcopy(model.state_dict())), path)
    with pytest.raises(ValueError, match=match) as info:
        squeezenet1_1(path)
    assert "bad_weights.pt" in str(info.value)


@pytest.mark.parametrize(
    "payload",
    [b"this is not a weights file", b"PK\x03\x04truncated zip", b""],
    ids=["text", "truncated-zip", "empty"],
)
def test_garbage_weights_file_is_a_value_error_naming_it(tmp_path, payload):
    path = tmp_path / "garbage.pt"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="garbage.pt"):
        squeezenet1_1(path)
    with pytest.raises(ValueError, match="garbage.pt"):
        load_state_dict(path)


def test_pickled_object_is_refused(tmp_path):
    """weights_only loading: arbitrary pickled objects are not executed, just refused."""
    path = tmp_path / "object.pt"
    torch.save({"model": nn.Linear(2, 2)}, path)
    with pytest.raises(ValueError, match="object.pt"):
        load_state_dict(path)


def test_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        squeezenet1_1(tmp_path / "nowhere.pt")


def test_find_pretrained_weights_order(offline, model, tmp_path):
    data, hub, _ = offline
    assert find_pretrained_weights() is None
    hub.mkdir(parents=True)
    state = model.state_dict()
    torch.save(state, hub / TORCHVISION_FILE)
    assert find_pretrained_weights() == hub / TORCHVISION_FILE
    torch.save(state, data / TORCHVISION_FILE)
    assert find_pretrained_weights() == data / TORCHVISION_FILE
    torch.save(state, data / COURSE_FILE)
    assert find_pretrained_weights() == data / COURSE_FILE
    # data_root overrides CS231N_DATA; the hub cache is still searched
    other = tmp_path / "other"
    other.mkdir()
    assert find_pretrained_weights(data_root=other) == hub / TORCHVISION_FILE
    (other / TORCHVISION_FILE).write_bytes((data / TORCHVISION_FILE).read_bytes())
    assert find_pretrained_weights(data_root=other) == other / TORCHVISION_FILE


@pytest.mark.parametrize("name", ["DEFAULT", "default"])
def test_default_weights_come_from_the_data_dir(offline, model, name):
    data, _, calls = offline
    torch.save(model.state_dict(), data / COURSE_FILE)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(squeezenet1_1(name).eval()(x), model(x))
    assert calls == []  # found locally: no download attempted


def test_default_weights_from_torch_hub_cache(offline, model):
    _, hub, calls = offline
    hub.mkdir(parents=True)
    torch.save(model.state_dict(), hub / TORCHVISION_FILE)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(squeezenet1_1("DEFAULT").eval()(x), model(x))
    assert calls == []


def test_no_weights_anywhere_tells_the_user_how_to_get_them(offline):
    data, _, calls = offline
    with pytest.raises(FileNotFoundError) as info:
        squeezenet1_1("DEFAULT")
    message = str(info.value)
    assert calls == [1]  # the download was tried (and failed) exactly once
    assert COURSE_FILE in message and TORCHVISION_FILE in message
    assert TORCHVISION_URL in message
    assert str(data) in message
    assert "no network in tests" in message


def test_download_with_wrong_hash_is_refused(monkeypatch, tmp_path):
    """The download is checked against the registry's pinned SHA-256 (served here: bytes of the
    right size, not the weights); nothing is left in the hub cache."""
    from local_server import serving

    from cs231n.data.assets import ASSETS

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    size = ASSETS["squeezenet"].files[0].size
    with serving({"/" + TORCHVISION_FILE: bytes(size)}) as srv:
        monkeypatch.setattr(models, "TORCHVISION_URL", srv.url("/" + TORCHVISION_FILE))
        with pytest.raises(OSError, match="sha256 of .* expected b8a52dc0"):
            models._download_pretrained()
        assert [r["path"] for r in srv.requests] == ["/" + TORCHVISION_FILE]
    assert not list((tmp_path / "hub" / "checkpoints").glob(TORCHVISION_FILE + "*"))


def test_inplace_relus_allow_input_gradients(model):
    """The in-place ReLUs (torchvision's) must not break a forward + backward to the input;
    the gradient equals that of a copy with out-of-place ReLUs."""
    assert any(isinstance(m, nn.ReLU) and m.inplace for m in model.modules())
    plain = copy.deepcopy(model)
    for m in plain.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for net in (model, plain):
        xi = x.clone().requires_grad_(True)
        net(xi)[:, 7].sum().backward()
        grads.append(xi.grad)
    for net in (model, plain):
        net.zero_grad(set_to_none=True)
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1])


def test_default_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device().type == "cuda"


# ---- the real pretrained weights (skipped when the shared data is absent) ----


def _real_file(name):
    path = data_path(name)
    if not path.is_file():
        pytest.skip(f"{path} not present (set CS231N_DATA to the shared data)")
    return path


@pytest.fixture(scope="module")
def real_model():
    return squeezenet1_1(_real_file(COURSE_FILE)).eval()


def test_real_weights_top1_on_imagenet_val_25(real_model):
    from cs231n.image_utils import preprocess_image

    path = _real_file("imagenet_val_25.npz")
    with np.load(path, allow_pickle=True) as f:
        X, y = f["X"], f["y"]
    assert X.shape == (25, 224, 224, 3)
    x = torch.from_numpy(preprocess_image(X)).permute(0, 3, 1, 2)
    with torch.no_grad():
        predicted = real_model(x).argmax(dim=1).numpy()
    correct = int((predicted == y).sum())
    assert correct == 13, f"top-1 {correct}/25"
    assert correct / len(y) == pytest.approx(0.52)


def test_real_default_weights_found_through_cs231n_data(monkeypatch, tmp_path, real_model):
    path = _real_file(COURSE_FILE)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(models, "_download_pretrained", lambda: pytest.fail("tried to download"))
    assert find_pretrained_weights() == path
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(squeezenet1_1("DEFAULT").eval()(x), real_model(x))


# ---- devices ----


def test_resolve_device():
    from cs231n.core.torch_utils import available_devices, default_device, resolve_device

    assert resolve_device(None) == default_device()
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert available_devices()[0] == "cpu"
    with pytest.raises(ValueError, match=r"unknown device 'bogus'; available here: cpu"):
        resolve_device("bogus")
    if not torch.cuda.is_available():
        with pytest.raises(
            ValueError, match=r"device 'cuda' is not available here; available: cpu"
        ):
            resolve_device("cuda")
    with pytest.raises(ValueError, match=r"device 'cuda:99' is not available"):
        resolve_device("cuda:99")
