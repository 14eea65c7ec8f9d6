"""Run one of the course's own notebooks against the package, cell by cell (issue 18).

Usage:
    python tools/run_course_notebook.py NOTEBOOK.ipynb --edition 2025 [options]

The notebook's code cells run in order, in one namespace, in a subprocess whose working directory
is a scratch folder (``--scratch``, default a new temporary folder). ``import cs231n...`` resolves
to this repository's package (its root is put first on ``sys.path``; the scratch folder is not on
it). Nothing in the notebook is rewritten except what is listed below, and every change is
printed with the cell it touched, tagged:

[magic]  IPython lines (``%matplotlib``, ``%load_ext``, ``%autoreload``, ``%cd``, ``!bash
         get_datasets.sh``, ...) become ``pass``; a cell of nothing else is skipped, as is the
         Colab cell (``from google.colab import drive``).
[data]   data paths only. The scratch folder holds what the notebooks open by relative path:
         ``cs231n/datasets/squeezenet.ckpt*`` (links to the package's converted checkpoint: the
         2017/2018 TF1 layout for graph-mode editions, else the 2020 Keras one; no
         ``__init__.py``, so it never shadows the package), ``styles/`` (CS231N_DATA's) and the
         files given with ``--link NAME=PATH`` (e.g. the edition's ``style-transfer-checks-tf.npz``).
         A Colab ``SAVE_PATH = '/content/drive/...'`` line becomes the notebook's own local one,
         ``SAVE_PATH = 'cs231n/datasets/squeezenet.ckpt'``. ``CS231N_DATA`` is ``--data``.
[tf1]    editions up to 2018: ``import tensorflow as tf`` -> ``import tensorflow.compat.v1 as
         tf; tf.disable_v2_behavior()`` (TensorFlow 1 graph code under TensorFlow 2), and
         ``from tensorflow.examples.tutorials.mnist import input_data`` -> ``from cs231n.data
         import input_data``.
[env]    ``from scipy.misc import imread, imresize`` is dropped when no other cell uses those
         names (they are gone from SciPy >= 1.2; the README names this change). SciPy itself
         comes with the ``notebooks`` extra (``./setup.sh`` installs it).
[env]    ``--legacy-dropout``: ``torch.nn.functional.dropout`` draws its masks as the PyTorch
         builds of 2021-2025 did (CS231N_LEGACY_DROPOUT=1, cs231n.core.dropout): those notebooks' checks run in
         training mode, so their expected values hold dropout masks current PyTorch draws
         differently. Without it those checks print errors near 1 (a MISMATCH that is
         PyTorch's, not the package's).
[reduce] plainly long training runs are shortened (``--no-reduce`` keeps them), each named:
         the GAN notebooks' ``run_a_gan(...)`` train 1 epoch of ``--gan-batches`` batches.
[user]   ``--replace 'OLD=>NEW'``: a change a user makes to the notebook's code (e.g. the README's
         one-line Keras 3 change); not a data-path patch, so reported apart.

``--skip CELL:REASON`` skips a cell by its notebook index (e.g. a student's own cell opening a
file of theirs), ``--env NAME=VALUE`` sets a variable (``TF_USE_LEGACY_KERAS=1``), and
``--threads`` (default 1) caps PyTorch's and TensorFlow's CPU threads.

Cells are skipped (never run) when they need data that is not available offline, said per cell:
COCO captioning's HDF5 files (``load_coco_data``; ``--synthetic-coco`` writes random captions
with the real vocabulary in the course's file format instead and runs them), CIFAR-10
(``torchvision.datasets.CIFAR10``), images at URLs (``image_from_url``); and a cell that uses a
name only a skipped cell defined is skipped too ("depends on cell N"), one whose name came from
a failed cell is "blocked". Before anything runs, ``os.environ["CS231N_EDITION"]`` is the edition,
matplotlib uses Agg (``plt.show()`` draws nothing) and CUDA is hidden (CPU only).

Each cell gets ``--cell-timeout`` seconds and the notebook ``--timeout`` in all. One line per cell:
``ok`` (with the check values the cell printed, e.g. ``error: 2.6e-09``; a printed error above
the bound the notebook states for that check, in the cell's comments or the markdown before it
-- "less than `7e-3`"; "on the order of e-3 or less", read as below 1e-2 -- else above
``--tolerance``, or an "Incorrect ..." / "WARNING!" line makes it ``MISMATCH``; what the
notebook's own saved run printed is shown beside it), ``failed`` (the exception's first line),
``skipped`` (why), ``blocked``, ``not run`` (time ran out). Each cell's output is in the scratch
folder (``cell_NNN.log``). ``--json FILE`` writes the same as a list of records. Exit status: 0
when no cell failed, mismatched or was blocked.

Example (the 2025 Transformer notebook of lllllliuji/cs231n-2025-assignment):
    git --git-dir=/work/.mirror/lllllliuji+cs231n-2025-assignment/repo show \\
        HEAD:assignment3/Transformer_Captioning.ipynb > /tmp/tc2025.ipynb
    CS231N_DATA=../shared/data .venv/bin/python tools/run_course_notebook.py /tmp/tc2025.ipynb \\
        --edition 2025
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# Reading and patching cells (the parent process)
# ---------------------------------------------------------------------------------------------

MAGIC = re.compile(r"^(\s*)([%!].*)$")
COLAB = re.compile(r"^\s*from\s+google\.colab\s+import", re.M)
TF_IMPORT = re.compile(r"^(\s*)import tensorflow as tf\s*$", re.M)
TF_MNIST = re.compile(
    r"^(\s*)from tensorflow\.examples\.tutorials\.mnist import input_data\s*$", re.M
)
COLAB_SAVE_PATH = re.compile(r"^(\s*)SAVE_PATH\s*=\s*['\"]/content/drive/.*$", re.M)
SCIPY_MISC = re.compile(r"^(\s*)from scipy\.misc import ([\w ,]+)$", re.M)
RUN_A_GAN = re.compile(r"run_a_gan\((?P<args>[^()]*)\)")

# (pattern in the source, why the cell cannot run offline)
NEEDS_DATA = [
    (
        re.compile(r"\bload_coco_data\("),
        "needs COCO captioning's HDF5 files (coco2014_captions.h5, train/val2014_vgg16_fc7_pca.h5,"
        " urls), not available offline (only coco2014_vocab.json is)",
    ),
    (re.compile(r"\bCIFAR10\("), "needs CIFAR-10 (torchvision download), not reachable offline"),
    (re.compile(r"\bimage_from_url\("), "needs the internet (COCO image URLs)"),
]


def cell_source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def read_code_cells(path: Path) -> list[tuple[int, str, str]]:
    """(index in the notebook, source, the markdown just before it) of each code cell with any
    code."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    out, text = [], ""
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "markdown":
            text += cell_source(c) + "\n"
        elif c["cell_type"] == "code":
            if cell_source(c).strip():
                out.append((i, cell_source(c), text, saved_output(c)))
            text = ""
    return out


