"""DCM, diffusion causal models (Chao et al. 2023): one conditional generator per node of a DAG.

* ``module.py``: :class:`DCM`, the LightningModule (training, sampling, counterfactuals);
* ``network.py``: :class:`DCMNetwork` and its :class:`DCMNetworkConfig`;
* ``banks.py``: the diffusion and classifier banks; ``roots.py``: the empirical roots;
* ``queries.py``: interventional sampling and counterfactuals on a network;
* ``node_generator.py``: one node as a :class:`~lightning_causal.generators.ConditionalGenerator`.
"""

from lightning_causal.models.dcm.module import DCM
from lightning_causal.models.dcm.network import DCMNetwork, DCMNetworkConfig
from lightning_causal.models.dcm.node_generator import NodeGenerator

__all__ = ["DCM", "DCMNetwork", "DCMNetworkConfig", "NodeGenerator"]
