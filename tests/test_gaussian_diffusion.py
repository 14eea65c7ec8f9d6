"""cs231n.gaussian_diffusion against the course's seeded checks (DDPM.ipynb, 2025 and 2026
editions), the schedules against their closed forms, and the checks of bad input.

The reference values are the notebook's: "q_sample" (zero relative error), "predict_noise_from_start
/ predict_start_from_noise" (about 1e-5), "p_losses" (1e-6) and "p_sample" (1e-6, two tests).
The 2026 edition puts the U-Net in eval mode; those values reproduce here. The 2025 edition ran
the checks in training mode, so that its numbers depend on the dropout and condition-drop draws
of the PyTorch build that made them: on this CPU build (torch 2.13) the p_losses check gives
30.2033 against the notebook's 30.0733 (relative error 2.2e-3) and the p_sample checks miss by
up to 0.12 (relative errors 0.61 and 0.78). Those are kept as strict expected failures, so a PyTorch whose
draws agree again turns them into failures to look at.
"""

import numpy as np
import pytest
import torch

from cs231n.gaussian_diffusion import (
    GaussianDiffusion,
    cosine_beta_schedule,
    extract,
    get_beta_schedule,
    linear_beta_schedule,
    sigmoid_beta_schedule,
)
from cs231n.unet import Unet


def rel_error(x, y):
    """The notebook's relative error."""
    return np.max(np.abs(x - y) / (np.maximum(1e-10, np.abs(x) + np.abs(y))))


def test_q_sample_matches_the_notebook():
    # DDPM.ipynb, "q_sample" cell (identical in the 2025 and 2026 editions): zero error.
    diffusion = GaussianDiffusion(model=None, image_size=2, timesteps=1000, beta_schedule="sigmoid")
    t = torch.tensor([0, 300, 999]).long()
    x_start = torch.linspace(-0.9, 0.6, 3 * 3 * 2 * 2).view(3, 3, 2, 2)
    noise = torch.linspace(-0.7, 0.8, 3 * 3 * 2 * 2).view(3, 3, 2, 2)
    expected = np.array(
        [
            [
                [[-0.9119949, -0.86840147], [-0.8248081, -0.7812148]],
                [[-0.7376214, -0.694028], [-0.65043473, -0.6068413]],
                [[-0.563248, -0.51965463], [-0.47606122, -0.43246788]],
            ],
            [
                [[-0.42800453, -0.37039882], [-0.31279305, -0.2551873]],
                [[-0.19758154, -0.1399758], [-0.08237009, -0.024764337]],
                [[0.032841414, 0.090447165], [0.14805292, 0.20565866]],
            ],
            [
                [[0.32864183, 0.37152246], [0.41440308, 0.45728368]],
                [[0.50016433, 0.5430449], [0.5859255, 0.6288062]],
                [[0.67168677, 0.7145674], [0.757448, 0.8003287]],
            ],
        ]
    ).astype(np.float32)
    x_t = diffusion.q_sample(x_start, t, noise).numpy()
    assert rel_error(x_t, expected) < 1e-6


def test_predictions_invert_q_sample():
    # DDPM.ipynb, "predict_noise_from_start / predict_start_from_noise" cell: about 1e-5.
    diffusion = GaussianDiffusion(model=None, image_size=2, timesteps=1000, beta_schedule="sigmoid")
    t = torch.tensor([1, 300, 998]).long()
    x_start = torch.linspace(-0.91, 0.67, 36).view(3, 3, 2, 2)
    noise = torch.linspace(-0.73, 0.81, 36).view(3, 3, 2, 2)
    x_t = diffusion.q_sample(x_start, t, noise)
    assert (
        rel_error(diffusion.predict_noise_from_start(x_t, t, x_start).numpy(), noise.numpy()) < 2e-5
    )
    assert (
        rel_error(diffusion.predict_start_from_noise(x_t, t, noise).numpy(), x_start.numpy()) < 2e-5
    )


