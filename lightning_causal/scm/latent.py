"""Ground-truth structural causal models with latent confounders, continuous and mixed.

Every model here has explicit latent confounders: a latent ``U ~ N(0, 1)`` with exactly two observed
children, which the observed graph (:attr:`LatentSCM.graph`) shows as a bidirected edge between
them. The mechanisms are nonlinear and smooth, the variables are at roughly unit scale, and every
observed variable has its own exogenous noise (a standard normal for a continuous variable, scaled
in its equation to at least a fifth of the variable's spread; a uniform for a discrete one, turned
into a class by the inverse CDF). The latents bias the observational conditional P(Y | X = x)
strongly away from the interventional P(Y | do(X = x)), while the treatment values used for
evaluation lie well inside the observational support. They are the truth that ID-GEN (one
generative model per factor of an identified estimand) is scored against, next to a naive
conditional model P(Y | X) and a DCM that ignores the confounders.

Because the latents are held, everything is exact:

* :meth:`LatentSCM.sample` draws the latents and the noise, then evaluates the (mutilated)
  structural equations in topological order; an intervened variable takes its value and ignores its
  equation. All noise is drawn before any equation runs, so one seed gives the same latents and noise
  under every intervention (common random numbers);
* :meth:`LatentSCM.conditional` draws P(V | do(x), given) for discrete ``given`` variables by
  rejection: it samples the mutilated model in batches and keeps the rows that match ``given``
  (the first ``n`` of them), which is exact.

The built-ins (:data:`LATENT_SCMS`, made by :func:`make_latent_scm`), with their textbook queries:

* ``backdoor``: Z -> X, Z -> Y, X -> Y, no latent (Z observed); P(Y | do(X));
* ``frontdoor``: X -> M -> Y with X <-> Y; P(Y | do(X));
* ``napkin``: W1 -> W2 -> X -> Y with W1 <-> X and W1 <-> Y; P(Y | do(X));
* ``napkin_mixed``: the napkin with W2 categorical (3 classes) and X binary; P(Y | do(X)), X in {0, 1};
* ``verma``: Verma's chain A -> B -> X -> Y with A <-> X and B <-> Y (ID's line 7, a generated
  dataset, and a free input A); P(Y | do(X));
* ``conditional``: X -> M -> Y -> Z with X <-> Y and Z binary; P(Y | do(X), Z);
* ``frontdoor_mixed``: X -> M -> Y with X <-> Y and M categorical (4 classes); P(Y | do(X));
* ``napkin_conditional``: the napkin with a binary proxy Y -> Z of the outcome; P(Y | do(X), Z)
  (IDC on top of ID's line 7).

Their structural equations are in :attr:`LatentSCM.equations` (``e_V`` is the noise of V).

Values are dicts ``{name: tensor}``: a continuous variable is float32 of shape ``(n, 1)``, a discrete
one int64 class codes of shape ``(n,)``. Randomness is always an explicit ``torch.Generator`` or an
int seed, never the global RNG.

Example:
    >>> scm = make_latent_scm("frontdoor")
    >>> values = scm.sample(4, seed=0)
    >>> sorted(values), tuple(values["Y"].shape)
    (['M', 'X', 'Y'], (4, 1))
    >>> treated = scm.sample(4, interventions={"X": 1.0}, seed=0)
    >>> bool((treated["X"] == 1.0).all())
    True
    >>> rows = make_latent_scm("conditional").conditional(5, {"X": 0.5}, {"Z": 1}, seed=0)
    >>> rows["Z"].tolist()
    [1, 1, 1, 1, 1]
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import QueryError, listing
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.randomness import RngLike, torch_rng
from lightning_causal.variables.interventions import hard_value
from lightning_causal.variables.spec import VariableSpec

__all__ = [
    "LATENT_SCMS",
    "InterventionValue",
    "LatentConfounder",
    "LatentMechanism",
    "LatentSCM",
    "make_latent_scm",
]

LATENT_SCMS: tuple[str, ...] = (
    "backdoor",
    "frontdoor",
    "napkin",
    "napkin_mixed",
    "verma",
    "conditional",
    "frontdoor_mixed",
    "napkin_conditional",
)

LatentMechanism = Callable[[Mapping[str, Tensor], Tensor], Tensor]
"""A structural equation ``f(inputs, own noise) -> value``: ``inputs`` maps the variable's observed
parents and its latents to their values; the noise is ``(n, 1)``. A continuous variable returns
float ``(n, 1)``, a discrete one int64 codes ``(n,)``."""

InterventionValue = float | int | Tensor | Sequence[float]
"""A hard intervention value: a number, a class code, or a tensor broadcastable to ``(n, 1)`` / ``(n,)``."""

_QUANTILES = (0.2, 0.5, 0.8)
_QUANTILE_ROWS = 100_000
_QUANTILE_SEED = 0
_MIN_ACCEPTANCE = 1e-3
_MIN_BATCH = 20_000
_MAX_BATCH = 1_000_000


@dataclass(frozen=True)
class LatentConfounder:
    """A latent confounder ``name ~ N(0, 1)`` with exactly two observed children.

    The observed graph has the bidirected edge ``children[0] <-> children[1]`` for it.
    """

    name: str
    children: tuple[str, str]


class LatentSCM:
    """An SCM over observed variables and latent confounders, with exact (conditional) interventional sampling.

    Args:
        name: the model's name (``"frontdoor"``, ...), for messages.
        description: one line saying what the model is for.
        graph: the causal graph over the observed variables; its bidirected edges are exactly the
            latents' child pairs.
        variables: the type of every observed variable (continuous of dim 1, binary or categorical;
            no statistics).
        latents: the latent confounders, each ``N(0, 1)`` with two observed children.
        mechanisms: the structural equation of every observed variable (see :data:`LatentMechanism`).
        equations: the equations as text, for every observed variable and latent.
        treatment, outcome, condition: the textbook query P(outcome | do(treatment), condition).

    Use :func:`make_latent_scm` to build a built-in.

    Raises:
        QueryError: a latent whose children are not two distinct observed variables, bidirected
            edges that do not match the latents, a variable without a spec or a mechanism, a vector
            variable, or a query naming an unknown variable.
    """

    def __init__(
        self,
        name: str,
        description: str,
        graph: CausalGraph,
        variables: Mapping[str, VariableSpec],
        latents: Sequence[LatentConfounder],
        mechanisms: Mapping[str, LatentMechanism],
        equations: Mapping[str, str],
        treatment: Sequence[str],
        outcome: Sequence[str],
        condition: Sequence[str] = (),
    ) -> None:
        nodes = graph.nodes
        for v in nodes:
            if v not in variables or v not in mechanisms:
                raise QueryError(f"latent SCM {name!r}: variable {v!r} needs both a spec and a mechanism")
            spec = variables[v]
            if spec.name != v or spec.dim != 1:
                raise QueryError(f"latent SCM {name!r}: variable {v!r} needs a one-dimensional spec named {v!r}")
        extra = [v for v in list(variables) + list(mechanisms) if v not in nodes]
        if extra:
            raise QueryError(f"latent SCM {name!r}: {extra[0]!r} is not a node of the graph ({listing(nodes)})")
        seen: set[str] = set()
        for u in latents:
            if u.name in nodes or u.name in seen:
                raise QueryError(f"latent SCM {name!r}: latent name {u.name!r} is taken")
            seen.add(u.name)
            a, b = u.children
            if a == b or a not in nodes or b not in nodes:
                raise QueryError(
                    f"latent SCM {name!r}: latent {u.name!r} needs two distinct observed children, got {u.children}"
                )
        pairs = sorted(tuple(sorted(u.children)) for u in latents)
        edges = sorted(tuple(sorted(e)) for e in graph.bidirected)
        if pairs != edges:
            raise QueryError(
                f"latent SCM {name!r}: the bidirected edges {edges} must be exactly the latents' child pairs {pairs}"
            )
        for what, names in (("treatment", treatment), ("outcome", outcome), ("condition", condition)):
            unknown = [v for v in names if v not in nodes]
            if unknown:
                raise QueryError(f"latent SCM {name!r}: {what} {unknown[0]!r} is not a node ({listing(nodes)})")
        self.name = name
        self.description = description
        self.graph = graph
        self.variables: dict[str, VariableSpec] = {v: variables[v] for v in nodes}
        self.latents: tuple[LatentConfounder, ...] = tuple(latents)
        self.equations: dict[str, str] = dict(equations)
        self.treatment: tuple[str, ...] = tuple(treatment)
        self.outcome: tuple[str, ...] = tuple(outcome)
        self.condition: tuple[str, ...] = tuple(condition)
        self._mechanisms = {v: mechanisms[v] for v in nodes}
        self._order = graph.topological_order()
        self._inputs = {v: graph.parents(v) + tuple(u.name for u in self.latents if v in u.children) for v in nodes}
        self._treatment_values: list[dict[str, float | int]] | None = None
        self._recipe: str | None = None

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Built-ins pickle as their name (their mechanisms are closures): DDP-spawn and worker safe."""
        if self._recipe is None:
            return super().__reduce__()
        return (make_latent_scm, (self._recipe,))

    def __repr__(self) -> str:
        return f"LatentSCM({self.name!r}, {self.graph!r}, latents={[u.name for u in self.latents]})"

    @property
    def query(self) -> str:
        """The textbook query as text, e.g. ``"P(Y | do(X), Z)"``."""
        given = f", {', '.join(self.condition)}" if self.condition else ""
        return f"P({', '.join(self.outcome)} | do({', '.join(self.treatment)}){given})"

    # ------------------------------------------------------------------ sampling
    def sample(
        self, n: int, interventions: Mapping[str, InterventionValue] | None = None, seed: RngLike = 0
    ) -> dict[str, Tensor]:
        """``n`` exact samples of the observed variables of the (mutilated) model.

        Args:
            n: number of rows.
            interventions: ``{observed variable: hard value}``: a float, an int class code, or a
                tensor broadcastable to ``(n, 1)`` (continuous) or ``(n,)`` (discrete).
            seed: an int seed or a ``torch.Generator`` (drawn from, so successive calls differ).

        Returns:
            ``{variable: value}`` in the graph's node order.

        Raises:
            QueryError: an unknown or latent variable, a class code out of range, a non-finite or
                badly shaped value.
        """
        n = _check_n(n)
        plan = self._plan(interventions, n)
        g = torch_rng(seed, what="seed")
        return self._forward(self._noise(n, g), plan, n)

    def conditional(
        self,
        n: int,
        interventions: Mapping[str, InterventionValue] | None,
        given: Mapping[str, int | Tensor],
        seed: RngLike = 0,
    ) -> dict[str, Tensor]:
        """``n`` exact samples of P(observed | do(interventions), given) for discrete ``given`` variables.

        Rejection sampling: the mutilated model is sampled in batches and the rows whose ``given``
        variables take the given class codes are kept, the first ``n`` of them.

        Args:
            n: number of rows.
            interventions: ``{observed variable: one hard value}`` (one value per variable, not one
                per row).
            given: ``{discrete observed variable: class code}``.
            seed: an int seed or a ``torch.Generator``.

        Raises:
            QueryError: a continuous or unknown ``given`` variable, a class code out of range, a
                ``given`` value that contradicts an intervention, or an event of probability below
                0.001 (too rare to reach by rejection), besides the errors of :meth:`sample`.
        """
        n = _check_n(n)
        if isinstance(interventions, Mapping):
            for v, value in interventions.items():
                if isinstance(value, Tensor) and value.numel() != 1:
                    raise QueryError(
                        f"conditional: intervention on {v} must be one value, not a tensor of shape "
                        f"{tuple(value.shape)}"
                    )
        plan = self._plan(interventions, 1)
        codes = self._given(given)
        for v, code in codes.items():
            if v in plan and int(plan[v][0]) != code:
                raise QueryError(f"conditional: given {v} = {code} contradicts do({v} = {int(plan[v][0])})")
        g = torch_rng(seed, what="seed")
        if not codes or n == 0:
            return self._forward(self._noise(n, g), plan, n)
        kept: list[dict[str, Tensor]] = []
        got, drawn, batch = 0, 0, max(_MIN_BATCH, 2 * n)
        while got < n:
            values = self._forward(self._noise(batch, g), plan, batch)
            mask = torch.ones(batch, dtype=torch.bool)
            for v, code in codes.items():
                mask &= values[v] == code
            drawn += batch
            got += int(mask.sum())
            if got < _MIN_ACCEPTANCE * drawn:
                event = ", ".join(f"{v} = {c}" for v, c in codes.items())
                raise QueryError(
                    f"conditional: P({event} | do({_describe(plan)})) is about {got / drawn:.2g} in "
                    f"the {self.name} SCM, below {_MIN_ACCEPTANCE:g}; rejection sampling cannot reach it"
                )
            kept.append({v: t[mask] for v, t in values.items()})
            rate = got / drawn
            batch = min(_MAX_BATCH, max(_MIN_BATCH, math.ceil(1.2 * (n - got) / rate)))
        return {v: torch.cat([part[v] for part in kept])[:n] for v in self.graph.nodes}

    # ------------------------------------------------------------------ evaluation values
    def treatment_values(self) -> list[dict[str, float | int]]:
        """Three evaluation interventions on the textbook treatment.

        A continuous treatment takes the 20%, 50% and 80% quantiles of its observational
        distribution (from 100,000 rows drawn with seed 0), rounded to 2 decimals; a discrete one
        its classes, up to 3. With several treatment variables, row ``i`` takes every variable's
        ``i``-th value.
        """
        if self._treatment_values is None:
            per: dict[str, list[float | int]] = {}
            observed: dict[str, Tensor] | None = None
            for t in self.treatment:
                spec = self.variables[t]
                if spec.is_discrete:
                    per[t] = list(range(min(spec.classes, 3)))
                    continue
                if observed is None:
                    observed = self.sample(_QUANTILE_ROWS, seed=_QUANTILE_SEED)
                q = torch.quantile(observed[t][:, 0].double(), torch.tensor(_QUANTILES, dtype=torch.float64))
                per[t] = [round(float(x), 2) for x in q]
            rows = min((len(values) for values in per.values()), default=0)
            self._treatment_values = [{t: per[t][i] for t in self.treatment} for i in range(rows)]
        return [dict(row) for row in self._treatment_values]

    def given_values(self) -> list[dict[str, int]]:
        """Every assignment of class codes to the conditioning variables (``[{}]`` when there are none)."""
        names = self.condition
        ranges = [range(self.variables[v].classes) for v in names]
        return [dict(zip(names, codes, strict=True)) for codes in itertools.product(*ranges)]

    # ------------------------------------------------------------------ internals
    def _noise(self, n: int, g: torch.Generator) -> dict[str, Tensor]:
        """The latents, then every observed variable's noise (graph order): N(0, 1), or U(0, 1) if discrete."""
        noise = {u.name: torch.randn(n, 1, generator=g) for u in self.latents}
        for v in self.graph.nodes:
            draw = torch.rand if self.variables[v].is_discrete else torch.randn
            noise[v] = draw(n, 1, generator=g)
        return noise

    def _forward(self, noise: Mapping[str, Tensor], plan: Mapping[str, Tensor], n: int) -> dict[str, Tensor]:
        values = {u.name: noise[u.name] for u in self.latents}
        for v in self._order:
            if v in plan:
                t = plan[v]
                values[v] = t.expand(n, *t.shape[1:]).clone() if t.shape[0] != n else t
                continue
            out = self._mechanisms[v]({q: values[q] for q in self._inputs[v]}, noise[v])
            values[v] = out.long().reshape(n) if self.variables[v].is_discrete else out.float().reshape(n, 1)
        return {v: values[v] for v in self.graph.nodes}

    def _plan(self, interventions: Mapping[str, InterventionValue] | None, n: int) -> dict[str, Tensor]:
        if interventions is None:
            return {}
        if not isinstance(interventions, Mapping):
            raise QueryError(f"interventions must be a mapping {{variable: value}}, got {interventions!r}")
        plan: dict[str, Tensor] = {}
        for v, value in interventions.items():
            self._check_name(v, "intervention on")
            if value is None or callable(value):
                raise QueryError(f"intervention on {v} must be a hard value (a number or a tensor), got {value!r}")
            plan[v] = hard_value(self.variables[v], value, n)
        return plan

    def _given(self, given: Mapping[str, int | Tensor]) -> dict[str, int]:
        if not isinstance(given, Mapping):
            raise QueryError(f"given must be a mapping {{discrete variable: class code}}, got {given!r}")
        codes: dict[str, int] = {}
        for v, value in given.items():
            self._check_name(v, "given")
            spec = self.variables[v]
            if not spec.is_discrete:
                raise QueryError(
                    f"given {v} is continuous; condition only on discrete (binary or categorical) variables"
                )
            if isinstance(value, Tensor) and value.numel() == 1 and not value.is_floating_point():
                value = int(value.item())
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < spec.classes:
                raise QueryError(f"given {v} = {value!r} is not a class code of {v} (0..{spec.classes - 1})")
            codes[v] = int(value)
        return codes

    def _check_name(self, v: object, what: str) -> None:
        if any(u.name == v for u in self.latents):
            raise QueryError(f"{what} {v!r}: it is latent; the {self.name} SCM observes {listing(self.graph.nodes)}")
        if v not in self.variables:
            raise QueryError(
                f"{what} unknown variable {v!r}; the {self.name} SCM has variables {listing(self.graph.nodes)}"
            )


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise QueryError(f"n must be a non-negative int, got {n!r}")
    return n


