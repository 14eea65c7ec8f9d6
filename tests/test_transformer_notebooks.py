"""The seeded checks of the course's Transformer notebook (Transformer_Captioning.ipynb, assignment
3), edition by edition: each test builds what the notebook's cell builds, with the notebook's
seeds, under the edition the check belongs to, and compares with the notebook's expected array
using the notebook's own error (``rel_error``) and stated tolerance.

Where the arrays come from (each test names its edition):

- 2021–2024: the course's starter archives (cs231n.github.io, assignments/2021–2024/
  assignment3_colab.zip). MultiHeadAttention, PositionalEncoding and the CaptioningTransformer
  check are the same in all four; the decoder layer is ReLU.
- 2025 as first released (May 2025): the same MultiHeadAttention, PositionalEncoding, decoder,
  encoder and captioner checks as the revised release below, but a PatchEmbedding check that
  flattens each patch as (row, column, channel) ("patches of shape (patch_size x patch_size x
  C)") and the Vision Transformer check that goes with it.
- 2025 as revised during that quarter: the starter code asks for "(C x patch_size x
  patch_size)" patches; its PatchEmbedding check expects the 2026 array and its Vision
  Transformer check a new array (the one this file calls ``VIT_2025_REVISED``). With the package
  it runs under edition 2026 (channel-first patches, GELU).
- 2026: every check builds the layer, calls ``.eval()``, then runs it (no dropout).

The 2021–2025 checks run in training mode: their numbers include dropout masks drawn by the
course's PyTorch builds, re-created here by ``legacy_dropout`` (test_transformer_layers.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_transformer_layers import legacy_dropout, one_torch_thread, rel_error  # noqa: F401

from cs231n.classifiers.transformer import CaptioningTransformer, VisionTransformer
from cs231n.core.edition import ENV_VAR, set_edition, using_edition
from cs231n.transformer_layers import (
    MultiHeadAttention,
    PatchEmbedding,
    PositionalEncoding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
)


@pytest.fixture(autouse=True)
def no_edition_from_outside(monkeypatch):
    """Each test chooses its edition; none comes from the environment or an earlier test."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    set_edition(None)
    yield
    set_edition(None)


def run(edition, build, forward, train_mode):
    """``build()`` under ``edition`` (the seeds are set inside ``build``), then ``forward``: with
    the course's dropout draws in training mode, without gradients after ``.eval()``."""
    with using_edition(edition):
        built = build()
    if train_mode:
        with legacy_dropout():
            return forward(*built)
    for item in built:
        if isinstance(item, torch.nn.Module):
            item.eval()
    with torch.no_grad():
        return forward(*built)


def as_array(x):
    return x.detach().cpu().numpy()


# --------------------------------------------------------------------------------------------
# MultiHeadAttention


MHA_2021_2025 = {
    "self": [
        [-0.2494, 0.1396, 0.4323, -0.2411, -0.1547, 0.2329, -0.1936, -0.1444],
        [-0.1997, 0.1746, 0.7377, -0.3549, -0.2657, 0.2693, -0.2541, -0.2476],
        [-0.0625, 0.1503, 0.7572, -0.3974, -0.1681, 0.2168, -0.2478, -0.3038],
    ],
    "masked": [
        [-0.1347, 0.1934, 0.8628, -0.4903, -0.2614, 0.2798, -0.2586, -0.3019],
        [-0.1013, 0.3111, 0.5783, -0.3248, -0.3842, 0.1482, -0.3628, -0.1496],
        [-0.2071, 0.1669, 0.7097, -0.3152, -0.3136, 0.2520, -0.2774, -0.2208],
    ],
    "cross": [
        [-0.1980, 0.4083, 0.1968, -0.3477, 0.0321, 0.4258, -0.8972, -0.2744],
        [-0.1603, 0.4155, 0.2295, -0.3485, -0.0341, 0.3929, -0.8248, -0.2767],
        [-0.0908, 0.4113, 0.3017, -0.3539, -0.1020, 0.3784, -0.7189, -0.2912],
    ],
}
MHA_2026 = {
    "self": [
        [-0.1030, 0.2090, 0.7481, -0.4116, -0.2772, 0.2357, -0.2740, -0.2798],
        [-0.1794, 0.1637, 0.6930, -0.3435, -0.2300, 0.2457, -0.2504, -0.2323],
        [-0.1861, 0.1567, 0.6677, -0.3078, -0.2731, 0.2302, -0.2714, -0.2082],
    ],
    "masked": [
        [-0.1209, 0.1806, 0.8056, -0.4654, -0.2262, 0.2552, -0.2544, -0.2812],
        [-0.2374, 0.1183, 0.7423, -0.3777, -0.1460, 0.2716, -0.2213, -0.2077],
        [-0.0851, 0.2423, 0.7941, -0.3778, -0.4924, 0.1512, -0.4241, -0.1740],
    ],
    "cross": [
        [-0.1965, 0.0702, 0.5227, -0.1388, -0.3530, 0.2163, -0.2643, -0.1902],
        [-0.3592, -0.0899, 0.5836, 0.0029, -0.3643, 0.2667, -0.1973, -0.1698],
        [-0.3795, 0.0433, 0.5634, -0.0749, -0.4379, 0.2714, -0.2207, -0.1980],
    ],
}


