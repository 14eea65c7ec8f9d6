"""cs231n.classifiers.transformer: the captioning Transformer and the Vision Transformer.

The course's seeded notebook checks are in test_transformer_notebooks.py, edition by edition.
Here: the course's names, parameter order and initialisation, and properties that hold in every
edition: causality, gradients, the cached decoder against the full forward, greedy sampling
against the course's recompute-everything loop, and the ViT overfitting one batch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_transformer_layers import one_torch_thread  # noqa: F401 (autouse fixture)
from torch import nn

from cs231n.classifiers.transformer import (
    CaptioningTransformer,
    MultiHeadAttention,
    PositionalEncoding,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    VisionTransformer,
    causal_mask,
    clones,
)
from cs231n.core.edition import using_edition

SPECIAL = {"<NULL>": 0, "<START>": 1, "<END>": 2}


def vocabulary(size=12):
    words = dict(SPECIAL)
    for i in range(len(SPECIAL), size):
        words[f"w{i}"] = i
    return words


def small_captioner(dtype=torch.float64, seed=0, **kwargs):
    torch.manual_seed(seed)
    args = dict(input_dim=6, wordvec_dim=8, num_heads=2, num_layers=2, max_length=12)
    args.update(kwargs)
    model = CaptioningTransformer(vocabulary(), **args).to(dtype)
    # The course's N(0, 0.02) initialisation gives nearly uniform scores; larger weights make
    # the checks below (argmax, causality) meaningful.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn_like(p))
    return model.eval()


# --------------------------------------------------------------------------------------------
# The course's names, construction and initialisation


def test_course_names_are_importable_from_here():
    import cs231n.classifiers.transformer as module
    import cs231n.transformer_layers as layers

    # 2021–2024 defined TransformerDecoderLayer here; the course imports the layers into it.
    assert module.TransformerDecoderLayer is layers.TransformerDecoderLayer
    assert module.MultiHeadAttention is layers.MultiHeadAttention
    assert module.PositionalEncoding is PositionalEncoding
    layer = nn.Linear(2, 2)
    copies = clones(layer, 3)
    assert len(copies) == 3 and copies[0] is not copies[1]
    torch.testing.assert_close(copies[2].weight, layer.weight)


def test_captioner_parameter_order_is_the_courses():
    """The notebook overwrites ``parameters()`` in order; 2021–2024 and 2025 have the same
    order and shapes (only the names differ)."""
    model = CaptioningTransformer(vocabulary(4), input_dim=5, wordvec_dim=6, num_heads=2)
    layer = [
        ("self_attn.key.weight", (6, 6)),
        ("self_attn.key.bias", (6,)),
        ("self_attn.query.weight", (6, 6)),
        ("self_attn.query.bias", (6,)),
        ("self_attn.value.weight", (6, 6)),
        ("self_attn.value.bias", (6,)),
        ("self_attn.proj.weight", (6, 6)),
        ("self_attn.proj.bias", (6,)),
    ]
    layer += [(n.replace("self_attn", "cross_attn"), s) for n, s in layer]
    layer += [
        ("ffn.fc1.weight", (2048, 6)),
        ("ffn.fc1.bias", (2048,)),
        ("ffn.fc2.weight", (6, 2048)),
        ("ffn.fc2.bias", (6,)),
    ]
    for norm in ("norm_self", "norm_cross", "norm_ffn"):
        layer += [(f"{norm}.weight", (6,)), (f"{norm}.bias", (6,))]
    expected = [
        ("visual_projection.weight", (6, 5)),
        ("visual_projection.bias", (6,)),
        ("embedding.weight", (4, 6)),
    ]
    for i in range(2):
        expected += [(f"transformer.layers.{i}.{n}", s) for n, s in layer]
    expected += [("output.weight", (4, 6)), ("output.bias", (4,))]
    got = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    assert got == expected


def test_captioner_initialisation_is_the_courses():
    torch.manual_seed(0)
    W = 64
    model = CaptioningTransformer(vocabulary(500), input_dim=32, wordvec_dim=W)
    # N(0, 0.02) weights and zero biases everywhere the course's pass reaches ...
    for name, p in model.named_parameters():
        if name.startswith("output"):
            continue
        if "norm" in name:
            expected = 1.0 if name.endswith("weight") else 0.0
            assert torch.all(p == expected), name
        elif name.endswith("bias"):
            assert torch.all(p == 0), name
        else:
            assert abs(p.std().item() - 0.02) < 0.004, name
    # ... and the output layer, created after it, keeps PyTorch's default uniform(+-1/sqrt(W)).
    bound = 1 / np.sqrt(W)
    assert model.output.weight.abs().max() <= bound
    assert model.output.weight.std().item() > 0.05 and model.output.bias.abs().max() > 0
    # The same seed gives the same weights, whatever happened before.
    torch.manual_seed(0)
    again = CaptioningTransformer(vocabulary(500), input_dim=32, wordvec_dim=W)
    for a, b in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)


# --------------------------------------------------------------------------------------------
# Forward pass: shapes, causality, gradients


def test_forward_shapes_and_dtype():
    model = small_captioner(torch.float32)
    features = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    captions = np.array([[1, 4, 5, 2], [1, 6, 2, 0], [1, 3, 3, 3]])
    scores = model(features, captions)  # NumPy inputs are accepted too
    assert scores.shape == (3, 4, 12) and scores.dtype == torch.float32


def test_captioner_is_causal():
    """Changing the word at position t never changes the scores before t."""
    model = small_captioner()
    g = torch.Generator().manual_seed(1)
    N, T = 3, 8
    features = torch.randn(N, 6, generator=g, dtype=torch.float64)
    captions = torch.randint(0, 12, (N, T), generator=g)
    with torch.no_grad():
        base = model(features, captions)
        for t in range(T):
            changed = captions.clone()
            changed[:, t] = (changed[:, t] + 1 + torch.arange(N)) % 12
            scores = model(features, changed)
            torch.testing.assert_close(scores[:, :t], base[:, :t], rtol=0, atol=0)
            assert (scores[:, t:] - base[:, t:]).abs().amax(dim=(1, 2)).min() > 1e-6


def test_gradients_reach_every_parameter():
    """Every parameter gets a gradient, except three kinds that cannot change the output in this
    architecture (the course's too): a key bias adds the same amount to every score of a query
    row, which the softmax cancels; and the memory is a single position, so the cross-attention
    softmax is always 1 whatever its keys and queries are."""
    model = small_captioner(torch.float32)
    model.train()
    g = torch.Generator().manual_seed(2)
    features = torch.randn(4, 6, generator=g)
    captions = torch.randint(1, 12, (4, 7), generator=g)
    scores = model(features, captions)
    loss = nn.functional.cross_entropy(scores.reshape(-1, 12), captions.reshape(-1))
    loss.backward()
    inert = ("self_attn.key.bias", "cross_attn.key.", "cross_attn.query.")
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        size = p.grad.abs().max().item()
        if any(part in name for part in inert):
            assert size < 1e-6, name
        else:
            assert size > 1e-6, name
    # <NULL> is the padding index: its embedding gets no gradient.
    assert torch.all(model.embedding.weight.grad[0] == 0)


def test_forward_rejects_bad_inputs():
    model = small_captioner(torch.float32, max_length=5)
    features = torch.zeros(2, 6)
    with pytest.raises(ValueError, match="length 6 > max_length 5"):
        model(features, torch.ones(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"outside \[0, 12\)"):
        model(features, torch.full((2, 3), 12))
    with pytest.raises(ValueError, match=r"features must have shape \(N, 6\)"):
        model(torch.zeros(2, 5), torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="2 rows but captions has 3"):
        model(features, torch.ones(3, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="integer word ids"):
        model(features, torch.ones(2, 3))
    with pytest.raises(ValueError, match="'<NULL>'"):
        CaptioningTransformer({"a": 0}, input_dim=2, wordvec_dim=4)


# --------------------------------------------------------------------------------------------
# Decoding


def course_greedy(model, features, max_length):
    """The course's sample loop: re-run forward on the whole prefix at every step."""
    N = features.shape[0]
    partial = torch.full((N, 1), model._start, dtype=torch.long)
    captions = np.full((N, max_length), model._null, dtype=np.int32)
    with torch.no_grad():
        for t in range(max_length):
            word = model(features, partial)[:, -1].argmax(dim=1)
            captions[:, t] = word.numpy()
            partial = torch.cat([partial, word[:, None]], dim=1)
    return captions


def test_decode_step_equals_the_full_forward():
    model = small_captioner()
    g = torch.Generator().manual_seed(3)
    N, T = 4, 9
    features = torch.randn(N, 6, generator=g, dtype=torch.float64)
    captions = torch.randint(0, 12, (N, T), generator=g)
    with torch.no_grad():
        full = model(features, captions)
        state = model.start_decoding(features)
        for t in range(T):
            scores, state = model.decode_step(captions[:, t], state)
            torch.testing.assert_close(scores, full[:, t], rtol=0, atol=1e-10)
        assert state.step == T
        # Selecting rows (beam search) gives those rows' continuation.
        index = torch.tensor([2, 2, 0])
        picked = state.select(index)
        more = torch.randint(0, 12, (3,), generator=g)
        scores, _ = model.decode_step(more, picked)
        extended = torch.cat([captions[index], more[:, None]], dim=1)
        torch.testing.assert_close(
            scores, model(features[index], extended)[:, -1], atol=1e-10, rtol=0
        )


def test_decode_step_stops_at_max_length():
    model = small_captioner(max_length=2)
    state = model.start_decoding(torch.zeros(1, 6, dtype=torch.float64))
    for _ in range(2):
        _, state = model.decode_step(torch.tensor([1]), state)
    with pytest.raises(ValueError, match="past max_length 2"):
        model.decode_step(torch.tensor([1]), state)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sample_is_greedy_on_its_own_prefix(dtype):
    model = small_captioner(dtype)
    model.train()  # sample() runs in eval mode and restores the mode
    features = np.random.default_rng(4).standard_normal((5, 6))
    captions = model.sample(features, max_length=10)
    assert model.training
    assert isinstance(captions, np.ndarray) and captions.dtype == np.int32
    assert captions.shape == (5, 10)
    model.eval()
    np.testing.assert_array_equal(
        captions, course_greedy(model, torch.as_tensor(features, dtype=dtype), 10)
    )
    # Each word is the argmax of the forward pass on <START> and the words before it.
    prefix = np.concatenate([np.full((5, 1), model._start), captions[:, :-1]], axis=1)
    with torch.no_grad():
        scores = model(torch.as_tensor(features, dtype=dtype), torch.as_tensor(prefix))
    np.testing.assert_array_equal(captions, scores.argmax(dim=2).numpy())


def test_sample_rejects_bad_arguments():
    model = small_captioner(max_length=5)
    with pytest.raises(ValueError, match="exceeds the model's max_length 5"):
        model.sample(np.zeros((1, 6)), max_length=6)
    with pytest.raises(ValueError, match="positive integer"):
        model.sample(np.zeros((1, 6)), max_length=0)
    no_start = CaptioningTransformer({"<NULL>": 0, "a": 1}, input_dim=6, wordvec_dim=8)
    with pytest.raises(ValueError, match="'<START>'"):
        no_start.sample(np.zeros((1, 6)))


# --------------------------------------------------------------------------------------------
# Encoder stack and Vision Transformer


def test_decoder_and_encoder_stacks_apply_their_layers_in_turn():
    torch.manual_seed(0)
    dec = TransformerDecoder(TransformerDecoderLayer(8, 2, 16), num_layers=3).eval()
    enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16), num_layers=3).eval()
    x, memory = torch.randn(2, 5, 8), torch.randn(2, 1, 8)
    mask = causal_mask(5)
    with torch.no_grad():
        y, z = x, x
        for layer in dec.layers:
            y = layer(y, memory, mask)
        for layer in enc.layers:
            z = layer(z, mask)
        torch.testing.assert_close(dec(x, memory, mask), y)
        torch.testing.assert_close(enc(x, mask), z)
    assert isinstance(MultiHeadAttention(8, 2), nn.Module)


