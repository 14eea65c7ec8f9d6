"""bench/bench_diffusion.py: its loader of lucidrains' classifier-free-guidance module (where
the bench-only extra is installed), checked against the course's schedules, and its timer."""

import importlib.util
from pathlib import Path

import pytest
import torch

from cs231n.gaussian_diffusion import cosine_beta_schedule, linear_beta_schedule

spec = importlib.util.spec_from_file_location(
    "bench_diffusion", Path(__file__).resolve().parents[1] / "bench" / "bench_diffusion.py"
)
bench_diffusion = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_diffusion)


def test_timed_runs_warmup_then_repeats_and_takes_the_median(monkeypatch):
    """A fake clock (no real time is measured): each timed run lasts as long as the fake step
    says, and the warm-up runs are not timed."""
    now, durations, calls = [0.0], iter([9.0, 9.0, 3.0, 1.0, 2.0]), []

    def step():
        calls.append(1)
        now[0] += next(durations)

    monkeypatch.setattr(bench_diffusion.time, "perf_counter", lambda: now[0])
    assert bench_diffusion.timed(step, repeats=3, warmup=2) == 2.0
    assert len(calls) == 5


def test_lucidrains_module_has_the_courses_schedules():
    """The course's code follows lucidrains' (denoising-diffusion-pytorch 2.3.4,
    classifier_free_guidance.py): the schedules agree to the bit, so the bench compares the
    same diffusion around two U-Nets."""
    module = bench_diffusion.lucidrains_module()
    if module is None:
        pytest.skip("the bench extra is not installed (pip install --no-deps "
                    "denoising-diffusion-pytorch==2.3.4 einops)")  # fmt: skip
    for T in (10, 1000):
        assert torch.equal(module.linear_beta_schedule(T), linear_beta_schedule(T))
        assert torch.equal(module.cosine_beta_schedule(T), cosine_beta_schedule(T))
    unet = module.Unet(dim=8, num_classes=3, dim_mults=(1, 2), channels=3)
    out = unet(torch.rand(2, 3, 8, 8), torch.tensor([1, 2]), classes=torch.tensor([0, 2]))
    assert out.shape == (2, 3, 8, 8)
