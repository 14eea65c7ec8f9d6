"""lightly's NT-Xent loss (``lightly.loss.NTXentLoss``), an independent implementation of
SimCLR's loss, for tests and benchmarks only (never a dependency of the package).

``lightly.loss`` imports torchvision at its top, which does not load on these machines, so the
one file ``lightly/loss/ntx_ent_loss.py`` is loaded by itself, with its only package import
(the memory bank, unused at ``memory_bank_size=0``) stood in for. Returns None where lightly is
not installed (``pip install --no-deps lightly``: it would otherwise pull torchvision).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def ntxent_loss_class():
    """lightly's ``NTXentLoss`` class, or None when lightly is absent."""
    try:
        spec = importlib.util.find_spec("lightly")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    source = Path(spec.origin).parent / "loss" / "ntx_ent_loss.py"
    if not source.is_file():
        return None
    from torch import nn

    class MemoryBankModule(nn.Module):
        def __init__(self, size=0, gather_distributed=False, **kwargs):
            super().__init__()
            if size:
                raise ValueError("the stand-in memory bank only serves memory_bank_size=0")

        def forward(self, output, labels=None, update=False):
            return output, None

    stubs = {
        "lightly.models": types.ModuleType("lightly.models"),
        "lightly.models.modules": types.ModuleType("lightly.models.modules"),
        "lightly.models.modules.memory_bank": types.ModuleType(
            "lightly.models.modules.memory_bank"
        ),
    }
    stubs["lightly.models.modules.memory_bank"].MemoryBankModule = MemoryBankModule
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        module_spec = importlib.util.spec_from_file_location("_lightly_ntx_ent_loss", source)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
    return module.NTXentLoss
