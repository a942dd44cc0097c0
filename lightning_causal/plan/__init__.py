"""ID-GEN sampling plans: the query compiled into conditional models to train and one network to sample.

* ``parts.py``: the plain data classes (factors, datasets, networks, nodes);
* ``sampling_plan.py``: :class:`SamplingPlan`, which prints, saves and fits itself;
* ``compile.py``: the ID-GEN / IDC-GEN compiler (:func:`compile_plan`);
* ``text.py`` and ``io.py``: the plan as a table and as JSON.
"""

from lightning_causal.plan.compile import compile_estimand, compile_plan
from lightning_causal.plan.parts import INPUT, Dataset, Factor, Node, Wiring
from lightning_causal.plan.sampling_plan import SamplingPlan

__all__ = ["INPUT", "Dataset", "Factor", "Node", "SamplingPlan", "Wiring", "compile_estimand", "compile_plan"]
