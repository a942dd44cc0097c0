"""Ground-truth structural causal models: exact distributions to measure against.

:class:`DiscreteSCM` is numpy-only; the continuous DCM suite (:mod:`lightning_causal.scm.dcm_suite`)
needs torch and is imported on first use, so the discrete models stay torch-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning_causal.scm.discrete import DiscreteSCM, Latent

if TYPE_CHECKING:
    from lightning_causal.scm.dcm_suite import SUITE, ContinuousSCM, intervened_nodes, intervention_values, make_scm

__all__ = [
    "SUITE",
    "ContinuousSCM",
    "DiscreteSCM",
    "Latent",
    "intervened_nodes",
    "intervention_values",
    "make_scm",
]

_DCM_SUITE = frozenset({"SUITE", "ContinuousSCM", "intervened_nodes", "intervention_values", "make_scm"})


def __getattr__(name: str) -> Any:
    if name in _DCM_SUITE:
        from lightning_causal.scm import dcm_suite

        return getattr(dcm_suite, name)
    raise AttributeError(f"module 'lightning_causal.scm' has no attribute {name!r}")
