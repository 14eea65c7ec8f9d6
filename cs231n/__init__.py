"""cs231n-a3: Stanford CS231n Assignment 3 as a package.

The layout is the map (tests/test_layout.py holds it):

- The course's paths are alone at the top. A flat file here (``rnn_layers``, ``coco_utils``,
  ``net_visualization_pytorch``, ...) and everything in ``classifiers/`` is a course module:
  its path, names, signatures and defaults are the course's (tests/data/course_api.json).
- Everything else is the project's, one folder per job, named after its command group:
  ``captioning/``, ``vision/``, ``style/``, ``gan/``, ``vit/`` (later ``ssl/``, ``diffusion/``);
  plus
  ``core/`` (the ground floor: config, atomic files and locks, argument checks, torch and
  TensorFlow utilities, the run folder, the distributed context, HTML pages), ``data/`` (the
  asset registry, downloads, archives, readers), ``pretrained/`` (SqueezeNet in both frameworks
  and its conversions), ``report/`` (the demo and its report) and ``cli/`` (parses arguments
  and prints, nothing more).
- Imports run one way: core <- data <- pretrained <- course modules <- jobs (which never import
  each other) <- report <- cli; no import circle. Package imports sit at the top of a file;
  only modules that load PyTorch, TensorFlow or matplotlib are imported inside functions.

The NumPy captioning core (``rnn_layers``, ``classifiers.rnn``, ``captioning_solver``) knows
nothing of PyTorch; the PyTorch and TensorFlow parts live in their own modules.

Where editions disagree on a call: ``set_edition(2025)`` or ``CS231N_EDITION`` (core/edition.py).
"""

from .core.edition import edition as edition
from .core.edition import set_edition as set_edition

__version__ = "0.1.0"
