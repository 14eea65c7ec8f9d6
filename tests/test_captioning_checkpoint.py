"""Checkpoints: round trip, resume that continues exactly, errors that name the file."""

import json
import re

import numpy as np
import pytest
import torch
from test_transformer_layers import one_torch_thread  # noqa: F401 (autouse fixture)

from cs231n.captioning.checkpoint import checkpoint_paths, load_checkpoint, save_checkpoint
from cs231n.captioning.training import train_captioner
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.coco_utils import random_caption_data

SMALL = dict(hidden_dim=12, wordvec_dim=8, batch_size=10, learning_rate=1e-2)


def small_data():
    return random_caption_data(num_train=40, num_val=10, feature_dim=6, max_words=5, seed=1)


def test_round_trip(tmp_path):
    data = small_data()
    np.random.seed(0)
    model = CaptioningRNN(
        data["word_to_idx"], input_dim=6, wordvec_dim=4, hidden_dim=5, cell_type="lstm"
    )
    save_checkpoint(tmp_path / "m", model, extra={"note": "x"})
    assert checkpoint_paths(tmp_path / "m.json") == (tmp_path / "m.npz", tmp_path / "m.json")
    loaded, meta, optim = load_checkpoint(tmp_path / "m.npz")
    assert optim is None and meta["extra"] == {"note": "x"}
    assert loaded.cell_type == "lstm" and loaded.idx_to_word == model.idx_to_word
    for k, v in model.params.items():
        np.testing.assert_array_equal(loaded.params[k], v)
        assert loaded.params[k].dtype == np.float32
    f = data["val_features"]
    np.testing.assert_array_equal(loaded.sample(f), model.sample(f))


def test_resume_continues_exactly(tmp_path):
    """3 epochs straight == 2 epochs, stop, resume for the third (same losses, same weights)."""
    data = small_data()
    straight, solver, _ = train_captioner(
        data, None, verbose=False, progress=False, num_epochs=3, **SMALL
    )
    ckpt = tmp_path / "run"
    train_captioner(data, ckpt, verbose=False, progress=False, num_epochs=2, **SMALL)
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["training"]["epoch"] == 2 and len(meta["extra"]["reports"]) == 2
    np.random.seed(12345)  # resuming restores the random state: this must not matter
    resumed, solver2, reports = train_captioner(
        data, ckpt, resume=True, verbose=False, progress=False, num_epochs=3, **SMALL
    )
    assert [r["epoch"] for r in reports] == [1, 2, 3]
    np.testing.assert_allclose(solver2.loss_history, solver.loss_history, rtol=1e-6)
    for k in straight.params:
        np.testing.assert_allclose(resumed.params[k], straight.params[k], rtol=1e-5, atol=1e-7)


