"""ID-GEN trained with generative models (Rahman, Jordan & Kocaoglu, NeurIPS 2024).

* ``module.py``: :class:`IDGEN`, the LightningModule of one query's plan: its factor networks,
  stage-by-stage training, the merged sampling network and its queries;
* ``factors.py``: :class:`FactorNetwork`, the generators of one dataset's factors in banks;
* ``generators.py``: :class:`FactorGenerator` (one trained factor as a
  :class:`~lightning_causal.generators.ConditionalGenerator`) and :class:`TensorKind` (torch values
  and RNG for the sampling network).

Running the stages (generated datasets as webdataset shards, one Lightning run per stage, resume)
is :mod:`lightning_causal.launch.idgen`.
"""

from lightning_causal.models.idgen.factors import FactorNetwork
from lightning_causal.models.idgen.generators import FactorGenerator, TensorKind
from lightning_causal.models.idgen.module import IDGEN

__all__ = ["IDGEN", "FactorGenerator", "FactorNetwork", "TensorKind"]
