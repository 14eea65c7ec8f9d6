"""Speed of cs231n.fast_layers at the course's batch (50 x 3 x 32 x 32, 25 3x3 filters, pad 1,
then 2x2 max-pool), forward and backward, median of ``--repeats`` runs.

The course's Cython reference takes a few milliseconds per call; a time in the hundreds of
milliseconds means a Python-level loop crept in. (This was a test with a 2-second bound; timings
belong here, not in tests.)

Run on an otherwise idle machine:  .venv/bin/python bench/bench_fast_layers.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from cs231n import fast_layers as fl


def median_ms(step, repeats):
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((50, 3, 32, 32)), rng.standard_normal((25, 3, 3, 3)), np.zeros(25)
    conv = {"stride": 1, "pad": 1}
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, conv_cache = fl.conv_forward_fast(x, w, b, conv)
    pooled, pool_cache = fl.max_pool_forward_fast(out, pool)
    rows = [
        ("conv forward", lambda: fl.conv_forward_fast(x, w, b, conv)),
        ("conv backward", lambda: fl.conv_backward_fast(out, conv_cache)),
        ("max-pool forward", lambda: fl.max_pool_forward_fast(out, pool)),
        ("max-pool backward", lambda: fl.max_pool_backward_fast(pooled, pool_cache)),
    ]
    for name, step in rows:
        print(f"{name:18s} {median_ms(step, args.repeats):8.2f} ms")


if __name__ == "__main__":
    main()