def test_vision_transformer_structure_and_pooling():
    torch.manual_seed(0)
    vit = VisionTransformer(
        img_size=8,
        patch_size=4,
        in_channels=1,
        embed_dim=16,
        num_layers=2,
        num_heads=2,
        dim_feedforward=32,
        num_classes=5,
    ).eval()
    assert [n for n, _ in vit.named_children()] == [
        "patch_embed",
        "positional_encoding",
        "transformer",
        "head",
    ]
    assert torch.all(vit.head.bias == 0) and abs(vit.head.weight.std().item() - 0.02) < 0.01
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        tokens = vit.transformer(vit.positional_encoding(vit.patch_embed(x)))
        torch.testing.assert_close(vit(x), vit.head(tokens.mean(dim=1)))
    assert vit(x).shape == (3, 5)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        vit(torch.randn(3, 3, 8, 8))


def test_vision_transformer_defaults():
    """The course's defaults (the notebooks' checks build ``VisionTransformer()``; their values
    are in test_transformer_notebooks.py)."""
    with using_edition(2026):
        transformer = VisionTransformer()
    assert transformer.patch_embed.num_patches == 16 and transformer.num_classes == 10
    assert transformer.patch_embed.flatten_order == "chw"
    assert len(transformer.transformer.layers) == 6
    assert transformer.transformer.layers[0].ffn.fc1.out_features == 256
    assert isinstance(transformer.transformer.layers[0].ffn.activation, nn.GELU)
    with using_edition(2025):
        assert VisionTransformer().patch_embed.flatten_order == "hwc"