def _mha_check(edition, train_mode):
    """The notebook's cell: one layer, then self-, masked self- and cross-attention (the data
    are drawn after the layer, and the mask and the other data between the calls)."""

    def build():
        torch.manual_seed(231)
        return (MultiHeadAttention(8, num_heads=2),)

    def forward(attn):
        data = torch.randn(1, 3, 8)
        out = {"self": attn(query=data, key=data, value=data)}
        mask = torch.randn(3, 3) < 0.5
        out["masked"] = attn(query=data, key=data, value=data, attn_mask=mask)
        other = torch.randn(1, 3, 8)
        out["cross"] = attn(query=data, key=other, value=other)
        return out

    return run(edition, build, forward, train_mode)


@pytest.mark.parametrize("edition", [2021, 2024, 2025])
def test_multi_head_attention_2021_to_2025(edition):
    """Transformer_Captioning.ipynb 2021–2025 (training mode): "The relative error should be
    less than e-3"; the notebooks print 3.8e-4, 1.5e-4 and 3.5e-4, as here (4-decimal arrays)."""
    out = _mha_check(edition, train_mode=True)
    for case, expected in MHA_2021_2025.items():
        assert rel_error(np.asarray([expected]), as_array(out[case])) < 1e-3, case


def test_multi_head_attention_2026():
    """Transformer_Captioning.ipynb 2026 (eval mode): "less than 7e-3". Measured 1.8e-4, 9.8e-5
    and 6.2e-3 (the cross-attention array has a 0.0029 printed to 4 decimals)."""
    out = _mha_check(2026, train_mode=False)
    for case, expected in MHA_2026.items():
        assert rel_error(np.asarray([expected]), as_array(out[case])) < 7e-3, case


# --------------------------------------------------------------------------------------------
# PositionalEncoding


@pytest.mark.parametrize(
    "edition, train_mode, expected",
    [
        pytest.param(
            2024,
            True,
            [
                [-1.2340, 1.1127, 1.6978, -0.0865, -0.0000, 1.2728],
                [0.9028, -0.4781, 0.5535, 0.8133, 1.2644, 1.7034],
            ],
            id="2021-2025",
        ),
        pytest.param(
            2026,
            False,
            [
                [-1.1106, 1.0014, 1.5280, -0.0778, -0.6964, 1.1455],
                [0.8125, -0.4303, 0.4981, 0.7320, 1.1380, 1.5331],
            ],
            id="2026",
        ),
    ],
)
def test_positional_encoding(edition, train_mode, expected):
    """Transformer_Captioning.ipynb 2021–2025 (training mode; the notebooks print 1.04e-4) and
    2026 (eval mode; measured 2.2e-4): "errors on the order of e-3 or less"."""

    def build():
        torch.manual_seed(231)
        data = torch.randn(1, 2, 6)  # drawn before the layer, as the notebook does
        return PositionalEncoding(6), data

    out = run(edition, build, lambda layer, data: layer(data), train_mode)
    assert rel_error(np.asarray([expected]), as_array(out)) < 1e-3