def saved_output(cell) -> str:
    """The text the notebook's own (saved) run of the cell printed."""
    parts = []
    for o in cell.get("outputs", []):
        text = o.get("text") or o.get("data", {}).get("text/plain", "")
        parts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(parts)


TOLERANCE = re.compile(
    r"(?P<kind>less than|order of)\s*`?\$?(?P<mant>\d*\.?\d*)\s*(?:e|x\s*10\^?\{?)"
    r"(?P<exp>[-−]\s*\d+)",
    re.I,
)


def stated_tolerance(text: str) -> tuple[float, str] | None:
    """The error bound the notebook states for a check ("less than `7e-3`": 7e-3; "on the
    order of e-3 or less": 1e-2, a tenfold margin), and its words; the loosest if several."""
    found = []
    for m in TOLERANCE.finditer(text):
        value = float(m.group("mant") or 1) * 10.0 ** int(
            m.group("exp").replace("−", "-").replace(" ", "")
        )
        if m.group("kind").lower() == "order of":
            value *= 10
        found.append((value, m.group(0).replace("`", "").replace("$", "").strip()))
    return max(found) if found else None


def strip_magics(src: str) -> tuple[str, list[str]]:
    """IPython magics and shell lines -> ``pass`` (same indentation); the lines dropped."""
    lines, dropped = [], []
    body = src.split("\n")
    if body and body[0].lstrip().startswith("%%"):
        dropped.append(body[0].strip())
        body = body[1:]
    for line in body:
        m = MAGIC.match(line)
        if m:
            dropped.append(m.group(2).strip())
            lines.append(m.group(1) + "pass")
        else:
            lines.append(line)
    return "\n".join(lines), dropped


