"""cs231n.unet against the course's checks (DDPM.ipynb, 2025 and 2026 editions): the layer
structure and parameter count of ``Unet(dim=2, condition_dim=4, dim_mults=(1, 2, 4))`` (6499),
the course-sized model's 12,444,963 parameters (the notebook's "Number of parameters" print),
the seeded forward and classifier-free guidance outputs, and the checks of bad input.

The 2026 edition runs the seeded checks in eval mode. The notebook asks for a relative error
below 1e-6, which, as public reports say, no CPU meets: measured on this one (torch 2.13), the
forward check's is 5.7e-6 (absolute 1.3e-6, at an output of 0.051) and the guidance check's
2.8e-5 (absolute 5.3e-6, at an output of 0.0083): float32 rounding of another build, largest in
relative terms at outputs near zero. The tests allow 1e-5 and 1e-4 relative, 1e-5 absolute. The
2025 edition ran them in training mode (dropout and condition drop drawn from the PyTorch RNG of
the build that made them); on this CPU build those miss by 0.27 and 0.96 absolute, so
they are strict expected failures.
"""

import numpy as np
import pytest
import torch

from cs231n.unet import Block, Downsample, ResnetBlock, RMSNorm, SinusoidalPosEmb, Unet, Upsample


def rel_error(x, y):
    return np.max(np.abs(x - y) / (np.maximum(1e-10, np.abs(x) + np.abs(y))))


def test_structure_and_parameter_count_match_the_notebook():
    # DDPM.ipynb (2025 and 2026), "Unet.__init__" cell.
    unet = Unet(dim=2, condition_dim=4, dim_mults=(1, 2, 4))
    assert len(unet.downs) == 3 and len(unet.ups) == 3
    downs = [
        d
        for m in unet.downs
        for d in [
            m[0].dim,
            m[0].dim_out,
            m[0].context_dim,
            m[1].dim,
            m[1].dim_out,
            m[1].context_dim,
        ]
    ]
    assert downs == [2, 2, 8, 2, 2, 8, 2, 2, 8, 2, 2, 8, 4, 4, 8, 4, 4, 8]
    ups = [
        d
        for m in unet.ups
        for d in [
            m[1].dim,
            m[1].dim_out,
            m[1].context_dim,
            m[2].dim,
            m[2].dim_out,
            m[2].context_dim,
        ]
    ]
    assert ups == [8, 4, 8, 8, 4, 8, 4, 2, 8, 4, 2, 8, 4, 2, 8, 4, 2, 8]
    assert sum(p.numel() for p in unet.parameters()) == 6499


def test_the_course_sized_model():
    # DDPM.ipynb, "Training" cell: Unet(dim=48, dim_mults=(1, 2, 4, 8), condition_dim=512);
    # 12,444,963 parameters is the count the course's model-70000.pt holds.
    unet = Unet(dim=48, dim_mults=(1, 2, 4, 8), condition_dim=512)
    assert unet.get_num_params() == 12_444_963
    assert unet.downsample_factor == 16


FORWARD_2026 = [
    [
        [
            [0.3530089, 0.49302575, 0.55152094, 0.20567769],
            [1.1295223, 0.05811183, 0.2143015, 0.23898259],
            [0.44839963, 1.0291728, 0.18519637, 0.21956968],
            [0.7035912, 0.716347, 0.9166326, -0.11552593],
        ],
        [
            [0.04585427, -0.26847702, 0.08526254, 0.2396591],
            [0.2858743, -0.29726404, 0.02462834, 0.2350314],
            [0.3121434, 0.3962962, 0.65541625, -0.300183],
            [0.3409412, 0.35369393, 0.37445623, 0.10297439],
        ],
        [
            [0.49440542, 0.72878885, 0.6669705, 0.56822944],
            [1.0084232, 0.19204213, 0.61240125, 0.575651],
            [0.6452671, 0.91168964, 0.6458106, 0.25952405],
            [0.7147298, 0.7707498, 0.88941365, 0.35422024],
        ],
    ],
    [
        [
            [0.3186316, -0.17632714, 0.440247, 0.05124736],
            [0.6866561, 0.3019496, 0.18366373, 0.42941707],
            [-0.09776017, 0.55849403, 0.30689716, 0.12954405],
            [0.3667726, 0.740231, 0.43682802, 0.08275545],
        ],
        [
            [-0.29714173, -0.28515863, -0.02289355, 0.05637485],
            [-0.10230345, 0.182563, 0.8107456, 0.18209176],
            [0.57062995, 0.07061654, 0.2864037, 0.17969263],
            [0.31491554, 0.5652035, 0.3810383, 0.05889529],
        ],
        [
            [0.14559639, 0.36408228, 0.5657894, 0.24066216],
            [0.4431491, 0.38140664, 1.1457629, 0.40314198],
            [0.6673274, 0.5922724, 0.44549578, 0.5544277],
            [0.5405652, 0.88729244, 0.66340685, 0.23414826],
        ],
    ],
]