# --------------------------------------------------------------------------------------------
# Decoder and encoder layers (2025 and 2026)


DECODER_2025 = [
    [1.1464597, -0.32541496, 0.39171425, -0.39425734, 0.62471056, -1.8665842,
     -0.12977494, -1.6609063, -0.5620399, 0.45006236, 1.6086785, 0.7173523],
    [-0.6703264, 0.34731007, -0.01452054, -0.0500976, 0.9617562, -0.91788256,
     0.5138556, -1.5247818, 2.0940537, -1.0386938, 1.0333964, -0.7340692],
    [-1.1966342, 0.78882384, 0.1765188, 0.04164891, 1.9480462, -0.94358695,
     0.83423877, -0.44660965, 1.1469632, -1.6658922, -0.27915588, -0.4043607],
    [-0.96863323, 0.10736976, -0.18560877, -0.86474127, -0.12873, 0.36593518,
     0.9634492, -0.9432319, 1.4652547, 1.2200648, 0.9218512, -1.9529796],
]  # fmt: skip
DECODER_2026 = [
    [0.27005595, -0.21056601, 0.63376445, -0.35391954, 0.60071295, -1.7566615,
     -0.1314159, -1.7659538, -0.5575517, 0.680143, 1.8622686, 0.7291234],
    [-0.6080135, 0.4421802, -0.07590749, -0.12093157, 0.94722354, -1.0223433,
     0.47332686, -1.3958666, 2.1890075, -1.0380646, 0.9437816, -0.7343922],
    [-0.89690155, 0.60447216, 0.10688882, 0.03492759, 1.8388084, -0.9772293,
     0.7621334, -0.668234, 1.3260399, -1.8417019, 0.21718435, -0.506388],
    [-0.70961505, -0.02918372, -0.39894593, -0.8069395, 0.04967685, 0.29345992,
     0.7871747, -1.3172938, 1.4744806, 1.2633642, 1.1611108, -1.767289],
]  # fmt: skip
ENCODER_2025 = [
    [-0.43529928, -0.204897, 0.45693663, -1.1355408, 1.8000772, 0.24467856,
     0.8525885, -0.53586316, -1.5606489, -1.207276, 1.3986266, 0.3266182],
    [0.06928468, 1.1030475, -0.9902548, -0.34333378, -2.1073136, 1.1960536,
     0.16573538, -1.1772276, 1.2644588, -0.27311313, 0.29650143, 0.7961618],
    [0.28310525, 0.69066685, -1.2264299, 1.0175265, -2.0517688, -0.10330413,
     -0.5355796, -0.2696466, 0.13948536, 2.0408154, 0.27095756, -0.25582793],
    [-0.58568114, 0.8019579, -0.9128079, -1.6816932, 1.1572194, 0.39162305,
     0.58195484, 0.7043353, -1.27042, -1.1870497, 0.9784279, 1.0221335],
]  # fmt: skip
ENCODER_2026 = [
    [-0.48887438, -0.16470742, 0.7249629, -1.0907345, 1.5764195, 0.17484017,
     0.8643941, -0.5209561, -1.6651545, -1.1943513, 1.4809005, 0.30326116],
    [-0.14663944, 1.052812, -0.96227, -0.20350897, -2.1478589, 1.2637341,
     0.04015125, -0.945255, 1.408903, -0.43051198, 0.37110543, 0.69933903],
    [0.08718029, 0.91050833, -1.208469, 1.1440394, -1.9794976, -0.38342738,
     -0.47407156, -0.17345548, 0.11738186, 1.9534125, 0.3525986, -0.3461999],
    [-0.81389004, 0.76213264, -0.7094313, -1.5332246, 1.3837544, 0.4091982,
     0.6569406, 0.7305365, -1.197077, -1.3698943, 0.58292854, 1.0980265],
]  # fmt: skip


