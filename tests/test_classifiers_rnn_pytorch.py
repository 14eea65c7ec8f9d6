"""CaptioningRNN in PyTorch (cs231n.classifiers.rnn_pytorch, the 2025–2026 editions'
Assignment 2 model): the notebook's numbers, the NumPy twin on the same weights (loss, autograd's
gradients against the twin's backward, samples), the course's initialisation, dtypes and bad
input.

Where an expected value comes from: "RNN_Captioning_pytorch.ipynb" is the course's Assignment 2
notebook of the 2025 and 2026 editions (same cells and numbers in both); the LSTM loss is that
of "LSTM_Captioning.ipynb" of the 2018–2020 editions (the NumPy assignment, same setup), since the
2025–2026 notebook checks the vanilla RNN only.
"""

import numpy as np
import pytest
import torch

from cs231n.classifiers import rnn as rnn_numpy
from cs231n.classifiers.rnn_pytorch import CaptioningRNN
from cs231n.gradient_check import eval_numerical_gradient, rel_error

TOY_VOCAB = {"<NULL>": 0, "cat": 2, "dog": 3}
VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "a": 4, "cat": 5, "dog": 6}
PARAM_ORDER = ["W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab"]


@pytest.mark.parametrize(
    "cell, feature_range, expected",
    [
        # RNN_Captioning_pytorch.ipynb (2025, 2026), "RNN for Image Captioning": error e-10.
        ("rnn", (-1.5, 0.3), 9.83235591003),
        # LSTM_Captioning.ipynb (2018–2020), "LSTM captioning model": the same setup, LSTM.
        ("lstm", (-0.5, 1.7), 9.82445935443),
    ],
)
def test_notebook_loss(cell, feature_range, expected):
    N, D, W, H, T = 10, 20, 30, 40, 13
    V = len(TOY_VOCAB)
    model = CaptioningRNN(
        TOY_VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, dtype=torch.float64
    )
    for k, v in model.params.items():
        model.params[k] = torch.from_numpy(np.linspace(-1.4, 1.3, num=v.numel()).reshape(*v.shape))
    features = torch.from_numpy(np.linspace(*feature_range, num=N * D).reshape(N, D))
    captions = torch.from_numpy((np.arange(N * T) % V).reshape(N, T))
    loss = model.loss(features, captions)
    assert loss.shape == () and loss.dtype == torch.float64
    assert abs(loss.item() - expected) < 1e-10


def test_notebook_gradient_check():
    """RNN_Captioning_pytorch.ipynb (2025, 2026): autograd against the numerical gradient
    (h=1e-6), "errors around the order of e-6 or less", as its cell runs it."""
    np.random.seed(231)
    torch.manual_seed(231)
    word_to_idx = TOY_VOCAB
    captions = torch.from_numpy(np.random.randint(len(word_to_idx), size=(2, 3)))
    features = torch.from_numpy(np.random.randn(2, 4))
    model = CaptioningRNN(
        word_to_idx, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type="rnn", dtype=torch.float64
    )
    for v in model.params.values():
        v.requires_grad_()
    model.loss(features, captions).backward()
    grads = {k: v.grad.detach().numpy() for k, v in model.params.items()}
    for v in model.params.values():
        v.requires_grad_(False)

    for name in sorted(grads):

        def fn(val, name=name):
            model.params[name] = torch.from_numpy(val)
            return model.loss(features, captions).numpy()

        num = eval_numerical_gradient(fn, model.params[name].numpy(), verbose=False, h=1e-6)
        assert rel_error(num, grads[name]) < 1e-5, name


# ----------------------------------------------------------------------------------------------
# The NumPy twin on the same weights


