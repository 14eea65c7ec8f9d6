"""``python -m cs231n.cli``: the ``cs231n`` command."""

import sys

from . import main

sys.exit(main())
