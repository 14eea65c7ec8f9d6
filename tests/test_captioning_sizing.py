"""cs231n.captioning.sizing: the parameter counts of a model's sizes equal what the built model
counts itself (``get_num_params``), and the one memory check refuses what cannot fit, naming it."""

import numpy as np
import pytest

from cs231n.captioning.sizing import (
    model_parameter_count,
    require_training_memory,
    training_memory_bytes,
    transformer_training_memory_bytes,
)
from cs231n.classifiers.rnn import CaptioningRNN

WORDS = {w: i for i, w in enumerate(["<NULL>", "<START>", "<END>", "<UNK>", "a", "b", "c"])}


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.parametrize("sizes", [(5, 3, 4), (12, 8, 16), (1, 1, 1)])
def test_rnn_parameter_count_is_the_models(cell_type, sizes):
    input_dim, wordvec_dim, hidden_dim = sizes
    model = CaptioningRNN(
        WORDS, input_dim=input_dim, wordvec_dim=wordvec_dim, hidden_dim=hidden_dim,
        cell_type=cell_type,
    )  # fmt: skip
    expected = sum(np.asarray(p).size for p in model.params.values())
    assert model.get_num_params() == expected
    assert model_parameter_count(len(WORDS), *sizes, cell_type) == expected


HP = {"wordvec_dim": 256, "hidden_dim": 512, "num_heads": 4, "num_layers": 2, "batch_size": 100}


@pytest.mark.parametrize("cell_type", ["rnn", "lstm", "transformer"])
def test_one_memory_check_for_every_captioner(cell_type, monkeypatch):
    hp = {**HP, "cell_type": cell_type}
    if cell_type == "transformer":
        need = transformer_training_memory_bytes(1004, 512, 256, 4, 2, 100, 17)
    else:
        need = training_memory_bytes(1004, 512, 256, 512, cell_type, 100, 17)
    monkeypatch.setattr("cs231n.core.files.memory_limit", lambda: need + 1)
    require_training_memory(1004, 512, hp, 17, "this model")  # fits
    monkeypatch.setattr("cs231n.core.files.memory_limit", lambda: need - 1)
    with pytest.raises(ValueError, match="this model"):
        require_training_memory(1004, 512, hp, 17, "this model")
