"""``cs231n demo`` on this machine: seconds per part, quick and full mode, fresh and warm cache.

Each run is its own process calling :func:`cs231n.report.demo.run_demo` with ``CS231N_CACHE`` set to
a new empty folder (fresh: the Shapes set and the GAN scoring classifier are built), then again
with that folder kept (warm). Per-part seconds come from the ``<!-- summary: {...} -->`` comment
at the end of the report; "process" is the whole process, Python and torch imports included.
The 1-minute load average before each run is printed too: the machine is shared, and timings
mean little when it is loaded: NumPy's and torch's spinning worker threads then fight the other
processes for the two cores (runs 5-10 times slower); ``OPENBLAS_NUM_THREADS=1
OMP_WAIT_POLICY=PASSIVE`` in the environment (passed on to the runs) avoids most of that. A full
run takes ~10 minutes; ``--quick-only`` skips them; ``--keep DIR`` keeps reports and caches.

Run:  CS231N_DATA=../shared/data .venv/bin/python bench/bench_demo.py [--quick-only] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUMMARY = re.compile(r"<!-- summary: (.*?) -->", re.S)
RUN = "import sys; from cs231n.report.demo import run_demo; run_demo(sys.argv[1], quick=sys.argv[2] == 'quick', data_root=sys.argv[3] or None)"


def short(title):
    """ "Network visualization (SqueezeNet)" -> "Network visualization"."""
    return title.split(" (")[0]


def run_once(mode, cache, out, data_dir, verbose):
    env = {**os.environ, "CS231N_CACHE": str(cache), "MPLBACKEND": "Agg"}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(out), mode, data_dir or ""],
        env=env,
        stdout=None if verbose else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.perf_counter() - start
    report = out / "index.html"
    match = SUMMARY.search(report.read_text(encoding="utf-8")) if report.exists() else None
    if match is None:
        sys.exit(f"{mode}: no report summary (exit code {proc.returncode})\n{proc.stdout or ''}")
    parts = json.loads(html.unescape(match.group(1)))
    return {"load": load, "process": seconds, "parts": parts}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--quick-only", action="store_true", help="skip the full runs (~10 min)")
    only.add_argument("--full-only", action="store_true", help="skip the quick runs")
    parser.add_argument("--data-dir", help="the data directory (default: CS231N_DATA)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--keep", help="keep the reports and caches in this folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the demo's output")
    args = parser.parse_args(argv)

    modes = ["quick"] if args.quick_only else ["full"] if args.full_only else ["quick", "full"]
    results = []
    if args.keep:
        work = Path(args.keep)
        work.mkdir(parents=True, exist_ok=True)
        if any(work.iterdir()):
            sys.exit(f"--keep {work}: the folder must be empty (the caches must start fresh)")
    else:
        work = Path(tempfile.mkdtemp(prefix="bench_demo_"))
    try:
        for mode in modes:
            cache = work / f"cache_{mode}"
            cache.mkdir()
            for state in ("fresh", "warm"):
                print(f"{mode} / {state} cache ...", file=sys.stderr, flush=True)
                result = run_once(
                    mode, cache, work / f"{mode}_{state}", args.data_dir, args.verbose
                )
                results.append({"mode": mode, "cache": state, **result})
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    titles = list(dict.fromkeys(t for r in results for t in r["parts"]))
    header = ["mode", "cache", *map(short, titles), "parts", "process", "load"]
    rows = []
    for r in results:
        cells = []
        for t in titles:
            part = r["parts"].get(t)
            cell = "-" if part is None else f"{part['seconds']:.1f}"
            if part is not None and part["status"] != "ok":
                cell += f" ({part['status']})"
            cells.append(cell)
        total = sum(p["seconds"] for p in r["parts"].values())
        rows.append(
            [
                r["mode"],
                r["cache"],
                *cells,
                f"{total:.1f}",
                f"{r['process']:.1f}",
                f"{r['load']:.2f}",
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)))
    print(f"(seconds; load: 1-minute load average before the run, on {os.cpu_count()} CPUs)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
