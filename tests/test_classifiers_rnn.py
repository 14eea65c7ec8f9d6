"""CaptioningRNN: the notebook's numbers, gradients checked two ways, conventions, bad input."""

import numpy as np
import pytest
import torch

from cs231n.captioning.reference import VECTORISED_LAYERS, StepwiseCaptioningRNN, assignment_loss
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.gradient_check import eval_numerical_gradient

TOY_VOCAB = {"<NULL>": 0, "cat": 2, "dog": 3}
VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "a": 4, "cat": 5, "dog": 6}
PARAM_SHAPES = {
    "W_embed": ("V", "W"),
    "W_proj": ("D", "H"),
    "b_proj": ("H",),
    "Wx": ("W", "G"),
    "Wh": ("H", "G"),
    "b": ("G",),
    "W_vocab": ("H", "V"),
    "b_vocab": ("V",),
}


@pytest.mark.parametrize(
    "cell, feature_range, expected",
    # The course notebooks' expected losses for fixed parameters (RNN and LSTM notebooks).
    [("rnn", (-1.5, 0.3), 9.83235591003), ("lstm", (-0.5, 1.7), 9.82445935443)],
)
def test_notebook_loss(cell, feature_range, expected):
    N, D, W, H, T = 10, 20, 30, 40, 13
    V = len(TOY_VOCAB)
    model = CaptioningRNN(
        TOY_VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, dtype=np.float64
    )
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)
    features = np.linspace(*feature_range, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    loss, _ = model.loss(features, captions)
    assert abs(loss - expected) < 1e-10


def small_model(cell, dtype=np.float64, seed=231, vocab=TOY_VOCAB, T=3):
    """The notebooks' gradient-check setup: N=2, T=3, D=4, W=5, H=6."""
    np.random.seed(seed)
    captions = np.random.randint(len(vocab), size=(2, T))
    features = np.random.randn(2, 4)
    model = CaptioningRNN(
        vocab, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type=cell, dtype=dtype
    )
    return model, features, captions


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_whole_model_numerical_gradient(cell):
    model, features, captions = small_model(cell)
    _, grads = model.loss(features, captions)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(
            lambda _: model.loss(features, captions)[0], model.params[name], verbose=False
        )
        # Normwise: some entries are ~1e-11, where an elementwise relative error measures only
        # the finite-difference noise.
        err = np.linalg.norm(numeric - grads[name]) / np.linalg.norm(numeric + grads[name])
        assert err < 1e-7, (name, err)


def torch_captioning_loss(params, features, captions, cell, null=0):
    """An independent PyTorch formulation of the same loss (autograd for the gradients)."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    f = torch.tensor(features)
    c = torch.tensor(captions, dtype=torch.long)
    H = P["W_proj"].shape[1]
    h = f @ P["W_proj"] + P["b_proj"]
    cell_state = torch.zeros_like(h)
    x = torch.nn.functional.embedding(c[:, :-1], P["W_embed"])
    hs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ P["Wx"] + h @ P["Wh"] + P["b"]
        if cell == "rnn":
            h = torch.tanh(a)
        else:
            i, f_, o = (torch.sigmoid(a[:, k * H : (k + 1) * H]) for k in range(3))
            cell_state = f_ * cell_state + i * torch.tanh(a[:, 3 * H :])
            h = o * torch.tanh(cell_state)
        hs.append(h)
    scores = torch.stack(hs, 1) @ P["W_vocab"] + P["b_vocab"]
    target = c[:, 1:]
    losses = torch.nn.functional.cross_entropy(
        scores.reshape(-1, scores.shape[-1]), target.reshape(-1), reduction="none"
    )
    loss = (losses * (target.reshape(-1) != null)).sum() / c.shape[0]
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in P.items()}


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pytorch(cell, seed):
    rng = np.random.default_rng(seed)
    N, T = 4, 7
    np.random.seed(seed)
    model = CaptioningRNN(
        VOCAB, input_dim=6, wordvec_dim=5, hidden_dim=8, cell_type=cell, dtype=np.float64
    )
    features = rng.standard_normal((N, 6))
    captions = rng.integers(0, len(VOCAB), size=(N, T))
    captions[0, 3:] = 0  # some <NULL> padding so the mask matters
    loss, grads = model.loss(features, captions)
    ref_loss, ref_grads = torch_captioning_loss(model.params, features, captions, cell)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for k in model.params:
        np.testing.assert_allclose(grads[k], ref_grads[k], rtol=1e-9, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_vectorised_equals_stepwise_model(cell):
    model, features, captions = small_model(cell, vocab=VOCAB, T=9)
    loop = StepwiseCaptioningRNN(
        VOCAB, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type=cell, dtype=np.float64
    )
    loop.params = model.params
    loss, grads = model.loss(features, captions)
    loop_loss, loop_grads = loop.loss(features, captions)
    assert loss == pytest.approx(loop_loss, rel=1e-13)
    for k in grads:
        np.testing.assert_allclose(grads[k], loop_grads[k], rtol=1e-10, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("lstm", 4)])
def test_parameters_shapes_dtype_and_init(cell, gates):
    D, W, H, V = 7, 5, 6, len(VOCAB)
    np.random.seed(0)
    model = CaptioningRNN(VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell)
    dims = {"V": V, "W": W, "D": D, "H": H, "G": gates * H}
    assert set(model.params) == set(PARAM_SHAPES)
    for name, spec in PARAM_SHAPES.items():
        assert model.params[name].shape == tuple(dims[s] for s in spec), name
        assert model.params[name].dtype == np.float32, name
    for bias in ("b_proj", "b", "b_vocab"):
        assert not model.params[bias].any()
    # The assignment's draws in the assignment's order: W_embed = randn / 100 first.
    np.random.seed(0)
    np.testing.assert_allclose(model.params["W_embed"], np.random.randn(V, W) / 100, rtol=1e-6)
    np.testing.assert_allclose(
        model.params["W_proj"], np.random.randn(D, H) / np.sqrt(D), rtol=1e-6
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_float32_model_stays_float32(cell):
    model, features, captions = small_model(cell, dtype=np.float32, vocab=VOCAB)
    loss, grads = model.loss(features, captions)  # float64 features are cast to the model dtype
    assert np.isfinite(loss)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_mask_ignores_null_targets():
    model, features, _ = small_model("lstm", vocab=VOCAB, T=6)
    captions = np.array([[1, 4, 5, 2, 0, 0], [1, 6, 2, 0, 0, 0]])
    loss, grads = model.loss(features, captions)
    # Changing what follows <NULL> in the inputs cannot change the loss on earlier targets,
    # and targets that are <NULL> contribute nothing: replacing only padding is a no-op.
    padded = captions.copy()
    padded[0, 4:] = 0
    assert model.loss(features, padded)[0] == pytest.approx(loss, rel=1e-14)
    all_null = np.zeros_like(captions)
    all_null[:, 0] = 1
    loss_null, grads_null = model.loss(features, all_null)
    assert loss_null == 0.0
    assert not grads_null["W_vocab"].any()


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_sample_is_greedy_decoding(cell):
    model, features, _ = small_model(cell, vocab=VOCAB)
    for k in model.params:  # large weights: distinct argmaxes, no ties
        model.params[k] = model.params[k] * 20
    captions = model.sample(features, max_length=6)
    assert captions.shape == (2, 6) and captions.dtype == np.int32

    # Independent re-computation: at every step the sampled word maximises the model's
    # scores for the prefix so far; the loss's per-step scores expose exactly that.
    p = model.params
    for n in range(2):
        prefix = [VOCAB["<START>"]]
        h = features[n] @ p["W_proj"] + p["b_proj"]
        c = np.zeros_like(h)
        H = h.shape[0]
        for t in range(6):
            a = p["W_embed"][prefix[-1]] @ p["Wx"] + h @ p["Wh"] + p["b"]
            if cell == "rnn":
                h = np.tanh(a)
            else:
                s = 1 / (1 + np.exp(-a[: 3 * H]))
                c = s[H : 2 * H] * c + s[:H] * np.tanh(a[3 * H :])
                h = s[2 * H :] * np.tanh(c)
            word = int(np.argmax(h @ p["W_vocab"] + p["b_vocab"]))
            assert captions[n, t] == word, (n, t)
            prefix.append(word)


def test_sample_needs_start_token():
    model, features, _ = small_model("rnn")  # TOY_VOCAB has no <START>
    with pytest.raises(ValueError, match="<START>"):
        model.sample(features)


def test_seeded_construction_is_reproducible():
    a = small_model("lstm", seed=5)[0]
    b = small_model("lstm", seed=5)[0]
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda f, c: (f[:, :3], c), ValueError, r"features has shape \(2, 3\)"),
        (lambda f, c: (f.astype(int), c), TypeError, "features must be a floating-point"),
        (lambda f, c: (f, c.astype(float)), TypeError, "captions must hold integer word ids"),
        (lambda f, c: (f, c + 10), ValueError, "holds word id 1[0-9], outside the vocabulary"),
        (lambda f, c: (f, -1 - c), ValueError, "word id -"),
        (lambda f, c: (f, c[:1]), ValueError, r"captions has shape \(1, 3\)"),
        (lambda f, c: (f, c[:, :1]), ValueError, "at least 2 columns"),
        (lambda f, c: (f[0], c), ValueError, "features must have 2 dimensions"),
        (lambda f, c: (f.tolist(), c), TypeError, "features must be a numpy array"),
    ],
)
def test_bad_input_is_named(change, error, match):
    model, features, captions = small_model("lstm")
    with pytest.raises(error, match=match):
        model.loss(*change(features, captions))


def test_diverged_model_raises_clearly():
    model, features, captions = small_model("rnn", vocab=VOCAB)
    model.params["W_vocab"][:] = np.nan
    with pytest.raises(FloatingPointError, match="NaN/inf"):
        model.loss(features, captions)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell_type": "gru"}, 'Invalid cell_type "gru"'),
        ({"hidden_dim": 0}, "hidden_dim must be a positive integer"),
        ({"word_to_idx": {"a": 0}}, "<NULL>"),
    ],
)
def test_bad_construction(kwargs, match):
    args = {"word_to_idx": TOY_VOCAB, **kwargs}
    with pytest.raises(ValueError, match=match):
        CaptioningRNN(**args)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_packing_matches_the_assignments_unpacked_loss(cell):
    """The model skips padding; the assignment's composition computes it and masks it."""
    np.random.seed(7)
    model = CaptioningRNN(
        VOCAB, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type=cell, dtype=np.float64
    )
    features = np.random.randn(5, 4)
    captions = np.array(
        [
            [1, 4, 5, 6, 2, 0, 0, 0],  # padded
            [1, 4, 2, 0, 0, 0, 0, 0],  # short
            [1, 5, 0, 6, 4, 2, 0, 0],  # <NULL> in the middle: later words still count
            [1, 0, 0, 0, 0, 0, 0, 0],  # nothing to predict
            [1, 6, 5, 4, 6, 5, 4, 2],  # full length
        ]
    )
    loss, grads = model.loss(features, captions)
    ref_loss, ref_grads = assignment_loss(model, features, captions, VECTORISED_LAYERS[cell])
    assert loss == pytest.approx(ref_loss, rel=1e-13)
    for k in grads:
        np.testing.assert_allclose(grads[k], ref_grads[k], rtol=1e-10, atol=1e-14, err_msg=k)