def _p_losses(eval_mode):
    np.random.seed(231)
    torch.manual_seed(231)
    unet = Unet(dim=4, condition_dim=4, dim_mults=(2, 4))
    if eval_mode:
        unet.eval()
    diffusion = GaussianDiffusion(
        model=unet, image_size=4, timesteps=1000, beta_schedule="sigmoid", objective="pred_x_start"
    )
    x = torch.randn(3, 3, 4, 4)
    return diffusion.p_losses(x, {"text_emb": torch.randn(3, 4)}).item()


def test_p_losses_matches_the_2026_notebook():
    # DDPM.ipynb 2026, "p_losses" cell (U-Net in eval mode): 30.0160, relative error below
    # 1e-6 (measured here: 7.4e-7, the notebook's value having 4 decimals).
    assert rel_error(_p_losses(eval_mode=True), 30.0160) < 1e-6


@pytest.mark.xfail(
    strict=True, reason="2025's training-mode draws differ on this PyTorch (see top)"
)
def test_p_losses_matches_the_2025_notebook():
    # DDPM.ipynb 2025, "p_losses" cell (training mode): 30.0732689, error below 1e-6.
    assert rel_error(_p_losses(eval_mode=False), 30.0732689) < 1e-6


P_SAMPLE = {
    # DDPM.ipynb 2026, "p_sample" cell, test 1 (sigmoid, pred_x_start) and test 2 (cosine,
    # pred_noise); U-Net in eval mode.
    2026: (
        [
            [
                [1.1249855, 0.098786, -0.674154, 1.3266845],
                [-0.21832949, 0.4874724, 1.0712924, -0.7355726],
                [-0.19198017, 1.0347139, 0.03363481, 0.47500697],
                [-1.0178545, -0.52259684, -0.11972852, -0.02105119],
            ],
            [
                [0.06438226, -1.5796007, 0.43629852, -0.67392266],
                [-1.1564192, -1.7009112, 0.878653, -1.2563533],
                [-0.45194352, 1.0274173, 0.62859684, -0.49643248],
                [-0.18070872, 0.51325583, -0.74465716, -0.5262963],
            ],
            [
                [0.76330817, 1.5878401, 1.9983996, 0.6618041],
                [0.16782297, 0.5638586, -0.8150751, 1.9507835],
                [0.7401889, 1.2696184, 1.8468435, -1.4796975],
                [0.6636643, -0.83933365, 0.78857577, 0.13521622],
            ],
        ],
        [
            [
                [1.1139543, 0.11015256, -0.7337392, 1.3292073],
                [-0.286727, 0.48420003, 1.0737748, -0.764173],
                [-0.22848499, 1.0443672, 0.07089197, 0.50183666],
                [-1.0453997, -0.5474187, -0.06630269, -0.11730157],
            ],
            [
                [0.10919069, -1.5161378, 0.38542387, -0.6693473],
                [-1.0730051, -1.6837747, 0.87086374, -1.2265388],
                [-0.48162907, 1.0328836, 0.6336425, -0.47346604],
                [-0.11769794, 0.5335539, -0.71324545, -0.47889465],
            ],
            [
                [0.8311781, 1.6457081, 1.9775101, 0.563749],
                [0.25127694, 0.57862943, -0.8148284, 1.8744429],
                [0.75546896, 1.1215659, 1.9582558, -1.535511],
                [0.62724066, -0.8814953, 0.77542645, 0.12667023],
            ],
        ],
    ),
    # DDPM.ipynb 2025, the same cell in training mode.
    2025: (
        [
            [
                [1.1339471, 0.12097352, -0.7175048, 1.3196243],
                [-0.27657282, 0.4899886, 1.0170169, -0.8242867],
                [-0.18946372, 0.9899801, 0.01498353, 0.39722288],
                [-0.97995025, -0.5947938, -0.07796463, -0.07311387],
            ],
            [
                [0.0739838, -1.5537696, 0.43128064, -0.7395982],
                [-1.0517508, -1.7030833, 0.79073197, -1.217138],
                [-0.5314434, 0.9862699, 0.6568664, -0.4559122],
                [-0.17322278, 0.51251256, -0.75741345, -0.3967054],
            ],
            [
                [0.8546979, 1.6186953, 1.9930652, 0.57347],
                [0.20219846, 0.5374655, -0.81597316, 1.9089762],
                [0.7327057, 1.19275, 1.8593936, -1.4582647],
                [0.68447256, -0.9056745, 0.7863245, 0.14455058],
            ],
        ],
        [
            [
                [1.1036711, 0.08143333, -0.6856102, 1.3826138],
                [-0.25455472, 0.514572, 1.104592, -0.75972646],
                [-0.22729763, 0.9837706, 0.05891411, 0.52049375],
                [-1.0331786, -0.5416254, -0.01623197, -0.04838388],
            ],
            [
                [0.08324978, -1.545468, 0.41357145, -0.63511896],
                [-1.1362139, -1.7128816, 0.8694859, -1.2297069],
                [-0.49168122, 1.0043695, 0.6759953, -0.5297671],
                [-0.10931232, 0.52347076, -0.80946106, -0.5015002],
            ],
            [
                [0.7437265, 1.590004, 1.9481117, 0.5656144],
                [0.22895451, 0.5289113, -0.8511001, 1.8864397],
                [0.72863096, 1.2271638, 1.892699, -1.5199479],
                [0.64346373, -0.86913294, 0.7869012, 0.12637165],
            ],
        ],
    ),
}


