"""The course's SimCLR question (2021-2026 editions), ``cs231n/simclr/``: a course subpackage.

- ``contrastive_loss``: the NT-Xent loss, naive and vectorised, and its parts.
- ``data_utils``: the augmentations and the CIFAR-10 pair dataset.
- ``model``: the ResNet-50 encoder and projection head (``Model``).
- ``utils``: one epoch of pretraining (``train``), of a classifier (``train_val``), and the
  weighted kNN monitor (``test``).

Paths, names, signatures and defaults are the course's (tests/data/course_api.json). The
project's own SimCLR runs (training from the command line, evaluation against baselines) are in
:mod:`cs231n.ssl`.
"""
