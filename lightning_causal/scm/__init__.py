"""Ground-truth structural causal models: exact distributions to measure against.

:class:`DiscreteSCM` is numpy-only; the continuous DCM suite (:mod:`lightning_causal.scm.dcm_suite`),
the continuous and mixed models with latent confounders (:mod:`lightning_causal.scm.latent`) and
the napkin with coloured-digit images (:mod:`lightning_causal.scm.napkin_digits`) and the treatment
tables with exact potential outcomes (:mod:`lightning_causal.scm.potential_outcomes`: DIME's
multi-outcome setup, IWDD's confounded effect) need torch and are imported on first use, so the
discrete models stay torch-free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightning_causal.scm.discrete import DiscreteSCM, Latent

if TYPE_CHECKING:
    from lightning_causal.scm.dcm_suite import SUITE, ContinuousSCM, intervened_nodes, intervention_values, make_scm
    from lightning_causal.scm.latent import LATENT_SCMS, LatentSCM, make_latent_scm
    from lightning_causal.scm.napkin_digits import NapkinDigits
    from lightning_causal.scm.potential_outcomes import (
        ConfoundedEffectProcess,
        MultiOutcomeProcess,
        PotentialOutcomeProcess,
    )

__all__ = [
    "LATENT_SCMS",
    "SUITE",
    "ConfoundedEffectProcess",
    "ContinuousSCM",
    "DiscreteSCM",
    "Latent",
    "LatentSCM",
    "MultiOutcomeProcess",
    "NapkinDigits",
    "PotentialOutcomeProcess",
    "intervened_nodes",
    "intervention_values",
    "make_latent_scm",
    "make_scm",
]

_DCM_SUITE = frozenset({"SUITE", "ContinuousSCM", "intervened_nodes", "intervention_values", "make_scm"})
_LATENT = frozenset({"LATENT_SCMS", "LatentSCM", "make_latent_scm"})
_NAPKIN_DIGITS = frozenset({"NapkinDigits"})
_POTENTIAL = frozenset({"ConfoundedEffectProcess", "MultiOutcomeProcess", "PotentialOutcomeProcess"})


def __getattr__(name: str) -> Any:
    if name in _DCM_SUITE:
        from lightning_causal.scm import dcm_suite

        return getattr(dcm_suite, name)
    if name in _LATENT:
        from lightning_causal.scm import latent

        return getattr(latent, name)
    if name in _NAPKIN_DIGITS:
        from lightning_causal.scm import napkin_digits

        return getattr(napkin_digits, name)
    if name in _POTENTIAL:
        from lightning_causal.scm import potential_outcomes

        return getattr(potential_outcomes, name)
    raise AttributeError(f"module 'lightning_causal.scm' has no attribute {name!r}")