def test_resume_refuses_other_settings(tmp_path):
    data = small_data()
    train_captioner(data, tmp_path / "run", verbose=False, progress=False, num_epochs=1, **SMALL)
    with pytest.raises(ValueError, match="settings differ.*hidden_dim"):
        train_captioner(
            data,
            tmp_path / "run",
            resume=True,
            verbose=False,
            progress=False,
            num_epochs=2,
            **{**SMALL, "hidden_dim": 13},
        )


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_checkpoint(tmp_path / "nope")
    data = small_data()
    model = CaptioningRNN(data["word_to_idx"], input_dim=6, wordvec_dim=4, hidden_dim=5)
    save_checkpoint(tmp_path / "m", model)
    (tmp_path / "m.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"m.npz: not a readable .npz file \(not a ZIP archive"):
        load_checkpoint(tmp_path / "m")
    (tmp_path / "m.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="m.json: not a captioning checkpoint"):
        load_checkpoint(tmp_path / "m")


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    data = small_data()
    model = CaptioningRNN(data["word_to_idx"], input_dim=6, wordvec_dim=4, hidden_dim=5)
    save_checkpoint(tmp_path / "m", model)
    before = (tmp_path / "m.npz").read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    model.params["Wx"] += 1
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "m", model)
    assert (tmp_path / "m.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]


# ----------------------------------------------------------------------------------------------
# A save killed between its two renames (issue #11, j2)


def test_kill_between_the_renames_resumes_from_a_consistent_pair(tmp_path, monkeypatch):
    """The .npz is renamed into place, then the process dies before the .json's rename: resume
    must use the parameters, optimiser state and progress of one save (it continued from the
    new .npz with the old JSON's Adam state and epoch, and gave another loss)."""
    import os

    data = small_data()
    straight, solver, _ = train_captioner(
        data, None, verbose=False, progress=False, num_epochs=3, **SMALL
    )
    ckpt = tmp_path / "run"
    real_replace = os.replace
    json_renames = []

    def killed_at_the_second_json_rename(src, dst):
        if str(dst).endswith("run.json"):
            json_renames.append(dst)
            if len(json_renames) == 2:
                raise KeyboardInterrupt  # the kill
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_at_the_second_json_rename)
    with pytest.raises(KeyboardInterrupt):
        train_captioner(data, ckpt, verbose=False, progress=False, num_epochs=3, **SMALL)
    monkeypatch.setattr(os, "replace", real_replace)
    assert json.loads((tmp_path / "run.json").read_text())["training"]["epoch"] == 1
    _, meta, _ = load_checkpoint(ckpt)
    assert meta["training"]["epoch"] == 2  # the .npz's own metadata: the newer, whole save

    resumed, solver2, reports = train_captioner(
        data, ckpt, resume=True, verbose=False, progress=False, num_epochs=3, **SMALL
    )
    assert [r["epoch"] for r in reports] == [1, 2, 3]
    np.testing.assert_allclose(solver2.loss_history, solver.loss_history, rtol=1e-6)
    for k in straight.params:
        np.testing.assert_allclose(resumed.params[k], straight.params[k], rtol=1e-5, atol=1e-7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.npz"]  # no temp, lock


def trained_checkpoint(tmp_path, epochs=1):
    data = small_data()
    train_captioner(data, tmp_path / "m", verbose=False, progress=False, num_epochs=epochs, **SMALL)
    return tmp_path / "m"


def test_an_old_json_beside_a_new_npz_uses_the_npz(tmp_path):
    ckpt = trained_checkpoint(tmp_path)
    old_json = (tmp_path / "m.json").read_text()
    model, meta, optim = load_checkpoint(ckpt)
    from cs231n.captioning_solver import CaptioningSolver

    solver = CaptioningSolver(model, small_data(), update_rule="adam", batch_size=10)
    solver.epoch, solver.loss_history = 5, [1.0] * 20
    save_checkpoint(ckpt, model, solver)
    (tmp_path / "m.json").write_text(old_json)  # as if the JSON's rename never happened
    assert load_checkpoint(ckpt)[1]["training"]["epoch"] == 5


def test_format_1_checkpoints_still_load(tmp_path):
    """Checkpoints saved before the digest (format 1: no metadata inside the .npz)."""
    ckpt = trained_checkpoint(tmp_path)
    with np.load(tmp_path / "m.npz") as f:
        arrays = {k: f[k] for k in f.files if k != "meta.json"}
    np.savez(tmp_path / "m.npz", **arrays)
    meta = json.loads((tmp_path / "m.json").read_text())
    del meta["npz_sha256"]
    meta["format"] = "cs231n-captioning/1"
    (tmp_path / "m.json").write_text(json.dumps(meta))
    model, loaded, optim = load_checkpoint(ckpt)
    assert loaded["training"]["epoch"] == 1 and set(optim) == set(model.params)

    # A format-1 .npz that is not the one the (format-2) JSON names: a clear error.
    meta.update(format="cs231n-captioning/2", npz_sha256="0" * 64)
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"m.npz does not belong to .*m.json"):
        load_checkpoint(ckpt)


# ----------------------------------------------------------------------------------------------
# Damaged and edited checkpoints (issue #11, k and l): one error naming the file


def rewrite_npz(ckpt, change):
    """Edit the arrays of checkpoint ``ckpt`` (and its embedded metadata's twin, the JSON's
    digest) as a user or a bad disk could."""
    from cs231n.captioning.checkpoint import _sha256

    npz_path, json_path = checkpoint_paths(ckpt)
    with np.load(npz_path) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    np.savez(npz_path, **arrays)
    meta = json.loads(json_path.read_text())
    meta["npz_sha256"] = _sha256(npz_path)
    json_path.write_text(json.dumps(meta))


def edit_json(ckpt, change):
    json_path = checkpoint_paths(ckpt)[1]
    meta = json.loads(json_path.read_text())
    meta = change(meta) or meta
    json_path.write_text(json.dumps(meta))


def _set(path, value):
    def change(meta):
        *parents, last = path
        target = meta
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _delete(path):
    def change(meta):
        *parents, last = path
        target = meta
        for key in parents:
            target = target[key]
        del target[last]

    return change


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda m: [m], r"m.json: expected a JSON object, got a list"),
        (_delete(["model"]), r"m.json: missing key 'model'"),
        (_delete(["idx_to_word"]), r"m.json: missing key 'idx_to_word'"),
        (_delete(["model", "hidden_dim"]), r"m.json: 'model' lacks 'hidden_dim'"),
        (_set(["model", "hidden_dim"], -3), r"m.json: model hidden_dim must be a positive"),
        (_set(["model", "dtype"], "int32"), r"m.json: model dtype must be 'float32' or"),
        (_set(["model", "cell_type"], "gru"), r"m.json: model cell_type must be"),
        (_set(["idx_to_word", 5], "<NULL>"), r"m.json: the word '<NULL>' appears twice"),
        (_set(["idx_to_word", 1], "begin"), r"m.json: the vocabulary has no <START>"),
        (_set(["training", "epoch"], -1), r"m.json: training epoch must be an integer from 0"),
        (_set(["training", "epoch"], 10**9), r"m.json: training epoch must be an integer"),
        (_set(["training", "epoch"], 1.5), r"m.json: training epoch must be an integer"),
        (_delete(["training", "loss_history"]), r"'training' lacks 'loss_history'"),
        (_set(["training", "optim_scalars", "Wx", "t"], -1), r"Wx/t must be a non-negative int"),
        (_set(["training", "optim_scalars", "Wx", "t"], 2.5), r"Wx/t must be a non-negative int"),
        (_set(["training", "optim_scalars", "Wx", "t"], "4"), r"Wx/t must be a non-negative int"),
        (_delete(["training", "optim_scalars", "Wx", "t"]), r"optimiser state Wx/t is missing"),
        (
            _set(["training", "optim_scalars", "b", "learning_rate"], float("nan")),
            r"b/learning_rate must be a finite number",
        ),
        (_delete(["training", "optim_scalars", "b"]), r"m.json: optimiser state for \["),
        (_set(["training", "numpy_random_state"], [1, 2]), r"numpy_random_state is not a NumPy"),
        (_delete(["npz_sha256"]), r"m.json: missing key 'npz_sha256'"),
        (_set(["format"], "cs231n-captioning/9"), r"m.json: not a captioning checkpoint"),
    ],
)
def test_edited_json_is_one_clear_error(tmp_path, change, match):
    ckpt = trained_checkpoint(tmp_path)
    edit_json(ckpt, change)
    with pytest.raises(ValueError, match=match):
        load_checkpoint(ckpt)


