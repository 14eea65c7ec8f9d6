"""The course's Transformer models (Assignment 3, 2021–2026): the captioning Transformer and,
from 2025, the Vision Transformer.

Module path, class names, signatures, attribute names and the order in which parameters are
created and initialised follow the course's ``cs231n/classifiers/transformer.py``, so seeded
models have the course's weights. The layers live in :mod:`cs231n.transformer_layers` and are
re-exported here: 2021–2024 defined ``TransformerDecoderLayer`` in this module, and the course
imports everything from ``transformer_layers`` into it. ``from cs231n.classifiers.transformer
import *`` gives what the course's module gives, the modules it imports (``np``, ``copy``,
``torch``, ``nn``, and ``F``, ``math`` through ``transformer_layers``) included. The layers follow
the course edition in force when a model is built (``cs231n.set_edition``, see
``cs231n/core/edition.py``): a model built under 2024 decodes with ReLU, under 2025 with GELU.

Beyond the course: inputs are checked (one clear error), :meth:`CaptioningTransformer.sample`
runs in eval mode and reuses cached keys/values (one step costs O(t), not a whole forward
pass), and :meth:`CaptioningTransformer.start_decoding` / :meth:`~CaptioningTransformer.
decode_step` expose that cache for other decoders (beam search).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..core.torch_utils import refuses_oversized
from ..transformer_layers import (
    FeedForwardNetwork,
    MultiHeadAttention,
    PatchEmbedding,
    PositionalEncoding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
)

__all__ = [
    "CaptioningTransformer",
    "DecodeState",
    "FeedForwardNetwork",
    "MultiHeadAttention",
    "PatchEmbedding",
    "PositionalEncoding",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "VisionTransformer",
    "causal_mask",
    "clones",
    # The modules the course's file imports, directly or through `transformer_layers import *`.
    "F",
    "copy",
    "math",
    "nn",
    "np",
    "torch",
]


def clones(module, N):
    """N independent deep copies of ``module`` in a ModuleList (the course's helper): the
    layers start with equal weights until the model re-initialises them."""
    return nn.ModuleList([copy.deepcopy(module) for _ in range(N)])


def causal_mask(T, device=None):
    """(T, T) boolean mask in the course's convention (True = may attend): position i sees
    positions 0..i."""
    return torch.tril(torch.ones(T, T, dtype=torch.bool, device=device))


def _init_weights(module):
    """The course's initialisation: Linear and Embedding weights N(0, 0.02), Linear biases 0,
    LayerNorm weight 1 and bias 0."""
    if isinstance(module, nn.Linear | nn.Embedding):
        module.weight.data.normal_(mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, nn.LayerNorm):
        module.bias.data.zero_()
        module.weight.data.fill_(1.0)


class TransformerDecoder(nn.Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn (course)."""

    def __init__(self, decoder_layer, num_layers):
        super().__init__()
        self.layers = clones(decoder_layer, num_layers)
        self.num_layers = num_layers

    def forward(self, tgt, memory, tgt_mask=None):
        """tgt (N, T, D), memory (N, S, D), tgt_mask (T, T) with 0 = blocked -> (N, T, D)."""
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask)
        return output


