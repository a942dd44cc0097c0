"""The DCM's mechanisms: one conditional generator per node of a causal DAG, in one bank set.

Diffusion-based causal models (Chao et al. 2023, arXiv 2302.00860) train, for every non-root node
V_i, a conditional model of V_i given its parents. :class:`DCMMechanisms` is the
:class:`~lightning_causal.mechanisms.BankSet` of a DAG's nodes (entries are nodes, inputs their
parents) with what sampling a graph needs: its topological order and levels, and its roots drawn
from the empirical distribution of the training data (``roots="empirical"``, kept from the first
epoch's batches) or modelled too (``roots="model"``: unconditional diffusion or a learned marginal).

All values are dicts ``{name: tensor}`` in data space; the queries (``queries.py``) walk the levels
with :meth:`BankSet.generate` and invert nodes with :meth:`BankSet.abduct`.
"""

from __future__ import annotations

from collections.abc import Mapping

from lightning_causal.errors import GraphError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.mechanisms import BankSet, MechanismConfig
from lightning_causal.variables.spec import VariableSpec

__all__ = ["DCMMechanisms"]


class DCMMechanisms(BankSet):
    """All conditional generators of a DCM over ``graph``.

    Args:
        graph: a DAG (no bidirected edges: DCM assumes causal sufficiency).
        variables: the type (and codec statistics) of every node.
        config: the architecture (:class:`~lightning_causal.mechanisms.MechanismConfig`; default: its defaults).
    """

    def __init__(
        self,
        graph: CausalGraph,
        variables: Mapping[str, VariableSpec],
        config: MechanismConfig | None = None,
    ) -> None:
        if graph.bidirected:
            u, v = graph.bidirected[0]
            raise GraphError(
                f"DCM assumes no latent confounders, but the graph has {u} <-> {v}; "
                "for graphs with bidirected edges use ID-GEN (lightning_causal.compile_plan)"
            )
        config = config or MechanismConfig()
        missing = [n for n in graph.nodes if n not in variables]
        if missing:
            raise GraphError(f"no variable type for node {missing[0]!r}; give one for every node")
        order = graph.topological_order()
        parents = {n: graph.parents(n) for n in order}
        roots = [n for n in order if not parents[n]] if config.roots == "empirical" else []
        # the roots of one sample come from one training row: their joint, correlated roots included
        super().__init__(order, parents, variables, order, config, resampled=roots, joint_rows=True)
        self.graph = graph
        self.order = order
        self.parents = parents
        self.levels = [list(level) for level in graph.levels()]