def _describe(plan: Mapping[str, Tensor]) -> str:
    """``X = 0.5, W2 = 1`` for one-row interventions."""
    return ", ".join(f"{v} = {t.reshape(-1)[0].item():g}" for v, t in plan.items())


# ---------------------------------------------------------------------- mechanism helpers
def _binary(logit: Tensor, u: Tensor) -> Tensor:
    """Bernoulli(sigmoid(logit)) by inverse CDF of the uniform noise ``u``: codes ``(n,)``."""
    return (u < torch.sigmoid(logit)).long().reshape(-1)


def _categorical(logits: Tensor, u: Tensor) -> Tensor:
    """Categorical(softmax(logits)) by inverse CDF of the uniform noise ``u`` ``(n, 1)``: codes ``(n,)``."""
    cdf = torch.softmax(logits, dim=1).cumsum(dim=1)
    return (u > cdf[:, :-1]).sum(dim=1)


def _table(values: Sequence[float], codes: Tensor) -> Tensor:
    """``values[codes]`` as a float ``(n, 1)`` column."""
    return torch.tensor(values, dtype=torch.float32)[codes].reshape(-1, 1)


_Equations = dict[str, tuple[str, LatentMechanism]]


@dataclass(frozen=True)
class _Recipe:
    """A built-in: description, edges, latents, discrete kinds, equations and query."""

    description: str
    directed: tuple[tuple[str, str], ...]
    latents: tuple[LatentConfounder, ...]
    equations: _Equations
    discrete: tuple[tuple[str, str, int], ...] = ()  # (name, kind, classes)
    treatment: tuple[str, ...] = ("X",)
    outcome: tuple[str, ...] = ("Y",)
    condition: tuple[str, ...] = ()


