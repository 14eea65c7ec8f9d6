"""Style transfer runs (``cs231n style``, ``cs231n invert``) over the course's style-transfer
modules in both frameworks."""
