"""cs231n.core.checkpoints: the one mechanism that checks what a checkpoint holds (issue #19 a).

Each check raises ValueError with one line that names the file and what is wrong."""

import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from cs231n.core import checkpoints
from cs231n.core.checkpoints import (
    check_array,
    check_cuda_rngs,
    check_finite,
    check_keras_model,
    check_keras_weights,
    check_model_size,
    check_numpy_rng,
    check_optimizer_state,
    check_state,
    check_torch_rng,
    check_zip,
)


def one_line(excinfo, path="f.pt"):
    message = str(excinfo.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message


def test_it_loads_no_framework():
    code = (
        "import sys, cs231n.core.checkpoints; "
        "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------------------------------------
# The file and the sizes


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:  # stored, as torch.save writes them
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_whole_zip_passes_and_a_flipped_bit_is_named(tmp_path):
    path = _zip(tmp_path / "f.pt", {"a/data/0": bytes(range(256)) * 4, "a/version": b"3\n"})
    check_zip(path)
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01  # inside the first member's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"member a/data/0 is damaged \(CRC mismatch") as e:
        check_zip(path)
    one_line(e, str(path))


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04 truncated"])
def test_what_is_not_a_zip_is_not_readable(tmp_path, content):
    path = tmp_path / "f.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"f.pt: not a readable GAN checkpoint \(") as e:
        check_zip(path, "GAN checkpoint")
    one_line(e, str(path))


def test_contents_larger_than_memory_are_refused_before_unpacking(tmp_path, monkeypatch):
    path = _zip(tmp_path / "f.npz", {"w.npy": bytes(4096)})
    monkeypatch.setattr(checkpoints, "memory_limit", lambda: 1000)
    with pytest.raises(ValueError, match=r"f.npz: its contents unpack to 4.1 KB, more than") as e:
        check_zip(path)
    one_line(e, str(path))


def test_a_model_too_large_is_refused_before_it_is_built():
    with pytest.raises(ValueError, match=r"f.pt: the model it describes \(10,000,000,000,000 "):
        check_model_size("f.pt", 10**13)
    check_model_size("f.pt", 1000)


# ----------------------------------------------------------------------------------------------
# Arrays and state dicts


@pytest.mark.parametrize("make", [np.asarray, torch.as_tensor], ids=["numpy", "torch"])
@pytest.mark.parametrize(
    "value, kwargs, message",
    [
        ([[1.0, 2.0]], {"shape": (2, 1)}, r"w has shape \(1, 2\), the model needs \(2, 1\)"),
        ([[1, 2]], {}, r"w must hold floats, got int64"),
        ([True], {}, r"w must hold floats, got bool"),
        ([1.0, float("nan")], {}, r"w holds NaN or infinite values"),
        ([1.0, float("-inf")], {}, r"w holds NaN or infinite values"),
        ([1.0, -1e-9], {"nonnegative": True}, r"w has negative values"),
        ([1.5], {"kind": "i"}, r"w must hold integers, got float"),
    ],
)
def test_check_array(make, value, kwargs, message):
    with pytest.raises(ValueError, match=message) as e:
        check_array("f.pt", "w", make(value), **kwargs)
    one_line(e)


def test_check_array_accepts_what_fits_and_refuses_what_is_no_array():
    check_array("f.pt", "w", torch.zeros(2, 3, dtype=torch.float16), (2, 3))
    check_array("f.npz", "w", np.zeros((2, 3), np.float64), (2, 3), nonnegative=True)
    check_array("f.pt", "n", torch.tensor(7), (), "i", nonnegative=True)
    with pytest.raises(ValueError, match=r"f.pt: w is not an array \(got list\)"):
        check_array("f.pt", "w", [1.0, 2.0])
    with pytest.raises(ValueError, match=r"f.pt: w is a torch.sparse_coo tensor"):
        check_array("f.pt", "w", torch.eye(2).to_sparse())


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))


def test_check_state_passes_the_models_own_state():
    model = _model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    check_state("f.pt", state, model.state_dict())
    params = {"W": np.ones((2, 3), np.float32), "b": np.zeros(3)}
    check_state("f.npz", {"W": np.ones((2, 3)), "b": np.ones(3, np.float32)}, params, "array")


def _edit(change):
    state = {k: v.clone() for k, v in _model().state_dict().items()}
    change(state)
    return state


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("0.bias"), r"f.pt: weight '0.bias' is missing \(6 in the file, the model"),
        (lambda s: s.update(extra=torch.zeros(1)), r"f.pt: unexpected weight 'extra'"),
        (
            lambda s: s.update({"0.weight": torch.zeros(3, 4)}),
            r"weight '0.weight' has shape \(3, 4\), the model needs \(4, 3\)",
        ),
        (
            lambda s: s.update({"0.weight": torch.ones(4, 3, dtype=torch.int32)}),
            r"weight '0.weight' must hold floats, got int32",
        ),
        (lambda s: s["0.weight"].__setitem__((0, 0), float("nan")), r"'0.weight' holds NaN"),
        (lambda s: s["1.running_mean"].fill_(float("inf")), r"'1.running_mean' holds NaN or inf"),
        (lambda s: s["1.running_var"].fill_(-1.0), r"weight '1.running_var' has negative values"),
        (
            lambda s: s.update({"1.num_batches_tracked": torch.tensor(2.0)}),
            r"'1.num_batches_tracked' must hold integers, got float32",
        ),
        (
            lambda s: s.update({"1.num_batches_tracked": torch.tensor(-3)}),
            r"'1.num_batches_tracked' has negative values",
        ),
        (lambda s: s.update({"0.bias": [0.0] * 4}), r"weight '0.bias' is not an array \(got list"),
    ],
)
def test_check_state_names_the_entry_and_what_is_wrong(change, message):
    with pytest.raises(ValueError, match=message) as e:
        check_state("f.pt", _edit(change), _model().state_dict())
    one_line(e)


