"""DCM, diffusion causal models (Chao et al. 2023): one conditional generator per node of a DAG.

* ``module.py``: :class:`DCM`, the LightningModule (training, sampling, counterfactuals);
* ``mechanisms.py``: :class:`DCMMechanisms`, the nodes' mechanisms in one bank set;
* ``queries.py``: interventional sampling and counterfactuals, level by level.
"""

from lightning_causal.models.dcm.mechanisms import DCMMechanisms
from lightning_causal.models.dcm.module import DCM

__all__ = ["DCM", "DCMMechanisms"]