def only_pass(src: str) -> bool:
    """True when the code (magics already ``pass``) does nothing."""
    try:
        return all(isinstance(node, ast.Pass) for node in ast.parse(src).body)
    except SyntaxError:
        return False


def names_used(src: str) -> set[str]:
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def prepare(
    cells,
    edition: int,
    graph_mode: bool,
    reduce: bool,
    gan_batches: int,
    synthetic_coco: bool,
    replacements=(),
):
    """Each cell as a dict: index, source (patched), patches, skip (reason or None)."""
    plain = [strip_magics(src)[0] for _, src, _, _ in cells]
    out = []
    for k, (index, original, markdown, saved) in enumerate(cells):
        src, dropped = strip_magics(original)
        patches, skip = [], None
        if COLAB.search(original):
            skip = "Colab setup (mounts Google Drive, downloads data): not for a local run"
        elif dropped and only_pass(src):
            skip = "IPython/shell lines only: " + "; ".join(dropped)[:120]
        if dropped and not skip:
            patches.append("[magic] dropped " + "; ".join(dropped)[:160])
        if graph_mode and TF_IMPORT.search(src):
            src = TF_IMPORT.sub(
                r"\1import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()", src
            )
            patches.append("[tf1] import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()")
        if TF_MNIST.search(src):
            src = TF_MNIST.sub(r"\1from cs231n.data import input_data", src)
            patches.append(
                "[tf1] from cs231n.data import input_data (TF 2 has no tensorflow.examples)"
            )
        for old, new in replacements:
            if old in src:
                src = src.replace(old, new)
                patches.append(f"[user] replaced {old!r} with {new!r} (--replace)")
        if COLAB_SAVE_PATH.search(src):
            src = COLAB_SAVE_PATH.sub(r"\1SAVE_PATH = 'cs231n/datasets/squeezenet.ckpt'", src)
            patches.append(
                "[data] Colab SAVE_PATH -> the notebook's local 'cs231n/datasets/squeezenet.ckpt'"
            )
        for m in list(SCIPY_MISC.finditer(src)):
            names = {n.strip() for n in m.group(2).split(",") if n.strip()}
            elsewhere = set().union(*(names_used(p) for j, p in enumerate(plain) if j != k))
            here = names_used(src.replace(m.group(0), ""))
            if not names & (elsewhere | here):
                src = src.replace(m.group(0), m.group(1) + "pass", 1)
                patches.append(
                    f"[env] dropped unused `from scipy.misc import "
                    f"{', '.join(sorted(names))}` (gone from SciPy >= 1.2)"
                )
        if reduce and "def run_a_gan" not in src:

            def shorten(m):
                args = m.group("args").strip()
                args = re.sub(r",?\s*num_epochs\s*=\s*\d+", "", args)
                return (
                    f"run_a_gan({args}, num_epochs=1, loader_train=__course_nb__."
                    f"first_batches(MNIST(batch_size=128, shuffle=True), {gan_batches}))"
                )

            new = RUN_A_GAN.sub(shorten, src)
            if new != src:
                src = new
                patches.append(
                    f"[reduce] long training run: run_a_gan trains 1 epoch of "
                    f"{gan_batches} batches (the notebook: 10 epochs, DCGAN 5, of "
                    f"469 batches)"
                )
                if "MNIST" not in "".join(plain[: k + 1]):
                    src = "from cs231n.gan_tf import MNIST\n" + src
        if skip is None:
            for pattern, why in NEEDS_DATA:
                if pattern.search(src):
                    if synthetic_coco and "load_coco_data" in pattern.pattern:
                        patches.append(
                            "[data] COCO: synthetic captions and features in the "
                            "course's file format (--synthetic-coco)"
                        )
                        continue
                    skip = why
                    break
        comments = "\n".join(ln for ln in original.splitlines() if ln.lstrip().startswith("#"))
        tol = stated_tolerance(comments) or stated_tolerance(markdown)
        out.append(
            {
                "index": index,
                "source": src,
                "patches": patches,
                "skip": skip,
                "tolerance": tol,
                "saved_checks": check_values(saved),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# The scratch folder (data paths)
# ---------------------------------------------------------------------------------------------


def link(target: Path, name: Path):
    name.parent.mkdir(parents=True, exist_ok=True)
    if name.is_symlink() or name.exists():
        name.unlink()
    name.symlink_to(Path(target).resolve())


def prepare_scratch(
    scratch: Path,
    data: Path,
    graph_mode: bool,
    uses_squeezenet: bool,
    links: list[str],
    synthetic_coco: bool,
    env: dict,
) -> Path:
    """Fill the scratch folder; returns the CS231N_DATA to use."""
    scratch.mkdir(parents=True, exist_ok=True)
    if (data / "styles").is_dir():
        link(data / "styles", scratch / "styles")
    if uses_squeezenet:
        which = "squeezenet_tf1_checkpoint" if graph_mode else "squeezenet_checkpoint"
        code = f"from cs231n.pretrained.squeezenet_tf import {which}; print({which}())"
        prefix = (
            subprocess.run(
                [sys.executable, "-c", code],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        prefix = Path(prefix)
        for f in prefix.parent.iterdir():
            if f.name.startswith(prefix.name):
                link(f, scratch / "cs231n" / "datasets" / f.name)
    for spec in links:
        name, _, target = spec.partition("=")
        link(Path(target), scratch / name)
    if not synthetic_coco:
        return data
    # A data root of links to CS231N_DATA's entries, with coco_captioning replaced.
    root = scratch / "_data"
    root.mkdir(exist_ok=True)
    for entry in data.iterdir():
        if entry.name != "coco_captioning":
            link(entry, root / entry.name)
    code = (
        "import sys\n"
        "from cs231n.coco_utils import random_caption_data, write_coco_data, load_coco_vocab\n"
        f"vocab = load_coco_vocab({str(data / 'coco_captioning' / 'coco2014_vocab.json')!r})\n"
        "d = random_caption_data(num_train=500, num_val=100, vocab=vocab, feature_dim=512, "
        "seed=0)\n"
        f"write_coco_data({str(root / 'coco_captioning')!r}, d, pca_features=True)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return root


# ---------------------------------------------------------------------------------------------
# The worker (runs the cells)
# ---------------------------------------------------------------------------------------------


class CellTimeout(Exception):
    pass


def stored_names(src: str) -> set[str]:
    """Top-level names a cell binds (assignments, imports, defs), by ``ast``."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add((a.asname or a.name).split(".")[0])
    return names


def loaded_before_stored(src: str) -> set[str]:
    """Names a cell reads before any line of it binds them (an approximation by line number:
    a name bound on the same line, as a comprehension's or a for loop's target, counts as bound;
    function and lambda parameters are bindings)."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return set()
    first_store, loads = {}, []

    def store(name, line):
        first_store[name] = min(first_store.get(name, line), line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loads.append((node.id, node.lineno))
            else:
                store(node.id, node.lineno)
        elif isinstance(node, ast.arg):
            store(node.arg, node.lineno)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            store(node.name, node.lineno)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                store((a.asname or a.name).split(".")[0], node.lineno)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            store(node.name, node.lineno)
    return {n for n, line in loads if first_store.get(n, 10**9) > line}


CHECK_VALUE = re.compile(
    r"(?P<label>[\w\s'\-]*?(?:error|difference)[\w\s'\-]*?)\s*(?:is|:)?\s*:?\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\b",
    re.I,
)


def check_values(text: str):
    """(label, value) for each 'error'/'difference' number the cell printed."""
    found = []
    for line in text.splitlines():
        for m in CHECK_VALUE.finditer(line):
            try:
                found.append((m.group("label").strip() or "error", float(m.group("value"))))
            except ValueError:
                pass
    return found


def worker(spec_path: str):
    spec = json.loads(Path(spec_path).read_text())
    for p in reversed([str(ROOT)] + spec["extra_path"]):
        sys.path.insert(0, p)
    os.environ["CS231N_EDITION"] = str(spec["edition"])
    import types

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    helper = types.ModuleType("__course_nb__")

    def first_batches(loader, n):
        """A loader that yields only its first ``n`` batches on each pass ([reduce])."""

        class _First:
            def __iter__(self):
                for i, batch in enumerate(loader):
                    if i >= n:
                        return
                    yield batch

        return _First()

    helper.first_batches = first_batches
    sys.modules["__course_nb__"] = helper

    def on_alarm(signum, frame):
        raise CellTimeout(f"cell time limit of {spec['cell_timeout']} s")

    signal.signal(signal.SIGALRM, on_alarm)
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads > 0:
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:
            pass
    if spec.get("legacy_dropout"):
        # The package's opt-in (cs231n.core.dropout): the masks of the PyTorch builds the
        # 2021-2025 notebooks' expected values were printed with.
        os.environ["CS231N_LEGACY_DROPOUT"] = "1"
    ns = {"__name__": "__main__", "__course_nb__": helper}
    tainted: dict[str, tuple[str, int]] = {}  # name -> ("skipped" | "failed", cell index)
    results = open(spec["results"], "a", buffering=1)
    real_stdout = sys.stdout
    for cell in spec["cells"]:
        rec = {"index": cell["index"], "patches": cell["patches"]}
        src = cell["source"]
        binds = stored_names(src)
        if cell["skip"]:
            rec.update(status="skipped", why=cell["skip"])
            for n in binds:
                tainted[n] = ("skipped", cell["index"])
            results.write(json.dumps(rec) + "\n")
            continue
        deps = sorted(n for n in loaded_before_stored(src) if n in tainted)
        if deps:
            kind, where = tainted[deps[0]]
            status = "skipped" if kind == "skipped" else "blocked"
            rec.update(status=status, why=f"depends on {kind} cell {where} ({', '.join(deps[:4])})")
            for n in binds:
                tainted[n] = (kind, where)
            results.write(json.dumps(rec) + "\n")
            continue
        before = {n: id(ns[n]) for n in binds if n in ns}
        log_path = Path(spec["scratch"]) / f"cell_{cell['index']:03d}.log"
        start = time.time()
        with open(log_path, "w") as log:
            sys.stdout = sys.stderr = log
            try:
                signal.alarm(int(spec["cell_timeout"]))
                exec(compile(src, f"<cell {cell['index']}>", "exec"), ns)
                signal.alarm(0)
                status, why = "ok", None
            except BaseException as e:  # noqa: BLE001 - a notebook cell may raise anything
                signal.alarm(0)
                if isinstance(e, KeyboardInterrupt):
                    raise
                import traceback

                traceback.print_exc(file=log)
                first = (str(e).strip().splitlines() or [""])[0]
                status, why = "failed", f"{type(e).__name__}: {first}"[:300]
            finally:
                sys.stdout, sys.stderr = real_stdout, sys.__stderr__
                plt.close("all")
        rec["seconds"] = round(time.time() - start, 1)
        printed = log_path.read_text(errors="replace")
        rec["checks"] = check_values(printed)
        rec["incorrect"] = [
            ln.strip() for ln in printed.splitlines() if re.match(r"\s*(Incorrect|WARNING!)", ln)
        ]
        if status == "ok":
            tol = cell["tolerance"][0] if cell["tolerance"] else spec["tolerance"]
            rec["tolerance"] = (
                cell["tolerance"][1]
                if cell["tolerance"]
                else f"{spec['tolerance']:g} (--tolerance)"
            )
            bad = [f"{label} {v:.3g} > {tol:g}" for label, v in rec["checks"] if abs(v) > tol]
            if bad or rec["incorrect"]:
                status, why = "MISMATCH", "; ".join(bad + rec["incorrect"])[:300]
            for n in binds:
                tainted.pop(n, None)
        else:  # names the cell did not get to bind before it stopped
            for n in binds:
                if n not in ns or before.get(n) == id(ns[n]):
                    tainted[n] = ("failed", cell["index"])
        rec.update(status=status, why=why, log=str(log_path))
        if cell["saved_checks"]:
            rec["saved_checks"] = cell["saved_checks"]
        results.write(json.dumps(rec) + "\n")
    results.close()


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def describe(rec) -> str:
    status = rec["status"]
    line = f"cell {rec['index']:3d}  {status:<8}"
    if "seconds" in rec:
        line += f" {rec['seconds']:6.1f}s"
    else:
        line += " " * 8
    if rec.get("why"):
        line += "  " + rec["why"]
    elif rec.get("checks"):
        worst = max(rec["checks"], key=lambda c: abs(c[1]))
        line += (
            f"  checks: {len(rec['checks'])}, largest {worst[0]} {worst[1]:.2g} "
            f"(bound: {rec.get('tolerance')})"
        )
    if rec.get("saved_checks") and rec.get("checks"):
        worst = max(rec["saved_checks"], key=lambda c: abs(c[1]))
        line += f" [the notebook's saved output: largest {worst[0]} {worst[1]:.2g}]"
    for p in rec.get("patches", []):
        line += "\n" + " " * 20 + "patched: " + p
    return line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", nargs="?")
    ap.add_argument("--edition", type=int)
    ap.add_argument(
        "--data", default=os.environ.get("CS231N_DATA", str(ROOT.parent / "shared" / "data"))
    )
    ap.add_argument("--scratch", help="working directory for the run (default: a new temp dir)")
    ap.add_argument(
        "--link",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="put PATH in the scratch folder as NAME (a data file the notebook opens)",
    )
    ap.add_argument(
        "--extra-path",
        action="append",
        default=[],
        help="a folder to put on sys.path after the repository (e.g. SciPy's)",
    )
    ap.add_argument("--cell-timeout", type=float, default=150)
    ap.add_argument("--timeout", type=float, default=330, help="for the whole notebook")
    ap.add_argument(
        "--tolerance", type=float, default=1e-3, help="a printed error above this is a MISMATCH"
    )
    ap.add_argument("--no-reduce", dest="reduce", action="store_false")
    ap.add_argument("--gan-batches", type=int, default=40)
    ap.add_argument("--synthetic-coco", action="store_true")
    ap.add_argument(
        "--legacy-dropout",
        action="store_true",
        help="dropout draws its masks as the course's PyTorch builds did (the 2021-2025"
        " Transformer checks run in training mode; current PyTorch draws others)",
    )
    ap.add_argument(
        "--graph-mode",
        choices=["auto", "yes", "no"],
        default="auto",
        help="TF1 rewrites; auto: editions up to 2018",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for PyTorch and TensorFlow (OMP_NUM_THREADS, ...)",
    )
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="CELL:REASON",
        help="skip the code cell with this notebook index, saying why (e.g. a "
        "student's own cell that opens a file of theirs)",
    )
    ap.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="OLD=>NEW",
        help="a change a user makes to the notebook's code, e.g. the README's Keras 3 "
        "line (tagged [user]; not a data-path patch)",
    )
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the run (e.g. TF_USE_LEGACY_KERAS=1)",
    )
    ap.add_argument("--json", help="write the per-cell records here")
    ap.add_argument("--list", action="store_true", help="print the patched cells and stop")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    if not args.notebook or not args.edition:
        ap.error("a notebook and --edition are needed")

    graph_mode = args.edition <= 2018 if args.graph_mode == "auto" else args.graph_mode == "yes"
    cells = read_code_cells(Path(args.notebook))
    replacements = [tuple(r.split("=>", 1)) for r in args.replace]
    prepared = prepare(
        cells,
        args.edition,
        graph_mode,
        args.reduce,
        args.gan_batches,
        args.synthetic_coco,
        replacements,
    )
    for spec in args.skip:
        index, _, reason = spec.partition(":")
        for c in prepared:
            if c["index"] == int(index):
                c["skip"] = reason or "skipped by --skip"
    if args.list:
        for c in prepared:
            print(f"--- cell {c['index']}  skip={c['skip']}  patches={c['patches']}")
            print(c["source"])
        return 0

    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="course_nb_"))
    env = dict(os.environ)
    env.update(
        CS231N_EDITION=str(args.edition),
        MPLBACKEND="Agg",
        CUDA_VISIBLE_DEVICES="",
        TF_CPP_MIN_LOG_LEVEL="2",
        OMP_NUM_THREADS=str(args.threads),
        TF_NUM_INTRAOP_THREADS=str(args.threads),
        TF_NUM_INTEROP_THREADS=str(args.threads),
        PYTHONPATH=os.pathsep.join([str(ROOT)] + args.extra_path),
        CS231N_DATA=str(Path(args.data).resolve()),
    )
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value
    uses_squeezenet = any("SqueezeNet" in c["source"] for c in prepared)
    env["CS231N_DATA"] = str(
        prepare_scratch(
            scratch,
            Path(args.data).resolve(),
            graph_mode,
            uses_squeezenet,
            args.link,
            args.synthetic_coco,
            env,
        )
    )
    results = scratch / "results.jsonl"
    results.write_text("")
    spec = scratch / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "cells": prepared,
                "edition": args.edition,
                "scratch": str(scratch),
                "results": str(results),
                "cell_timeout": args.cell_timeout,
                "tolerance": args.tolerance,
                "extra_path": args.extra_path,
                "legacy_dropout": args.legacy_dropout,
            }
        )
    )
    print(
        f"# {args.notebook}: edition {args.edition}, {len(prepared)} code cells, "
        f"{'TF1 graph mode, ' if graph_mode else ''}scratch {scratch}",
        flush=True,
    )
    start = time.time()
    stderr = open(scratch / "worker.stderr", "w")  # TensorFlow's own log lines, a crash's
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker", str(spec)], cwd=scratch, env=env, stderr=stderr
    )
    try:
        proc.wait(timeout=args.timeout)
        crashed = proc.returncode != 0
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        crashed = "timeout"
    records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    done = {r["index"] for r in records}
    missing = [c for c in prepared if c["index"] not in done]
    if missing:
        why = (
            f"notebook time limit of {args.timeout:.0f} s"
            if crashed == "timeout"
            else f"the worker process ended (exit status {proc.returncode}; see "
            f"{scratch / 'worker.stderr'})"
        )
        first, rest = missing[0], missing[1:]
        records.append(
            {
                "index": first["index"],
                "status": "failed",
                "why": f"stopped: {why}",
                "patches": first["patches"],
            }
        )
        records += [
            {"index": c["index"], "status": "not run", "why": why, "patches": c["patches"]}
            for c in rest
        ]
    for rec in records:
        print(describe(rec))
    counts = {}
    for rec in records:
        counts[rec["status"]] = counts.get(rec["status"], 0) + 1
    print(
        f"# {len(records)} cells: "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + f" ({time.time() - start:.0f} s)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))
    bad = {"failed", "MISMATCH", "blocked", "not run"}
    return 1 if any(r["status"] in bad for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