def test_vision_transformer_overfits_one_batch():
    """The notebook's sanity check, smaller: 64 random images with random labels (10 classes)
    are memorised to accuracy 1.0 (in about 30 steps)."""
    torch.manual_seed(231)
    images = torch.rand(64, 3, 16, 16)
    labels = torch.randint(0, 10, (64,))
    model = VisionTransformer(
        img_size=16,
        patch_size=8,
        embed_dim=64,
        num_layers=2,
        num_heads=4,
        dim_feedforward=128,
        dropout=0.0,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(200):
        scores = model(images)
        loss = nn.functional.cross_entropy(scores, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        accuracy = (scores.argmax(1) == labels).float().mean().item()
        if accuracy == 1.0:
            break
    assert accuracy == 1.0, f"accuracy {accuracy}, loss {loss.item()}"


def test_a_model_too_big_for_memory_is_one_clear_error():
    """PyTorch's allocator error from deep inside a layer named neither the model nor its
    sizes (issue #19 d)."""
    with pytest.raises(MemoryError, match=r"VisionTransformer\(.*embed_dim=1048576.*does not fit"):
        VisionTransformer(img_size=32, patch_size=8, embed_dim=2**20, num_layers=1, num_heads=2)
    words = {"<NULL>": 0, "<START>": 1, "<END>": 2}
    with pytest.raises(MemoryError, match=r"CaptioningTransformer\(.*wordvec_dim=1048576"):
        CaptioningTransformer(words, input_dim=4, wordvec_dim=2**20, num_heads=2, num_layers=1)
