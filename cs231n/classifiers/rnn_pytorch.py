"""The course's image-captioning RNN in PyTorch: ``cs231n/classifiers/rnn_pytorch.py`` of
Assignment 2 (2025 and 2026 editions).

``CaptioningRNN`` keeps its weights as plain tensors in ``self.params`` (no ``nn.Module``), with
the course's names, shapes, draws and order (``torch.randn`` in float32, scaled, then cast to
``dtype``), so a notebook seeded with ``torch.manual_seed`` gets the course's weights.
``loss(features, captions)`` returns the loss as a 0-d tensor: autograd gives the gradients
(set ``requires_grad_`` on the params, as ``CaptioningSolverPytorch.train`` does). The model
is the NumPy twin :class:`cs231n.classifiers.rnn.CaptioningRNN` computed with
:mod:`cs231n.rnn_layers_pytorch`; on the same float64 weights both give the same loss, gradients
and samples.

Beyond the course: features and captions may be tensors or NumPy arrays of any float / integer
dtype (features are converted to the weights' dtype and device: a float32 batch feeds a float64
model), inputs are checked first (one clear error naming the method, the argument and the
shapes), and ``sample`` runs wherever the weights are (a GPU too) and returns its captions on
the CPU, as the course's does.
"""

from __future__ import annotations

import numpy as np
import torch

from ..rnn_layers_pytorch import (
    TensorShapes,
    affine_forward,
    lstm_forward,
    lstm_step_forward,
    rnn_forward,
    rnn_step_forward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_forward,
    word_ids,
)

# What the course's module gives to `from cs231n.classifiers.rnn_pytorch import *`: its own
# imports (numpy, torch) and, through its star import, the layers.
__all__ = [
    "CaptioningRNN",
    "affine_forward",
    "lstm_forward",
    "lstm_step_forward",
    "np",
    "rnn_forward",
    "rnn_step_forward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "torch",
    "word_embedding_forward",
]


def _torch_dtype(dtype) -> torch.dtype:
    """A floating torch dtype from a torch dtype or a NumPy one (np.float64 -> torch.float64)."""
    if not isinstance(dtype, torch.dtype):
        try:
            dtype = torch.from_numpy(np.empty(0, dtype=dtype)).dtype
        except (TypeError, ValueError):
            raise ValueError(
                f"CaptioningRNN: dtype must be a floating dtype, got {dtype!r}"
            ) from None
    if not dtype.is_floating_point:
        raise ValueError(f"CaptioningRNN: dtype must be a floating dtype, got {dtype}")
    return dtype


def _as_tensor(func: str, name: str, value) -> torch.Tensor:
    """A tensor as is; a NumPy array as a tensor sharing its memory; anything else refused."""
    if torch.is_tensor(value):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    raise TypeError(
        f"{func}: {name} must be a torch tensor or a numpy array, got {type(value).__name__}"
    )


