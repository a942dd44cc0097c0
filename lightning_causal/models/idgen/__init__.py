"""ID-GEN trained with generative models (Rahman, Jordan & Kocaoglu, NeurIPS 2024).

* ``module.py``: :class:`IDGEN`, the LightningModule of one query's plan: its factors' mechanisms,
  stage selection, the merged sampling network and its queries, and how commands train it;
* ``factors.py``: :class:`FactorMechanisms`, the mechanisms of one dataset's factors in one bank set;
* ``stages.py``: :func:`fit_idgen`, training the plan stage by stage (one Lightning run per stage, resume);
* ``run_folder.py``: :class:`RunFolder`, the run folder's manifest and its resume checks;
* ``generation.py``: :func:`generate_dataset`, the datasets a stage generates for the next, as shards;
* ``stage_data.py``: the data modules of generated datasets;
* ``learner.py``: :class:`DiffusionLearner`, ``plan.fit(data, learner="diffusion")``.
"""

from lightning_causal.models.idgen.factors import FactorMechanisms
from lightning_causal.models.idgen.generation import generate_dataset
from lightning_causal.models.idgen.learner import DiffusionLearner
from lightning_causal.models.idgen.module import IDGEN
from lightning_causal.models.idgen.run_folder import RunFolder
from lightning_causal.models.idgen.stages import fit_idgen, stage_trainer_factory

__all__ = [
    "IDGEN",
    "DiffusionLearner",
    "FactorMechanisms",
    "RunFolder",
    "fit_idgen",
    "generate_dataset",
    "stage_trainer_factory",
]
