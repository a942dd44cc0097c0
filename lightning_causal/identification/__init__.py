"""Identification: ID and IDC (Shpitser & Pearl 2006), estimands, hedges and exact evaluation.

Pure Python on the graph's bitset kernel; importing it never imports torch.
"""

from lightning_causal.identification.adjustment import NotAdjustableError, adjustment_set, check_adjustment
from lightning_causal.identification.api import identify
from lightning_causal.identification.estimand import Estimand
from lightning_causal.identification.expressions import Expression, Fraction, Probability, Product, Sum
from lightning_causal.identification.hedge import CForest, Hedge

__all__ = [
    "CForest",
    "Estimand",
    "Expression",
    "Fraction",
    "Hedge",
    "NotAdjustableError",
    "Probability",
    "Product",
    "Sum",
    "adjustment_set",
    "check_adjustment",
    "identify",
]
