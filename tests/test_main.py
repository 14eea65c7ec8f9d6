"""``python -m cs231n`` runs the ``cs231n`` command, as ``python -m cs231n.cli`` does."""

import subprocess
import sys

import pytest

from cs231n import __version__


def run_module(module, *args):
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),  # prints and exits 0
        (),  # no command: the help, exit status 0
        ("no-such-command",),  # argparse's error, exit status 2
    ],
)
def test_python_m_cs231n_is_the_command(args):
    package, cli = run_module("cs231n", *args), run_module("cs231n.cli", *args)
    assert (package.returncode, package.stdout, package.stderr) == (
        cli.returncode,
        cli.stdout,
        cli.stderr,
    )


def test_python_m_cs231n_version():
    result = run_module("cs231n", "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"cs231n {__version__}"