def test_check_state_refuses_what_is_not_a_state_dict():
    with pytest.raises(ValueError, match=r"f.pt: the weights are not a state dict \(got list\)"):
        check_state("f.pt", [1, 2], _model().state_dict())


def test_check_finite_looks_into_nested_dicts():
    check_finite("f.pt", {"a": {"b": torch.ones(2)}, "n": torch.tensor([1, 2]), "x": "text"})
    with pytest.raises(ValueError, match=r"f.pt: weight 'b' holds NaN or infinite values"):
        check_finite("f.pt", {"a": {"b": np.array([np.nan])}})


# ----------------------------------------------------------------------------------------------
# Optimiser state


def _trained(steps=2, **adam):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, **adam)
    for _ in range(steps):
        opt.zero_grad()
        model(torch.randn(5, 3)).square().sum().backward()
        opt.step()
    return model, opt.state_dict()


def test_check_optimizer_state_passes_adams_own_state():
    model, state = _trained(amsgrad=True)
    check_optimizer_state("f.pt", state, list(model.named_parameters()), steps=2)
    check_optimizer_state("f.pt", state, list(model.named_parameters()))  # steps unknown
    model, state = _trained(steps=0)
    check_optimizer_state("f.pt", state, list(model.named_parameters()), steps=0)


def _state_edit(change):
    def edited():
        model, state = _trained()
        change(state)
        return model, state

    return edited


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda s: s["state"][0].update(exp_avg=torch.zeros(3)),
            r"f.pt: optimiser state exp_avg of parameter 0 \(0.weight\) has shape \(3,\), the "
            r"model needs \(4, 3\)",
        ),
        (
            lambda s: s["state"][1]["exp_avg_sq"].fill_(float("nan")),
            r"optimiser state exp_avg_sq of parameter 1 \(0.bias\) holds NaN or infinite values",
        ),
        (
            lambda s: s["state"][2]["exp_avg_sq"].fill_(-1.0),
            r"exp_avg_sq of parameter 2 \(1.weight\) has negative values",
        ),
        (
            lambda s: s["state"][3].update(exp_avg=s["state"][3]["exp_avg"].to(torch.int64)),
            r"exp_avg of parameter 3 \(1.bias\) must hold floats, got int64",
        ),
        (lambda s: s["state"][3].pop("exp_avg_sq"), r"parameter 3 \(1.bias\) lacks exp_avg_sq"),
        (
            lambda s: s["state"][0].update(step=torch.tensor(7.0)),
            r"of parameter 0 \(0.weight\): Adam's step count is 7, but 2 iterations were trained",
        ),
        (
            lambda s: s["state"][0].update(step=torch.tensor(-1.0)),
            r"the step count must be a whole number >= 0, got tensor\(-1.\)",
        ),
        (lambda s: s["state"].pop(2), r"f.pt: optimiser state covers 3 of the 4 parameters"),
        (lambda s: s["state"].update({9: {}}), r"has an entry for parameter 9, the model has 4"),
        (
            lambda s: s["param_groups"][0]["params"].pop(),
            r"optimiser state is for 3 parameters, the model it describes has 4",
        ),
        (lambda s: s["param_groups"][0].update(lr=float("nan")), r"lr must be a positive number"),
        (lambda s: s["param_groups"][0].update(lr=-1e-3), r"lr must be a positive number"),
        (lambda s: s["param_groups"][0].update(betas=(0.9, 1.0)), r"betas must be two numbers"),
        (lambda s: s["param_groups"][0].update(eps=-1.0), r"eps must be a non-negative number"),
        (lambda s: s.pop("param_groups"), r"f.pt: optimiser state is not an optimiser state dict"),
    ],
)
def test_check_optimizer_state_names_the_parameter_and_what_is_wrong(change, message):
    model, state = _state_edit(change)()
    with pytest.raises(ValueError, match=message) as e:
        check_optimizer_state("f.pt", state, list(model.named_parameters()), steps=2)
    one_line(e)


