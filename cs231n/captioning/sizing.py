"""Sizes of the captioning models before they are built: parameter counts from the model's
settings (equal to what the built model counts itself, ``get_num_params``; tested) and the memory
training needs, checked against this machine before any work."""

from __future__ import annotations

from ..core.files import require_memory

MODEL_TYPES = ("rnn", "lstm", "transformer")


# The size of the Transformer's feed-forward blocks (TransformerDecoderLayer's default, which
# CaptioningTransformer uses).
TRANSFORMER_FFN_DIM = 2048


def check_model_type(cell_type):
    if cell_type not in MODEL_TYPES:
        raise ValueError(f'cell_type must be "rnn", "lstm" or "transformer", got {cell_type!r}')


def transformer_parameter_count(
    vocab_size, input_dim, wordvec_dim, num_heads=4, num_layers=2, max_length=50
):
    """How many numbers a CaptioningTransformer with these sizes holds (weights and biases;
    ``num_heads`` and ``max_length`` do not change it)."""
    V, D, W, L = (int(x) for x in (vocab_size, input_dim, wordvec_dim, num_layers))
    F = TRANSFORMER_FFN_DIM
    # Self- and cross-attention (4 linear maps each), the feed-forward block, 3 LayerNorms.
    per_layer = 2 * 4 * (W * W + W) + (W * F + F + F * W + W) + 3 * 2 * W
    return D * W + W + V * W + L * per_layer + W * V + V


def transformer_training_memory_bytes(
    vocab_size, input_dim, wordvec_dim, num_heads, num_layers, batch_size=100, length=17
):
    """A rough upper estimate of the memory training a CaptioningTransformer needs (float32):
    parameters, gradients and Adam's two moments, and one minibatch's activations (attention
    maps, feed-forward activations, word scores), kept for the backward pass."""
    params = transformer_parameter_count(vocab_size, input_dim, wordvec_dim, num_heads, num_layers)
    N, T, W = int(batch_size), int(length), int(wordvec_dim)
    per_position = int(num_layers) * (
        16 * W + 3 * TRANSFORMER_FFN_DIM + 3 * int(num_heads) * T
    ) + 3 * int(vocab_size)
    return 16 * params + 4 * N * T * per_position + 4 * N * int(input_dim)


def model_parameter_count(vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type="rnn"):
    """How many numbers a CaptioningRNN with these sizes holds."""
    gates = 4 if cell_type == "lstm" else 1
    V, D, W, H = (int(x) for x in (vocab_size, input_dim, wordvec_dim, hidden_dim))
    return V * W + D * H + H + (W + H + 1) * gates * H + H * V + V


def training_memory_bytes(
    vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type="rnn", batch_size=100, length=17
):
    """A rough upper estimate of the memory training needs: the parameters as built (float64,
    then float32), their gradients and Adam's two moments; and one minibatch's activations
    (embeddings, hidden states and gates, word scores and their softmax)."""
    params = model_parameter_count(vocab_size, input_dim, wordvec_dim, hidden_dim, cell_type)
    gates = 4 if cell_type == "lstm" else 1
    per_step = wordvec_dim + (2 * gates + 4) * hidden_dim + 3 * vocab_size
    activations = 4 * int(batch_size) * int(length) * per_step + 4 * int(batch_size) * input_dim
    return 8 * params + 4 * params * 4 + 2 * activations


def require_training_memory(vocab_size, input_dim, hp, length, what) -> None:
    """Raise ValueError, before any work, when training a model with hyperparameters ``hp``
    (cell_type, wordvec_dim, batch_size, and hidden_dim for the RNNs or num_heads and
    num_layers for the Transformer) on captions of ``length`` words would not fit in memory;
    the message names ``what``. The one memory check of every captioner (the CLI's included)."""
    if hp.get("cell_type") == "transformer":
        nbytes = transformer_training_memory_bytes(
            vocab_size,
            input_dim,
            hp["wordvec_dim"],
            hp["num_heads"],
            hp["num_layers"],
            hp["batch_size"],
            length,
        )
    else:
        nbytes = training_memory_bytes(
            vocab_size,
            input_dim,
            hp["wordvec_dim"],
            hp["hidden_dim"],
            hp["cell_type"],
            hp["batch_size"],
            length,
        )
    require_memory(nbytes, what)


def check_training_size(data, hp, what=None):
    """:func:`require_training_memory` for training on ``data`` (a COCO-format dict)."""
    if what is None and hp.get("cell_type") == "transformer":
        what = (
            f"training a Transformer with wordvec_dim={hp['wordvec_dim']}, "
            f"num_layers={hp['num_layers']}, batch_size={hp['batch_size']}"
        )
    elif what is None:
        what = (
            f"training with hidden_dim={hp['hidden_dim']}, wordvec_dim={hp['wordvec_dim']}, "
            f"batch_size={hp['batch_size']}"
        )
    vocab_size, input_dim = len(data["idx_to_word"]), data["train_features"].shape[1]
    require_training_memory(vocab_size, input_dim, hp, data["train_captions"].shape[1], what)
