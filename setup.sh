#!/usr/bin/env bash
# Creates the virtual environment at .venv/ and installs the project with its dev tools.
# torch==2.13.0 is installed first, by itself: on these machines pip takes the CPU build from
# local disk; a torch requirement left open would download a multi-GB CUDA build instead.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev,eval]'
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
echo "Set up .venv/ (cs231n $(.venv/bin/cs231n --version | cut -d' ' -f2), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'))"
