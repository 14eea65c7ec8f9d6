"""Steps per second of every PyTorch training command: 1 process x T threads against
N processes x T/N threads (torchrun, gloo), on the same global batch and data.

    .venv/bin/python bench/bench_distributed.py                  # 2 cores: 1x2 against 2x1
    .venv/bin/python bench/bench_distributed.py --nproc 4 --threads 4 --commands gan vit
    .venv/bin/python bench/bench_distributed.py --commands ssl diffusion
    .venv/bin/python bench/bench_distributed.py --quick          # a few steps: does it run?

Each run is the command itself (``python -m cs231n ... [--nproc N]``) on the data in
``CS231N_DATA``, one epoch over as many examples as the steps take. Start-up (imports, data, the
process group) is taken out by timing each setting twice, with ``--steps`` and with a quarter
of it: steps/s = (steps - steps/4) / (t_long - t_short). Run it on an otherwise idle machine:
figures taken while others compute mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Per command: its arguments (the default sizes), its global batch, and the option that sets
# how long the run is: how many examples one epoch has (steps x batch of them), or, for
# diffusion (which counts steps, not epochs), the steps themselves.
COMMANDS = {
    "gan": (["gan", "train", "--epochs", "1", "--sample-every", "1000000", "-q"], 128,
            "--max-images"),
    "vit": (["vit", "train", "--epochs", "1", "-q"], 64, "--max-images"),
    "caption": (["caption", "train", "--model", "transformer", "--epochs", "1", "-q"], 100,
                "--max-train"),
    # SimCLR: the CPU-sized small ResNet on Fashion-MNIST, batch 128 (cs231n.ssl.training).
    "ssl": (["ssl", "train", "--epochs", "1", "-q"], 128, "--max-images"),
    # DDPM: the CPU-sized U-Net on Fashion-MNIST, no milestones or grids but the final one.
    "diffusion": (["diffusion", "train", "--data", "fashion-mnist", "--save-every", "1000000",
                   "--sample-every", "1000000", "--restart", "-q"], 64, "--steps"),
}  # fmt: skip
STEP_OPTIONS = {"--steps"}  # options that count steps rather than examples
QUICK_STEPS = 8


def run(command, steps, nproc, threads, out) -> float:
    """Seconds ``command`` takes for ``steps`` steps (start-up included)."""
    args, batch, size_option = COMMANDS[command]
    argv = [sys.executable, "-m", "cs231n", "--threads", str(threads), *args]
    length = steps if size_option in STEP_OPTIONS else steps * batch
    argv += ["--batch-size", str(batch), size_option, str(length), "-o", str(out)]
    if nproc > 1:
        argv += ["--nproc", str(nproc)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def steps_per_second(command, steps, nproc, threads) -> float:
    """Steps per second past start-up (NaN when the run is too short to tell)."""
    short = max(1, steps // 4)
    times = []
    for n in (short, steps):
        with tempfile.TemporaryDirectory() as tmp:
            times.append(run(command, n, nproc, threads, Path(tmp) / command))
    if times[1] <= times[0]:  # start-up varied more than the steps took: no figure
        return float("nan")
    return (steps - short) / (times[1] - times[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="threads in all (per machine)")
    parser.add_argument("--steps", type=int, default=200, help="steps of the long run")
    parser.add_argument("--commands", nargs="+", choices=sorted(COMMANDS), default=list(COMMANDS))
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps: does it run?")
    args = parser.parse_args(argv)
    steps = QUICK_STEPS if args.quick else args.steps
    results = {}
    for command in args.commands:
        row = {}
        for nproc in (1, args.nproc):
            threads = max(1, args.threads // nproc)
            row[f"{nproc}x{threads}"] = round(steps_per_second(command, steps, nproc, threads), 2)
        results[command] = row
        print(f"{command}: steps/s " + ", ".join(f"{k}: {v}" for k, v in row.items()), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
