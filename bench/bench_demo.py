"""``cs231n demo`` on this machine: seconds per part, quick and full mode, fresh and warm cache,
against the demo's time budgets, so that the next part added knows what it may spend.

Each run is its own process running ``cs231n demo --offline`` (never a download: missing data
shows as a skipped part) with ``CS231N_CACHE`` set to a new empty folder (fresh: the Shapes set
and the GAN scoring classifier are built), then again with that folder kept (warm); its output
goes to a file, as in a log or CI. Per-part seconds come from the ``<!-- summary: {...} -->``
comment at the end of the report; "process" is the whole process, Python and torch imports
included; "log lines" counts the output's lines, each carriage return starting one (issue #23:
a few hundred at most); "report MB" is the report folder (the page and its figures; the
training runs go to the cache).

The budgets (issue #23): ``--quick`` at most 60 s and the full demo at most 15 minutes, both
from an empty cache (the fresh runs). After the table, each mode's budget line says how many
seconds are left for a new part.
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
# Seconds a whole `cs231n demo` process may take from an empty cache (issue #23, item 5).
BUDGETS = {"quick": 60.0, "full": 15 * 60.0}


def short(title):
    """ "Network visualization (SqueezeNet)" -> "Network visualization"."""
    return title.split(" (")[0]


def log_lines(text):
    """Lines as a log viewer shows them: each carriage return (a progress redraw) starts one."""
    return len([line for line in re.split(r"\r\n|\r|\n", text) if line])


def folder_bytes(folder):
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def run_once(mode, cache, out, data_dir, verbose):
    env = {**os.environ, "CS231N_CACHE": str(cache), "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "cs231n", "demo", "--offline", "-o", str(out)]
    command += ["--quick"] if mode == "quick" else []
    command += ["--data-dir", data_dir] if data_dir else []
    log = out.with_name(out.name + ".log")
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8", newline="") as f:
        proc = subprocess.run(command, env=env, stdout=f, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    text = log.read_text(encoding="utf-8", errors="replace")
    if verbose:
        sys.stderr.write(text)
    report = out / "index.html"
    match = SUMMARY.search(report.read_text(encoding="utf-8")) if report.exists() else None
    if match is None:
        sys.exit(f"{mode}: no report summary (exit code {proc.returncode})\n{text}")
    parts = json.loads(html.unescape(match.group(1)))
    return {
        "load": load,
        "process": seconds,
        "parts": parts,
        "log_lines": log_lines(text),
        "report_bytes": folder_bytes(out),
        "report_files": sum(1 for p in out.rglob("*") if p.is_file()),
    }


def budget_lines(results):
    """One line per mode: its fresh-cache process time against its budget, and what is left."""
    lines = []
    for r in results:
        if r["cache"] != "fresh":
            continue
        budget = BUDGETS[r["mode"]]
        left = budget - r["process"]
        status = f"{left:.0f} s left for new parts" if left >= 0 else f"OVER by {-left:.0f} s"
        line = f"{r['mode']}: {r['process']:.0f} s of {budget:.0f} s from an empty cache, {status}"
        if r["parts"]:
            title, part = max(r["parts"].items(), key=lambda kv: kv[1]["seconds"])
            line += f"; slowest part: {short(title)} ({part['seconds']:.0f} s)"
        lines.append(line)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--quick-only", action="store_true", help="skip the full runs (~10 min)")
    only.add_argument("--full-only", action="store_true", help="skip the quick runs")
    parser.add_argument("--data-dir", help="the data directory (default: CS231N_DATA)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--keep", help="keep the reports and caches in this folder")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show each run's output after it"
    )
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
    header = [
        "mode",
        "cache",
        *map(short, titles),
        "parts",
        "process",
        "log lines",
        "report MB",
        "load",
    ]
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
                r["log_lines"],
                f"{r['report_bytes'] / 2**20:.1f}",
                f"{r['load']:.2f}",
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)))
    print(f"(seconds; load: 1-minute load average before the run, on {os.cpu_count()} CPUs)")
    print("Budgets (issue #23):")
    for line in budget_lines(results):
        print("  " + line)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
