"""LightningModules, one package per model family on the small shared base of ``base.py``.

* ``base.py``: :class:`CausalModule` (injected optimizer and schedule, the checkpointed per-rank
  noise RNG, one ``model_step``, and the hooks every command calls instead of testing families);
  ``optim.py``: the default optimizer and the warm-up/cosine schedule;
* ``families.py``: the family registry and :func:`load_model`; ``checkpoints.py``: what checkpoints
  hold and how release-0.1 ones are read; ``interface.py``: what commands hand a family;
* ``dcm/``: :class:`DCM`, diffusion causal models over a DAG (Chao et al. 2023);
* ``idgen/``: :class:`IDGEN`, any identifiable query on a graph with latent confounders, answered
  by conditional generative models trained per factor of its ID-GEN plan (Rahman et al. 2024);
* ``ensemble.py``: :func:`fit_bootstrap`, a model trained on its rows and on bootstrap resamples
  of them, for intervals (``fit --ensemble.members K`` from a config); :func:`load_ensemble` reads
  such a folder back.

A new family (Diff-SCM, DIME, IWDD) is one new package here whose LightningModule subclasses
:class:`CausalModule` with a ``family`` name; it builds its mechanisms from
:mod:`lightning_causal.mechanisms`, never from another family. It is found by name
(``lightning_causal.models.<Class>`` in a config) without editing this file.
"""

from typing import Any

from lightning_causal.models.base import CausalModule
from lightning_causal.models.dcm import DCM
from lightning_causal.models.ensemble import bootstrap_data, fit_bootstrap, load_ensemble
from lightning_causal.models.families import families, load_model, model_family
from lightning_causal.models.idgen import IDGEN
from lightning_causal.models.interface import FitContext, QueryLabels
from lightning_causal.models.optim import AdamW, WarmupCosine

__all__ = [
    "DCM",
    "IDGEN",
    "AdamW",
    "CausalModule",
    "FitContext",
    "QueryLabels",
    "WarmupCosine",
    "bootstrap_data",
    "families",
    "fit_bootstrap",
    "load_ensemble",
    "load_model",
    "model_family",
]


def __getattr__(name: str) -> Any:
    """A family class defined in a package here, by its class name (``lightning_causal.models.DIME``)."""
    for cls in families().values():
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
