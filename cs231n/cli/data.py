"""``cs231n data download | status | path``: the data directory, over cs231n.data.assets and
cs231n.core.config."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..core.config import CACHE_ENV_VAR, DATA_ENV_VAR, cache_dir, data_dir, default_data_dir
from ..data import assets
from ..data import download as download_module
from .common import UserError, add_command, add_group


def _seconds(text):
    """argparse type: a positive, finite number of seconds."""
    try:
        return download_module._seconds(text, "the time")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of seconds, got {text!r}"
        ) from None


def cmd_data_download(args) -> int:
    names = assets.expand(args.names)
    if args.url and len(names) > 1:
        raise UserError(f"--url applies to one asset, not {len(names)} ({', '.join(names)})")
    root = data_dir(args.data_dir)
    failed = []
    for name in names:
        where = assets.locate(name, root)
        if where is not None and not assets.stale(name, root):
            print(f"{name}: already present in {where}")
            continue
        spec = assets.ASSETS[name]
        archive = root / spec.archive.path if spec.dataset is not None else None
        if archive is not None and archive.is_file():  # copied there by hand: no download
            print(f"Unpacking {archive}")
        else:
            print(f"Fetching {name} ({spec.size}) into {root}")
        try:
            with download_module.limits(args.stall_timeout, args.deadline):
                where = assets.fetch(
                    name,
                    root,
                    mirror=args.mirror,
                    progress=not args.quiet,
                    log=print,
                    url=args.url,
                    keep_archive=args.keep_archive,
                )
        except OSError as e:
            if len(names) == 1:
                raise
            print(f"{name}: failed: {e}")
            failed.append(name)
            continue
        print(f"{name}: ready in {where}")
    if failed:
        raise UserError(
            f"could not fetch {', '.join(failed)}; run `{assets.download_command(failed, args.data_dir)}` "
            "again to resume"
        )
    return 0


def cmd_data_status(args) -> int:
    root = Path(os.path.abspath(data_dir(args.data_dir)))
    origin = (
        "--data-dir"
        if args.data_dir
        else f"${DATA_ENV_VAR}"
        if os.environ.get(DATA_ENV_VAR)
        else "default"
    )
    origin_cache = f"${CACHE_ENV_VAR}" if os.environ.get(CACHE_ENV_VAR) else "default"
    print(f"Data directory: {root} ({origin}; input only)")
    print(f"Cache: {cache_dir()} ({origin_cache}; what the project generates)")
    rows = assets.status(root)
    width = max(len(s.name) for s in rows)
    for s in rows:
        if s.present:
            print(f"  {s.name:<{width}}  present  {s.where}")
        else:
            command = assets.download_command([s.name], args.data_dir)
            print(f"  {s.name:<{width}}  missing  get it with: {command}  ({s.size})")
    missing = [s.name for s in rows if not s.present and assets.ASSETS[s.name].in_all]
    if missing:
        print(
            f"Everything missing but COCO, in one command: {assets.download_command(missing, args.data_dir)}"
        )
    return 0


def cmd_data_path(args) -> int:
    root = Path(os.path.abspath(data_dir(args.data_dir)))
    # The path alone on the first line, for scripts (`cs231n data path | sed -n 1p`).
    print(root)
    if not root.is_dir():
        print("  (the folder does not exist yet)")
    # The same assets as `cs231n data status`, file by file.
    width = max(len(name) for name in assets.ASSETS)
    for name in assets.ASSETS:
        for path, present, optional in assets.file_status(name, root):
            state = "present" if present else "missing"
            print(f"  {name:<{width}}  {state}  {path}{' (optional)' if optional else ''}")
    for name in assets.ASSETS:
        if assets.locate(name, root) is None:
            command = assets.download_command([name], args.data_dir)
            print(f"Run `{command}` to fetch the missing {name} files.")
    return 0


_COCO_URL = assets.ASSETS["coco"].archive.urls[0]


def _names_help() -> str:
    listed = "; ".join(f"{a.name}: {a.description} ({a.size})" for a in assets.ASSETS.values())
    return f"{listed}; {assets.ALL}: every asset but coco (what the demo and the GAN commands use)"


def add_parser(commands):
    data_commands = add_group(
        commands,
        "data",
        "data_command",
        help="download the course's data; show the data directory",
        description=f"The data directory: ${DATA_ENV_VAR}, else {default_data_dir()} "
        "(--data-dir overrides both). It is input only: what the project derives from it goes "
        f"to the cache (${CACHE_ENV_VAR}, else the per-user cache folder).",
    )
    download = add_command(
        data_commands,
        "download",
        cmd_data_download,
        help="download assets into the data directory, verified",
        description="Download each named asset from its official source into the data "
        "directory and check every file against its pinned SHA-256 (COCO's archive: its size). "
        "Assets already present are left alone; an interrupted download resumes when run "
        "again; progress is shown. COCO's archive is unpacked into coco_captioning/ and "
        "deleted; offline, download it elsewhere and copy it into the data directory: it is "
        "then unpacked without downloading.",
    )
    download.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        choices=[*assets.ASSETS, assets.ALL],
        help=_names_help(),
    )
    download.add_mirror()
    download.add_argument(
        "--url",
        help="download one asset from URL instead: COCO's archive itself, or for the others "
        f"a folder URL holding its files by name (default for coco: {_COCO_URL})",
    )
    download.add_argument(
        "--keep-archive", action="store_true", help="keep COCO's zip archive after unpacking it"
    )
    download.add_argument(
        "--stall-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give a download up (keeping what arrived, to resume) when less than "
        f"{download_module.STALL_BYTES} bytes arrive in this time (default: "
        f"${download_module.STALL_ENV_VAR}, else {download_module.STALL_TIMEOUT:g})",
    )
    download.add_argument(
        "--deadline",
        type=_seconds,
        metavar="SECONDS",
        help="give a download up (keeping what arrived) when it is not done after this time "
        f"(default: ${download_module.DEADLINE_ENV_VAR}, else {download_module.DEADLINE:g})",
    )
    download.add_quiet()
    download.add_data_dir()

    status = add_command(
        data_commands,
        "status",
        cmd_data_status,
        help="list every asset: present (and where) or missing (and the command that gets it)",
        description="For every asset the project uses: present, and where it was found (the "
        "data directory, Debian's Fashion-MNIST, torch's hub cache), or missing, with the "
        "command that fetches it.",
    )
    status.add_data_dir()

    path = add_command(
        data_commands,
        "path",
        cmd_data_path,
        help="print the data directory and which known files it holds",
        description="Print the data directory (first line) and, for each file the assignment "
        "uses, whether it is present.",
    )
    path.add_data_dir()
