"""``cs231n demo``: every part of the assignment run in turn, and its HTML report."""