def _nan_param(arrays):
    arrays["param/W_vocab"] = arrays["param/W_vocab"].copy()
    arrays["param/W_vocab"][0, 0] = np.nan


@pytest.mark.parametrize(
    "change, match",
    [
        (_nan_param, r"m.npz: array 'param/W_vocab' holds NaN or infinite values"),
        (
            lambda a: a.update({"param/Wx": a["param/Wx"].astype(np.int64)}),
            r"m.npz: array 'param/Wx' must hold floats, got int64",
        ),
        (
            lambda a: a.update({"param/b": np.zeros(3, np.float32)}),
            r"m.npz: array 'param/b' has shape \(3,\), the model needs \(48,\)",
        ),
        (lambda a: a.pop("param/Wh"), r"m.npz: array 'param/Wh' is missing"),
        (lambda a: a.pop("optim/Wh/m"), r"optimiser state Wh/m is missing"),
        (lambda a: a.update({"optim/Wh/v": a["optim/Wh/v"][:1]}), r"'optim/Wh/v' has shape"),
        (lambda a: a.update({"optim/Wh/v": -a["optim/Wh/v"] - 1}), r"'optim/Wh/v' has negative"),
        (lambda a: a.update({"optim/nope/m": np.zeros(2)}), r"unexpected array 'optim/nope/m'"),
    ],
)
def test_edited_arrays_are_one_clear_error(tmp_path, change, match):
    ckpt = trained_checkpoint(tmp_path)
    rewrite_npz(ckpt, change)
    with pytest.raises(ValueError, match=match):
        load_checkpoint(ckpt)


def test_adam_step_count_must_match_the_iterations_trained(tmp_path):
    from cs231n.captioning.checkpoint import restore_solver
    from cs231n.captioning_solver import CaptioningSolver

    ckpt = trained_checkpoint(tmp_path)

    def huge_t(meta):
        for state in meta["training"]["optim_scalars"].values():
            state["t"] = 10**6

    edit_json(ckpt, huge_t)
    model, meta, optim = load_checkpoint(ckpt)
    solver = CaptioningSolver(model, small_data(), update_rule="adam", batch_size=10)
    with pytest.raises(ValueError, match=r"step count t of .* is 1000000, but 4 iterations"):
        restore_solver(solver, meta, optim)


@pytest.mark.parametrize("damage", ["truncated", "empty", "bit-flipped", "not a zip"])
def test_damaged_npz_is_one_clear_error(tmp_path, damage):
    ckpt = trained_checkpoint(tmp_path)
    path = tmp_path / "m.npz"
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    elif damage == "bit-flipped":
        data[len(data) // 3] ^= 0x10
    else:
        data = bytearray(b"\x93NUMPY" + bytes(100))
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"m.npz: (not a readable .npz file|member .* damaged)"):
        load_checkpoint(ckpt)