def assert_within_1e6(expected, got):
    """The notebooks ask for rel_error < 1e-6. rel_error is taken element by element, so an
    output near zero (-0.0145 in the 2025 decoder array) turns float32 rounding that differs
    between CPUs (the BLAS kernels' summation order) into a few 1e-6: the course's own 2025
    outputs print 3.8e-8 on one machine and 4.0e-6 on another (Colab), for the same code. The
    expected values carry their machine's rounding, so float64 does not help (1.2e-6). Where the
    notebook's check misses, every value must still agree to 1e-6 (float32 rounding of numbers
    of order 1)."""
    expected = np.asarray([expected])
    if rel_error(expected, got) >= 1e-6:
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "edition, train_mode, expected",
    [(2025, True, DECODER_2025), (2026, False, DECODER_2026)],
    ids=["2025", "2026"],
)
def test_decoder_layer(edition, train_mode, expected):
    """Transformer_Captioning.ipynb 2025 (training mode) and 2026 (eval mode): "The relative
    error should be less than 1e-6". Measured 4.0e-6 for 2025 (as the course's Colab output;
    every value within 3.3e-7, see ``assert_within_1e6``) and 8.4e-8 for 2026."""

    def build():
        torch.manual_seed(231)
        np.random.seed(231)
        layer = TransformerDecoderLayer(12, 2, 4 * 12)
        return layer, torch.randn(1, 4, 12), torch.randn(1, 5, 12), torch.randn(4, 4) < 0.5

    out = run(edition, build, lambda layer, tgt, mem, mask: layer(tgt, mem, mask), train_mode)
    assert isinstance(out, torch.Tensor)
    assert_within_1e6(expected, as_array(out))


@pytest.mark.parametrize(
    "edition, train_mode, expected",
    [(2025, True, ENCODER_2025), (2026, False, ENCODER_2026)],
    ids=["2025", "2026"],
)
def test_encoder_layer(edition, train_mode, expected):
    """Transformer_Captioning.ipynb 2025 (training mode; the course's outputs print 3.6e-8 and
    6.8e-7) and 2026 (eval mode): "You should see relative error less than 1e-6". Measured
    6.8e-7 and 4.2e-8."""

    def build():
        torch.manual_seed(231)
        np.random.seed(231)
        layer = TransformerEncoderLayer(12, 2, 4 * 12)
        return layer, torch.randn(1, 4, 12), torch.randn(4, 4) < 0.5

    out = run(edition, build, lambda layer, x, mask: layer(x, mask), train_mode)
    assert_within_1e6(expected, as_array(out))


# --------------------------------------------------------------------------------------------
# CaptioningTransformer


CAPTIONER_2021_2024 = [
    [[-16.9532, 4.8261, 26.6054], [-17.1033, 4.6906, 26.4844], [-15.0708, 4.1108, 23.2924]],
    [[-17.1767, 4.5897, 26.3562], [-15.6017, 4.8693, 25.3403], [-15.1028, 4.6905, 24.4839]],
    [[-17.2172, 4.7701, 26.7574], [-16.6755, 4.85, 26.3754], [-17.2172, 4.7701, 26.7574]],
    [[-16.3669, 4.1602, 24.6872], [-16.7897, 4.3467, 25.4831], [-17.0103, 4.7775, 26.5652]],
]
CAPTIONER_2025 = [
    [[0.48119992, -0.24859881, -0.7489549], [0.20380056, 0.08959456, -0.89954275],
     [0.21135767, -0.17083111, -0.62508506]],
    [[0.49413955, -0.50489324, -0.79341394], [0.87452495, -0.4392967, -1.1513498],
     [0.2547267, -0.26321974, -0.93643296]],
    [[0.70437765, -0.5729916, -0.7946507], [0.18345363, -0.31752932, -1.7304884],
     [0.61473167, -0.82634443, -1.2179294]],
    [[0.5163983, -0.7899667, -1.0383208], [0.28063023, -0.3603301, -1.5435203],
     [0.7222998, -0.71457165, -0.76669186]],
]  # fmt: skip
CAPTIONER_2026 = [
    [[0.62165695, -0.6203744, -1.116114], [0.6641097, -0.60309553, -1.3479083],
     [0.62117404, -0.79205745, -1.1095243]],
    [[0.62160987, -0.6214724, -1.1171186], [0.6093992, -0.61166143, -1.3365762],
     [0.62108713, -0.79322916, -1.1104958]],
    [[0.6406587, -0.57419956, -1.1300566], [0.6075228, -0.60872054, -1.3372457],
     [0.6471472, -0.8270494, -1.1064028]],
    [[0.64029807, -0.5755552, -1.1284486], [0.60708034, -0.6099963, -1.3356377],
     [0.59367496, -0.8346836, -1.0914496]],
]  # fmt: skip
WORD_TO_IDX = {"<NULL>": 0, "cat": 2, "dog": 3}