CFG_2026 = [
    [
        [
            [0.3063889, 0.49175858, 0.53406465, 0.17793494],
            [1.0605793, 0.07291106, 0.26333052, 0.2807781],
            [0.47007525, 1.0033083, 0.15596265, 0.21308547],
            [0.6635294, 0.69716704, 0.7332697, -0.14285703],
        ],
        [
            [-0.14788617, -0.17531544, 0.06930217, 0.24703366],
            [0.2998472, -0.25145096, 0.06968095, 0.28924388],
            [0.311122, 0.35599577, 0.6346719, -0.30859607],
            [0.3706389, 0.33177835, 0.29829532, 0.11159261],
        ],
        [
            [0.34566414, 0.79019654, 0.6489645, 0.5683719],
            [0.98117805, 0.176887, 0.6220584, 0.6494926],
            [0.66813314, 0.90341353, 0.65361, 0.21999073],
            [0.73401093, 0.75344837, 0.71971107, 0.32417077],
        ],
    ],
    [
        [
            [0.46322435, -1.3915588, 1.0951779, 0.37392217],
            [0.6877824, 0.14802843, -0.7159017, 0.22476494],
            [-0.28032526, 0.50201464, 0.0972808, 0.23250426],
            [0.38375473, 0.86657, 0.4424622, 0.2161349],
        ],
        [
            [-0.34920466, -0.48507357, 0.06529156, 0.29454708],
            [-0.62153226, 0.0083245, 1.7356712, -0.0690068],
            [0.7745638, -0.11548355, 0.237822, 0.22680345],
            [0.06337905, 0.7001358, 0.36441565, 0.17163567],
        ],
        [
            [0.16040441, -0.2551211, 0.8887521, 0.11380547],
            [-0.12803352, 0.2783994, 1.4620805, 0.19044566],
            [0.9112923, 0.75666, 0.3765695, 0.66629255],
            [0.3461262, 1.0881201, 0.6392708, 0.31749305],
        ],
    ],
]

# DDPM.ipynb 2025, the forward and guidance cells (training mode): the first row of each output.
FORWARD_2025_ROWS = [[0.14615417, 0.36610782, 0.27948245, 0.2229169]]
CFG_2025_ROWS = [[-0.07755187, 0.39913225, -0.616872, 0.16161466]]


def _forward(eval_mode, **extra):
    np.random.seed(231)
    torch.manual_seed(231)
    unet = Unet(dim=4, condition_dim=4, dim_mults=(2, 4))
    if eval_mode:
        unet.eval()
    x = torch.randn(2, 3, 4, 4)
    emb = torch.randn(2, 4)
    t = torch.tensor([8, 25]).long()
    return unet.forward(x=x, time=t, model_kwargs={"text_emb": emb, **extra}).detach().numpy()


def test_forward_matches_the_2026_notebook():
    # DDPM.ipynb 2026, "Unet.forward" cell (eval mode); tolerance: see the top.
    out = _forward(eval_mode=True)
    assert rel_error(out, np.array(FORWARD_2026)) < 1e-5
    np.testing.assert_allclose(out, FORWARD_2026, rtol=0, atol=1e-5)


def test_guidance_matches_the_2026_notebook():
    # DDPM.ipynb 2026, "cfg_forward" cell (eval mode, cfg_scale 2.31); tolerance: see the top.
    out = _forward(eval_mode=True, cfg_scale=2.31)
    assert rel_error(out, np.array(CFG_2026)) < 1e-4
    np.testing.assert_allclose(out, CFG_2026, rtol=0, atol=1e-5)


