"""cs231n.transformer_layers, checked against PyTorch's own attention and Transformer layers
with the same weights (eval mode, float32 and float64), and for what the course edition decides
(the feed-forward activation, PatchEmbedding's flattening order). The seeded values printed in
the course's notebooks are checked, edition by edition, in test_transformer_notebooks.py.

The 2021–2025 notebooks run their modules in training mode, so their numbers include dropout.
The course's PyTorch builds drew CPU dropout masks from MKL: one 32-bit draw of the torch
generator seeds an MCG31m1 stream, and element i is kept when the i-th uniform of that stream is
below 1 - p. Current builds draw differently, so ``legacy_dropout`` below re-creates the old
draws; with it every seeded notebook value is reproduced to the notebook's own printed error.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

# The course's dropout draws (cs231n.core.dropout), used by the notebook-value tests here and in
# test_classifiers_transformer.py / test_transformer_notebooks.py.
from cs231n.core.dropout import legacy_dropout  # noqa: E402, F401
from cs231n.core.edition import using_edition
from cs231n.transformer_layers import (
    FeedForwardNetwork,
    MultiHeadAttention,
    PatchEmbedding,
    PositionalEncoding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One torch thread for these small models (imported by the other Transformer test files):
    a second thread only adds synchronisation, which costs up to ten times the run time on a
    busy two-core machine. Under pytest-xdist conftest.py already does this."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def rel_error(x, y):
    """The course's relative error."""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


# --------------------------------------------------------------------------------------------
# Helpers: the same weights in PyTorch's modules.

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def torch_mha_from(attn: MultiHeadAttention) -> nn.MultiheadAttention:
    """PyTorch's MultiheadAttention with ``attn``'s weights (its input projection stacks the
    query, key and value weights in that order)."""
    E, H = attn.emd_dim, attn.n_head
    ref = nn.MultiheadAttention(E, H, dropout=0.0, batch_first=True)
    ref = ref.to(attn.proj.weight.dtype)
    copy_mha(ref, attn)
    return ref.eval()


def copy_mha(ref: nn.MultiheadAttention, attn: MultiHeadAttention):
    """``attn``'s weights into PyTorch's ``ref``, in place."""
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]))
        ref.in_proj_bias.copy_(torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]))
        ref.out_proj.weight.copy_(attn.proj.weight)
        ref.out_proj.bias.copy_(attn.proj.bias)


def copy_linear(dst: nn.Module, src: nn.Module):
    with torch.no_grad():
        dst.weight.copy_(src.weight)
        dst.bias.copy_(src.bias)


def torch_mask(course_mask):
    """The course's mask (0/False = blocked) in PyTorch's boolean convention (True = blocked)."""
    return course_mask == 0


def random_mask(S, T, generator):
    """A random (S, T) course mask in which every query row can see at least one key."""
    mask = torch.rand(S, T, generator=generator) < 0.6
    mask[torch.arange(S), torch.randint(0, T, (S,), generator=generator)] = True
    return mask


# --------------------------------------------------------------------------------------------
# PositionalEncoding


def test_positional_encoding_follows_its_formula():
    D, L = 10, 300
    pe = PositionalEncoding(D, dropout=0.0, max_len=L).pe
    assert pe.shape == (1, L, D) and pe.dtype == torch.float32
    i = np.arange(L, dtype=np.float64)[:, None]
    k = np.arange(0, D, 2, dtype=np.float64)[None, :]
    expected = np.empty((L, D))
    expected[:, 0::2] = np.sin(i * 10000.0 ** (-k / D))
    expected[:, 1::2] = np.cos(i * 10000.0 ** (-k / D))
    np.testing.assert_allclose(pe[0].numpy(), expected, rtol=0, atol=1e-6)


def test_positional_encoding_adds_the_first_rows_and_is_a_buffer():
    torch.manual_seed(0)
    layer = PositionalEncoding(8, dropout=0.5, max_len=20)
    assert "pe" in layer.state_dict() and not list(layer.parameters())
    x = torch.randn(3, 7, 8)
    layer.eval()
    torch.testing.assert_close(layer(x), x + layer.pe[:, :7], rtol=0, atol=0)
    # One step at a time gives the same rows.
    for t in range(7):
        torch.testing.assert_close(layer.at(x[:, t : t + 1], t), layer(x)[:, t : t + 1])
    layer.train()  # in training mode, elements are either dropped or scaled by 1 / (1 - p)
    out = layer(x)
    kept = out != 0
    torch.testing.assert_close(out[kept], ((x + layer.pe[:, :7]) / 0.5)[kept])


