"""The course's DDPM against lucidrains' denoising-diffusion-pytorch, and DDIM against the
ancestral sampler.

``unet`` (the default part): one training step (loss, backward, gradient clipping to norm 1,
Adam) and one guided sampling step (``p_sample`` with classifier-free guidance: two U-Net
forwards) of the course-sized model, ``Unet(dim=48, condition_dim=512)`` (12,444,963
parameters) on 32x32 RGB images, batch 256 for training (the course's ``train_batch_size``)
and 16 for sampling (``GaussianDiffusion.sample``'s default), against lucidrains'
classifier-free-guidance U-Net (``denoising_diffusion_pytorch.classifier_free_guidance``, the
code the course's follows) at the same width, levels, image size and batches. lucidrains' net
is not the same network: it adds linear attention at every level and full attention in the
middle, conditions on class indices (2484 classes, the course's number of emoji texts) instead
of a 512-d text embedding, and has no dropout; the parameter counts are printed. The target is
the course's step at most 1.1x lucidrains'. ``--profile`` lists the costliest operators of
the course's training step.

``samplers``: a trained Fashion-MNIST run (``--run``, from ``cs231n diffusion train --data
fashion-mnist``) sampled by its ancestral sampler (all of its steps) and by DDIM with fewer
steps: seconds per image, and the Fréchet distance and KID of ``--samples`` images (the
scorer of ``cs231n gan score`` and ``cs231n diffusion score``).

lucidrains' package is a bench-only extra (``pip install --no-deps
'denoising-diffusion-pytorch==2.3.4' einops``: its wheel requires torchvision and accelerate,
which the one file used here does not import, and which would replace the CPU torch). The file
is loaded by itself, without the package's ``__init__`` (which imports torchvision).

Run on an otherwise idle machine:
    .venv/bin/python bench/bench_diffusion.py --threads 2
    .venv/bin/python bench/bench_diffusion.py --part samplers --run RUN --threads 2
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import torch

from cs231n.gaussian_diffusion import GaussianDiffusion
from cs231n.unet import Unet

DIM, CONDITION_DIM, IMAGE_SIZE, NUM_TEXTS = 48, 512, 32, 2484


def lucidrains_module():
    """``denoising_diffusion_pytorch/classifier_free_guidance.py`` loaded by itself, or None
    when the package is not installed."""
    spec = importlib.util.find_spec("denoising_diffusion_pytorch")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "classifier_free_guidance.py"
    file_spec = importlib.util.spec_from_file_location("_ddp_classifier_free_guidance", path)
    module = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(module)
    return module


def timed(step, repeats, warmup=1):
    """Median seconds of ``step()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_step(diffusion, opt, loss_fn):
    def step():
        loss = loss_fn()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(diffusion.parameters(), 1.0)
        opt.step()

    return step


def course_steps(batch, sample_batch, cfg_scale):
    torch.manual_seed(0)
    unet = Unet(dim=DIM, condition_dim=CONDITION_DIM)
    diffusion = GaussianDiffusion(unet, image_size=IMAGE_SIZE, timesteps=1000)
    opt = torch.optim.Adam(diffusion.parameters(), lr=1e-3, betas=(0.9, 0.99))
    x = torch.rand(batch, 3, IMAGE_SIZE, IMAGE_SIZE)
    emb = torch.randn(batch, CONDITION_DIM)
    train = train_step(diffusion, opt, lambda: diffusion.p_losses(x, {"text_emb": emb}))
    noise = torch.randn(sample_batch, 3, IMAGE_SIZE, IMAGE_SIZE)
    kwargs = {"text_emb": emb[:sample_batch], "cfg_scale": cfg_scale}

    def sample():
        diffusion.eval()
        diffusion.p_sample(noise, 500, kwargs)
        diffusion.train()

    return unet.get_num_params(), train, sample