def _p_samples(eval_mode):
    np.random.seed(231)
    torch.manual_seed(231)
    unet = Unet(dim=4, condition_dim=4, dim_mults=(2,))
    if eval_mode:
        unet.eval()
    x_t = torch.randn(1, 3, 4, 4)
    kwargs = {"text_emb": torch.randn(1, 4)}
    outs = []
    for schedule, objective in (("sigmoid", "pred_x_start"), ("cosine", "pred_noise")):
        diffusion = GaussianDiffusion(
            model=unet, image_size=4, timesteps=1000, beta_schedule=schedule, objective=objective
        )
        outs.append(diffusion.p_sample(x_t, 231, kwargs).numpy())
    return outs


def test_p_sample_matches_the_2026_notebook():
    for out, expected in zip(_p_samples(eval_mode=True), P_SAMPLE[2026], strict=True):
        # The notebook asks for 1e-6; measured here: 7e-8 and 3e-8.
        assert rel_error(out, np.array([expected])) < 1e-6


@pytest.mark.xfail(
    strict=True, reason="2025's training-mode draws differ on this PyTorch (see top)"
)
def test_p_sample_matches_the_2025_notebook():
    for out, expected in zip(_p_samples(eval_mode=False), P_SAMPLE[2025], strict=True):
        assert rel_error(out, np.array([expected])) < 1e-5


def test_extract_gathers_and_broadcasts():
    a = torch.arange(10.0)
    out = extract(a, torch.tensor([3, 0, 9]), (3, 2, 5, 5))
    assert out.shape == (3, 1, 1, 1)
    assert out.flatten().tolist() == [3.0, 0.0, 9.0]