def test_positional_encoding_rejects_bad_arguments():
    with pytest.raises(ValueError, match="even"):
        PositionalEncoding(7)
    layer = PositionalEncoding(6, max_len=4)
    with pytest.raises(ValueError, match="exceeds max_len 4"):
        layer(torch.zeros(1, 5, 6))
    with pytest.raises(ValueError, match=r"\(N, L, 6\)"):
        layer(torch.zeros(1, 3, 8))
    with pytest.raises(ValueError, match=r"\(N, L, 6\)"):
        layer(torch.zeros(3, 6))


# --------------------------------------------------------------------------------------------
# MultiHeadAttention


def test_multi_head_attention_creates_layers_in_the_course_order():
    attn = MultiHeadAttention(8, 2)
    assert [name for name, _ in attn.named_children()] == [
        "key",
        "query",
        "value",
        "proj",
        "attn_drop",
    ]
    assert (attn.n_head, attn.emd_dim, attn.head_dim) == (2, 8, 4)
    # Seeded creation gives the weights of Linear layers created in that order.
    torch.manual_seed(5)
    attn = MultiHeadAttention(8, 2)
    torch.manual_seed(5)
    linears = [nn.Linear(8, 8) for _ in range(4)]
    for ours, ref in zip([attn.key, attn.query, attn.value, attn.proj], linears, strict=True):
        torch.testing.assert_close(ours.weight, ref.weight, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", ["self", "causal", "random-mask", "cross"])
def test_multi_head_attention_equals_pytorch(dtype, case):
    g = torch.Generator().manual_seed(7)
    torch.manual_seed(3)
    N, S, T, E, H = 3, 5, 7, 12, 3
    attn = MultiHeadAttention(E, H, dropout=0.3).to(dtype).eval()
    ref = torch_mha_from(attn)
    query = torch.randn(N, S, E, generator=g, dtype=dtype)
    if case == "cross":
        key = value = torch.randn(N, T, E, generator=g, dtype=dtype)
        mask = random_mask(S, T, g)
    else:
        key = value = query
        mask = {
            "self": None,
            "causal": torch.tril(torch.ones(S, S)),  # float 0/1, as the course builds it
            "random-mask": random_mask(S, S, g),
        }[case]
    if case == "cross":  # also a different key and value
        value = torch.randn(N, T, E, generator=g, dtype=dtype)
    with torch.no_grad():
        ours = attn(query, key, value, attn_mask=mask)
        theirs, _ = ref(query, key, value, attn_mask=None if mask is None else torch_mask(mask))
    assert ours.shape == (N, S, E) and ours.dtype == dtype
    assert (ours - theirs).abs().max().item() < TOL[dtype]


def test_multi_head_attention_mask_blocks_and_full_rows_stay_finite():
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 2).eval()
    x = torch.randn(2, 4, 8)
    # Changing a blocked key/value changes nothing.
    mask = torch.ones(4, 4, dtype=torch.bool)
    mask[:, 2] = False
    y = x.clone()
    y[:, 2] += 10
    with torch.no_grad():
        a = attn(x, x, x, attn_mask=mask)
        b = attn(x, y, y, attn_mask=mask)
        torch.testing.assert_close(a, b)
        # A query row that may see nothing is an average, not NaN.
        mask[1] = False
        out = attn(x, x, x, attn_mask=mask)
    assert torch.isfinite(out).all()


def test_multi_head_attention_rejects_bad_arguments():
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match="positive integer"):
        MultiHeadAttention(0, 1)
    attn = MultiHeadAttention(8, 2)
    q = torch.randn(2, 3, 8)
    kv = torch.randn(2, 5, 8)
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(S, T\) = \(3, 5\)"):
        attn(q, kv, kv, attn_mask=torch.ones(5, 3))
    with pytest.raises(ValueError, match=r"query must have shape \(N, L, 8\)"):
        attn(torch.randn(2, 3, 6), kv, kv)
    with pytest.raises(ValueError, match="same batch size and length"):
        attn(q, kv, torch.randn(2, 4, 8))
    with pytest.raises(ValueError, match="batch size"):
        attn(torch.randn(1, 3, 8), kv, kv)