def test_without_a_known_step_count_every_parameter_has_the_same():
    model, state = _trained(steps=3)
    state["state"][1]["step"] = torch.tensor(1.0)
    with pytest.raises(ValueError, match=r"step counts differ between parameters \(1 for param"):
        check_optimizer_state("f.pt", state, list(model.named_parameters()), what="D_opt")


# ----------------------------------------------------------------------------------------------
# Random states


def _saved_numpy_state(seed=3):
    name, keys, pos, has_gauss, cached = np.random.RandomState(seed).get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def test_a_saved_numpy_state_is_restored_as_numpy_takes_it():
    before = np.random.get_state()
    decoded = check_numpy_rng("m.json", _saved_numpy_state())
    rng = np.random.RandomState()
    rng.set_state(decoded)
    assert rng.randint(0, 1000, 5).tolist() == np.random.RandomState(3).randint(0, 1000, 5).tolist()
    check_numpy_rng("m.json", np.random.RandomState(4).get_state())  # a live tuple too
    after = np.random.get_state()  # the global generator is never touched
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2] == after[2]


def _numpy_edit(index, value):
    state = _saved_numpy_state()
    state[index] = value
    return state


@pytest.mark.parametrize(
    "state, message",
    [
        (_numpy_edit(1, [5] * 10), r"keys must be 624 integers, got \(10,\)"),  # was IndexError
        (_numpy_edit(1, [-1] * 624), r"keys must be in \[0, 2\*\*32\)"),
        (_numpy_edit(1, [2**40] * 624), r"keys must be in \[0, 2\*\*32\)"),
        (_numpy_edit(1, [0.5] * 624), r"keys must be 624 integers"),
        (_numpy_edit(1, [0] * 624), r"degenerate: it draws only zeros"),  # would hang
        (_numpy_edit(2, 625), r"pos must be an integer from 0 to 624, got 625"),  # reads past
        (_numpy_edit(2, 10**6), r"pos must be an integer from 0 to 624"),  # crashed Python
        (_numpy_edit(2, -5), r"pos must be an integer from 0 to 624, got -5"),
        (_numpy_edit(2, 3.5), r"pos must be an integer"),
        (_numpy_edit(0, "PCG64"), r"generator 'PCG64', expected 'MT19937'"),
        (_numpy_edit(3, 2), r"has_gauss must be 0 or 1, got 2"),
        (_numpy_edit(4, float("nan")), r"cached_gaussian must be a finite number"),
        (_numpy_edit(4, "x"), r"cached_gaussian must be a finite number"),
        ([1, 2], r"expected \[name, 624 keys, pos, has_gauss, cached_gaussian\]"),
        ("abcde", r"expected \[name"),
        (None, r"expected \[name"),
    ],
)
def test_a_numpy_state_that_is_garbage_is_one_line(state, message):
    with pytest.raises(ValueError, match=message) as e:
        check_numpy_rng("m.json", state, "training numpy_random_state")
    assert one_line(e, "m.json").startswith(
        "m.json: training numpy_random_state is not a NumPy random state ("
    )


