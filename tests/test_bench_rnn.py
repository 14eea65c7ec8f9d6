"""bench/bench_rnn.py's --bound arithmetic: the sgemm floor counts every unavoidable product."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "bench_rnn", Path(__file__).resolve().parents[1] / "bench" / "bench_rnn.py"
)
bench_rnn = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_rnn)


def layer_flops(N, T, W, H):
    """Hand count for one LSTM forward+backward (issue #23, item 2: "count the FLOPs"):
    2T recurrent products (N, H) x (H, 4H) and four over all N*T positions, 2 FLOPs a MAC."""
    S, G = N * T, 4 * H
    recurrent = 2 * T * (2 * N * H * G)
    batched = 3 * (2 * S * W * G) + 2 * H * S * G  # X Wx, dA Wx^T, X^T dA; H_prev^T dA
    return recurrent + batched


def test_layer_floor_counts_the_lstm_products():
    runs, flops = bench_rnn.sgemm_runs(model=False)
    N, T, W, H = bench_rnn.N, bench_rnn.T, bench_rnn.W, bench_rnn.H
    assert flops == layer_flops(N, T, W, H)
    # At the COCO shapes (N=50, T=16, W=256, H=512): 2 * 800 * 2048 * (3 * 512 + 3 * 256)
    assert flops == 7_549_747_200
    assert set(runs) == {"vectorised", "torch"}


def test_model_floor_adds_the_projection_and_vocabulary_products():
    _, flops = bench_rnn.sgemm_runs(model=True)
    N, T, D, W, H, V = (getattr(bench_rnn, k) for k in "NTDWHV")
    projection = 2 * (2 * N * D * H)  # F W_proj and F^T dh0
    vocabulary = 3 * (2 * N * T * H * V)  # H W_vocab, dS W_vocab^T, H^T dS
    assert flops == layer_flops(N, T, W, H) + projection + vocabulary


def test_floor_runs_both_libraries():
    runs, _ = bench_rnn.sgemm_runs(model=False)
    for run in runs.values():
        run()


def test_floor_operands_are_float32():
    """A float64 operand would time dgemm, not the sgemm both implementations run."""
    runs, _ = bench_rnn.sgemm_runs(model=True)
    operands = runs["vectorised"].__closure__[0].cell_contents
    assert {a.dtype.name for pair in operands for a in pair} == {"float32"}
