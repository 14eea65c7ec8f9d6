"""One SimCLR training step with the course's vectorised loss against lightly's NT-Xent loss.

Both sides run the same step: the same encoder and projection head (the run's default small
ResNet, or ``--arch resnet18``/``resnet50``), the same two augmented-looking batches, forward,
the loss, backward and an Adam step; only the loss differs:

- ``course``: :func:`cs231n.simclr.contrastive_loss.simclr_loss_vectorized`;
- ``lightly``: ``lightly.loss.NTXentLoss`` (tests/lightly_reference.py loads it without
  torchvision; install with ``pip install --no-deps lightly``, the ``ssl-reference`` extra).

The two values are checked equal first. Each side runs in blocks (warm-up steps, then timed
steps), the blocks alternating for several rounds; prints the medians, the ratio, and the loss
alone (forward+backward on a (B, 128) projection) for both. Target (issue 20): the course's step
at most 1.1x lightly's.

Run on an otherwise idle machine:
    .venv/bin/python bench/bench_simclr.py [--arch small] [--batch-size 256] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from lightly_reference import ntxent_loss_class  # noqa: E402

from cs231n.simclr.contrastive_loss import simclr_loss_vectorized  # noqa: E402
from cs231n.ssl.training import DEFAULTS, build_model  # noqa: E402


def _step(model, optimizer, x_i, x_j, loss_fn):
    _, left = model(x_i)
    _, right = model(x_j)
    loss = loss_fn(left, right)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def _timed(fn, warmup, steps, device):
    for _ in range(warmup):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["small", "resnet18", "resnet50"], default="small")
    parser.add_argument("--width", type=int, default=DEFAULTS["width"])
    parser.add_argument("--channels", type=int, choices=[1, 3], default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per block")
    parser.add_argument("--rounds", type=int, default=5, help="alternating blocks per side")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    ntxent = ntxent_loss_class()
    if ntxent is None:
        sys.exit("lightly is not installed: pip install --no-deps lightly")
    device = torch.device(args.device)
    tau = args.temperature
    theirs = ntxent(temperature=tau)
    losses = {
        "course": lambda a, b: simclr_loss_vectorized(a, b, tau, device),
        "lightly": theirs,
    }
    config = {**DEFAULTS, "arch": args.arch, "width": args.width}
    model = build_model(config, args.channels, seed=0).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    g = torch.Generator().manual_seed(0)
    shape = (args.batch_size, args.channels, 32, 32)
    x_i, x_j = (torch.randn(shape, generator=g).to(device) for _ in range(2))

    z_i = torch.randn(args.batch_size, 128, generator=g, dtype=torch.float64)
    z_j = torch.randn(args.batch_size, 128, generator=g, dtype=torch.float64)
    a, b = losses["course"](z_i, z_j).item(), theirs(z_i, z_j).item()
    assert abs(a - b) < 1e-9, (a, b)
    print(f"losses agree: {a:.12f} (course) vs {b:.12f} (lightly), float64, B={args.batch_size}")

    step_times = {name: [] for name in losses}
    loss_times = {name: [] for name in losses}
    z_left = torch.randn(args.batch_size, 128, generator=g).to(device).requires_grad_()
    z_right = torch.randn(args.batch_size, 128, generator=g).to(device).requires_grad_()
    for _ in range(args.rounds):
        for name, fn in losses.items():
            step_times[name].append(
                _timed(lambda fn=fn: _step(model, optimizer, x_i, x_j, fn), 1, args.steps, device)
            )
            loss_times[name].append(
                _timed(lambda fn=fn: fn(z_left, z_right).backward(), 3, 50, device)
            )
    print(
        f"{args.arch} (width {args.width}), batch {args.batch_size}, {args.channels} channel(s), "
        f"{device}, {torch.get_num_threads()} threads, {args.rounds} rounds of {args.steps} steps"
    )
    med = {n: statistics.median(t) for n, t in step_times.items()}
    loss_med = {n: statistics.median(t) for n, t in loss_times.items()}
    for name in losses:
        print(
            f"  {name:<8} step {med[name] * 1e3:9.1f} ms   loss fwd+bwd {loss_med[name] * 1e6:8.1f} us"
        )
    ratio = med["course"] / med["lightly"]
    print(
        f"course / lightly: step {ratio:.3f}x (target <= 1.1x), loss alone "
        f"{loss_med['course'] / loss_med['lightly']:.3f}x"
    )


if __name__ == "__main__":
    main()
