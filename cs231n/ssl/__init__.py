"""Self-supervised learning, the project's SimCLR runs (``cs231n ssl``): pretraining on the
images this machine has (:mod:`.training`) and evaluation against the baselines that decide
whether it learned anything (:mod:`.evaluation`). The course's own SimCLR code is
:mod:`cs231n.simclr`."""