def twins(cell, seed, N=4, T=8, D=6, W=5, H=7):
    """The NumPy model (float64, seeded) and the PyTorch model holding copies of its weights,
    with features and captions that end in <END> and <NULL> padding."""
    np.random.seed(seed)
    numpy_model = rnn_numpy.CaptioningRNN(
        VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, dtype=np.float64
    )
    torch_model = CaptioningRNN(
        VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, dtype=torch.float64
    )
    torch_model.params = {k: torch.from_numpy(v.copy()) for k, v in numpy_model.params.items()}
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((N, D))
    captions = rng.integers(4, len(VOCAB), size=(N, T))
    captions[:, 0] = VOCAB["<START>"]
    for row, length in zip(captions, rng.integers(2, T, size=N), strict=True):
        row[length] = VOCAB["<END>"]
        row[length + 1 :] = VOCAB["<NULL>"]
    return numpy_model, torch_model, features, captions


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_loss_and_gradients_equal_the_numpy_twin(cell, seed):
    numpy_model, torch_model, features, captions = twins(cell, seed)
    loss, grads = numpy_model.loss(features, captions)
    for v in torch_model.params.values():
        v.requires_grad_()
    t_loss = torch_model.loss(torch.from_numpy(features), torch.from_numpy(captions))
    t_loss.backward()
    assert t_loss.item() == pytest.approx(loss, rel=1e-13)
    for k, v in torch_model.params.items():
        np.testing.assert_allclose(v.grad.numpy(), grads[k], rtol=1e-10, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_samples_equal_the_numpy_twin(cell):
    numpy_model, torch_model, features, _ = twins(cell, 3, N=6, D=6, W=5, H=7)
    for p in (numpy_model.params, torch_model.params):  # sharper scores: varied captions
        p["W_vocab"] *= 20
    expected = numpy_model.sample(features, max_length=12)
    got = torch_model.sample(torch.from_numpy(features), max_length=12)
    assert got.dtype == torch.long and got.device.type == "cpu" and got.shape == (6, 12)
    np.testing.assert_array_equal(got.numpy(), expected)
    assert len({tuple(r) for r in expected.tolist()}) > 1  # not one caption repeated


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_sample_is_greedy_decoding(cell):
    _, model, features, _ = twins(cell, 4)
    p = model.params
    captions = model.sample(torch.from_numpy(features), max_length=5)
    h = torch.from_numpy(features) @ p["W_proj"] + p["b_proj"]
    c = torch.zeros_like(h)
    word = torch.full((features.shape[0],), VOCAB["<START>"])
    H = h.shape[1]
    for t in range(5):
        a = p["W_embed"][word] @ p["Wx"] + h @ p["Wh"] + p["b"]
        if cell == "rnn":
            h = torch.tanh(a)
        else:
            i, f, o = (torch.sigmoid(a[:, k * H : (k + 1) * H]) for k in range(3))
            c = f * c + i * torch.tanh(a[:, 3 * H :])
            h = o * torch.tanh(c)
        word = (h @ p["W_vocab"] + p["b_vocab"]).argmax(1)
        assert torch.equal(captions[:, t], word)


# ----------------------------------------------------------------------------------------------
# The course's initialisation, dtypes, devices, namespace


@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("lstm", 4)])
def test_seeded_weights_are_the_courses(cell, gates):
    """The course draws torch.randn in float32, divides in place, then casts to dtype."""
    V, D, W, H = len(VOCAB), 6, 5, 7
    torch.manual_seed(231)
    model = CaptioningRNN(
        VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, dtype=torch.float64
    )
    torch.manual_seed(231)
    expected = {}
    expected["W_embed"] = torch.randn(V, W)
    expected["W_embed"] /= 100
    expected["W_proj"] = torch.randn(D, H)
    expected["W_proj"] /= np.sqrt(D)
    expected["b_proj"] = torch.zeros(H)
    expected["Wx"] = torch.randn(W, gates * H)
    expected["Wx"] /= np.sqrt(W)
    expected["Wh"] = torch.randn(H, gates * H)
    expected["Wh"] /= np.sqrt(H)
    expected["b"] = torch.zeros(gates * H)
    expected["W_vocab"] = torch.randn(H, V)
    expected["W_vocab"] /= np.sqrt(H)
    expected["b_vocab"] = torch.zeros(V)
    assert list(model.params) == PARAM_ORDER
    for k, v in expected.items():
        got = model.params[k]
        assert got.dtype == torch.float64 and got.device.type == "cpu"
        assert not got.requires_grad
        assert torch.equal(got, v.to(torch.float64)), k


@pytest.mark.parametrize(
    "dtype, expected",
    [(None, torch.float32), (torch.float64, torch.float64), (np.float64, torch.float64)],
)
def test_dtype(dtype, expected):
    kwargs = {} if dtype is None else {"dtype": dtype}
    model = CaptioningRNN(VOCAB, input_dim=6, wordvec_dim=5, hidden_dim=7, **kwargs)
    assert model.dtype == expected
    assert {v.dtype for v in model.params.values()} == {expected}


def test_inputs_of_any_dtype_and_numpy_arrays_are_accepted():
    """float32 features feed a float64 model (the notebook's "agnostic of the input tensors
    data types"); NumPy arrays and int32 captions work as tensors do."""
    _, model, features, captions = twins("lstm", 6)
    reference = model.loss(torch.from_numpy(features), torch.from_numpy(captions)).item()
    loss32 = model.loss(torch.from_numpy(features.astype(np.float32)), captions.astype(np.int32))
    assert loss32.dtype == torch.float64
    assert loss32.item() == pytest.approx(reference, rel=1e-6)
    assert model.loss(features, captions).item() == reference
    np.testing.assert_array_equal(
        model.sample(features, max_length=4).numpy(),
        model.sample(torch.from_numpy(features), max_length=4).numpy(),
    )


def test_float32_model_stays_float32():
    np.random.seed(0)
    torch.manual_seed(0)
    model = CaptioningRNN(VOCAB, input_dim=6, wordvec_dim=5, hidden_dim=7, cell_type="lstm")
    features = np.random.randn(3, 6)  # float64 features
    captions = np.array([[1, 4, 5, 2], [1, 6, 2, 0], [1, 5, 5, 2]])
    assert model.loss(features, captions).dtype == torch.float32


