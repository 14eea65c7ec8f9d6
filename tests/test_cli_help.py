"""Every command of the ``cs231n`` CLI and its ``--help`` text, against a recorded snapshot
(tests/data/cli_help.json): moving code around the CLI must not change what users see.

After a deliberate change to a command or its help, regenerate the snapshot with
``python tests/test_cli_help.py`` and review the diff."""

import argparse
import json
import os
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "data" / "cli_help.json"

# Help texts embed the default data folder and wrap to the terminal's width: pin both.
PINNED_ENV = {
    "COLUMNS": "100",
    "HOME": "/home/user",
    "XDG_DATA_HOME": "/home/user/.local/share",
    "XDG_CACHE_HOME": "/home/user/.cache",
}
UNSET_ENV = ["CS231N_DATA"]


def _walk(parser, path=()):
    yield " ".join(path), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


def help_texts():
    """{"": top-level help, "caption": ..., "caption train": ..., ...}; call with the
    environment pinned."""
    from cs231n.cli import build_parser

    return {path: parser.format_help() for path, parser in _walk(build_parser())}


def test_help_texts_match_the_snapshot(monkeypatch):
    for name, value in PINNED_ENV.items():
        monkeypatch.setenv(name, value)
    for name in UNSET_ENV:
        monkeypatch.delenv(name, raising=False)
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    actual = help_texts()
    assert sorted(actual) == sorted(expected), (
        f"commands added: {sorted(set(actual) - set(expected))}; "
        f"commands gone: {sorted(set(expected) - set(actual))}"
    )
    for command, text in expected.items():
        assert actual[command] == text, f"`cs231n {command} --help` differs from {SNAPSHOT.name}"


if __name__ == "__main__":  # regenerate the snapshot
    os.environ.update(PINNED_ENV)
    for name in UNSET_ENV:
        os.environ.pop(name, None)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    SNAPSHOT.parent.mkdir(exist_ok=True)
    texts = help_texts()
    SNAPSHOT.write_text(json.dumps(texts, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(texts)} help texts written to {SNAPSHOT}")