# --------------------------------------------------------------------------------------------
# FeedForwardNetwork and the encoder/decoder layers


def test_feed_forward_network():
    torch.manual_seed(0)
    ffn = FeedForwardNetwork(6, 10, dropout=0.5, activation="gelu").eval()
    assert [n for n, _ in ffn.named_children()] == ["fc1", "activation", "dropout", "fc2"]
    x = torch.randn(2, 3, 6)
    with torch.no_grad():
        torch.testing.assert_close(ffn(x), ffn.fc2(nn.functional.gelu(ffn.fc1(x))))
        ffn.activation = nn.ReLU()
        torch.testing.assert_close(ffn(x), ffn.fc2(torch.relu(ffn.fc1(x))))
    assert isinstance(FeedForwardNetwork(6, 10, activation="relu").activation, nn.ReLU)
    with pytest.raises(ValueError, match="activation"):
        FeedForwardNetwork(6, 10, activation="tanh")


@pytest.mark.parametrize(
    "edition, activation",
    [(2021, nn.ReLU), (2024, nn.ReLU), (2025, nn.GELU), (2026, nn.GELU)],
)
def test_the_activation_is_the_editions(edition, activation):
    """ReLU up to 2024 (the 2021–2024 decoder layer), GELU from 2025, read when a layer is built;
    an explicit ``activation`` wins."""
    with using_edition(edition):
        ffn = FeedForwardNetwork(6, 10)
        dec = TransformerDecoderLayer(8, 2, 16)
        enc = TransformerEncoderLayer(8, 2, 16)
        other = "gelu" if activation is nn.ReLU else "relu"
        explicit = FeedForwardNetwork(6, 10, activation=other)
    for layer in (ffn, dec.ffn, enc.ffn):
        assert type(layer.activation) is activation
    assert type(explicit.activation) is not activation
    with pytest.raises(ValueError, match='TransformerDecoderLayer: activation must be "gelu"'):
        TransformerDecoderLayer(8, 2, 16, activation="tanh")


def torch_encoder_layer_from(layer: TransformerEncoderLayer, activation):
    D = layer.self_attn.emd_dim
    ref = nn.TransformerEncoderLayer(
        D,
        layer.self_attn.n_head,
        dim_feedforward=layer.ffn.fc1.out_features,
        dropout=0.0,
        activation=activation,
        batch_first=True,
        norm_first=False,
    ).to(layer.norm_self.weight.dtype)
    copy_mha(ref.self_attn, layer.self_attn)
    copy_linear(ref.linear1, layer.ffn.fc1)
    copy_linear(ref.linear2, layer.ffn.fc2)
    copy_linear(ref.norm1, layer.norm_self)
    copy_linear(ref.norm2, layer.norm_ffn)
    return ref.eval()


def torch_decoder_layer_from(layer: TransformerDecoderLayer, activation):
    D = layer.self_attn.emd_dim
    ref = nn.TransformerDecoderLayer(
        D,
        layer.self_attn.n_head,
        dim_feedforward=layer.ffn.fc1.out_features,
        dropout=0.0,
        activation=activation,
        batch_first=True,
        norm_first=False,
    ).to(layer.norm_self.weight.dtype)
    copy_mha(ref.self_attn, layer.self_attn)
    copy_mha(ref.multihead_attn, layer.cross_attn)
    copy_linear(ref.linear1, layer.ffn.fc1)
    copy_linear(ref.linear2, layer.ffn.fc2)
    copy_linear(ref.norm1, layer.norm_self)
    copy_linear(ref.norm2, layer.norm_cross)
    copy_linear(ref.norm3, layer.norm_ffn)
    return ref.eval()


def _perturb_norms(layer, g):
    """LayerNorms start at (1, 0); random affine parameters make the comparison stricter."""
    with torch.no_grad():
        for m in layer.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("masked", [False, True])