def test_damaged_json_is_one_clear_error(tmp_path):
    ckpt = trained_checkpoint(tmp_path)
    (tmp_path / "m.json").write_bytes(b'{"format": "cs231n-capt')
    with pytest.raises(ValueError, match=r"m.json: not valid JSON"):
        load_checkpoint(ckpt)
    (tmp_path / "m.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match=r"m.json: not valid JSON"):
        load_checkpoint(ckpt)


def test_resume_refuses_an_edited_report_list(tmp_path):
    ckpt = trained_checkpoint(tmp_path)
    edit_json(ckpt, _set(["extra", "reports"], "epoch 1"))
    with pytest.raises(ValueError, match=r"cannot resume, extra.hyper must be an object and "):
        train_captioner(
            small_data(), ckpt, resume=True, verbose=False, progress=False, num_epochs=2, **SMALL
        )


# ----------------------------------------------------------------------------------------------
# The captioning Transformer: one file, NAME.pt (issue #13)

TINY_TRANSFORMER = dict(
    cell_type="transformer",
    wordvec_dim=16,
    num_heads=2,
    num_layers=1,
    max_length=20,
    batch_size=10,
    learning_rate=1e-2,
)


def train_transformer(data, ckpt=None, epochs=1, **kwargs):
    return train_captioner(
        data,
        ckpt,
        verbose=False,
        progress=False,
        num_epochs=epochs,
        device="cpu",
        **{**TINY_TRANSFORMER, **kwargs},
    )


def test_transformer_resume_continues_exactly(tmp_path):
    """3 epochs straight == 2 epochs, stop, resume for the third: the same losses (dropout and
    minibatches drawn from restored random states), the same weights, Adam state included."""
    import torch

    from cs231n.captioning.checkpoint import load_transformer_checkpoint

    data = small_data()
    straight, solver, reports = train_transformer(data, epochs=3)
    ckpt = tmp_path / "run"
    train_transformer(data, ckpt, epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]  # one file, no lock left
    _, meta, training = load_transformer_checkpoint(ckpt)
    assert meta["training"]["epoch"] == 2 and len(meta["extra"]["reports"]) == 2
    assert meta["extra"]["hyper"]["num_layers"] == 1
    np.random.seed(12345)  # resuming restores both random states: this must not matter
    torch.manual_seed(12345)
    resumed, solver2, reports2 = train_transformer(data, ckpt, epochs=3, resume=True)
    assert [r["epoch"] for r in reports2] == [1, 2, 3]
    assert solver2.loss_history == solver.loss_history
    assert reports2 == reports
    for name, value in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], value), name
    for a, b in zip(solver.optim.state.values(), solver2.optim.state.values(), strict=True):
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])


def test_transformer_round_trip_and_model_detection(tmp_path):
    import torch

    from cs231n.captioning.checkpoint import (
        checkpoint_kind,
        load_captioner,
        model_description,
        model_vocabulary,
    )

    data = small_data()
    model, _, _ = train_transformer(data, tmp_path / "t", extra={"data": "builtin"})
    trained_checkpoint(tmp_path)  # an LSTM, m.npz + m.json
    assert checkpoint_kind(tmp_path / "t") == "transformer"
    assert checkpoint_kind(tmp_path / "m") == "rnn" and checkpoint_kind(tmp_path / "x") is None
    for name in ("t", "t.pt"):
        loaded, meta = load_captioner(tmp_path / name)
        assert model_description(meta) == "Transformer" and not loaded.training
        assert meta["extra"]["data"] == "builtin"
        assert model_vocabulary(loaded) == list(data["idx_to_word"])
        for key, value in model.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value.cpu())
        features = data["val_features"][:4]
        np.testing.assert_array_equal(loaded.sample(features, 10), model.sample(features, 10))
    loaded, meta = load_captioner(tmp_path / "m")
    assert model_description(meta) == "LSTM"
    with pytest.raises(FileNotFoundError, match=r"x.json \(RNN/LSTM\) or .*x.pt \(Transformer\)"):
        load_captioner(tmp_path / "x")


def test_one_name_holds_one_kind_of_checkpoint(tmp_path):
    """Training a Transformer under an LSTM's NAME (or the reverse) is refused; a NAME with
    both kinds beside it must be named with its extension."""
    from cs231n.captioning.checkpoint import load_captioner, save_transformer_checkpoint

    data = small_data()
    ckpt = trained_checkpoint(tmp_path)
    with pytest.raises(ValueError, match=r"m.json / m.npz hold an RNN/LSTM checkpoint"):
        train_transformer(data, ckpt)
    model, _, _ = train_transformer(data, tmp_path / "t")
    with pytest.raises(ValueError, match=r"t.pt holds a Transformer checkpoint"):
        train_captioner(data, tmp_path / "t", verbose=False, progress=False, **SMALL)
    save_transformer_checkpoint(ckpt, model)  # written directly, beside the LSTM's files
    with pytest.raises(ValueError, match=r"both a Transformer checkpoint .* name one"):
        load_captioner(ckpt)
    assert load_captioner(tmp_path / "m.pt")[1]["model"]["type"] == "transformer"
    assert load_captioner(tmp_path / "m.json")[1]["model"]["cell_type"] == "lstm"


def test_transformer_resume_refuses_other_settings_and_vocabularies(tmp_path):
    data = small_data()
    train_transformer(data, tmp_path / "run")
    with pytest.raises(ValueError, match=r"run.pt: cannot resume, settings differ.*num_layers"):
        train_transformer(data, tmp_path / "run", epochs=2, resume=True, num_layers=2)
    other = dict(data, idx_to_word=[*data["idx_to_word"][:-1], "zebra"])
    other["word_to_idx"] = {w: i for i, w in enumerate(other["idx_to_word"])}
    with pytest.raises(ValueError, match=r"run.pt: cannot resume, the vocabulary differs"):
        train_transformer(other, tmp_path / "run", epochs=2, resume=True)