def _captioner():
    return CaptioningTransformer(
        WORD_TO_IDX, input_dim=20, wordvec_dim=30, num_heads=2, num_layers=2, max_length=30
    )


@pytest.mark.parametrize("edition", [2021, 2024])
def test_captioner_2021_to_2024(edition):
    """Transformer_Captioning.ipynb 2021–2024 (training mode, ReLU): every parameter overwritten
    with linspace values (float64), "error on the order of e-5 or less"; a 2024 output prints
    5.1e-6, measured 5.1e-6 (4-decimal array). These large weights saturate the activation, so
    this check cannot tell ReLU from GELU (3.8e-6 under GELU):
    ``test_the_activation_follows_the_edition`` shows where it matters."""
    N, D, T, V = 4, 20, 3, len(WORD_TO_IDX)

    def build():
        torch.manual_seed(231)
        np.random.seed(231)
        model = _captioner()
        for p in model.parameters():
            p.data = torch.tensor(np.linspace(-1.4, 1.3, num=p.numel()).reshape(*p.shape))
        features = torch.tensor(np.linspace(-1.5, 0.3, num=N * D).reshape(N, D))
        captions = torch.tensor((np.arange(N * T) % V).reshape(N, T))
        return model, features, captions

    def forward(model, features, captions):
        assert isinstance(model.transformer.layers[0].ffn.activation, torch.nn.ReLU)
        return model(features, captions)

    out = run(edition, build, forward, train_mode=True)
    assert rel_error(np.asarray(CAPTIONER_2021_2024), as_array(out)) < 1e-5


@pytest.mark.parametrize(
    "edition, train_mode, expected",
    [(2025, True, CAPTIONER_2025), (2026, False, CAPTIONER_2026)],
    ids=["2025", "2026"],
)
def test_captioner_2025_2026(edition, train_mode, expected):
    """Transformer_Captioning.ipynb 2025 (training mode; the course's outputs print 1.9e-7 and
    3.4e-7) and 2026 (eval mode): "error on the order of e-5 or less". Measured 4.7e-7 and
    1.1e-7."""

    def build():
        torch.manual_seed(231)
        np.random.seed(231)
        model = _captioner()
        return model, torch.randn(4, 20), torch.randint(0, len(WORD_TO_IDX), (4, 3))

    out = run(edition, build, lambda model, f, c: model(f, c), train_mode)
    assert rel_error(np.asarray(expected), as_array(out)) < 1e-5


def test_the_activation_follows_the_edition():
    """The 2025 and 2026 captioner checks built under edition 2024 (ReLU) miss by 1e-2 to 1e-1:
    GELU is what those notebooks expect, ReLU what 2021–2024 defined."""

    def build():
        torch.manual_seed(231)
        np.random.seed(231)
        return _captioner(), torch.randn(4, 20), torch.randint(0, len(WORD_TO_IDX), (4, 3))

    for train_mode, expected in ((True, CAPTIONER_2025), (False, CAPTIONER_2026)):
        out = run(2024, build, lambda model, f, c: model(f, c), train_mode)
        assert rel_error(np.asarray(expected), as_array(out)) > 1e-2


# --------------------------------------------------------------------------------------------
# PatchEmbedding


