"""cs231n-a3: Stanford CS231n Assignment 3 as a package.

The NumPy captioning core (``rnn_layers``, ``classifiers.rnn``, ``captioning_solver``) knows
nothing of PyTorch; the PyTorch parts live in their own modules.
"""

__version__ = "0.1.0"
