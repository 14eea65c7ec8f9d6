"""The course's 2025 module path for the Vision Transformer's solver (its notebook imports
``from cs231n.classification_solver_vit import ClassificationSolverViT``); the solver lives
beside the captioning Transformer's in :mod:`cs231n.captioning_solver_transformer`."""

from .captioning_solver_transformer import ClassificationSolverViT as ClassificationSolverViT