PATCH_2025_FIRST = [
    [[0.17340218, -0.6341526, 0.00534353, -0.00208938, -0.13053574, -0.0723498, 0.570391,
      -0.5484832],
     [0.75826085, 0.6517286, 0.9410556, 0.22658484, 0.22908838, 0.29188606, 1.1627291,
      0.20553493],
     [0.18826072, -1.175315, -0.45934296, 0.22657648, 0.05163736, -1.2193633, 0.6293135,
      -0.06907118],
     [0.6661972, 0.6862014, -0.77427, -0.69206136, 0.19539498, -0.06223261, -0.683141,
      0.30782953]],
    [[-0.01754813, 0.01794782, -0.27840802, 0.6838149, 0.29822493, -0.3810072, -0.83345515,
      0.3823208],
     [0.93228734, -0.06306291, -0.02399439, -0.06193065, 0.3256202, -0.44798264, 0.36217704,
      -0.3620905],
     [0.02364302, -0.20997411, -0.2952826, -0.02742453, 0.7600244, -0.30619755, -0.67136663,
      0.36101747],
     [0.21072303, -0.5766786, 0.51954585, 0.26895863, 0.04818385, -0.01398893, 0.1810453,
      0.6056638]],
]  # fmt: skip
PATCH_2025_REVISED_2026 = [
    [[-0.6312704, 0.02531429, 0.6112642, -0.49089882, 0.01412961, -0.6959372, -0.32862484,
      -0.45402682],
     [0.18816411, -0.08142513, -0.9829535, -0.23975623, -0.23109074, 0.97950286, -0.40997326,
      0.7457837],
     [0.01810865, 0.15780598, -0.91804236, 0.36185235, 0.8379501, 1.0191797, -0.29667392,
      0.20322265],
     [-0.18697818, -0.45137224, -0.40339014, -1.4381214, -0.43450755, 0.7651071, -0.83683825,
      -0.16360264]],
    [[-0.39786366, 0.16201034, -0.19008337, -1.0602452, -0.28693503, 0.09791763, 0.26614824,
      0.41781986],
     [0.35146567, -0.4469593, -0.1841726, 0.45757473, -0.61304873, -0.29104248, -0.16124889,
      -0.14987172],
     [-0.2996967, 0.27353522, -0.09929767, 0.01973832, -1.2312065, -0.6374332, -0.22963578,
      0.55696607],
     [-0.93818814, 0.02465284, -0.21117875, 1.1860403, -0.06137538, -0.21062079, -0.094347,
      0.50032747]],
]  # fmt: skip


def _patch_embedding(edition):
    def build():
        torch.manual_seed(231)
        np.random.seed(231)
        layer = PatchEmbedding(img_size=16, patch_size=8, embed_dim=8)
        return layer, torch.randn(2, 3, 16, 16)

    return run(edition, build, lambda layer, x: layer(x), train_mode=False)


def test_patch_embedding_2025_first_release():
    """Transformer_Captioning.ipynb 2025 as first released ((row, column, channel) patches):
    "relative error less than 1e-4"; measured 3.0e-5, as the course's output prints (the array
    holds a -0.0021)."""
    out = as_array(_patch_embedding(2025))
    assert rel_error(np.asarray(PATCH_2025_FIRST), out) < 1e-4
    assert rel_error(np.asarray(PATCH_2025_REVISED_2026), out) > 0.5  # the other order's array


def test_patch_embedding_2026_and_2025_revised():
    """Transformer_Captioning.ipynb 2026, and 2025 as revised (the same array): "relative error
    less than 1e-4"; measured 9.2e-8 (edition 2026)."""
    out = as_array(_patch_embedding(2026))
    assert rel_error(np.asarray(PATCH_2025_REVISED_2026), out) < 1e-4
    assert rel_error(np.asarray(PATCH_2025_FIRST), out) > 0.5


# --------------------------------------------------------------------------------------------
# VisionTransformer


