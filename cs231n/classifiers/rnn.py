"""The assignment's image-captioning model: image features -> h0 -> RNN/LSTM -> word scores."""

from __future__ import annotations

import numpy as np

from ..core.checks import Shapes, require_float, require_indices
from ..rnn_layers import (
    affine_backward,
    affine_forward,
    lstm_forward_packed,
    lstm_step_forward,
    pack_sequences,
    rnn_forward_packed,
    rnn_step_forward,
    sequence_backward_packed,
    softmax_loss_rows,
    word_embedding_backward,
    word_embedding_forward,
)


class CaptioningRNN:
    """Generates captions from image features with a recurrent network.

    The network has input dimension D (features), word-vector dimension W, hidden dimension H
    and vocabulary size V, and works on minibatches of N captions of length T. The initial
    hidden state is an affine projection of the image features; no regularisation.

    Parameters (in ``self.params``): ``W_embed (V, W)``, ``W_proj (D, H)``, ``b_proj (H,)``,
    ``Wx (W, H or 4H)``, ``Wh (H, H or 4H)``, ``b``, ``W_vocab (H, V)``, ``b_vocab (V,)``.
    """

    def __init__(
        self,
        word_to_idx,
        input_dim=512,
        wordvec_dim=128,
        hidden_dim=128,
        cell_type="rnn",
        dtype=np.float32,
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
            if int(dim) != dim or dim < 1:
                raise ValueError(f"CaptioningRNN: {name} must be a positive integer, got {dim!r}")

        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params = {}

        vocab_size = len(word_to_idx)
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        # The same draws, in the same order, as the assignment: seeded notebooks reproduce.
        self.params["W_embed"] = np.random.randn(vocab_size, wordvec_dim) / 100
        self.params["W_proj"] = np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params["b_proj"] = np.zeros(hidden_dim)
        gates = {"lstm": 4, "rnn": 1}[cell_type]
        self.params["Wx"] = np.random.randn(wordvec_dim, gates * hidden_dim) / np.sqrt(wordvec_dim)
        self.params["Wh"] = np.random.randn(hidden_dim, gates * hidden_dim) / np.sqrt(hidden_dim)
        self.params["b"] = np.zeros(gates * hidden_dim)
        self.params["W_vocab"] = np.random.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim)
        self.params["b_vocab"] = np.zeros(vocab_size)
        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    @property
    def vocab_size(self) -> int:
        return self.params["W_vocab"].shape[1]

    def _features(self, func, features):
        """Validated features in the model's dtype (so a float32 model stays float32)."""
        Shapes(func).check("features", features, ("N", self.params["W_proj"].shape[0]))
        require_float(func, "features", features)
        if not np.isfinite(features).all():  # NaN features decode into garbage captions
            raise ValueError(f"{func}: features hold NaN or infinite values")
        return features.astype(self.dtype, copy=False)

    def get_num_params(self) -> int:
        """How many numbers the model holds (every weight and bias); equal to
        ``cs231n.captioning.sizing.model_parameter_count`` of its sizes, which sizes a model
        before it is built."""
        return int(sum(p.size for p in self.params.values()))

    def loss(self, features, captions):
        """Training loss and gradients.

        features: (N, D) image features; captions: (N, T + 1) integer word ids, each row
        ``<START> w_1 ... w_k <END> <NULL> ...``. The RNN reads ``captions[:, :-1]`` and is
        trained to predict ``captions[:, 1:]`` except at ``<NULL>`` positions.
        Returns ``(loss, grads)`` with ``grads`` keyed like ``self.params``.
        """
        func = "CaptioningRNN.loss"
        features = self._features(func, features)
        captions = require_indices(func, "captions", captions, self.vocab_size)
        Shapes(func).check("captions", captions, (features.shape[0], "T1"))
        if captions.shape[1] < 2:
            raise ValueError(f"{func}: captions {captions.shape} need at least 2 columns")

        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null
        N = features.shape[0]
        p = self.params

        # The assignment's computation (affine -> embedding -> RNN -> temporal affine -> masked
        # softmax), run on the packed positions only: a caption's steps after its last counted
        # target cannot change the loss, so they are skipped rather than computed and masked.
        # rnn_layers_reference.assignment_loss is the unpacked original; tests compare the two.
        order, batch_sizes, seq, step = pack_sequences(mask)
        if not len(batch_sizes):  # no counted targets at all
            return 0.0, {k: np.zeros_like(v) for k, v in p.items()}
        forward = {"rnn": rnn_forward_packed, "lstm": lstm_forward_packed}[self.cell_type]

        h0, cache_proj = affine_forward(features[order], p["W_proj"], p["b_proj"])
        x, cache_embed = word_embedding_forward(captions_in[seq, step], p["W_embed"])
        h, cache_rnn = forward(x, batch_sizes, h0, p["Wx"], p["Wh"], p["b"])
        scores, cache_vocab = affine_forward(h, p["W_vocab"], p["b_vocab"])
        weight = mask[seq, step].astype(scores.dtype) / N
        loss, dscores = softmax_loss_rows(scores, captions_out[seq, step], weight, func)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = affine_backward(dscores, cache_vocab)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = sequence_backward_packed(dh, cache_rnn)
        grads["W_embed"] = word_embedding_backward(dx, cache_embed)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, cache_proj)
        return loss, grads

    def sample(self, features, max_length=30):
        """Greedy decoding: start from ``<START>``, feed back the most likely word each step.

        features: (N, D). Returns int32 captions (N, max_length); column 0 is the first
        generated word (``<START>`` is not included).
        """
        func = "CaptioningRNN.sample"
        features = self._features(func, features)
        if self._start is None:
            raise ValueError(f"{func}: word_to_idx has no '<START>' token to begin captions with")
        if int(max_length) != max_length or max_length < 1:
            raise ValueError(f"{func}: max_length must be a positive integer, got {max_length!r}")
        N = features.shape[0]
        p = self.params
        captions = np.full((N, max_length), self._null, dtype=np.int32)

        h, _ = affine_forward(features, p["W_proj"], p["b_proj"])
        c = np.zeros_like(h)
        words = np.full(N, self._start)
        for t in range(max_length):
            x = p["W_embed"][words]
            if self.cell_type == "rnn":
                h, _ = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
            else:
                h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
            scores = h @ p["W_vocab"] + p["b_vocab"]
            words = scores.argmax(axis=1)
            captions[:, t] = words
        return captions