def _rewrite_pt(path, change):
    import torch

    saved = torch.load(path, weights_only=True)
    change(saved)
    torch.save(saved, path)


def _nan_weight(saved):
    saved["model_state"]["output.weight"][0, 0] = float("nan")


def _shrink_weight(saved):
    saved["model_state"]["output.weight"] = saved["model_state"]["output.weight"][:3]


def _wrong_steps(saved):
    for state in saved["training"]["optimizer"]["state"].values():
        state["step"] = state["step"] * 0 + 1000


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda s: s.update(format="x"), r"t.pt: not a captioning Transformer checkpoint"),
        (lambda s: s.pop("model_state"), r"t.pt: missing key 'model_state'"),
        (lambda s: s["model"].update(num_heads=3), r"wordvec_dim 16 is not divisible by"),
        (lambda s: s["model"].update(num_layers=0), r"model num_layers must be a positive"),
        (lambda s: s["idx_to_word"].__setitem__(1, "begin"), r"t.pt: the vocabulary has no"),
        (_nan_weight, r"t.pt: weight 'output.weight' holds NaN or infinite values"),
        (_shrink_weight, r"t.pt: weight 'output.weight' has shape \(3, 16\), the model needs"),
        (lambda s: s["training"].update(epoch=99), r"training epoch must be an integer from 0"),
        (
            _wrong_steps,
            r"t.pt: optimiser state of parameter 0 \(visual_projection.weight\): Adam's step "
            r"count is 1000, but 4 iterations were trained",
        ),
        (
            lambda s: s["training"]["optimizer"]["state"].pop(0),
            r"t.pt: optimiser state covers 30 of the 31 parameters, after 4 iterations",
        ),
        (
            lambda s: s["training"]["optimizer"]["param_groups"][0]["params"].pop(),
            r"t.pt: optimiser state is for 30 parameters, the model it describes has 31",
        ),
        (lambda s: s["training"].update(torch_rng_state=None), r"torch_rng_state is not a"),
        (lambda s: s["training"].update(numpy_random_state=[1]), r"numpy_random_state is not"),
    ],
)
def test_edited_transformer_checkpoints_are_one_clear_error(tmp_path, change, match):
    from cs231n.captioning.checkpoint import load_transformer_checkpoint

    train_transformer(small_data(), tmp_path / "t")
    _rewrite_pt(tmp_path / "t.pt", change)
    with pytest.raises(ValueError, match=match):
        load_transformer_checkpoint(tmp_path / "t")


@pytest.mark.parametrize("damage", ["truncated", "empty", "bit-flipped", "text"])
def test_damaged_transformer_checkpoint_is_one_clear_error(tmp_path, damage):
    from cs231n.captioning.checkpoint import load_captioner

    train_transformer(small_data(), tmp_path / "t")
    path = tmp_path / "t.pt"
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    elif damage == "bit-flipped":
        data[len(data) // 3] ^= 0x10
    else:
        data = bytearray(b'{"format": "cs231n-captioning-transformer/1"}')
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"t.pt: (not a readable captioning checkpoint|member )"):
        load_captioner(tmp_path / "t")


def test_interrupted_transformer_save_keeps_the_previous_file(tmp_path, monkeypatch):
    import torch

    from cs231n.captioning.checkpoint import save_transformer_checkpoint

    model, _, _ = train_transformer(small_data(), tmp_path / "t")
    before = (tmp_path / "t.pt").read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        save_transformer_checkpoint(tmp_path / "t", model)
    assert (tmp_path / "t.pt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.pt"]


@pytest.mark.parametrize(
    "change, named",
    [
        ({"learning_rate": 1e-3}, "learning_rate 0.01 saved, 0.001 asked"),
        ({"lr_decay": 0.5}, "lr_decay 0.95 saved, 0.5 asked"),
        ({"batch_size": 7}, "batch_size"),
    ],
)
def test_a_resume_never_keeps_the_saved_rate_while_recording_another(tmp_path, change, named):
    """caption train --resume with another --lr kept the saved rate but recorded the new one
    (issue #19 b): every setting but the number of epochs must be the saved run's."""
    data = small_data()
    train_captioner(data, tmp_path / "run", verbose=False, progress=False, num_epochs=1, **SMALL)
    before = (tmp_path / "run.npz").read_bytes()
    with pytest.raises(
        ValueError,
        match=rf"run: cannot resume, settings differ from the saved run: {named}.*use --restart",
    ):
        train_captioner(
            data, tmp_path / "run", resume=True, verbose=False, progress=False, num_epochs=2,
            **{**SMALL, **change},
        )  # fmt: skip
    assert (tmp_path / "run.npz").read_bytes() == before


def test_a_resume_on_other_data_is_refused(tmp_path):
    data = small_data()
    kwargs = dict(verbose=False, progress=False, **SMALL)
    train_captioner(data, tmp_path / "run", num_epochs=1, extra={"data": "builtin"}, **kwargs)
    with pytest.raises(ValueError, match="data 'builtin' saved, 'coco' asked"):
        train_captioner(
            data, tmp_path / "run", resume=True, num_epochs=2, extra={"data": "coco"}, **kwargs
        )