def test_encoder_layer_equals_pytorch(dtype, activation, masked):
    g = torch.Generator().manual_seed(11)
    torch.manual_seed(1)
    N, S, D, H = 2, 6, 12, 3
    layer = TransformerEncoderLayer(D, H, 20, dropout=0.2, activation=activation).to(dtype)
    _perturb_norms(layer, g)
    layer.eval()
    ref = torch_encoder_layer_from(layer, activation)
    x = torch.randn(N, S, D, generator=g, dtype=dtype)
    mask = random_mask(S, S, g) if masked else None
    with torch.no_grad():
        ours = layer(x, mask)
        theirs = ref(x, src_mask=None if mask is None else torch_mask(mask))
    assert (ours - theirs).abs().max().item() < TOL[dtype]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_decoder_layer_equals_pytorch(dtype, activation):
    g = torch.Generator().manual_seed(12)
    torch.manual_seed(2)
    N, T, TM, D, H = 2, 5, 3, 12, 2
    layer = TransformerDecoderLayer(D, H, 24, dropout=0.2, activation=activation).to(dtype)
    _perturb_norms(layer, g)
    layer.eval()
    ref = torch_decoder_layer_from(layer, activation)
    tgt = torch.randn(N, T, D, generator=g, dtype=dtype)
    memory = torch.randn(N, TM, D, generator=g, dtype=dtype)
    for mask in (torch.tril(torch.ones(T, T, dtype=torch.bool)), None):
        with torch.no_grad():
            ours = layer(tgt, memory, mask)
            theirs = ref(tgt, memory, tgt_mask=None if mask is None else torch_mask(mask))
        assert (ours - theirs).abs().max().item() < TOL[dtype]


def test_decoder_layer_step_equals_the_full_forward():
    torch.manual_seed(4)
    N, T, TM, D = 3, 6, 2, 8
    layer = TransformerDecoderLayer(D, 2, 16).double().eval()
    tgt = torch.randn(N, T, D, dtype=torch.float64)
    memory = torch.randn(N, TM, D, dtype=torch.float64)
    with torch.no_grad():
        full = layer(tgt, memory, torch.tril(torch.ones(T, T)))
        memory_kv = layer.cross_attn.project_kv(memory, memory)
        cache = None
        for t in range(T):
            out, cache = layer.forward_step(tgt[:, t : t + 1], memory_kv, cache)
            torch.testing.assert_close(out[:, 0], full[:, t], rtol=0, atol=1e-12)
    assert cache[0].shape == (N, 2, T, 4)


def test_layers_use_the_course_names_and_defaults():
    with using_edition(2026):
        dec = TransformerDecoderLayer(16, 2)
    assert [n for n, _ in dec.named_children()] == [
        "self_attn",
        "cross_attn",
        "ffn",
        "norm_self",
        "norm_cross",
        "norm_ffn",
        "dropout_self",
        "dropout_cross",
        "dropout_ffn",
    ]
    assert dec.ffn.fc1.out_features == 2048 and dec.dropout_self.p == 0.1
    assert isinstance(dec.ffn.activation, nn.GELU)
    enc = TransformerEncoderLayer(16, 2)
    assert [n for n, _ in enc.named_children()] == [
        "self_attn",
        "ffn",
        "norm_self",
        "norm_ffn",
        "dropout_self",
        "dropout_ffn",
    ]
    assert enc.ffn.fc1.out_features == 2048


# --------------------------------------------------------------------------------------------
# PatchEmbedding


@pytest.mark.parametrize("flatten_order", ["chw", "hwc"])
def test_patch_embedding_equals_a_loop_over_patches(flatten_order):
    """Patches row by row over the image; each flattened (channel, row, column) for "chw",
    (row, column, channel) for "hwc"."""
    torch.manual_seed(0)
    N, C, S, P, D = 2, 3, 12, 4, 5
    layer = PatchEmbedding(S, P, in_channels=C, embed_dim=D, flatten_order=flatten_order)
    assert (layer.num_patches, layer.patch_dim) == (9, 48)
    x = torch.randn(N, C, S, S)
    out = layer(x)
    assert out.shape == (N, 9, D)
    G = S // P
    for n in range(N):
        for i in range(G):  # patch row
            for j in range(G):  # patch column
                patch = x[n, :, i * P : (i + 1) * P, j * P : (j + 1) * P]  # (C, P, P)
                if flatten_order == "hwc":
                    patch = patch.permute(1, 2, 0)
                torch.testing.assert_close(out[n, i * G + j], layer.proj(patch.reshape(-1)))


