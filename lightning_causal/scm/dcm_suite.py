"""The continuous structural-equation suite of Diffusion-based Causal Models (DCM).

Chao, Blöbaum, Patra & Kasiviswanathan, "Interventional and Counterfactual Inference with
Diffusion Models", 2023 (arXiv:2302.00860), Section 6 and Appendix: five graphs (chain, triangle,
diamond, Y, ladder), each with a nonlinear additive-noise (``"NL"``) and a non-additive
(``"NA"``) set of structural equations. Every exogenous noise is ``u_i ~ N(0, I)``; a root is its
noise (``x1 = u1``). The divisors in the equations scale every node to roughly unit variance.

Because we hold the true noise, everything is exact: observational and interventional samples
come from the (mutilated) equations, and the counterfactual of a factual row is ``forward`` with
that row's own noise and the intervention (abduction is exact). Learned models are scored
against these.

Values are dicts ``{node: float32 tensor of shape (n, dim)}``; randomness is always an explicit
``torch.Generator`` (or an int seed), never the global RNG.

Example:
    >>> import torch
    >>> scm = make_scm("triangle", "NL")
    >>> values, noise = scm.sample(4, rng=torch.Generator().manual_seed(0))
    >>> sorted(values), tuple(values["x3"].shape)
    (['x1', 'x2', 'x3'], (4, 1))
    >>> cf = scm.counterfactual(noise, {"x1": 1.0})  # what x would have been had x1 been 1
    >>> bool((cf["x1"] == 1.0).all())
    True
    >>> shifted = scm.forward(noise, {"x1": lambda v: v + 1})  # a shift (soft) intervention
    >>> bool(torch.allclose(shifted["x1"], values["x1"] + 1))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import QueryError, listing
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.randomness import RngLike, torch_rng
from lightning_causal.variables.interventions import apply_shift, hard_value
from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "LADDER_EDGES",
    "SUITE",
    "VARIANTS",
    "ContinuousSCM",
    "Intervention",
    "Mechanism",
    "intervened_nodes",
    "intervention_values",
    "make_scm",
]

SUITE: tuple[str, ...] = ("chain", "triangle", "diamond", "y", "ladder")
VARIANTS: tuple[str, ...] = ("NL", "NA")
LAYOUTS: tuple[str, ...] = ("vector", "scalar")

Mechanism = Callable[[Mapping[str, Tensor], Tensor], Tensor]
"""A structural equation ``f(parent values, own noise) -> value`` on ``(n, dim)`` tensors."""

Intervention = float | Sequence[float] | Tensor | Callable[[Tensor], Tensor]
"""A hard value (float, ``(dim,)`` or ``(n, dim)``) or a shift ``f(mechanism output)``."""


class ContinuousSCM:
    """A continuous SCM ``x_v = f_v(x_pa(v), u_v)`` with independent noise ``u_v ~ N(0, I)``.

    Args:
        name: the suite name (``"chain"``, ...), for messages.
        variant: ``"NL"`` (additive noise) or ``"NA"`` (non-additive).
        graph: the causal DAG.
        dims: the dimension of every node (and of its noise).
        mechanisms: ``f_v(parents, u_v)`` for every node; ``parents`` maps the node's parents, in
            the graph's parent order, to their values.
        equations: the equations as text, for documentation (optional).
        noise_groups: nodes whose noise is drawn as one block, in order (default: one node each,
            in topological order). The scalar ladder draws each super node's three noises as one
            ``(n, 3)`` block so that a seed gives the same noise in both ladder layouts.
        weights: random mechanism weights, for inspection (the ladder's ``(W1, W2)`` per node).

    Use :func:`make_scm` to build a suite member.
    """

    def __init__(
        self,
        name: str,
        variant: str,
        graph: CausalGraph,
        dims: Mapping[str, int],
        mechanisms: Mapping[str, Mechanism],
        equations: Mapping[str, str] | None = None,
        noise_groups: Sequence[Sequence[str]] | None = None,
        weights: Mapping[str, tuple[Tensor, Tensor]] | None = None,
    ) -> None:
        if graph.bidirected:
            raise QueryError(f"SCM {name!r}: a ContinuousSCM has independent noises; drop the bidirected edges")
        missing = [v for v in graph.nodes if v not in dims or v not in mechanisms]
        if missing:
            raise QueryError(f"SCM {name!r}: node {missing[0]!r} needs both a dim and a mechanism")
        self.name = name
        self.variant = variant
        self.graph = graph
        self.dims: dict[str, int] = {v: int(dims[v]) for v in graph.nodes}
        self.equations: dict[str, str] = dict(equations or {})
        self.weights: dict[str, tuple[Tensor, Tensor]] = dict(weights or {})
        self._mechanisms = dict(mechanisms)
        self._order = graph.topological_order()
        self._parents = {v: graph.parents(v) for v in graph.nodes}
        groups = [tuple(g) for g in noise_groups] if noise_groups is not None else [(v,) for v in self._order]
        if sorted(v for g in groups for v in g) != sorted(graph.nodes):
            raise QueryError(f"SCM {name!r}: noise_groups must list every node exactly once")
        self._noise_groups = tuple(groups)

        self._recipe: tuple[str, str, int, str] | None = None

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Suite members pickle as their recipe (their mechanisms are closures): DDP-spawn and worker safe."""
        if self._recipe is None:
            return super().__reduce__()
        return (make_scm, self._recipe)

    def __repr__(self) -> str:
        return f"ContinuousSCM({self.name!r}, {self.variant!r}, {self.graph!r})"

    def mechanism(self, v: str) -> Mechanism:
        """The structural equation ``f_v(parents, u_v)`` of node ``v`` (parents keyed by name)."""
        if v not in self._mechanisms:
            raise QueryError(f"unknown node {v!r}; the {self.name} SCM has nodes {listing(self.graph.nodes)}")
        return self._mechanisms[v]

    @property
    def variables(self) -> dict[str, VariableSpec]:
        """A continuous :class:`VariableSpec` per node (with its dim, without statistics)."""
        return {v: VariableSpec(name=v, kind="continuous", dim=self.dims[v]) for v in self.graph.nodes}

    # ------------------------------------------------------------------ sampling
    def sample_noise(self, n: int, rng: RngLike = None) -> dict[str, Tensor]:
        """Draw ``n`` rows of exogenous noise ``u_v ~ N(0, I_dim)`` for every node."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise QueryError(f"n must be a non-negative int, got {n!r}")
        g = torch_rng(rng)
        noise: dict[str, Tensor] = {}
        for group in self._noise_groups:
            block = torch.randn(n, sum(self.dims[v] for v in group), generator=g)
            for v, part in zip(group, block.split([self.dims[v] for v in group], dim=1), strict=True):
                noise[v] = part.contiguous()
        return {v: noise[v] for v in self.graph.nodes}

    def forward(
        self, noise: Mapping[str, Tensor], interventions: Mapping[str, Intervention] | None = None
    ) -> dict[str, Tensor]:
        """Evaluate the structural equations in topological order.

        Args:
            noise: ``{node: (n, dim)}`` for every node.
            interventions: ``{node: value}``. A hard value (a float, a ``(dim,)`` sequence or tensor,
                or an ``(n, dim)`` tensor, broadcast to ``(n, dim)``) replaces the node's equation:
                do(x_v = value). A callable ``f`` is a shift (soft) intervention: ``x_v = f(f_v(...))``,
                e.g. ``lambda v: v + 1``.

        Returns:
            ``{node: (n, dim)}`` in the graph's node order.
        """
        n = self._check_noise(noise)
        plan = self._check_interventions(interventions)
        values: dict[str, Tensor] = {}
        for v in self._order:
            u = noise[v]
            action = plan.get(v)
            if action is not None and not callable(action):
                values[v] = self._hard_value(v, action, n, u)
                continue
            out = self._mechanisms[v]({q: values[q] for q in self._parents[v]}, u)
            if action is not None:
                assert callable(action)
                out = apply_shift(v, action, out)
            values[v] = out
        return {v: values[v] for v in self.graph.nodes}

    __call__ = forward

    def sample(
        self,
        n: int,
        rng: RngLike = None,
        interventions: Mapping[str, Intervention] | None = None,
    ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """``n`` samples of the (intervened) SCM and the noise that produced them: ``(values, noise)``."""
        noise = self.sample_noise(n, rng)
        return self.forward(noise, interventions), noise

    def counterfactual(
        self, noise: Mapping[str, Tensor], interventions: Mapping[str, Intervention]
    ) -> dict[str, Tensor]:
        """The exact counterfactual of the factual rows with this ``noise`` under ``interventions``.

        Pearl's three steps: 1. abduction is exact, because the true noise is held; 2. action: the
        interventions replace (or shift) the intervened equations; 3. prediction: evaluate the
        mutilated equations with the same noise.
        """
        return self.forward(noise, interventions)

    # ------------------------------------------------------------------ checks
    def _check_noise(self, noise: Mapping[str, Tensor]) -> int:
        missing = [v for v in self.graph.nodes if v not in noise]
        if missing:
            raise QueryError(
                f"noise is missing node {missing[0]!r}; the {self.name} SCM needs {listing(self.graph.nodes)}"
            )
        unknown = [v for v in noise if v not in self.dims]
        if unknown:
            raise QueryError(
                f"noise names unknown node {unknown[0]!r}; the {self.name} SCM has {listing(self.graph.nodes)}"
            )
        rows = None
        for v in self.graph.nodes:
            u = noise[v]
            if not isinstance(u, Tensor) or u.dim() != 2 or u.shape[1] != self.dims[v]:
                shape = tuple(u.shape) if isinstance(u, Tensor) else type(u).__name__
                raise QueryError(f"noise of node {v!r} must be a tensor of shape (n, {self.dims[v]}), got {shape}")
            if rows is None:
                rows = u.shape[0]
            elif u.shape[0] != rows:
                raise QueryError(f"noise of node {v!r} has {u.shape[0]} rows, other nodes have {rows}")
        return int(rows or 0)

    def _check_interventions(self, interventions: Mapping[str, Intervention] | None) -> dict[str, Intervention]:
        plan = dict(interventions or {})
        for v, action in plan.items():
            if v not in self.dims:
                raise QueryError(
                    f"intervention on unknown node {v!r}; the {self.name} SCM has nodes {listing(self.graph.nodes)}"
                )
            if action is None:
                raise QueryError(f"intervention on node {v!r} is None; give a value or a callable")
        return plan

    def _hard_value(self, v: str, value: Intervention, n: int, like: Tensor) -> Tensor:
        spec = VariableSpec(name=v, kind="continuous", dim=self.dims[v])
        return hard_value(spec, value, n, like.device).to(like.dtype)


# ---------------------------------------------------------------------- the four small graphs
# Chao et al. 2023 (arXiv:2302.00860), Appendix, structural equations of the synthetic suite.
# Each entry: node -> (equation text, mechanism(p, u)). 20 / (1 + exp(-a)) is written 20 * sigmoid(a)
# (the same function, without overflow).


def _root(p: Mapping[str, Tensor], u: Tensor) -> Tensor:
    """x = u for a root."""
    return u.clone()


_Equations = dict[str, tuple[str, Mechanism]]

_SMALL: dict[tuple[str, str], tuple[tuple[tuple[str, str], ...], _Equations]] = {
    ("chain", "NL"): (
        (("x1", "x2"), ("x2", "x3")),
        {
            "x2": ("(exp(x1/2) + u2/4)/0.65", lambda p, u: (torch.exp(p["x1"] / 2) + u / 4) / 0.65),
            "x3": ("((x2 - 5)^3/15 + u3)/2.13", lambda p, u: ((p["x2"] - 5) ** 3 / 15 + u) / 2.13),
        },
    ),
    ("chain", "NA"): (
        (("x1", "x2"), ("x2", "x3")),
        {
            "x2": ("1/((u2 + x1)^2 + 0.5)/0.63", lambda p, u: 1 / ((u + p["x1"]) ** 2 + 0.5) / 0.63),
            "x3": ("sqrt(x2 + |u3|)/(0.1 + x2)", lambda p, u: torch.sqrt(p["x2"] + u.abs()) / (0.1 + p["x2"])),
        },
    ),
    ("triangle", "NL"): (
        (("x1", "x2"), ("x1", "x3"), ("x2", "x3")),
        {
            "x2": ("(u2 + 2 x1^2)/3", lambda p, u: (u + 2 * p["x1"] ** 2) / 3),
            "x3": (
                "(u3 + 20/(1 + exp(-x2^2 + x1)))/2.41",
                lambda p, u: (u + 20 * torch.sigmoid(p["x2"] ** 2 - p["x1"])) / 2.41,
            ),
        },
    ),
    ("triangle", "NA"): (
        (("x1", "x2"), ("x1", "x3"), ("x2", "x3")),
        {
            "x2": (
                "(x1/((u2 + x1)^2 + 1) + u2/4)/0.47",
                lambda p, u: (p["x1"] / ((u + p["x1"]) ** 2 + 1) + u / 4) / 0.47,
            ),
            "x3": (
                "(|u3| + 0.3)(-x1 + x2/2 + |u3|/5)^2/0.93",
                lambda p, u: (u.abs() + 0.3) * (-p["x1"] + p["x2"] / 2 + u.abs() / 5) ** 2 / 0.93,
            ),
        },
    ),
    ("diamond", "NL"): (
        (("x1", "x2"), ("x1", "x3"), ("x2", "x3"), ("x2", "x4"), ("x3", "x4")),
        {
            "x2": ("(x1^2 + u2/2)/1.5", lambda p, u: (p["x1"] ** 2 + u / 2) / 1.5),
            "x3": (
                "(x2^2 - 2/(1 + exp(-x1)) + u3/2)/1.27",
                lambda p, u: (p["x2"] ** 2 - 2 * torch.sigmoid(p["x1"]) + u / 2) / 1.27,
            ),
            "x4": (
                "(x3/(|x2 + x3| + 0.5) + u4/5)/0.54",
                lambda p, u: (p["x3"] / ((p["x2"] + p["x3"]).abs() + 0.5) + u / 5) / 0.54,
            ),
        },
    ),
    ("diamond", "NA"): (
        (("x1", "x2"), ("x1", "x3"), ("x2", "x3"), ("x2", "x4"), ("x3", "x4")),
        {
            "x2": (
                "(sqrt|x1| (|u2| + 0.1)/2 + |x1| + u2/5)/0.83",
                lambda p, u: (p["x1"].abs().sqrt() * (u.abs() + 0.1) / 2 + p["x1"].abs() + u / 5) / 0.83,
            ),
            # 6/(1 + c exp(x1 - x2)) = 6 sigmoid(x2 - x1 - log c), c = |u3| + 0.5 > 0
            "x3": (
                "6/(1 + (|u3| + 0.5) exp(-x2 + x1))",
                lambda p, u: 6 * torch.sigmoid(p["x2"] - p["x1"] - torch.log(u.abs() + 0.5)),
            ),
            "x4": (
                "((x3 + x2 + u4/4 - 7)^2 - 20)/7.27",
                lambda p, u: ((p["x3"] + p["x2"] + u / 4 - 7) ** 2 - 20) / 7.27,
            ),
        },
    ),
    ("y", "NL"): (
        (("x1", "x3"), ("x2", "x3"), ("x3", "x4")),
        {
            "x3": (
                "(-x2^2 + 4/(1 + exp(-x1 - x2)) + u3/2)/1.83",
                lambda p, u: (-(p["x2"] ** 2) + 4 * torch.sigmoid(p["x1"] + p["x2"]) + u / 2) / 1.83,
            ),
            "x4": (
                "(20/(1 + exp(x3^2/2 - x3)) + u4)/3.26",
                lambda p, u: (20 * torch.sigmoid(p["x3"] - p["x3"] ** 2 / 2) + u) / 3.26,
            ),
        },
    ),
    ("y", "NA"): (
        (("x1", "x3"), ("x2", "x3"), ("x3", "x4")),
        {
            "x3": (
                "(x1 - 2 x2 - 2)(|u3| + 0.2)/2.87",
                lambda p, u: (p["x1"] - 2 * p["x2"] - 2) * (u.abs() + 0.2) / 2.87,
            ),
            "x4": ("1/(|u4 + 2 x3| + 0.5)/0.43", lambda p, u: 1 / ((u + 2 * p["x3"]).abs() + 0.5) / 0.43),
        },
    ),
}


def _small_scm(name: str, variant: str) -> ContinuousSCM:
    edges, equations = _SMALL[(name, variant)]
    nodes = sorted({v for e in edges for v in e}, key=lambda v: int(v[1:]))
    graph = CausalGraph(directed=edges, nodes=nodes)
    mechanisms: dict[str, Mechanism] = {}
    texts: dict[str, str] = {}
    for v in nodes:
        if v in equations:
            texts[v], mechanisms[v] = equations[v]
        else:
            texts[v], mechanisms[v] = f"u{v[1:]}", _root
    return ContinuousSCM(name, variant, graph, dict.fromkeys(nodes, 1), mechanisms, equations=texts)


# ---------------------------------------------------------------------- the ladder
# Chao et al. 2023, Appendix: ten 3-dimensional nodes; f = 0.75 * W2 SiLU(W1 [parents]), with
# W1 ~ U(-1, 1)^(16 x in), W2 ~ U(-1, 1)^(3 x 16); NL: x = f(parents) + u; NA: x = f([parents; u]).

LADDER_EDGES: tuple[tuple[int, int], ...] = (
    (1, 2),
    (1, 3),
    (2, 4),
    (3, 4),
    (3, 5),
    (4, 6),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 8),
    (7, 9),
    (8, 10),
    (9, 10),
)
_LADDER_NODES = 10
_LADDER_DIM = 3
_LADDER_HIDDEN = 16
_LADDER_SCALE = 0.75


def _scalar_names(k: int) -> tuple[str, ...]:
    """The three scalar nodes x{3k-2}, x{3k-1}, x{3k} (two-digit names) of ladder super node k."""
    return tuple(f"x{3 * (k - 1) + j + 1:02d}" for j in range(_LADDER_DIM))


def _ladder_mechanism(
    parents: tuple[str, ...], w1: Tensor, w2: Tensor, variant: str, row: int | None = None
) -> Mechanism:
    """f for one node: ``0.75 * W2 SiLU(W1 x)`` with ``x = [parents]`` (NL, plus ``u``) or ``[parents; u]`` (NA).

    ``row`` picks one output row (scalar layout: scalar node j of its super node takes row j).
    """
    out_w = w2 if row is None else w2[row : row + 1]

    def mechanism(p: Mapping[str, Tensor], u: Tensor) -> Tensor:
        x = torch.cat([p[q] for q in parents], dim=1)
        if variant == "NA":
            x = torch.cat([x, u], dim=1)
        f = _LADDER_SCALE * torch.nn.functional.silu(x @ w1.to(x).T) @ out_w.to(x).T
        return f + u if variant == "NL" else f

    return mechanism


def _ladder(variant: str, seed: int, layout: str) -> ContinuousSCM:
    scalar = layout == "scalar"
    parents_of = {k: tuple(a for a, b in LADDER_EDGES if b == k) for k in range(1, _LADDER_NODES + 1)}
    # 1. the weights, drawn once per non-root super node from a rng seeded with `seed`
    g = torch.Generator().manual_seed(seed)
    noise_in = 0 if variant == "NL" else (1 if scalar else _LADDER_DIM)
    weights: dict[str, tuple[Tensor, Tensor]] = {}
    for k in range(2, _LADDER_NODES + 1):
        fan_in = _LADDER_DIM * len(parents_of[k]) + noise_in
        w1 = torch.rand(_LADDER_HIDDEN, fan_in, generator=g) * 2 - 1
        w2 = torch.rand(_LADDER_DIM, _LADDER_HIDDEN, generator=g) * 2 - 1
        weights[f"x{k}"] = (w1, w2)
    equation = "0.75 W2 SiLU(W1 [pa]) + u" if variant == "NL" else "0.75 W2 SiLU(W1 [pa; u])"
    mechanisms: dict[str, Mechanism] = {}
    texts: dict[str, str] = {}
    if not scalar:
        # 2a. vector layout: ten 3-dimensional nodes
        nodes = [f"x{k}" for k in range(1, _LADDER_NODES + 1)]
        graph = CausalGraph(directed=[(f"x{a}", f"x{b}") for a, b in LADDER_EDGES], nodes=nodes)
        for k, v in enumerate(nodes, start=1):
            if k == 1:
                mechanisms[v], texts[v] = _root, "u1"
                continue
            w1, w2 = weights[v]
            mechanisms[v] = _ladder_mechanism(graph.parents(v), w1, w2, variant)
            texts[v] = equation
        dims = dict.fromkeys(nodes, _LADDER_DIM)
        return ContinuousSCM("ladder", variant, graph, dims, mechanisms, texts, weights=weights)
    # 2b. scalar layout (the DCM reference code's): 30 one-dimensional nodes, super node k =
    # (x{3k-2}, x{3k-1}, x{3k}); every scalar node of a feeds every scalar node of b for a -> b
    nodes = [name for k in range(1, _LADDER_NODES + 1) for name in _scalar_names(k)]
    edges = [(i, j) for a, b in LADDER_EDGES for i in _scalar_names(a) for j in _scalar_names(b)]
    graph = CausalGraph(directed=edges, nodes=nodes)
    for k in range(1, _LADDER_NODES + 1):
        for row, v in enumerate(_scalar_names(k)):
            if k == 1:
                mechanisms[v], texts[v] = _root, f"u{v[1:]}"
                continue
            w1, w2 = weights[f"x{k}"]
            mechanisms[v] = _ladder_mechanism(graph.parents(v), w1, w2, variant, row=row)
            texts[v] = f"({equation})[{row}]"
    groups = [_scalar_names(k) for k in range(1, _LADDER_NODES + 1)]
    dims = dict.fromkeys(nodes, 1)
    return ContinuousSCM("ladder", variant, graph, dims, mechanisms, texts, noise_groups=groups, weights=weights)


# ---------------------------------------------------------------------- public constructors
def make_scm(name: str, variant: str = "NL", seed: int = 0, layout: str = "vector") -> ContinuousSCM:
    """A member of the DCM suite (Chao et al. 2023, arXiv:2302.00860).

    Args:
        name: ``"chain"``, ``"triangle"``, ``"diamond"``, ``"y"`` or ``"ladder"`` (any case).
        variant: ``"NL"`` (nonlinear additive noise) or ``"NA"`` (non-additive), any case.
        seed: seeds the ladder's random weights (the other graphs have none).
        layout: the ladder's layout: ``"vector"`` (ten 3-dimensional nodes x1..x10) or ``"scalar"``
            (thirty 1-dimensional nodes x01..x30, as in the DCM reference code). The other graphs
            have one-dimensional nodes in both.

    Raises:
        QueryError: an unknown name, variant or layout (the message lists the choices).
    """
    key = str(name).strip().lower()
    if key not in SUITE:
        raise QueryError(f"unknown DCM SCM {name!r}; choose one of {', '.join(SUITE)}")
    kind = str(variant).strip().upper()
    if kind not in VARIANTS:
        raise QueryError(f"unknown variant {variant!r} of SCM {key!r}; choose NL (additive) or NA (non-additive)")
    shape = str(layout).strip().lower()
    if shape not in LAYOUTS:
        raise QueryError(f"unknown layout {layout!r}; choose {' or '.join(LAYOUTS)}")
    scm = _ladder(kind, int(seed), shape) if key == "ladder" else _small_scm(key, kind)
    scm._recipe = (key, kind, int(seed), shape)
    return scm


def intervened_nodes(scm: ContinuousSCM) -> list[str]:
    """The nodes the DCM protocol intervenes on (Chao et al. 2023, Section 6), in node order.

    Every node with a descendant other than itself; for the ladder (vector layout), nodes 1 and 4.
    """
    graph = scm.graph
    if scm.name == "ladder":
        return ["x1", "x4"]
    return [v for v in graph.nodes if len(graph.descendants(v)) > 1]


def intervention_values(scm: ContinuousSCM, node: str, count: int = 20, seed: int = 0, n: int = 5000) -> Tensor:
    """``count`` intervention values evenly spaced between the 10th and 90th percentile of ``node``.

    The DCM paper's protocol (Chao et al. 2023, Section 6): percentiles of the observational
    distribution, estimated from ``n`` samples drawn with ``seed`` (linear interpolation, as
    ``numpy.quantile``); a vector node uses per-dimension percentiles.

    Returns:
        A float32 tensor of shape ``(count, dim)`` (``dim`` = 1 for a scalar node); row ``i`` is
        a valid hard intervention value for :meth:`ContinuousSCM.forward`.
    """
    if node not in scm.dims:
        raise QueryError(f"unknown node {node!r}; the {scm.name} SCM has nodes {listing(scm.graph.nodes)}")
    if count < 1 or n < 2:
        raise QueryError(f"need count >= 1 and n >= 2, got count={count}, n={n}")
    values, _ = scm.sample(n, rng=seed)
    x = values[node].double()
    lo, hi = torch.quantile(x, torch.tensor([0.1, 0.9], dtype=torch.float64), dim=0)
    steps = torch.linspace(0.0, 1.0, count, dtype=torch.float64).unsqueeze(1)
    return (lo + (hi - lo) * steps).float()