class CaptioningRNN:
    """Generates captions from image features with a recurrent network.

    The network has input dimension D (features), word-vector dimension W, hidden dimension H
    and vocabulary size V, and works on minibatches of N captions of length T. The initial
    hidden state is an affine projection of the image features; no regularisation.

    Parameters (in ``self.params``, torch tensors of ``dtype`` on the CPU): ``W_embed (V, W)``,
    ``W_proj (D, H)``, ``b_proj (H,)``, ``Wx (W, H or 4H)``, ``Wh (H, H or 4H)``, ``b``,
    ``W_vocab (H, V)``, ``b_vocab (V,)``.
    """

    def __init__(
        self,
        word_to_idx,
        input_dim=512,
        wordvec_dim=128,
        hidden_dim=128,
        cell_type="rnn",
        dtype=torch.float32,
    ):
        if cell_type not in {"rnn", "lstm"}:
            raise ValueError(f'Invalid cell_type "{cell_type}": expected "rnn" or "lstm"')
        if "<NULL>" not in word_to_idx:
            raise ValueError("CaptioningRNN: word_to_idx has no '<NULL>' token")
        for name, dim in (
            ("input_dim", input_dim),
            ("wordvec_dim", wordvec_dim),
            ("hidden_dim", hidden_dim),
        ):
            if isinstance(dim, bool) or int(dim) != dim or dim < 1:
                raise ValueError(f"CaptioningRNN: {name} must be a positive integer, got {dim!r}")
        input_dim, wordvec_dim, hidden_dim = int(input_dim), int(wordvec_dim), int(hidden_dim)

        self.cell_type = cell_type
        self.dtype = _torch_dtype(dtype)
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params = {}

        vocab_size = len(word_to_idx)
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        # The course's draws, in its order and arithmetic (float32 randn, scaled, then cast):
        # a notebook seeded with torch.manual_seed gets the course's weights.
        self.params["W_embed"] = torch.randn(vocab_size, wordvec_dim) / 100
        self.params["W_proj"] = torch.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params["b_proj"] = torch.zeros(hidden_dim)
        gates = {"lstm": 4, "rnn": 1}[cell_type]
        self.params["Wx"] = torch.randn(wordvec_dim, gates * hidden_dim) / np.sqrt(wordvec_dim)
        self.params["Wh"] = torch.randn(hidden_dim, gates * hidden_dim) / np.sqrt(hidden_dim)
        self.params["b"] = torch.zeros(gates * hidden_dim)
        self.params["W_vocab"] = torch.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = torch.zeros(vocab_size)
        for k, v in self.params.items():
            self.params[k] = v.to(self.dtype)

    @property
    def vocab_size(self) -> int:
        return self.params["W_vocab"].shape[1]

    def _weights(self, func):
        """The parameters, checked: tensors of one floating dtype on one device, with the
        shapes the model was built with (a notebook may replace them)."""
        shapes = TensorShapes(f"{func} (model.params)")
        gate = "4H" if self.cell_type == "lstm" else "H"
        shapes.floats(
            W_embed=(self.params["W_embed"], ("V", "W")),
            W_proj=(self.params["W_proj"], ("D", "H")),
            b_proj=(self.params["b_proj"], ("H",)),
            Wx=(self.params["Wx"], ("W", gate)),
            Wh=(self.params["Wh"], ("H", gate)),
            b=(self.params["b"], (gate,)),
            W_vocab=(self.params["W_vocab"], ("H", "V")),
            b_vocab=(self.params["b_vocab"], ("V",)),
        )
        return self.params

    def _features(self, func, features, p):
        """Validated features (N, D) in the weights' dtype and on their device."""
        features = _as_tensor(func, "features", features)
        TensorShapes(func).check("features", features, ("N", p["W_proj"].shape[0]))
        if not features.is_floating_point():
            raise TypeError(
                f"{func}: features must be a floating-point tensor, got {features.dtype}"
            )
        W = p["W_proj"]
        return features.to(device=W.device, dtype=W.dtype)

    def loss(self, features, captions):
        """Training loss.

        features: (N, D) image features; captions: (N, T + 1) integer word ids, each row
        ``<START> w_1 ... w_k <END> <NULL> ...``. The RNN reads ``captions[:, :-1]`` and is
        trained to predict ``captions[:, 1:]`` except at ``<NULL>`` positions. Returns the loss
        (a 0-d tensor; ``loss.backward()`` fills the params' ``.grad`` where they require it).
        """
        func = "CaptioningRNN.loss"
        p = self._weights(func)
        features = self._features(func, features, p)
        captions = _as_tensor(func, "captions", captions)
        captions = word_ids(func, "captions", captions, self.vocab_size, features.device)
        TensorShapes(func).check("captions", captions, (features.shape[0], "T1"))
        if captions.shape[1] < 2:
            raise ValueError(
                f"{func}: captions {tuple(captions.shape)} need at least 2 columns "
                "(<START> and one target)"
            )

        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null

        forward = {"rnn": rnn_forward, "lstm": lstm_forward}[self.cell_type]
        h0 = affine_forward(features, p["W_proj"], p["b_proj"])
        x = word_embedding_forward(captions_in, p["W_embed"])
        h = forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        return temporal_softmax_loss(scores, captions_out, mask)

    def sample(self, features, max_length=30):
        """Greedy decoding: start from ``<START>``, feed back the most likely word each step.

        features: (N, D). Returns captions (N, max_length), an int64 tensor on the CPU; column
        0 is the first generated word (``<START>`` is not included). Runs without autograd.
        """
        func = "CaptioningRNN.sample"
        if self._start is None:
            raise ValueError(f"{func}: word_to_idx has no '<START>' token to begin captions with")
        if isinstance(max_length, bool) or int(max_length) != max_length or max_length < 1:
            raise ValueError(f"{func}: max_length must be a positive integer, got {max_length!r}")
        p = self._weights(func)
        features = self._features(func, features, p)
        N = features.shape[0]
        words_per_step = []

        with torch.no_grad():
            h = affine_forward(features, p["W_proj"], p["b_proj"])
            c = torch.zeros_like(h)
            words = torch.full((N,), self._start, dtype=torch.long, device=h.device)
            for _ in range(int(max_length)):
                x = p["W_embed"][words]
                if self.cell_type == "rnn":
                    h = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
                else:
                    h, c = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
                scores = h @ p["W_vocab"] + p["b_vocab"]
                words = scores.argmax(dim=1)
                words_per_step.append(words)
        # One copy to the CPU at the end (a GPU waits once, not at every step).
        return torch.stack(words_per_step, dim=1).cpu()