def test_a_transformer_resume_compares_the_training_settings_too(tmp_path):
    data = small_data()
    train_transformer(data, tmp_path / "run")
    with pytest.raises(
        ValueError, match=r"run.pt: cannot resume, .*learning_rate 0.01 saved, 0.001 asked"
    ):
        train_transformer(data, tmp_path / "run", epochs=2, resume=True, learning_rate=1e-3)


def test_a_transformer_keeps_the_editions_activation_it_was_built_with(tmp_path):
    """A captioner trained under 2024 (ReLU) and loaded under the newest edition (GELU) was
    rebuilt with GELU, silently; the checkpoint records the choice, and a resume under another
    edition is refused, naming it."""
    import torch

    from cs231n.captioning.checkpoint import load_captioner
    from cs231n.core.edition import using_edition

    data = small_data()
    with using_edition(2024):
        model, _, _ = train_transformer(data, tmp_path / "run")
    assert isinstance(model.transformer.layers[0].ffn.activation, torch.nn.ReLU)
    loaded, meta = load_captioner(tmp_path / "run")  # under the default edition, 2026
    assert meta["model"]["activation"] == "relu"
    assert isinstance(loaded.transformer.layers[0].ffn.activation, torch.nn.ReLU)
    features = torch.as_tensor(data["val_features"][:3], dtype=torch.float32)
    model.eval()
    np.testing.assert_array_equal(
        loaded.sample(features, max_length=10), model.cpu().sample(features, max_length=10)
    )
    with pytest.raises(ValueError, match="activation 'relu' saved, 'gelu' asked"):
        train_transformer(data, tmp_path / "run", epochs=2, resume=True)
    with using_edition(2024):
        train_transformer(data, tmp_path / "run", epochs=2, resume=True)


def test_a_checkpoint_from_before_the_edition_setting_is_gelu(tmp_path):
    import torch

    from cs231n.captioning.checkpoint import load_captioner

    train_transformer(small_data(), tmp_path / "old")
    _rewrite_pt(tmp_path / "old.pt", lambda saved: saved["model"].pop("activation"))
    loaded, _ = load_captioner(tmp_path / "old")
    assert isinstance(loaded.transformer.layers[0].ffn.activation, torch.nn.GELU)
    _rewrite_pt(tmp_path / "old.pt", lambda saved: saved["model"].update(activation="tanh"))
    with pytest.raises(ValueError, match='old.pt: model activation must be "gelu" or "relu"'):
        load_captioner(tmp_path / "old")


# ----------------------------------------------------------------------------------------------
# Checkpoints that load but cannot be used (issue #19 a): refused before any work, one line
# naming the file, the good file left as it was


@pytest.fixture(scope="module")
def trained_pair(tmp_path_factory):
    """An LSTM (m.npz + m.json) and a Transformer (t.pt), each trained one epoch: copied by
    each test before it damages them."""
    folder = tmp_path_factory.mktemp("trained")
    data = small_data()
    train_captioner(data, folder / "m", verbose=False, progress=False, num_epochs=1, **SMALL)
    train_transformer(data, folder / "t")
    return folder


def _copy(folder, tmp_path, *names):
    import shutil

    for name in names:
        shutil.copy(folder / name, tmp_path / name)
    return {name: (tmp_path / name).read_bytes() for name in names}


def _numpy_state(change):
    def edit(meta):
        state = meta["training"]["numpy_random_state"]
        change(state)

    return edit


GARBAGE_NUMPY_STATES = [
    (lambda s: s.__setitem__(1, s[1][:10]), r"keys must be 624 integers"),  # was IndexError
    (lambda s: s.__setitem__(2, 625), r"pos must be an integer from 0 to 624, got 625"),
    (lambda s: s.__setitem__(2, 10**6), r"pos must be an integer from 0 to 624"),  # segfault
    (lambda s: s.__setitem__(1, [0] * 624), r"degenerate: it draws only zeros"),  # hang
    (lambda s: s.__setitem__(4, None), r"cached_gaussian must be a finite number"),
    (lambda s: s.__setitem__(0, "PCG64"), r"generator 'PCG64', expected 'MT19937'"),
]