class TransformerEncoder(nn.Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn (course, 2025)."""

    def __init__(self, encoder_layer, num_layers):
        super().__init__()
        self.layers = clones(encoder_layer, num_layers)
        self.num_layers = num_layers

    def forward(self, src, src_mask=None):
        """src (N, S, D), src_mask (S, S) with 0 = blocked -> (N, S, D)."""
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=src_mask)
        return output


@dataclass
class DecodeState:
    """What :meth:`CaptioningTransformer.decode_step` carries from one step to the next.

    ``memory_kv``: per layer, the cross-attention keys and values of the projected image
    features (computed once); ``cache``: per layer, the self-attention keys and values of the
    words decoded so far (None before the first step); ``step``: the position of the next word.
    Every tensor has the batch on axis 0.
    """

    memory_kv: list
    cache: list
    step: int = 0

    def select(self, index):
        """The state of the rows ``index`` (a LongTensor of batch rows, repeats allowed): for
        beam search, to keep the surviving hypotheses and copy them."""

        def pick(pair):
            return None if pair is None else (pair[0][index], pair[1][index])

        return DecodeState(
            [pick(kv) for kv in self.memory_kv], [pick(kv) for kv in self.cache], self.step
        )


class CaptioningTransformer(nn.Module):
    """Captions from image features with a Transformer decoder (course, 2021–2026).

    The image feature vector (N, D) is projected to the word-vector size W and is the decoder's
    memory, a sequence of length 1; caption words are embedded (``<NULL>`` is the padding
    index), position-encoded, and decoded with a causal mask; a linear layer gives scores over
    the V words. Creation order and initialisation are the course's: every Linear/Embedding
    weight N(0, 0.02) with zero biases, then the output layer is created after that pass (so it
    keeps PyTorch's default initialisation and takes the next random draws).

    Uses ``TransformerDecoderLayer(W, num_heads)`` with its defaults (feed-forward size 2048,
    dropout 0.1, the edition's activation when the model is built: ReLU up to 2024, GELU from
    2025).
    """

    @refuses_oversized
    def __init__(
        self, word_to_idx, input_dim, wordvec_dim, num_heads=4, num_layers=2, max_length=50
    ):
        super().__init__()
        if "<NULL>" not in word_to_idx:
            raise ValueError("CaptioningTransformer: word_to_idx has no '<NULL>' token")
        for name, value in (
            ("input_dim", input_dim),
            ("wordvec_dim", wordvec_dim),
            ("num_layers", num_layers),
            ("max_length", max_length),
        ):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(
                    f"CaptioningTransformer: {name} must be a positive integer, got {value!r}"
                )

        vocab_size = len(word_to_idx)
        self.vocab_size = vocab_size
        self.word_to_idx = word_to_idx
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)
        if not 0 <= self._null < vocab_size:
            raise ValueError(f"CaptioningTransformer: '<NULL>' index {self._null} outside [0, V)")

        self.visual_projection = nn.Linear(input_dim, wordvec_dim)
        self.embedding = nn.Embedding(vocab_size, wordvec_dim, padding_idx=self._null)
        self.positional_encoding = PositionalEncoding(wordvec_dim, max_len=max_length)

        decoder_layer = TransformerDecoderLayer(input_dim=wordvec_dim, num_heads=num_heads)
        self.transformer = TransformerDecoder(decoder_layer, num_layers=num_layers)
        self.apply(self._init_weights)

        # Created after the initialisation pass, as the course does (see the class docstring).
        self.output = nn.Linear(wordvec_dim, vocab_size)

    def _init_weights(self, module):
        """The course's initialisation (see :func:`_init_weights`)."""
        _init_weights(module)

    @property
    def input_dim(self) -> int:
        return self.visual_projection.in_features

    @property
    def max_length(self) -> int:
        return self.positional_encoding.max_len

    def _device(self):
        return self.output.weight.device

    def _features(self, func, features):
        """``features`` as a float tensor (N, D) on the model's device, in its dtype."""
        if not isinstance(features, torch.Tensor):
            features = torch.as_tensor(np.asarray(features))
        if features.dim() != 2 or features.shape[1] != self.input_dim:
            raise ValueError(
                f"{func}: features must have shape (N, {self.input_dim}), got "
                f"{tuple(features.shape)}"
            )
        if not features.is_floating_point():
            raise TypeError(f"{func}: features must be floating point, got {features.dtype}")
        return features.to(device=self._device(), dtype=self.output.weight.dtype)

    def forward(self, features, captions):
        """Scores for the next word at every position, with future positions masked.

        features: (N, D) image features; captions: (N, T) integer word ids (T <= max_length).
        Returns scores (N, T, V): ``scores[:, t]`` depends on ``captions[:, :t + 1]`` only.
        """
        func = "CaptioningTransformer.forward"
        if not isinstance(captions, torch.Tensor):
            captions = torch.as_tensor(np.asarray(captions))
        if captions.dim() != 2:
            raise ValueError(
                f"{func}: captions must have shape (N, T), got {tuple(captions.shape)}"
            )
        if captions.dtype.is_floating_point or captions.dtype == torch.bool:
            raise TypeError(f"{func}: captions must hold integer word ids, got {captions.dtype}")
        N, T = captions.shape
        if features.shape[0] != N:
            raise ValueError(f"{func}: features has {features.shape[0]} rows but captions has {N}")
        if T > self.max_length:
            raise ValueError(f"{func}: captions have length {T} > max_length {self.max_length}")
        if captions.numel() and (int(captions.min()) < 0 or int(captions.max()) >= self.vocab_size):
            raise ValueError(f"{func}: captions hold word ids outside [0, {self.vocab_size})")
        features = self._features(func, features)
        captions = captions.to(device=features.device, dtype=torch.long)

        # The course's order (embedding and positions, then the image): seeded dropout draws
        # happen in the same sequence.
        words = self.positional_encoding(self.embedding(captions))  # (N, T, W)
        memory = self.visual_projection(features).unsqueeze(1)  # (N, 1, W)
        hidden = self.transformer(words, memory, tgt_mask=causal_mask(T, features.device))
        return self.output(hidden)

    def start_decoding(self, features):
        """The initial :class:`DecodeState` for decoding captions of ``features`` (N, D) one
        word at a time with :meth:`decode_step`."""
        func = "CaptioningTransformer.start_decoding"
        features = self._features(func, features)
        # Checked where captions are decoded (NaN features would decode into garbage), not in
        # forward: that is the training step, whose solver checks its data once.
        if not torch.isfinite(features).all():
            raise ValueError(f"{func}: features hold NaN or infinite values")
        memory = self.visual_projection(features).unsqueeze(1)
        memory_kv = [
            layer.cross_attn.project_kv(memory, memory) for layer in self.transformer.layers
        ]
        return DecodeState(memory_kv, [None] * len(memory_kv), 0)

    def decode_step(self, words, state):
        """Feeds the word at position ``state.step`` and returns ``(scores (N, V), state)``,
        the scores for the following word and the state for the next call.

        words: (N,) integer ids (the first call feeds ``<START>``). Equal, up to rounding, to
        ``forward(features, prefix)[:, -1]`` on the whole prefix, at O(t) cost per step: the
        earlier positions' keys and values are cached. Call it in eval mode for
        deterministic decoding (in training mode dropout applies, as in ``forward``).
        """
        if state.step >= self.max_length:
            raise ValueError(
                f"CaptioningTransformer.decode_step: position {state.step} is past max_length "
                f"{self.max_length}"
            )
        words = torch.as_tensor(words, device=self._device()).long().reshape(-1, 1)
        x = self.positional_encoding.at(self.embedding(words), state.step)  # (N, 1, W)
        cache = []
        for layer, memory_kv, layer_cache in zip(
            self.transformer.layers, state.memory_kv, state.cache, strict=True
        ):
            x, layer_cache = layer.forward_step(x, memory_kv, layer_cache)
            cache.append(layer_cache)
        scores = self.output(x[:, 0])
        return scores, DecodeState(state.memory_kv, cache, state.step + 1)

    def get_num_params(self) -> int:
        """How many numbers the model holds (nanoGPT's name); equal to
        ``cs231n.captioning.sizing.transformer_parameter_count`` of its sizes."""
        return sum(p.numel() for p in self.parameters())

    def sample(self, features, max_length=30):
        """Greedy decoding: from ``<START>``, feed back the most likely word each step.

        features: (N, D) array or tensor. Returns int32 captions (N, max_length) as a NumPy
        array, like ``CaptioningRNN.sample`` (column 0 is the first generated word; decoding
        runs the full ``max_length`` steps, as the course's does).

        Runs in eval mode (restored afterwards): the course's version keeps the model's mode,
        so a model in training mode samples with dropout. Each step reuses cached keys and
        values instead of re-running the whole prefix; the words are the same.
        """
        func = "CaptioningTransformer.sample"
        if self._start is None:
            raise ValueError(f"{func}: word_to_idx has no '<START>' token to begin captions with")
        if isinstance(max_length, bool) or int(max_length) != max_length or max_length < 1:
            raise ValueError(f"{func}: max_length must be a positive integer, got {max_length!r}")
        if max_length > self.max_length:
            raise ValueError(
                f"{func}: max_length {max_length} exceeds the model's max_length "
                f"{self.max_length} (its positional encoding)"
            )
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                state = self.start_decoding(features)
                N = state.memory_kv[0][0].shape[0]
                captions = np.full((N, max_length), self._null, dtype=np.int32)
                words = torch.full((N,), self._start, dtype=torch.long, device=self._device())
                for t in range(max_length):
                    scores, state = self.decode_step(words, state)
                    words = scores.argmax(dim=1)
                    captions[:, t] = words.cpu().numpy()
        finally:
            self.train(was_training)
        return captions


class VisionTransformer(nn.Module):
    """Vision Transformer for image classification (course, 2025–2026).

    Patch embedding, the 1-D sinusoidal positional encoding over the patch sequence, a stack of
    post-norm encoder layers, the mean over patches, and a linear head. The whole model,
    head included, gets the course's N(0, 0.02) initialisation. The patch flattening order and
    the activation are the edition's when the model is built (see ``PatchEmbedding``).
    """

    @refuses_oversized
    def __init__(
        self,
        img_size=32,
        patch_size=8,
        in_channels=3,
        embed_dim=128,
        num_layers=6,
        num_heads=4,
        dim_feedforward=256,
        num_classes=10,
        dropout=0.1,
    ):
        super().__init__()
        if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(
                f"VisionTransformer: num_classes must be a positive integer, got {num_classes!r}"
            )
        if isinstance(num_layers, bool) or int(num_layers) != num_layers or num_layers < 1:
            raise ValueError(
                f"VisionTransformer: num_layers must be a positive integer, got {num_layers!r}"
            )
        self.num_classes = num_classes
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_channels, embed_dim)
        self.positional_encoding = PositionalEncoding(embed_dim, dropout=dropout)

        encoder_layer = TransformerEncoderLayer(embed_dim, num_heads, dim_feedforward, dropout)
        self.transformer = TransformerEncoder(encoder_layer, num_layers=num_layers)

        self.head = nn.Linear(embed_dim, num_classes)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        """The course's initialisation (see :func:`_init_weights`)."""
        _init_weights(module)

    def get_num_params(self) -> int:
        """How many numbers the model holds (nanoGPT's name); equal to
        ``cs231n.vit.training.vit_parameter_count`` of its sizes (28x28x1 images)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x):
        """x: (N, C, H, W) images -> class scores (N, num_classes)."""
        tokens = self.positional_encoding(self.patch_embed(x))  # (N, num_patches, D)
        pooled = self.transformer(tokens).mean(dim=1)  # average over the patches
        return self.head(pooled)