def _recipes() -> dict[str, _Recipe]:
    recipes = _base_recipes()
    napkin = recipes["napkin"]
    recipes["napkin_conditional"] = _Recipe(  # the napkin's equations and a binary proxy of Y
        "the napkin with a binary proxy Z of the outcome: P(Y | do(X), Z) needs IDC on top of ID's line 7",
        (*napkin.directed, ("Y", "Z")),
        napkin.latents,
        {
            **napkin.equations,
            "Z": ("Bernoulli(sigmoid(2.5 Y - 0.5)) by inverse CDF of e_Z", lambda p, e: _binary(2.5 * p["Y"] - 0.5, e)),
        },
        discrete=(("Z", "binary", 2),),
        condition=("Z",),
    )
    return recipes


def _base_recipes() -> dict[str, _Recipe]:
    U = LatentConfounder
    return {
        "backdoor": _Recipe(
            "Z confounds X and Y and is observed: back-door adjustment for Z",
            (("Z", "X"), ("Z", "Y"), ("X", "Y")),
            (),
            {
                "Z": ("e_Z", lambda p, e: e),
                "X": ("1.1 tanh(1.2 Z) + 0.5 e_X", lambda p, e: 1.1 * torch.tanh(1.2 * p["Z"]) + 0.5 * e),
                "Y": (
                    "0.7 sin(1.2 X) + 0.7 Z + 0.15 X Z + 0.3 e_Y",
                    lambda p, e: 0.7 * torch.sin(1.2 * p["X"]) + 0.7 * p["Z"] + 0.15 * p["X"] * p["Z"] + 0.3 * e,
                ),
            },
        ),
        "frontdoor": _Recipe(
            "X and Y share the latent U; the mediator M carries the whole effect: front-door",
            (("X", "M"), ("M", "Y")),
            (U("U", ("X", "Y")),),
            {
                "X": ("0.85 U + 0.5 e_X", lambda p, e: 0.85 * p["U"] + 0.5 * e),
                "M": ("1.2 tanh(1.2 X) + 0.55 e_M", lambda p, e: 1.2 * torch.tanh(1.2 * p["X"]) + 0.55 * e),
                "Y": (
                    "0.7 sin(1.3 M) + 0.7 U + 0.3 e_Y",
                    lambda p, e: 0.7 * torch.sin(1.3 * p["M"]) + 0.7 * p["U"] + 0.3 * e,
                ),
            },
        ),
        "napkin": _Recipe(
            "Pearl's napkin: identifiable only through a line-7 (c-component) step of ID",
            (("W1", "W2"), ("W2", "X"), ("X", "Y")),
            (U("U1", ("W1", "X")), U("U2", ("W1", "Y"))),
            {
                "W1": ("0.4 U1 + 0.9 U2 + 0.3 e_W1", lambda p, e: 0.4 * p["U1"] + 0.9 * p["U2"] + 0.3 * e),
                "W2": ("1.3 tanh(W1) + 0.45 e_W2", lambda p, e: 1.3 * torch.tanh(p["W1"]) + 0.45 * e),
                "X": (
                    "W2 + 0.4 tanh(1.5 U1) + 0.4 e_X",
                    lambda p, e: p["W2"] + 0.4 * torch.tanh(1.5 * p["U1"]) + 0.4 * e,
                ),
                "Y": (
                    "0.6 tanh(1.5 X) + 0.7 U2 + 0.25 e_Y",
                    lambda p, e: 0.6 * torch.tanh(1.5 * p["X"]) + 0.7 * p["U2"] + 0.25 * e,
                ),
            },
        ),
        "napkin_mixed": _Recipe(
            "the napkin with W2 categorical (3 classes) and X binary: mixed continuous and discrete",
            (("W1", "W2"), ("W2", "X"), ("X", "Y")),
            (U("U1", ("W1", "X")), U("U2", ("W1", "Y"))),
            {
                "W1": ("0.3 U1 + 0.95 U2 + 0.3 e_W1", lambda p, e: 0.3 * p["U1"] + 0.95 * p["U2"] + 0.3 * e),
                "W2": (
                    "Categorical(softmax(-1.5 W1, 0, 1.5 W1)) by inverse CDF of e_W2",
                    lambda p, e: _categorical(torch.cat([-1.5 * p["W1"], 0 * p["W1"], 1.5 * p["W1"]], dim=1), e),
                ),
                "X": (
                    "Bernoulli(sigmoid(1.8 (W2 - 1) + 0.6 U1)) by inverse CDF of e_X",
                    lambda p, e: _binary(1.8 * (p["W2"].float().unsqueeze(1) - 1) + 0.6 * p["U1"], e),
                ),
                "Y": (
                    "0.6 X - 0.3 + 1.2 tanh(1.2 U2) + 0.25 X U2 + 0.35 e_Y",
                    lambda p, e: (
                        0.6 * p["X"].float().unsqueeze(1)
                        - 0.3
                        + 1.2 * torch.tanh(1.2 * p["U2"])
                        + 0.25 * p["X"].float().unsqueeze(1) * p["U2"]
                        + 0.35 * e
                    ),
                ),
            },
            discrete=(("W2", "categorical", 3), ("X", "binary", 2)),
        ),
        "verma": _Recipe(
            "Verma's chain A -> B -> X -> Y with A <-> X and B <-> Y; P(Y | do(X)) needs ID's line 7",
            (("A", "B"), ("B", "X"), ("X", "Y")),
            (U("U_AX", ("A", "X")), U("U_BY", ("B", "Y"))),
            {
                "A": ("0.8 U_AX + 0.5 e_A", lambda p, e: 0.8 * p["U_AX"] + 0.5 * e),
                "B": (
                    "0.9 tanh(1.2 A) + 0.9 U_BY + 0.35 e_B",
                    lambda p, e: 0.9 * torch.tanh(1.2 * p["A"]) + 0.9 * p["U_BY"] + 0.35 * e,
                ),
                "X": (
                    "0.8 B + 0.5 U_AX + 0.45 e_X",
                    lambda p, e: 0.8 * p["B"] + 0.5 * p["U_AX"] + 0.45 * e,
                ),
                "Y": (
                    "0.7 sin(1.2 X) + 0.9 U_BY + 0.3 e_Y",
                    lambda p, e: 0.7 * torch.sin(1.2 * p["X"]) + 0.9 * p["U_BY"] + 0.3 * e,
                ),
            },
        ),
        "conditional": _Recipe(
            "front-door with a binary proxy Z of the outcome: P(Y | do(X), Z) needs IDC",
            (("X", "M"), ("M", "Y"), ("Y", "Z")),
            (U("U", ("X", "Y")),),
            {
                "X": ("0.85 U + 0.5 e_X", lambda p, e: 0.85 * p["U"] + 0.5 * e),
                "M": ("1.2 tanh(1.2 X) + 0.55 e_M", lambda p, e: 1.2 * torch.tanh(1.2 * p["X"]) + 0.55 * e),
                "Y": (
                    "0.6 sin(1.3 M) + 0.2 M + 0.7 U + 0.3 e_Y",
                    lambda p, e: 0.6 * torch.sin(1.3 * p["M"]) + 0.2 * p["M"] + 0.7 * p["U"] + 0.3 * e,
                ),
                "Z": (
                    "Bernoulli(sigmoid(2 Y)) by inverse CDF of e_Z",
                    lambda p, e: _binary(2.0 * p["Y"], e),
                ),
            },
            discrete=(("Z", "binary", 2),),
            condition=("Z",),
        ),
        "frontdoor_mixed": _Recipe(
            "front-door with a categorical mediator M (4 classes): mixed continuous and discrete",
            (("X", "M"), ("M", "Y")),
            (U("U", ("X", "Y")),),
            {
                "X": ("0.85 U + 0.5 e_X", lambda p, e: 0.85 * p["U"] + 0.5 * e),
                "M": (
                    "Categorical(softmax(X (-1.5, -0.5, 0.5, 1.5))) by inverse CDF of e_M",
                    lambda p, e: _categorical(p["X"] * torch.tensor([[-1.5, -0.5, 0.5, 1.5]]), e),
                ),
                "Y": (
                    "(-0.9, -0.1, 0.4, 0.6)[M] + tanh(1.2 U) + 0.3 e_Y",
                    lambda p, e: _table((-0.9, -0.1, 0.4, 0.6), p["M"]) + torch.tanh(1.2 * p["U"]) + 0.3 * e,
                ),
            },
            discrete=(("M", "categorical", 4),),
        ),
    }