VIT_2025_FIRST = [
    [-0.10670047, 0.16690803, -0.01990837, -0.07440026, -0.09354295, -0.15049735, 0.14913702,
     0.03266162, 0.08790424, 0.15019941],
    [-0.09003228, 0.18558621, -0.02381085, -0.10335247, -0.07034566, -0.19516842, 0.17820801,
     -0.01173006, 0.13024528, 0.05446588],
    [-0.1418673, 0.2322233, -0.10614551, -0.17830643, -0.17242229, -0.15395358, 0.14731622,
     0.06905945, 0.15939116, 0.13029954],
]  # fmt: skip
VIT_2025_REVISED = [
    [-0.13013132, 0.13652277, -0.04656096, -0.16443546, -0.08946665, -0.10123537, 0.11047452,
     0.01317241, 0.17256221, 0.16230097],
    [-0.11988413, 0.20006064, -0.04028708, -0.06937674, -0.07828291, -0.13545093, 0.18698244,
     0.01878054, 0.14309685, 0.03245382],
    [-0.11540816, 0.21416159, -0.07740889, -0.08336161, -0.1645808, -0.12318538, 0.18035144,
     0.05492767, 0.15997584, 0.12134959],
]  # fmt: skip
VIT_2026 = [
    [-0.15802915, 0.15734261, -0.06002094, -0.1860142, -0.09376919, -0.08837911, 0.16224845,
     0.0168601, 0.20606893, 0.13079852],
    [-0.12838936, 0.20798579, -0.0620573, -0.11705838, -0.14088857, -0.11387511, 0.18839046,
     0.03078492, 0.17386372, 0.06414902],
    [-0.09435399, 0.20495278, -0.03362986, -0.12232997, -0.15535004, -0.10380758, 0.21114832,
     0.03481449, 0.18798208, 0.12231653],
]  # fmt: skip


def _vit_scores(edition, train_mode, dtype):
    """The notebook's cell: images drawn first, then the default model; in float64 the same
    float32 draws are converted (the weights and images are the notebook's, the arithmetic
    is not rounded to float32)."""

    def build():
        torch.manual_seed(231)
        np.random.seed(231)
        imgs = torch.randn(3, 3, 32, 32)
        return VisionTransformer().to(dtype), imgs.to(dtype)

    return as_array(run(edition, build, lambda model, imgs: model(imgs), train_mode))


@pytest.mark.parametrize(
    "edition, expected",
    [(2025, VIT_2025_FIRST), (2026, VIT_2025_REVISED)],
    ids=["2025-first-release", "2025-revised"],
)
def test_vision_transformer_2025(edition, expected):
    """Transformer_Captioning.ipynb 2025 (training mode), as first released and as revised (the
    revised release runs under edition 2026: channel-first patches, GELU): "You should see
    relative error less than 1e-6".

    That bound is not reachable in float32 on a CPU: the course's own outputs print 1.7e-6
    (revised) and 1.9e-6 (first release), and float32 here gives 1.7e-6 and 2.5e-6 (scores near
    zero, 0.0132 and -0.0117, turn the 6e-8 float32 rounding of six encoder layers into relative
    errors above 1e-6). So float32 is held to 1e-5 and the notebook's 1e-6 is checked in float64
    (the same weights and images, converted): 5.1e-7 and 6.2e-7."""
    float32 = _vit_scores(edition, True, torch.float32)
    assert rel_error(np.asarray(expected), float32) < 1e-5
    float64 = _vit_scores(edition, True, torch.float64)
    assert rel_error(np.asarray(expected), float64) < 1e-6


def test_vision_transformer_2026():
    """Transformer_Captioning.ipynb 2026 (eval mode): "relative error less than 1e-6";
    measured 4.8e-7 in float32 (and 3.2e-7 in float64)."""
    assert rel_error(np.asarray(VIT_2026), _vit_scores(2026, False, torch.float32)) < 1e-6
    assert rel_error(np.asarray(VIT_2026), _vit_scores(2026, False, torch.float64)) < 1e-6


def test_each_vit_array_matches_only_its_own_edition():
    """The three ViT arrays are three different computations: under the wrong edition or mode
    the error is of order 1 (so each test above checks what it says)."""
    cases = {
        "2025-first": (VIT_2025_FIRST, _vit_scores(2025, True, torch.float64)),
        "2025-revised": (VIT_2025_REVISED, _vit_scores(2026, True, torch.float64)),
        "2026": (VIT_2026, _vit_scores(2026, False, torch.float64)),
    }
    for name, (expected, _) in cases.items():
        for other, (_, got) in cases.items():
            if other != name:
                assert rel_error(np.asarray(expected), got) > 0.3, (name, other)