def test_gradients_reach_only_params_that_require_them():
    _, model, features, captions = twins("rnn", 7)
    model.params["Wx"].requires_grad_()
    model.loss(features, captions).backward()
    assert model.params["Wx"].grad is not None
    assert all(v.grad is None for k, v in model.params.items() if k != "Wx")


def test_star_import_gives_what_the_courses_module_gives():
    namespace: dict = {}
    exec("from cs231n.classifiers.rnn_pytorch import *", namespace)
    assert namespace["CaptioningRNN"] is CaptioningRNN
    assert namespace["torch"] is torch and namespace["np"] is np
    assert callable(namespace["rnn_forward"]) and callable(namespace["temporal_softmax_loss"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_cuda_model_equals_cpu(cell):
    _, model, features, captions = twins(cell, 8)
    cpu_loss = model.loss(features, captions).item()
    cpu_sample = model.sample(features, max_length=6)
    model.params = {k: v.cuda() for k, v in model.params.items()}
    loss = model.loss(features, captions)  # NumPy inputs move to the weights' device
    assert loss.device.type == "cuda"
    assert loss.item() == pytest.approx(cpu_loss, rel=1e-12)
    sample = model.sample(torch.from_numpy(features), max_length=6)
    assert sample.device.type == "cpu"  # as the course's: .numpy() works on it
    assert torch.equal(sample, cpu_sample)


# ----------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "change, error, match",
    [
        (
            lambda m, f, c: m.loss(f[:, :5], c),
            ValueError,
            r"CaptioningRNN.loss: features has shape \(4, 5\), expected size 6 on axis 1",
        ),
        (
            lambda m, f, c: m.loss(f, c[:3]),
            ValueError,
            r"CaptioningRNN.loss: captions has shape \(3, 8\), expected size 4 on axis 0",
        ),
        (
            lambda m, f, c: m.loss(f, c + 7),
            ValueError,
            r"CaptioningRNN.loss: captions holds word id 13, outside the vocabulary \[0, 7\)",
        ),
        (
            lambda m, f, c: m.loss(f, c.astype(np.float64)),
            TypeError,
            r"CaptioningRNN.loss: captions must hold integer word ids, got dtype torch.float64",
        ),
        (
            lambda m, f, c: m.loss(f, c[:, :1]),
            ValueError,
            r"CaptioningRNN.loss: captions \(4, 1\) need at least 2 columns",
        ),
        (
            lambda m, f, c: m.loss(f.tolist(), c),
            TypeError,
            r"CaptioningRNN.loss: features must be a torch tensor or a numpy array, got list",
        ),
        (
            lambda m, f, c: m.loss(f.astype(np.int64), c),
            TypeError,
            r"CaptioningRNN.loss: features must be a floating-point tensor, got torch.int64",
        ),
        (
            lambda m, f, c: m.sample(f[None]),
            ValueError,
            r"CaptioningRNN.sample: features must have 2 dimensions",
        ),
        (
            lambda m, f, c: m.sample(f, max_length=0),
            ValueError,
            r"CaptioningRNN.sample: max_length must be a positive integer, got 0",
        ),
        (
            lambda m, f, c: m.sample(f, max_length=2.5),
            ValueError,
            r"CaptioningRNN.sample: max_length must be a positive integer, got 2.5",
        ),
    ],
)
def test_bad_input_is_named(change, error, match):
    _, model, features, captions = twins("rnn", 9)
    with pytest.raises(error, match=match):
        change(model, features, captions)


def test_replaced_params_are_checked():
    _, model, features, captions = twins("lstm", 10)
    model.params["Wh"] = model.params["Wh"][:, :7]
    with pytest.raises(
        ValueError, match=r"CaptioningRNN.loss \(model.params\): Wh has shape \(7, 7\)"
    ):
        model.loss(features, captions)
    _, model, features, captions = twins("rnn", 10)
    model.params["b"] = model.params["b"].float()
    with pytest.raises(TypeError, match=r"b is torch.float32 but W_embed is torch.float64"):
        model.sample(features)


def test_sample_needs_start_token():
    model = CaptioningRNN(TOY_VOCAB, input_dim=4, wordvec_dim=5, hidden_dim=6)
    with pytest.raises(ValueError, match="no '<START>' token"):
        model.sample(torch.zeros(2, 4))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell_type": "gru"}, 'Invalid cell_type "gru"'),
        ({"hidden_dim": 0}, "hidden_dim must be a positive integer, got 0"),
        ({"wordvec_dim": 2.5}, "wordvec_dim must be a positive integer, got 2.5"),
        ({"dtype": torch.int64}, "dtype must be a floating dtype, got torch.int64"),
        ({"dtype": "double-ish"}, "dtype must be a floating dtype, got 'double-ish'"),
        ({"word_to_idx": {"cat": 0}}, "word_to_idx has no '<NULL>' token"),
    ],
)
def test_bad_construction(kwargs, match):
    args = {"word_to_idx": VOCAB, **kwargs}
    with pytest.raises(ValueError, match=match):
        CaptioningRNN(**args)