@pytest.mark.parametrize("change, match", GARBAGE_NUMPY_STATES)
def test_a_garbage_numpy_random_state_is_refused_on_load_and_resume(
    trained_pair, tmp_path, change, match
):
    """caption --resume and sample died with IndexError (or crashed, or hung) on these."""
    _copy(trained_pair, tmp_path, "m.npz", "m.json")
    ckpt = tmp_path / "m"
    rewrite_npz(ckpt, lambda arrays: None)  # the JSON is the metadata read
    edit_json(ckpt, _numpy_state(change))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    message = rf"m.json: training numpy_random_state is not a NumPy random state \(.*{match}"
    with pytest.raises(ValueError, match=message):
        load_checkpoint(ckpt)
    with pytest.raises(ValueError, match=message):
        train_captioner(
            small_data(), ckpt, resume=True, verbose=False, progress=False, num_epochs=2, **SMALL
        )
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_resume_from_a_checked_state_restores_numpy_exactly(trained_pair, tmp_path):
    """The state check hands back what np.random.set_state takes: the resumed run draws what
    the saved one would have."""
    from cs231n.captioning.checkpoint import restore_solver
    from cs231n.captioning_solver import CaptioningSolver

    _copy(trained_pair, tmp_path, "m.npz", "m.json")
    model, meta, optim = load_checkpoint(tmp_path / "m")
    solver = CaptioningSolver(model, small_data(), update_rule="adam", batch_size=10)
    np.random.seed(0)
    restore_solver(solver, meta, optim, where=tmp_path / "m.json")
    name, keys, pos, has_gauss, cached = meta["training"]["numpy_random_state"]
    state = np.random.get_state()
    assert state[0] == name and state[1].tolist() == keys and state[2:] == (pos, has_gauss, cached)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: a.update({"param/extra": np.zeros(2)}), r"m.npz: unexpected array 'param/"),
        (
            lambda a: a.update({"optim/Wh/m": a["optim/Wh/m"] * np.nan}),
            r"m.npz: array 'optim/Wh/m' holds NaN or infinite values",
        ),
        (
            lambda a: a.update({"optim/Wh/v": a["optim/Wh/v"].astype(np.int32)}),
            r"m.npz: array 'optim/Wh/v' must hold floats, got int32",
        ),
        (
            lambda a: a.update({"param/W_embed": a["param/W_embed"] * np.inf}),
            r"m.npz: array 'param/W_embed' holds NaN or infinite values",
        ),
    ],
)
def test_rnn_weights_and_moments_that_cannot_be_used_are_refused(
    trained_pair, tmp_path, change, match
):
    _copy(trained_pair, tmp_path, "m.npz", "m.json")
    rewrite_npz(tmp_path / "m", change)
    before = (tmp_path / "m.npz").read_bytes()
    with pytest.raises(ValueError, match=match):
        train_captioner(
            small_data(), tmp_path / "m", resume=True, verbose=False, progress=False,
            num_epochs=2, **SMALL,
        )  # fmt: skip
    assert (tmp_path / "m.npz").read_bytes() == before


def test_an_rnn_optimiser_beta_of_one_is_refused(trained_pair, tmp_path):
    _copy(trained_pair, tmp_path, "m.npz", "m.json")
    rewrite_npz(tmp_path / "m", lambda arrays: None)
    edit_json(tmp_path / "m", _set(["training", "optim_scalars", "Wx", "beta2"], 1.0))
    with pytest.raises(ValueError, match=r"m.json / m.npz: optimiser Wx/beta2 must be in \[0, 1\)"):
        load_checkpoint(tmp_path / "m")


