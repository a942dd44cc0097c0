"""Conditional generators: the one protocol the sampling network and the causal models talk to.

* ``base.py``: :class:`ConditionalGenerator` (sample from an explicit RNG; loss; encode/decode);
* ``categorical.py``: :class:`CategoricalTable`, exact conditional probability tables (numpy);
* ``gumbel.py``: Gumbel-max sampling and its posterior abduction (torch).

The protocol and the tables are torch-free; the Gumbel functions load on first use, so plan
compilation and exact fitting never import torch. The DCM's per-node view is
:class:`lightning_causal.mechanisms.MechanismGenerator`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.generators.categorical import CategoricalTable

if TYPE_CHECKING:
    from lightning_causal.generators.gumbel import gumbel_decode, gumbel_posterior, gumbel_sample

__all__ = ["CategoricalTable", "ConditionalGenerator", "gumbel_decode", "gumbel_posterior", "gumbel_sample"]

_LAZY = {
    "gumbel_decode": "lightning_causal.generators.gumbel",
    "gumbel_posterior": "lightning_causal.generators.gumbel",
    "gumbel_sample": "lightning_causal.generators.gumbel",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
