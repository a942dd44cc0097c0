"""Conditional generators: the one interface the sampling network and the causal models talk to.

The exact categorical table is numpy-only; the torch-based names load on first use, so that plan
compilation and categorical fitting never import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning_causal.generators.categorical import CategoricalTable

if TYPE_CHECKING:
    from lightning_causal.generators.base import ConditionalGenerator
    from lightning_causal.generators.gumbel import gumbel_decode, gumbel_posterior, gumbel_sample

__all__ = ["CategoricalTable", "ConditionalGenerator", "gumbel_decode", "gumbel_posterior", "gumbel_sample"]

_LAZY = {
    "ConditionalGenerator": "lightning_causal.generators.base",
    "gumbel_decode": "lightning_causal.generators.gumbel",
    "gumbel_posterior": "lightning_causal.generators.gumbel",
    "gumbel_sample": "lightning_causal.generators.gumbel",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