def lucidrains_steps(module, batch, sample_batch, cfg_scale):
    torch.manual_seed(0)
    unet = module.Unet(dim=DIM, num_classes=NUM_TEXTS, dim_mults=(1, 2, 4, 8), channels=3)
    # Its schedules are linear and cosine (no sigmoid): the schedule costs nothing per step.
    diffusion = module.GaussianDiffusion(unet, image_size=IMAGE_SIZE, timesteps=1000)
    opt = torch.optim.Adam(diffusion.parameters(), lr=1e-3, betas=(0.9, 0.99))
    x = torch.rand(batch, 3, IMAGE_SIZE, IMAGE_SIZE)
    classes = torch.randint(0, NUM_TEXTS, (batch,))
    train = train_step(diffusion, opt, lambda: diffusion(x, classes=classes))
    noise = torch.randn(sample_batch, 3, IMAGE_SIZE, IMAGE_SIZE)

    @torch.no_grad()
    def sample():
        diffusion.eval()
        # lucidrains' guidance cond + (s - 1)(cond - null) is the course's with w = s - 1; no
        # rescaling, as the course's
        diffusion.p_sample(noise, 500, classes[:sample_batch], cfg_scale + 1, rescaled_phi=0.0)
        diffusion.train()

    return sum(p.numel() for p in unet.parameters()), train, sample


def bench_unet(args):
    module = lucidrains_module()
    print(
        f"Unet(dim={DIM}, condition_dim={CONDITION_DIM}), {IMAGE_SIZE}x{IMAGE_SIZE} RGB; training "
        f"batch {args.batch_size}, sampling batch {args.sample_batch} with guidance "
        f"{args.cfg_scale:g}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"median of {args.repeats}"
    )
    rows = [
        ("course (cs231n.unet)", *course_steps(args.batch_size, args.sample_batch, args.cfg_scale))
    ]
    if module is None:
        print(
            "lucidrains' denoising-diffusion-pytorch is not installed (see this file's docstring)"
        )
    else:
        rows.append(
            (
                "lucidrains (cfg Unet)",
                *lucidrains_steps(module, args.batch_size, args.sample_batch, args.cfg_scale),
            )
        )
    print(f"{'model':24s} {'parameters':>11s} {'train step s':>13s} {'sample step s':>14s}")
    results = []
    for name, params, train, sample in rows:
        t_train = timed(train, args.repeats)
        t_sample = timed(sample, args.repeats)
        results.append((t_train, t_sample))
        print(f"{name:24s} {params:11,d} {t_train:13.3f} {t_sample:14.3f}")
    if len(results) == 2:
        (a, b), (c, d) = results
        print(f"course / lucidrains: training {a / c:.2f}x, sampling {b / d:.2f}x (target <= 1.1x)")
    if args.profile:
        profile(rows[0][2])


def profile(step, top=15):
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top))


def bench_samplers(args):
    from cs231n.diffusion.scoring import score_diffusion
    from cs231n.diffusion.training import load_run
    from cs231n.pretrained.domain_classifier import DomainScorer

    if args.run is None:
        raise SystemExit(
            "--part samplers needs --run RUN: a Fashion-MNIST run "
            "(cs231n diffusion train --data fashion-mnist -o RUN)"
        )
    diffusion, config = load_run(args.run)
    scorer = DomainScorer("fashion-mnist", samples=args.samples, log=print)
    total = diffusion.num_timesteps
    print(
        f"{args.run}: {config['model']}; {args.samples} samples each, guidance "
        f"{args.cfg_scale:g}; floor (real vs real): Fréchet {scorer.floor:.2f}, "
        f"KID {scorer.kid_floor:.3g}"
    )
    print(
        f"{'sampler':12s} {'steps':>5s} {'ms/image':>9s} {'Fréchet':>8s} {'KID':>8s} {'class acc':>9s}"
    )
    settings = [("ddpm", total)] + [("ddim", k) for k in args.ddim_steps if k <= total]
    for sampler, steps in settings:
        s = score_diffusion(diffusion, scorer, sampler, steps, args.cfg_scale)
        ms = 1e3 * s["sampling_seconds"] / s["samples"]
        print(
            f"{sampler:12s} {steps:5d} {ms:9.1f} {s['fid_generated_vs_test']:8.2f} "
            f"{s['kid_generated_vs_test']:8.3g} {s['generated_class_accuracy']:9.1%}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["unet", "samplers"], default="unet")
    parser.add_argument("--batch-size", type=int, default=256, help="training batch (course: 256)")
    parser.add_argument("--sample-batch", type=int, default=16)
    parser.add_argument("--cfg-scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--run", type=Path, default=None, help="a Fashion-MNIST run (samplers)")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--ddim-steps", type=int, nargs="+", default=[50, 20, 10])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    (bench_unet if args.part == "unet" else bench_samplers)(args)


if __name__ == "__main__":
    main()