def make_latent_scm(name: str) -> LatentSCM:
    """A built-in latent-confounder SCM: one of :data:`LATENT_SCMS` (any case).

    Raises:
        QueryError: an unknown name (the message lists the built-ins).
    """
    key = str(name).strip().lower()
    recipes = _recipes()
    if key not in recipes:
        raise QueryError(f"unknown latent SCM {name!r}; choose one of {listing(LATENT_SCMS)}")
    recipe = recipes[key]
    graph = CausalGraph(directed=recipe.directed, bidirected=[u.children for u in recipe.latents])
    kinds = {v: (kind, classes) for v, kind, classes in recipe.discrete}
    variables: dict[str, VariableSpec] = {}
    for v in graph.nodes:
        kind, classes = kinds.get(v, ("continuous", 2))
        variables[v] = VariableSpec(v, kind, classes=classes)  # type: ignore[arg-type]
    equations = {
        u.name: f"{u.name} ~ N(0, 1), a latent parent of {u.children[0]} and {u.children[1]}" for u in recipe.latents
    }
    equations |= {v: f"{v} = {text}" for v, (text, _) in recipe.equations.items()}
    scm = LatentSCM(
        key,
        recipe.description,
        graph,
        variables,
        recipe.latents,
        {v: mechanism for v, (_, mechanism) in recipe.equations.items()},
        equations,
        recipe.treatment,
        recipe.outcome,
        recipe.condition,
    )
    scm._recipe = key
    return scm
