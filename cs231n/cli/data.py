"""``cs231n data download | path``: the data directory, over cs231n.config, cs231n.download and
cs231n.mnist_data."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import DATA_ENV_VAR, data_dir, default_data_dir
from ..download import DATASETS, asset_status, fetch_dataset, missing_files
from .common import add_command, add_group


def cmd_data_download(args) -> int:
    if args.name in ("mnist", "fashion-mnist"):
        from ..mnist_data import fetch_mnist

        mirrors = [args.url.rstrip("/") + "/"] if args.url else None
        folder = fetch_mnist(args.name, args.data_dir, progress=not args.quiet, mirrors=mirrors)
        print(f"{args.name}: ready in {folder}")
        return 0
    spec = DATASETS[args.name]
    root = data_dir(args.data_dir)
    folder = root / spec["folder"]
    if not missing_files(args.name, root):
        print(f"{args.name}: already present in {folder}")
        return 0
    archive = root / spec["archive"]
    if archive.is_file():  # fetch_dataset unpacks it without downloading
        print(f"Unpacking {archive}")
    else:
        print(f"Downloading {args.url or spec['url']} into {root}")
    fetch_dataset(
        args.name, root, url=args.url, progress=not args.quiet, keep_archive=args.keep_archive
    )
    print(f"{args.name}: ready in {folder}")
    return 0


def cmd_data_path(args) -> int:
    root = Path(os.path.abspath(data_dir(args.data_dir)))
    # The path alone on the first line, for scripts (`cs231n data path | sed -n 1p`).
    print(root)
    if not root.is_dir():
        print("  (the folder does not exist yet)")
    for name, present, optional in asset_status(root):
        print(f"  {'present' if present else 'missing'}  {name}{' (optional)' if optional else ''}")
    for name in DATASETS:
        if missing_files(name, root):
            print(f"Run `cs231n data download {name}` to fetch the missing {name} files.")
    return 0


def add_parser(commands):
    data_commands = add_group(
        commands,
        "data",
        "data_command",
        help="download the course's data; show the data directory",
        description=f"The data directory: ${DATA_ENV_VAR}, else {default_data_dir()} "
        "(--data-dir overrides both).",
    )
    download = add_command(
        data_commands,
        "download",
        cmd_data_download,
        help="download and unpack a dataset into the data directory",
        description="Download a dataset's archive into the data directory, check it, unpack it "
        "and delete the archive. Does nothing when the files are already there; an interrupted "
        "download resumes when run again. Offline, download the archive elsewhere and copy it "
        "into the data directory: it is then unpacked without downloading.",
    )
    download.add_argument(
        "name",
        choices=sorted([*DATASETS, "mnist", "fashion-mnist"]),
        help="; ".join(f"{k}: {v['description']}" for k, v in sorted(DATASETS.items()))
        + "; mnist, fashion-mnist: the four IDX files from the official mirrors (MD5-checked)",
    )
    download.add_argument(
        "--url",
        help=f"download from URL instead (default for coco: {DATASETS['coco']['url']})",
    )
    download.add_argument(
        "--keep-archive", action="store_true", help="keep the zip archive after unpacking it"
    )
    download.add_quiet()
    download.add_data_dir()

    path = add_command(
        data_commands,
        "path",
        cmd_data_path,
        help="print the data directory and which known files it holds",
        description="Print the data directory (first line) and, for each file the assignment "
        "uses, whether it is present.",
    )
    path.add_data_dir()
