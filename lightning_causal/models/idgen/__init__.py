"""ID-GEN trained with generative models (Rahman, Jordan & Kocaoglu, NeurIPS 2024).

* ``module.py``: :class:`IDGEN`, the LightningModule of one query's plan: its factor networks,
  stage-by-stage training, the merged sampling network and its queries;
* ``factors.py``: :class:`FactorMechanisms`, the mechanisms of one dataset's factors in one bank set;
* ``generators.py``: :class:`TensorKind` (torch values and RNG for the sampling network).

Running the stages (generated datasets as webdataset shards, one Lightning run per stage, resume)
is :mod:`lightning_causal.launch.idgen`.
"""

from lightning_causal.models.idgen.factors import FactorMechanisms
from lightning_causal.models.idgen.generators import TensorKind
from lightning_causal.models.idgen.module import IDGEN

__all__ = ["IDGEN", "FactorMechanisms", "TensorKind"]