def _flip_a_weight_bit(path):
    """One bit of the largest tensor's bytes (not of the ZIP's headers)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    h = info.header_offset
    start = h + 30 + int.from_bytes(data[h + 26 : h + 28], "little")
    start += int.from_bytes(data[h + 28 : h + 30], "little")
    data[start + 3] ^= 0x40  # a float32's exponent: a finite weight becomes a huge one
    path.write_bytes(bytes(data))


def _moment(index, key, value):
    def change(saved):
        state = saved["training"]["optimizer"]["state"][index]
        state[key] = value(state[key])

    return change


TRANSFORMER_DEFECTS = [
    (
        lambda s: s["model_state"].update(
            {"output.weight": (s["model_state"]["output.weight"] * 100).to(torch.int32)}
        ),
        r"t.pt: weight 'output.weight' must hold floats, got int32",  # gave garbage captions
    ),
    (
        lambda s: s["model_state"]["embedding.weight"].__setitem__((0, 0), float("inf")),
        r"t.pt: weight 'embedding.weight' holds NaN or infinite values",
    ),
    (
        _moment(0, "exp_avg", lambda v: v[:1]),  # died at the first step
        r"t.pt: optimiser state exp_avg of parameter 0 \(visual_projection.weight\) has shape "
        r"\(1, 6\), the model needs \(16, 6\)",
    ),
    (
        _moment(2, "exp_avg_sq", lambda v: v * float("nan")),
        r"t.pt: optimiser state exp_avg_sq of parameter 2 \(.*\) holds NaN or infinite",
    ),
    (
        _moment(2, "exp_avg_sq", lambda v: -v - 1),
        r"t.pt: optimiser state exp_avg_sq of parameter 2 \(.*\) has negative values",
    ),
    (
        lambda s: s["training"].update(torch_rng_state=s["training"]["torch_rng_state"] * 0 + 255),
        r"t.pt: training torch_rng_state is not a valid torch random state",
    ),
    (
        lambda s: s["training"]["numpy_random_state"].__setitem__(2, 10**6),
        r"t.pt: training numpy_random_state is not a NumPy random state \(pos must be",
    ),
    (_flip_a_weight_bit, r"t.pt: member .* is damaged \(CRC mismatch"),
]


@pytest.mark.parametrize("change, match", TRANSFORMER_DEFECTS)
def test_a_transformer_checkpoint_that_cannot_be_used_is_refused(
    trained_pair, tmp_path, change, match
):
    from cs231n.captioning.checkpoint import load_captioner

    _copy(trained_pair, tmp_path, "t.pt")
    path = tmp_path / "t.pt"
    if change is _flip_a_weight_bit:
        change(path)
    else:
        _rewrite_pt(path, change)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=match):
        load_captioner(path)
    with pytest.raises(ValueError, match=match):
        train_transformer(small_data(), tmp_path / "t", epochs=2, resume=True)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["t.pt"]


@pytest.fixture
def small_data_everywhere(monkeypatch):
    """The CLI's caption data: the tests' small random set, named "coco"."""
    monkeypatch.setattr(
        "cs231n.captioning.data.load_caption_data", lambda *a, **k: (small_data(), "coco")
    )


CLI_TRAIN = "--threads 1 caption train --batch-size 10 --lr 0.01 -q".split()
CLI_MODELS = {
    "lstm": "--model lstm --hidden-dim 12 --wordvec-dim 8".split(),
    "transformer": "--model transformer --wordvec-dim 16 --num-heads 2 --num-layers 1".split(),
}


def _cli_trained(tmp_path, model):
    from cs231n.cli import main

    ckpt = tmp_path / "c"
    assert main([*CLI_TRAIN, *CLI_MODELS[model], "--epochs", "1", "-o", str(ckpt)]) == 0
    return ckpt


def _one_line_error(capsys, message):
    err = capsys.readouterr().err
    assert err.startswith("cs231n: error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err


@pytest.mark.parametrize("change, match", GARBAGE_NUMPY_STATES[:4])
def test_cli_resume_and_sample_refuse_a_garbage_numpy_state(
    small_data_everywhere, tmp_path, capsys, change, match
):
    from cs231n.cli import main

    ckpt = _cli_trained(tmp_path, "lstm")
    rewrite_npz(ckpt, lambda arrays: None)
    edit_json(ckpt, _numpy_state(change))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    argv = [*CLI_TRAIN, *CLI_MODELS["lstm"], "--epochs", "2", "-o", str(ckpt), "--resume"]
    assert main(argv) == 2
    _one_line_error(capsys, rf"c.json: training numpy_random_state is not a NumPy .*{match}")
    assert main(["caption", "sample", str(ckpt), "-o", str(tmp_path / "s.html")]) == 2
    _one_line_error(capsys, rf"c.json: training numpy_random_state is not a NumPy .*{match}")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("change, match", [TRANSFORMER_DEFECTS[i] for i in (0, 2, 3, 5, 7)])
def test_cli_resume_and_sample_refuse_a_damaged_transformer(
    small_data_everywhere, tmp_path, capsys, change, match
):
    from cs231n.cli import main

    ckpt = _cli_trained(tmp_path, "transformer")
    if change is _flip_a_weight_bit:
        change(tmp_path / "c.pt")
    else:
        _rewrite_pt(tmp_path / "c.pt", change)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    match = match.replace("t.pt", "c.pt")
    argv = [*CLI_TRAIN, *CLI_MODELS["transformer"], "--epochs", "2", "-o", str(ckpt), "--resume"]
    assert main(argv) == 2
    _one_line_error(capsys, match)
    assert main(["caption", "sample", str(ckpt), "-o", str(tmp_path / "s.html")]) == 2
    _one_line_error(capsys, match)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_cli_the_same_command_continues_the_run_and_restart_starts_over(
    small_data_everywhere, tmp_path, capsys, model
):
    from cs231n.cli import main

    ckpt = _cli_trained(tmp_path, model)
    assert "continuing" not in capsys.readouterr().out
    saved = tmp_path / ("c.pt" if model == "transformer" else "c.json")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".png"}
    argv = [*CLI_TRAIN, *CLI_MODELS[model], "--epochs", "1", "-o", str(ckpt)]

    # Run again: the run is finished, so nothing is trained and nothing is lost.
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        f"continuing {ckpt} from epoch 1 of 1 (already done: a larger total trains more); --restart starts over\n"
        in out
    )
    assert "Trained 1 epochs" in out
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".png"} == before

    # Other settings are refused, saying how to start over; --restart does.
    assert main([*argv, "--lr", "0.02"]) == 2
    _one_line_error(capsys, r"learning_rate 0.01 saved, 0.02 asked.*use --restart to start over")
    assert main([*argv, "--lr", "0.02", "--restart"]) == 0
    assert "continuing" not in capsys.readouterr().out
    if model == "transformer":
        extra = torch.load(saved, weights_only=True)["extra"]
    else:
        extra = json.loads(saved.read_text())["extra"]
    assert extra["hyper"]["learning_rate"] == 0.02 and len(extra["reports"]) == 1
