"""``python -m cs231n``: the ``cs231n`` command (as ``python -m cs231n.cli``)."""

import sys

from .cli import main

sys.exit(main())
