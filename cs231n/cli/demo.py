"""``cs231n demo``: every part of the assignment in one HTML report, over cs231n.report.demo."""

from __future__ import annotations

import time
from pathlib import Path

from ..report.demo import run_demo
from .common import UserError, add_command, writable_output


def cmd_demo(args) -> int:

    out = writable_output(Path(args.output) / "index.html").parent
    runs = None
    if args.runs is not None:
        runs = Path(args.runs)
        if runs.exists() and not runs.is_dir():
            raise UserError(f"--runs {runs}: not a folder")
        writable_output(runs / "gan" / "config.json")  # its folder can be made and written
    start = time.perf_counter()
    path, sections = run_demo(
        out,
        quick=args.quick,
        data_root=args.data_dir,
        fetch=not args.offline,
        mirror=args.mirror,
        runs=runs,
    )
    ran = [s for s in sections if s.status == "ok"]
    print(
        f"Report: {path.resolve()} ({len(ran)} of {len(sections)} parts ran, "
        f"{time.perf_counter() - start:.0f} s)"
    )
    return 0 if ran else 1


def add_parser(commands):
    demo = add_command(
        commands,
        "demo",
        cmd_demo,
        help="run every part of the assignment and write an HTML report",
        description="Captioning (COCO or the built-in Shapes data), network visualization, style "
        "transfer, GANs, self-supervised learning (SimCLR) and the diffusion model (DDPM), ending in OUT/index.html. The data the parts need (SqueezeNet "
        "weights, ImageNet images, style images, Fashion-MNIST) is fetched first when missing, "
        "from its official source, verified (`cs231n data status` shows what is there). "
        "Offline, or with --offline, a part whose data is missing is skipped, and both the "
        "output and the report name each missing asset and the one command that fetches it; "
        "the command fails only if no part could run. --quick runs everything with tiny "
        "settings (under a minute on a 2-core CPU; the full demo: about 15 minutes). OUT "
        "holds the page and its figures (a few MB); the training runs (GAN, SimCLR and DDPM checkpoints) go "
        "to --runs, which the report links. Progress is a live bar on a terminal and a "
        "plain line every 30 s in a log ($CS231N_PROGRESS_INTERVAL).",
    )
    demo.add_argument("--quick", action="store_true", help="tiny settings: a smoke test")
    demo.add_argument(
        "--offline", action="store_true", help="do not fetch missing data; skip what needs it"
    )
    demo.add_mirror()
    demo.add_output(
        "report", "DIR", "report folder: the page and its figures (default: %(default)s)"
    )
    demo.add_argument(
        "--runs",
        metavar="DIR",
        help="folder for the training runs (GAN, SimCLR and DDPM checkpoints, ~150 MB), which the report "
        "links (default: a folder in the cache, one per report folder and mode)",
    )
    demo.add_data_dir()