@pytest.mark.parametrize(
    "edition, order", [(2021, "chw"), (2024, "chw"), (2025, "hwc"), (2026, "chw")]
)
def test_patch_embedding_order_is_the_editions(edition, order):
    """(row, column, channel) in 2025 as first released, (channel, row, column) otherwise; read
    when the layer is built, shown in its repr; an explicit ``flatten_order`` wins."""
    with using_edition(edition):
        layer = PatchEmbedding(8, 4, in_channels=2, embed_dim=3)
        other = "hwc" if order == "chw" else "chw"
        explicit = PatchEmbedding(8, 4, in_channels=2, embed_dim=3, flatten_order=other)
    assert layer.flatten_order == order and explicit.flatten_order == other
    assert f"flatten_order='{order}'" in repr(layer)


def test_patch_embedding_rejects_bad_arguments():
    with pytest.raises(ValueError, match="not divisible by patch_size"):
        PatchEmbedding(10, 4)
    with pytest.raises(ValueError, match='flatten_order must be "chw" or "hwc", got \'cwh\''):
        PatchEmbedding(8, 4, flatten_order="cwh")
    layer = PatchEmbedding(8, 4, in_channels=1, embed_dim=6)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        layer(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        layer(torch.zeros(2, 1, 8, 9))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        layer(torch.zeros(1, 8, 8))


@pytest.mark.parametrize(
    "mask, found",
    [
        (nn.Transformer.generate_square_subsequent_mask(4), "-inf"),  # PyTorch's additive mask
        (torch.full((4, 4), 2.0), "2.0"),
        (torch.tril(torch.ones(4, 4)) * 0.5, "0.5"),
        (torch.full((4, 4), float("nan")), "nan"),
        (torch.tril(torch.ones(4, 4, dtype=torch.int64)) - 1, "-1"),
    ],
)
def test_a_mask_in_another_convention_is_refused(mask, found):
    """PyTorch's additive mask (0 attend, -inf blocked) was read inverted: position 0 saw the
    future, silently (issue #19 h). Every layer that takes a mask goes through the same check."""
    torch.manual_seed(0)
    x = torch.randn(1, 4, 8)
    calls = [
        lambda: MultiHeadAttention(8, 2)(x, x, x, mask),
        lambda: TransformerEncoderLayer(8, 2, 16)(x, mask),
        lambda: TransformerDecoderLayer(8, 2, 16)(x, x, mask),
    ]
    for call in calls:
        with pytest.raises(
            ValueError, match=rf"0 \(blocked\) and 1 \(may attend\).*found {found};"
        ):
            call()


def test_masks_of_the_courses_convention_agree_in_every_dtype():
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 2).eval()
    x = torch.randn(2, 4, 8)
    causal = torch.tril(torch.ones(4, 4))
    expected = attn(x, x, x, causal)
    for mask in (causal.bool(), causal.long(), causal.to(torch.uint8), causal.double()):
        torch.testing.assert_close(attn(x, x, x, mask), expected)
    # The conversions the message names give the same causal attention.
    additive = nn.Transformer.generate_square_subsequent_mask(4)
    torch.testing.assert_close(attn(x, x, x, additive == 0), expected)
    pytorch_bool = causal == 0  # PyTorch: True blocks
    torch.testing.assert_close(attn(x, x, x, ~pytorch_bool), expected)
    # Causality holds: changing a later position leaves earlier outputs as they were.
    y = x.clone()
    y[:, 3] += 1.0
    torch.testing.assert_close(attn(y, y, y, causal)[:, :3], expected[:, :3])


def test_layers_name_themselves_for_inputs_that_do_not_fit():
    """torch's own "mat1 and mat2 shapes cannot be multiplied" named neither the layer nor
    the argument (issue #19 d)."""
    with pytest.raises(
        ValueError, match=r"FeedForwardNetwork: x must have shape \(N, L, 8\), got \(1, 3, 7\)"
    ):
        FeedForwardNetwork(8, 16)(torch.zeros(1, 3, 7))
    with pytest.raises(TypeError, match="FeedForwardNetwork: x must be a floating-point tensor"):
        FeedForwardNetwork(8, 16)(torch.zeros(1, 3, 8, dtype=torch.long))
    with pytest.raises(TypeError, match="PatchEmbedding: x must be a floating-point tensor"):
        PatchEmbedding(32, 8)(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
