"""bench/bench_demo.py's arithmetic: log lines as a viewer counts them, and the budget lines."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "bench_demo", Path(__file__).resolve().parents[1] / "bench" / "bench_demo.py"
)
bench_demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_demo)


def test_each_carriage_return_counts_as_a_line():
    # a tqdm bar redrawn twice, then closed, as it lands in a file
    assert bench_demo.log_lines("== part\n\rtrain 1%\rtrain 2%\rtrain 100%\n   ok\r\n") == 5


def test_the_budgets_are_the_issues():
    """Issue #23, item 5: --quick at most 60 s, the full demo at most 15 minutes."""
    assert bench_demo.BUDGETS == {"quick": 60.0, "full": 900.0}


def test_budget_lines_say_what_is_left_or_over():
    parts = {"Style transfer": {"seconds": 5.0}, "GANs (Fashion-MNIST)": {"seconds": 20.0}}
    results = [
        {"mode": "quick", "cache": "fresh", "process": 41.0, "parts": parts},
        {"mode": "quick", "cache": "warm", "process": 30.0, "parts": parts},
        {"mode": "full", "cache": "fresh", "process": 934.0, "parts": parts},
    ]
    assert bench_demo.budget_lines(results) == [
        "quick: 41 s of 60 s from an empty cache, 19 s left for new parts; slowest part: GANs "
        "(20 s)",
        "full: 934 s of 900 s from an empty cache, OVER by 34 s; slowest part: GANs (20 s)",
    ]
