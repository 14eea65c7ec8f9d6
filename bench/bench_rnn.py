"""Speed of the NumPy captioning core at the COCO shapes, measured side by side.

Times forward+backward of the sequence layers and of one full ``CaptioningRNN.loss`` (float32):

- ``vectorised``: cs231n.rnn_layers / CaptioningRNN (this package; the model skips caption
  padding by packing the sequences);
- ``unpacked``: the model's loss composed as the assignment does (all N x T positions, then
  masked) on the same vectorised layers (rnn_layers_reference.UnpackedCaptioningRNN);
- ``step loop``: the assignment's composition on layers that loop over the step functions, one
  input projection and one weight-gradient product per timestep (StepwiseCaptioningRNN);
- ``torch``: PyTorch on the CPU (nn.RNN / nn.LSTM plus the same projection, embedding, affine
  and masked softmax loss, all N x T positions), float32, 2 threads (`--threads`), autograd backward.

Captions are drawn with COCO-like lengths (words ~ N(10.5, 2.4) clipped to [5, 15], then
<END> and <NULL> padding to 17 columns); the "full length" case has no padding at all, so
packing gains nothing there.

Each implementation runs in blocks (a few warm-up calls, then timed calls), and the blocks
alternate for several cycles: side by side in one run, but without one library's idle worker
threads (OpenBLAS and OpenMP spin for a while after each call) stealing the cores from the
other's timed calls. Prints medians and ratios. Targets (issue 23, item 2): the LSTM model step
at full caption length at most 1.0x PyTorch's time, and at least 1.8x faster than the step loop.

``--bound`` adds the physical floor: the matrix products that any implementation of the LSTM
layer (and of the full-length LSTM model step) must run, timed alone, as sgemm calls in NumPy
(OpenBLAS) and in PyTorch (MKL) side by side, with their FLOP count. The NumPy version cannot
beat its own sgemm-only time, so ``numpy sgemm / torch total`` is the best ratio it can reach.

Run on an otherwise idle machine:  .venv/bin/python bench/bench_rnn.py [--cycles 6] [--bound]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from cs231n.captioning.reference import (
    StepwiseCaptioningRNN,
    UnpackedCaptioningRNN,
    lstm_backward_stepwise,
    lstm_forward_stepwise,
    rnn_backward_stepwise,
    rnn_forward_stepwise,
)
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.rnn_layers import lstm_backward, lstm_forward, rnn_backward, rnn_forward

N, T, D, W, H, V = 50, 16, 512, 256, 512, 1004
# --bound: (row label, the row whose floor it is, whether the model's products are included)
BOUNDS = (
    ("sgemm only (lstm layer)", "lstm_forward+backward", False),
    ("sgemm only (lstm model, full length)", "CaptioningRNN.loss (lstm, full length)", True),
)


def numpy_layer(forward, backward, x, h0, Wx, Wh, b, dh):
    def run():
        h, cache = forward(x, h0, Wx, Wh, b)
        return backward(dh, cache)

    return run


def torch_layer(cell, x, h0, dh, gates):
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM}[cell](W, H, batch_first=True)
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0)[None].requires_grad_()
    dht = torch.from_numpy(dh)
    state = h0t if gates == 1 else (h0t, torch.zeros_like(h0t))

    def run():
        xt.grad = h0t.grad = None
        module.zero_grad(set_to_none=True)
        out, _ = module(xt, state)
        out.backward(dht)

    return run


class TorchCaptioner(torch.nn.Module):
    """The CaptioningRNN computation in PyTorch (same shapes, same masked loss / N)."""

    def __init__(self, cell):
        super().__init__()
        self.proj = torch.nn.Linear(D, H)
        self.embed = torch.nn.Embedding(V, W)
        self.rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM}[cell](W, H, batch_first=True)
        self.vocab = torch.nn.Linear(H, V)
        self.cell = cell

    def forward(self, features, captions):
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        h0 = self.proj(features)[None]
        state = h0 if self.cell == "rnn" else (h0, torch.zeros_like(h0))
        h, _ = self.rnn(self.embed(captions_in), state)
        scores = self.vocab(h)
        losses = torch.nn.functional.cross_entropy(
            scores.reshape(-1, V), captions_out.reshape(-1), reduction="none"
        )
        mask = (captions_out != 0).reshape(-1)
        return (losses * mask).sum() / captions.shape[0]


def coco_like_batch(full_length=False, seed=0):
    """N captions (N, T + 1) over a 1004-word vocabulary and their (N, D) features."""
    rng = np.random.default_rng(seed)
    words = np.full(N, T - 1) if full_length else np.clip(rng.normal(10.5, 2.4, N).round(), 5, 15)
    captions = np.zeros((N, T + 1), dtype=np.int32)
    captions[:, 0] = 1
    for row, n in zip(captions, words.astype(int), strict=True):
        row[1 : n + 1] = rng.integers(4, V, n)
        row[n + 1] = 2
    return captions, rng.standard_normal((N, D)).astype(np.float32)


def model_runs(cell, full_length=False):
    captions, features = coco_like_batch(full_length)
    word_to_idx = {f"w{i}": i for i in range(V)} | {"<NULL>": 0, "<START>": 1, "<END>": 2}
    np.random.seed(0)
    kwargs = dict(input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, dtype=np.float32)
    fast = CaptioningRNN(word_to_idx, **kwargs)
    unpacked = UnpackedCaptioningRNN(word_to_idx, **kwargs)
    loop = StepwiseCaptioningRNN(word_to_idx, **kwargs)
    unpacked.params = loop.params = fast.params
    net = TorchCaptioner(cell)
    ft, ct = torch.from_numpy(features), torch.from_numpy(captions.astype(np.int64))

    def run_torch():
        net.zero_grad(set_to_none=True)
        net(ft, ct).backward()

    return {
        "vectorised": lambda: fast.loss(features, captions),
        "unpacked": lambda: unpacked.loss(features, captions),
        "step loop": lambda: loop.loss(features, captions),
        "torch": run_torch,
    }


def sgemm_runs(model):
    """The unavoidable matrix products of one LSTM forward+backward at full length (and, with
    ``model``, of CaptioningRNN.loss around it), alone: ``(runs, flops)``.

    Per step, in sequence (2T products): h_{t-1} Wh forward and dA_t Wh^T backward. Once, over
    all N*T positions: X Wx, dX = dA Wx^T, dWx = X^T dA, dWh = H_prev^T dA; the model adds the
    projection h0 = F W_proj (and dW_proj) and the vocabulary layer S = H W_vocab, dH, dW_vocab.
    Elementwise work, copies and the softmax come on top of this floor.
    """
    rng = np.random.default_rng(1)

    def mat(*shape):
        return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

    S, G = N * T, 4 * H
    step = [(mat(N, H), mat(H, G), False, False), (mat(N, G), mat(H, G), False, True)]
    once = [
        (mat(S, W), mat(W, G), False, False),  # X Wx
        (mat(S, G), mat(W, G), False, True),  # dA Wx^T
        (mat(S, W), mat(S, G), True, False),  # X^T dA
        (mat(S, H), mat(S, G), True, False),  # H_prev^T dA
    ]
    if model:
        once += [
            (mat(N, D), mat(D, H), False, False),  # F W_proj
            (mat(N, D), mat(N, H), True, False),  # F^T dh0
            (mat(S, H), mat(H, V), False, False),  # H W_vocab
            (mat(S, V), mat(H, V), False, True),  # dS W_vocab^T
            (mat(S, H), mat(S, V), True, False),  # H^T dS
        ]
    products = [p for p in step for _ in range(T)] + once

    def shape(a, ta):
        return a.shape[::-1] if ta else a.shape

    flops = sum(
        2 * shape(a, ta)[0] * shape(a, ta)[1] * shape(b, tb)[1] for a, b, ta, tb in products
    )
    np_ops = [(a.T if ta else a, b.T if tb else b) for a, b, ta, tb in products]
    torch_ops = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in np_ops]

    def run_numpy():
        for a, b in np_ops:
            np.matmul(a, b)

    def run_torch():
        for a, b in torch_ops:
            torch.mm(a, b)

    return {"vectorised": run_numpy, "torch": run_torch}, flops


def bench(cases, cycles, per_block=5, warmup=3):
    times = {name: {impl: [] for impl in impls} for name, impls in cases.items()}
    for _ in range(cycles):
        for name, impls in cases.items():
            for impl, fn in impls.items():
                for i in range(warmup + per_block):
                    start = time.perf_counter()
                    fn()
                    if i >= warmup:
                        times[name][impl].append(time.perf_counter() - start)
    return {
        name: {impl: statistics.median(ts) * 1e3 for impl, ts in impls.items()}
        for name, impls in times.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=4, help="alternations of the blocks")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/torch threads (default 2)")
    parser.add_argument(
        "--bound", action="store_true", help="also time the unavoidable sgemm calls alone"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # NumPy's OpenBLAS gets the same number of threads

    rng = np.random.default_rng(0)
    f32 = np.float32
    x = rng.standard_normal((N, T, W)).astype(f32)
    h0 = rng.standard_normal((N, H)).astype(f32)
    dh = rng.standard_normal((N, T, H)).astype(f32)
    cases = {}
    for cell, gates, fwd, bwd, fwd_loop, bwd_loop in (
        ("rnn", 1, rnn_forward, rnn_backward, rnn_forward_stepwise, rnn_backward_stepwise),
        ("lstm", 4, lstm_forward, lstm_backward, lstm_forward_stepwise, lstm_backward_stepwise),
    ):
        Wx = (rng.standard_normal((W, gates * H)) / np.sqrt(W)).astype(f32)
        Wh = (rng.standard_normal((H, gates * H)) / np.sqrt(H)).astype(f32)
        b = np.zeros(gates * H, f32)
        cases[f"{cell}_forward+backward"] = {
            "vectorised": numpy_layer(fwd, bwd, x, h0, Wx, Wh, b, dh),
            "step loop": numpy_layer(fwd_loop, bwd_loop, x, h0, Wx, Wh, b, dh),
            "torch": torch_layer(cell, x, h0, dh, gates),
        }
    for cell in ("rnn", "lstm"):
        cases[f"CaptioningRNN.loss ({cell})"] = model_runs(cell)
    cases["CaptioningRNN.loss (lstm, full length)"] = model_runs("lstm", full_length=True)
    flops = {}
    if args.bound:
        for label, _, model in BOUNDS:
            cases[label], flops[label] = sgemm_runs(model)

    print(
        f"N={N} T={T} D={D} W={W} H={H} V={V}, float32, numpy {np.__version__}, "
        f"torch {torch.__version__} ({args.threads} threads each), {args.cycles} cycles"
    )
    cases = {name: impls for name, impls in cases.items() if args.only in name}
    results = bench(cases, args.cycles)
    impls = ("vectorised", "unpacked", "step loop", "torch")
    print(f"{'median ms':40s}" + "".join(f"{i:>11s}" for i in impls) + "   loop/vec  vec/torch")
    for name, ms in results.items():
        cells = "".join(f"{ms[i]:11.2f}" if i in ms else f"{'-':>11s}" for i in impls)
        loop = f"{ms['step loop'] / ms['vectorised']:7.2f}x" if "step loop" in ms else f"{'-':>8s}"
        print(f"{name:40s}{cells}   {loop}  {ms['vectorised'] / ms['torch']:8.2f}x")
    for label, full, _ in BOUNDS:
        if label not in results or full not in results:
            continue
        count, gemm = flops[label], results[label]
        np_ms, torch_ms, torch_total = gemm["vectorised"], gemm["torch"], results[full]["torch"]
        print(
            f"\nFloor of {full} ({count / 1e9:.2f} GFLOP of sgemm): NumPy's products alone "
            f"{np_ms:.2f} ms ({count / np_ms / 1e6:.0f} GFLOP/s), PyTorch's {torch_ms:.2f} ms "
            f"({count / torch_ms / 1e6:.0f} GFLOP/s); PyTorch's whole step {torch_total:.2f} ms, "
            f"so NumPy can reach at best {np_ms / torch_total:.2f}x PyTorch's time "
            f"(now {results[full]['vectorised'] / torch_total:.2f}x)"
        )
    for name in ("CaptioningRNN.loss (lstm)", "CaptioningRNN.loss (lstm, full length)"):
        if name not in results:
            continue
        lstm = results[name]
        speedup = lstm["step loop"] / lstm["vectorised"]
        vs_torch = lstm["vectorised"] / lstm["torch"]
        print(
            f"\n{name}: {speedup:.2f}x faster than the step loop (target >= 1.8x: "
            f"{'met' if speedup >= 1.8 else 'NOT met'}); {vs_torch:.2f}x PyTorch's time "
            f"(target <= 1.0x: {'met' if vs_torch <= 1.0 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