@pytest.mark.xfail(
    strict=True, reason="2025's training-mode draws differ on this PyTorch (see top)"
)
def test_forward_matches_the_2025_notebook():
    assert rel_error(_forward(eval_mode=False)[0, 0, :1], np.array(FORWARD_2025_ROWS)) < 1e-5


@pytest.mark.xfail(
    strict=True, reason="2025's training-mode draws differ on this PyTorch (see top)"
)
def test_guidance_matches_the_2025_notebook():
    out = _forward(eval_mode=False, cfg_scale=2.31)
    assert rel_error(out[0, 0, :1], np.array(CFG_2025_ROWS)) < 1e-5


def test_guidance_is_the_linear_combination():
    """(w + 1) eps(x, c) - w eps(x, empty), rebuilt from two plain forward passes."""
    torch.manual_seed(0)
    unet = Unet(dim=4, condition_dim=3, dim_mults=(1, 2)).eval()
    x, t, c = torch.randn(2, 3, 8, 8), torch.tensor([3, 7]), torch.randn(2, 3)
    kwargs = {"text_emb": c, "cfg_scale": 0.5}
    with torch.no_grad():
        got = unet(x, t, kwargs)
        cond = unet(x, t, {"text_emb": c})
        uncond = unet(x, t, {"text_emb": torch.zeros(2, 3)})
    torch.testing.assert_close(got, 1.5 * cond - 0.5 * uncond)
    assert kwargs == {"text_emb": c, "cfg_scale": 0.5}  # the caller's dict is left alone


def test_training_mode_drops_the_condition():
    torch.manual_seed(0)
    unet = Unet(dim=4, condition_dim=3, dim_mults=(1,), uncond_prob=1.0)
    for m in unet.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x, t, c = torch.randn(2, 3, 4, 4), torch.tensor([1, 2]), torch.randn(2, 3)
    with torch.no_grad():
        dropped = unet(x, t, {"text_emb": c})
        unet.eval()
        torch.testing.assert_close(dropped, unet(x, t, {"text_emb": None}))


def test_helpers():
    emb = SinusoidalPosEmb(8)(torch.tensor([0.0, 5.0]))
    freqs = torch.exp(-np.log(10000) / 3 * torch.arange(4))
    torch.testing.assert_close(emb[1], torch.cat([(5 * freqs).sin(), (5 * freqs).cos()]))
    x = torch.randn(2, 6, 3, 3)
    torch.testing.assert_close(RMSNorm(6)(x), x / x.pow(2).mean(1, keepdim=True).sqrt())
    assert Downsample(4, 8)(torch.zeros(1, 4, 8, 8)).shape == (1, 8, 4, 4)
    assert Upsample(8, 4)(torch.zeros(1, 8, 4, 4)).shape == (1, 4, 8, 8)
    assert Block(4, 6)(torch.zeros(1, 4, 5, 5)).shape == (1, 6, 5, 5)
    assert ResnetBlock(4, 6, 10)(torch.zeros(2, 4, 5, 5), torch.zeros(2, 10)).shape == (2, 6, 5, 5)


def test_bad_input_is_refused():
    unet = Unet(dim=4, condition_dim=3, dim_mults=(1, 2)).eval()
    x, t = torch.zeros(1, 3, 8, 8), torch.tensor([0])
    with pytest.raises(ValueError, match="cfg_scale must be a finite number, got nan"):
        unet(x, t, {"text_emb": torch.zeros(1, 3), "cfg_scale": float("nan")})
    with pytest.raises(ValueError, match=r"image size 6x6 is not divisible by 4"):
        unet(torch.zeros(1, 3, 6, 6), t, {"text_emb": None})
    with pytest.raises(ValueError, match=r"text_emb has shape \(1, 5\), expected \(1, 3\)"):
        unet(x, t, {"text_emb": torch.zeros(1, 5)})
    with pytest.raises(ValueError, match="dim_mults must be a non-empty sequence"):
        Unet(dim=4, condition_dim=3, dim_mults=())
    with pytest.raises(ValueError, match="uncond_prob must be in"):
        Unet(dim=4, condition_dim=3, uncond_prob=1.5)