def test_schedules_against_their_closed_forms():
    # Linear: the DDPM paper's 1e-4 .. 0.02 over 1000 steps.
    betas = linear_beta_schedule(1000)
    assert betas.dtype == torch.float64 and betas[0] == pytest.approx(1e-4)
    assert betas[-1] == pytest.approx(0.02)
    # Cosine: alpha_bar_t = f(t) / f(0), f(t) = cos^2((t/T + s) / (1 + s) * pi / 2).
    T, s = 50, 0.008
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    want = np.clip(1 - (f[1:] / f[0]) / (f[:-1] / f[0]), 0, 0.999)
    np.testing.assert_allclose(cosine_beta_schedule(T).numpy(), want, rtol=1e-10)
    # Sigmoid: alpha_bar from -sigmoid over [start, end], normalised.
    sig = 1 / (1 + np.exp(-(np.arange(T + 1) / T * 6 - 3)))
    ab = (-sig + sig[-1]) / (sig[-1] - sig[0])
    want = np.clip(1 - ab[1:] / ab[:-1], 0, 0.999)
    # The course computes sigmoid(start), sigmoid(end) in float32: 6e-7 relative to float64.
    np.testing.assert_allclose(sigmoid_beta_schedule(T).numpy(), want, rtol=2e-6)
    assert torch.equal(get_beta_schedule("sigmoid", T), sigmoid_beta_schedule(T))


def test_posterior_matches_bayes_rule():
    """q(x_{t-1} | x_t, x_0) from the Gaussian product, computed a second way in float64."""
    d = GaussianDiffusion(model=None, image_size=2, timesteps=100, beta_schedule="cosine")
    betas = get_beta_schedule("cosine", 100)
    ab = torch.cumprod(1 - betas, 0)
    t = torch.tensor([5, 50, 99])
    x0 = torch.randn(3, 3, 2, 2, dtype=torch.float64)
    xt = torch.randn(3, 3, 2, 2, dtype=torch.float64)
    ab_prev = ab[t - 1].view(-1, 1, 1, 1)
    b_t = betas[t].view(-1, 1, 1, 1)
    # Precision-weighted combination of q(x_t | x_{t-1}) and q(x_{t-1} | x_0).
    prec = (1 - b_t) / b_t + 1 / (1 - ab_prev)
    mean = ((1 - b_t).sqrt() / b_t * xt + ab_prev.sqrt() / (1 - ab_prev) * x0) / prec
    got_mean, got_std = d.q_posterior(x0.float(), xt.float(), t)
    np.testing.assert_allclose(got_mean.numpy(), mean.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        got_std.flatten().numpy(), (1 / prec).sqrt().flatten().numpy(), rtol=1e-4
    )


def test_sample_shapes_and_trajectory():
    torch.manual_seed(0)
    unet = Unet(dim=4, condition_dim=3, dim_mults=(1,)).eval()
    d = GaussianDiffusion(unet, image_size=4, timesteps=5)
    emb = torch.randn(2, 3)
    out = d.sample(batch_size=2, model_kwargs={"text_emb": emb})
    assert out.shape == (2, 3, 4, 4)
    kwargs = {"text_emb": emb, "cfg_scale": 1.5}
    traj = d.sample(batch_size=2, return_all_timesteps=True, model_kwargs=kwargs)
    assert traj.shape == (2, 6, 3, 4, 4)
    assert kwargs["cfg_scale"] == 1.5  # guidance on every step: the caller's dict is kept


def test_bad_input_is_refused_before_any_work():
    unet = Unet(dim=4, condition_dim=3, dim_mults=(1, 2))
    with pytest.raises(ValueError, match="objective must be one of pred_noise, pred_x_start"):
        GaussianDiffusion(unet, image_size=8, objective="pred_v")
    with pytest.raises(ValueError, match="unknown beta schedule 'quadratic'"):
        GaussianDiffusion(unet, image_size=8, beta_schedule="quadratic")
    with pytest.raises(ValueError, match="timesteps must be a positive integer, got 0"):
        GaussianDiffusion(unet, image_size=8, timesteps=0)
    with pytest.raises(ValueError, match="image_size 6 is not divisible by 4"):
        GaussianDiffusion(unet, image_size=6)
    d = GaussianDiffusion(unet, image_size=8, timesteps=10)
    with pytest.raises(ValueError, match=r"p_sample: t must be an integer in \[0, 10\), got 10"):
        d.p_sample(torch.zeros(1, 3, 8, 8), 10, {"text_emb": None})
