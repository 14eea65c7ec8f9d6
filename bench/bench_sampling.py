"""Captions decoded per second at the COCO shapes: greedy (the assignment's sample) and beam 3.

A CaptioningRNN with D=512 features, W=256, H=512 and a 1004-word vocabulary, decoding
``--images`` images in one batch for up to 16 words (COCO captions are at most 15 words plus
<END>). Random weights: the work per caption does not depend on what was learned, except that
beam search stops early once every beam has ended (random weights rarely end: the worst case).

Run on an otherwise idle machine:  .venv/bin/python bench/bench_sampling.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from cs231n.captioning.decode import beam_search, greedy
from cs231n.classifiers.rnn import CaptioningRNN

V, D, W, H = 1004, 512, 256, 512


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3}
    vocab |= {f"w{i}": i for i in range(4, V)}
    features = np.random.default_rng(0).standard_normal((args.images, D)).astype(np.float32)
    print(f"{args.images} images per batch, max 16 words, float32, numpy {np.__version__}")
    print(f"{'cell':6s} {'method':8s} {'captions/s':>11s} {'ms/batch':>10s}")
    for cell in ("rnn", "lstm"):
        np.random.seed(0)
        model = CaptioningRNN(vocab, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell)
        for name, decode, options in (
            ("greedy", greedy, {}),
            ("beam 3", beam_search, {"beam_size": 3}),
        ):
            decode(model, features, max_length=16, **options)  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                decode(model, features, max_length=16, **options)
                times.append(time.perf_counter() - start)
            t = statistics.median(times)
            print(f"{cell:6s} {name:8s} {args.images / t:11.0f} {t * 1e3:10.1f}")


if __name__ == "__main__":
    main()