def test_a_torch_state_is_checked_on_a_private_generator():
    before = torch.get_rng_state()
    state = torch.Generator().manual_seed(5).get_state()
    restored = check_torch_rng("f.pt", state, "rng")
    assert torch.equal(restored, state)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize(
    "state, message",
    [
        (torch.zeros(3), r"rng is not a torch random state \(a uint8 tensor of 5056 bytes; got"),
        (torch.zeros(5056), r"got torch.float32 \(5056,\)"),
        ([0] * 5056, r"got list"),
        (torch.zeros(10, dtype=torch.uint8), r"got torch.uint8 \(10,\)"),
        (torch.full((5056,), 255, dtype=torch.uint8), r"rng is not a valid torch random state"),
    ],
)
def test_a_torch_state_that_is_garbage_is_one_line(state, message):
    with pytest.raises(ValueError, match=message) as e:
        check_torch_rng("f.pt", state, "rng")
    one_line(e)


def test_a_degenerate_torch_state_is_refused():
    state = torch.get_rng_state().clone()
    state[24 : 24 + 624 * 8] = 0  # the Mersenne Twister's words, the header left valid
    with pytest.raises(ValueError, match=r"f.pt: rng is degenerate: it draws only zeros"):
        check_torch_rng("f.pt", state, "rng")


def test_cuda_states_are_a_list_of_byte_tensors():
    assert check_cuda_rngs("f.pt", []) == []
    assert len(check_cuda_rngs("f.pt", [torch.zeros(16, dtype=torch.uint8)])) == 1
    for bad in (None, [torch.zeros(16)], torch.zeros(16, dtype=torch.uint8)):
        with pytest.raises(ValueError, match=r"f.pt: cuda_rng_states must be a list of CUDA"):
            check_cuda_rngs("f.pt", bad)


# ----------------------------------------------------------------------------------------------
# Keras weights files (read with h5py; a stand-in model: the checks need only its variables)


class Variable:
    def __init__(self, path, value):
        self.path, self.value = path, np.asarray(value, np.float32)
        self.shape = self.value.shape

    def numpy(self):
        return self.value


class KerasLike:
    def __init__(self, shapes):
        self.weights = [Variable(f"layer/v{i}", np.ones(s)) for i, s in enumerate(shapes)]


def _h5(path, arrays):
    import h5py

    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            f[name] = value
    return path


def test_a_keras_file_that_fits_passes(tmp_path):
    path = _h5(tmp_path / "G.weights.h5", {"layers/a/vars/0": np.ones((3, 2), np.float32),
                                           "layers/a/vars/1": np.zeros(2, np.float32)})  # fmt: skip
    check_keras_weights(path, KerasLike([(2,), (3, 2)]))


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"v/0": np.ones((3, 2)), "v/1": np.array([0.0, np.nan])}, r"'v/1' holds NaN or infinite"),
        ({"v/0": np.ones((3, 2)), "v/1": np.array([np.inf, 0])}, r"'v/1' holds NaN or infinite"),
        ({"v/0": np.ones((3, 2), np.int64), "v/1": np.ones(2)}, r"'v/0' must hold floats, got"),
        (
            {"v/0": np.ones((3, 5)), "v/1": np.ones(2)},
            r"G weights do not fit the model: 2 arrays of 17 numbers, the model has 2 of 8 "
            r"\(an array of shape \(3, 5\) the model has not\)",
        ),
        ({"v/0": np.ones((3, 2))}, r"1 arrays of 6 numbers, the model has 2 of 8 \(no array of"),
    ],
)
def test_a_keras_file_that_does_not_fit_is_one_line(tmp_path, arrays, message):
    path = _h5(tmp_path / "G.weights.h5", arrays)
    with pytest.raises(ValueError, match=message) as e:
        check_keras_weights(path, KerasLike([(3, 2), (2,)]), "G weight")
    one_line(e, str(path))


def test_what_is_not_hdf5_is_not_a_readable_keras_file(tmp_path):
    path = tmp_path / "G.weights.h5"
    path.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match=r"G.weights.h5: not a readable Keras weights file"):
        check_keras_weights(path, KerasLike([(2,)]))


def test_a_loaded_keras_model_is_finite_with_non_negative_variances():
    model = KerasLike([(2,), (2,)])
    model.weights[1].path = "batch_normalization/moving_variance"
    check_keras_model("G.weights.h5", model)
    model.weights[1].value[0] = -1
    with pytest.raises(ValueError, match=r"'batch_normalization/moving_variance' has negative"):
        check_keras_model("G.weights.h5", model)
    model.weights[0].value[0] = np.nan
    with pytest.raises(ValueError, match=r"G.weights.h5: weight 'layer/v0' holds NaN"):
        check_keras_model("G.weights.h5", model)
