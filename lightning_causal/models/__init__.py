"""LightningModules, one package per model family on the small shared base of ``base.py``.

* ``base.py``: :class:`CausalModule` (injected optimizer and schedule, the checkpointed per-rank
  noise RNG, one ``model_step``); ``optim.py``: the default optimizer and the warm-up/cosine schedule;
* ``dcm/``: :class:`DCM`, diffusion causal models over a DAG (Chao et al. 2023);
* ``idgen/``: :class:`IDGEN`, any identifiable query on a graph with latent confounders, answered
  by conditional generative models trained per factor of its ID-GEN plan (Rahman et al. 2024).

A new family (Diff-SCM, DIME, IWDD) gets its own package here, subclasses
:class:`CausalModule`, and talks to its conditional models through
:class:`~lightning_causal.generators.ConditionalGenerator`.
"""

from lightning_causal.models.base import CausalModule
from lightning_causal.models.dcm import DCM
from lightning_causal.models.idgen import IDGEN
from lightning_causal.models.optim import AdamW, WarmupCosine

__all__ = ["DCM", "IDGEN", "AdamW", "CausalModule", "WarmupCosine"]
