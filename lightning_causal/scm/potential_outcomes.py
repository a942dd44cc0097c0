"""Treatment tables with exact per-patient potential-outcome distributions: the truth DIME and IWDD are scored on.

Each process draws a table of covariates, a treatment and outcomes (the observed data: one arm per
row, the treatment confounded by covariates), and gives, for any covariate row and any arm ``a``,
exact draws of the potential outcomes Y(a) given those covariates (every noise term of the process
drawn afresh, the covariates held), the true propensities, and where the law is closed form the
conditional mean of each arm. The graph is covariates -> treatment -> outcomes with covariates ->
outcomes (and the outcomes' own edges): the effect is identified by adjusting for all covariates.

* :class:`MultiOutcomeProcess` (DIME's setup; ``algorithms/dime.md`` section 8 of the design notes):
  ``X1..X5 ~ N(0, 1)``; the propensity over ``arms`` arms is the softmax of ``a * s(x)`` over
  ``a = 0..arms-1`` with ``s(x) = 0.8 x1 - 0.5 x2 + 0.3 x3`` (two arms: ``sigmoid(s(x))``);
  a shared ``U ~ N(0, 1)`` makes the outcomes of one arm dependent;
  ``Y1(a) = sin(x1) + 0.5 x2 + a (1 + 0.5 x3) + 0.5 U + 0.3 e1`` (continuous),
  ``Y2(a) ~ Bernoulli(sigmoid(0.8 Y1(a) - 0.5 a + 0.3 x4 - 0.5))`` (binary),
  ``Y3(a) ~ Categorical(softmax_c((c - 1)(0.7 Y1(a) + Y2(a) - 0.5 a x5)))``, ``c = 0, 1, 2``.
  With ``outcomes = k > 3`` (the error-accumulation study), outcome ``j >= 4`` continues the chain:
  ``Y_j(a) = 0.6 tanh(Y_{j-1}(a)) + 0.3 a x_{(j mod 5) + 1} + 0.2 U + 0.3 e_j`` for an even ``j``
  (continuous) and ``Y_j(a) ~ Bernoulli(sigmoid(Y_{j-1}(a) + 0.5 a - 0.3))`` for an odd one (binary),
  each outcome caused by the previous one, so errors can accumulate along the chain.
* :class:`ConfoundedEffectProcess` (IWDD's setup; ``algorithms/iwdd.md`` section 8): ``X1..X10 ~ N(0, 1)``,
  ``e(x) = sigmoid(kappa (x1 + x2) / sqrt(2))`` (kappa 0.5, 2, 4: overlap from good to poor),
  ``mu0(x) = x1 + 0.5 x2^2 + sin(x3)``, ``mu1(x) = mu0(x) + 1 + 2 x1``,
  ``Y(a) = mu_a(X) + s(X) eta`` with ``s(x) = 0.5 + 0.5 sigmoid(x4)`` and ``eta ~ N(0, 1)``, or the
  two-component mixture ``0.5 N(-1, 0.3^2) + 0.5 N(1, 0.3^2)`` (``noise="mixture"``). The CATE is
  ``1 + 2 x1`` exactly.

Values are ``{name: tensor}``: a continuous variable float32 ``(n, 1)``, a discrete one int64 codes
``(n,)``; potential-outcome draws are ``(units, draws)`` (float32 or int64). Randomness is always a
seed or a ``torch.Generator``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.variables.spec import VariableSpec

__all__ = ["ConfoundedEffectProcess", "MultiOutcomeProcess", "PotentialOutcomeProcess"]


def _rng(seed: int | torch.Generator | None) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(0 if seed is None else int(seed))


class PotentialOutcomeProcess(ABC):
    """A data-generating process of a treatment table with exact potential outcomes (see the module docstring)."""

    covariates: tuple[str, ...]
    treatment: str = "A"
    outcomes: tuple[str, ...]
    arms: int = 2

    @property
    @abstractmethod
    def variables(self) -> dict[str, VariableSpec]:
        """The spec of every column (covariates, treatment, outcomes)."""

    @property
    def graph(self) -> CausalGraph:
        """Covariates -> treatment, covariates -> outcomes, treatment -> outcomes, and the outcomes' own edges."""
        edges = [(c, self.treatment) for c in self.covariates]
        edges += [(c, y) for y in self.outcomes for c in self.covariates]
        edges += [(self.treatment, y) for y in self.outcomes]
        edges += self.outcome_edges()
        return CausalGraph(edges, nodes=[*self.covariates, self.treatment, *self.outcomes])

    def outcome_edges(self) -> list[tuple[str, str]]:
        """Edges between outcomes (none by default)."""
        return []

    def draw_covariates(self, n: int, rng: torch.Generator) -> Tensor:
        """``n`` covariate rows ``(n, len(covariates))``, standard normal."""
        return torch.randn(n, len(self.covariates), generator=rng)

    @abstractmethod
    def propensity(self, x: Tensor) -> Tensor:
        """P(A = a | x) for every arm: ``(n, arms)``."""

    @abstractmethod
    def outcomes_given(self, x: Tensor, arm: Tensor, rng: torch.Generator) -> dict[str, Tensor]:
        """One draw of every outcome per row given covariates ``(n, d)`` and arms ``(n,)``: ``{name: (n,)}``."""

    def sample(self, n: int, seed: int | torch.Generator | None = 0) -> dict[str, Tensor]:
        """``n`` observed rows: covariates, the treatment drawn from the propensity, the outcomes of that arm."""
        rng = _rng(seed)
        x = self.draw_covariates(n, rng)
        arm = torch.multinomial(self.propensity(x), 1, generator=rng)[:, 0]
        out: dict[str, Tensor] = {c: x[:, i : i + 1] for i, c in enumerate(self.covariates)}
        out[self.treatment] = arm
        for name, value in self.outcomes_given(x, arm, rng).items():
            out[name] = value if self.variables[name].is_discrete else value[:, None]
        return out

    def covariate_matrix(self, rows: Mapping[str, Tensor]) -> Tensor:
        """The covariates of ``rows`` (``{name: (n, 1) or (n,)}``) as one ``(n, d)`` matrix."""
        missing = [c for c in self.covariates if c not in rows]
        if missing:
            raise QueryError(f"the rows have no covariate {missing[0]!r}; give {', '.join(self.covariates)}")
        return torch.cat([torch.as_tensor(rows[c]).float().reshape(-1, 1) for c in self.covariates], dim=1)

    def potential_outcomes(
        self, x: Tensor, arm: int, draws: int, seed: int | torch.Generator | None = 0
    ) -> dict[str, Tensor]:
        """Exact draws of Y(arm) for every covariate row of ``x`` ``(units, d)``: ``{outcome: (units, draws)}``."""
        if not 0 <= int(arm) < self.arms:
            raise QueryError(f"arm {arm} is out of range: treatment {self.treatment!r} has arms 0..{self.arms - 1}")
        rng = _rng(seed)
        units = x.shape[0]
        repeated = x.repeat_interleave(draws, dim=0)
        values = self.outcomes_given(repeated, torch.full((units * draws,), int(arm)), rng)
        return {name: v.reshape(units, draws) for name, v in values.items()}

    def table(self, n: int, seed: int = 0) -> Any:
        """``n`` observed rows as a pandas DataFrame (one column per variable), as ``fit`` reads tables."""
        import pandas as pd

        rows = self.sample(n, seed)
        return pd.DataFrame({k: v.reshape(n, -1)[:, 0].numpy() for k, v in rows.items()})


class MultiOutcomeProcess(PotentialOutcomeProcess):
    """DIME's setup: five covariates, a confounded treatment, dependent outcomes of mixed type (module docstring).

    Args:
        arms: treatment arms (2: the published setup; more: open question 1 of the DIME seed).
        outcomes: outcomes (3: Y1 continuous, Y2 binary, Y3 three classes; more extend the chain).
        rct: a randomised trial instead (every arm equally likely whatever x; the sanity check).
    """

    def __init__(self, arms: int = 2, outcomes: int = 3, rct: bool = False) -> None:
        if isinstance(arms, bool) or not isinstance(arms, int) or arms < 2:
            raise QueryError(f"arms must be an int >= 2, got {arms!r}")
        if isinstance(outcomes, bool) or not isinstance(outcomes, int) or outcomes < 3:
            raise QueryError(f"outcomes must be an int >= 3, got {outcomes!r}")
        self.arms = arms
        self.rct = rct
        self.covariates = tuple(f"X{i}" for i in range(1, 6))
        self.outcomes = tuple(f"Y{j}" for j in range(1, outcomes + 1))

    @property
    def variables(self) -> dict[str, VariableSpec]:
        specs = {c: VariableSpec(c, "continuous") for c in self.covariates}
        specs[self.treatment] = (
            VariableSpec(self.treatment, "binary")
            if self.arms == 2
            else VariableSpec(self.treatment, "categorical", classes=self.arms)
        )
        for j, y in enumerate(self.outcomes, start=1):
            if j == 1 or (j >= 4 and j % 2 == 0):
                specs[y] = VariableSpec(y, "continuous")
            elif j == 3:
                specs[y] = VariableSpec(y, "categorical", classes=3)
            else:
                specs[y] = VariableSpec(y, "binary")
        return specs

    def outcome_edges(self) -> list[tuple[str, str]]:
        ys = self.outcomes
        edges = [(ys[0], ys[1]), (ys[0], ys[2]), (ys[1], ys[2])]
        edges += [(ys[j - 1], ys[j]) for j in range(3, len(ys))]
        return edges

    def propensity(self, x: Tensor) -> Tensor:
        if self.rct:
            return torch.full((x.shape[0], self.arms), 1.0 / self.arms)
        s = 0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.3 * x[:, 2]
        return torch.softmax(s[:, None] * torch.arange(self.arms, dtype=torch.float32), dim=1)

    def outcomes_given(self, x: Tensor, arm: Tensor, rng: torch.Generator) -> dict[str, Tensor]:
        n = x.shape[0]
        a = arm.float()
        u = torch.randn(n, generator=rng)
        y1 = (
            torch.sin(x[:, 0]) + 0.5 * x[:, 1] + a * (1 + 0.5 * x[:, 2]) + 0.5 * u + 0.3 * torch.randn(n, generator=rng)
        )
        p2 = torch.sigmoid(0.8 * y1 - 0.5 * a + 0.3 * x[:, 3] - 0.5)
        y2 = (torch.rand(n, generator=rng) < p2).long()
        score = 0.7 * y1 + y2.float() - 0.5 * a * x[:, 4]
        logits = score[:, None] * (torch.arange(3, dtype=torch.float32) - 1.0)
        y3 = torch.multinomial(torch.softmax(logits, dim=1), 1, generator=rng)[:, 0]
        out: dict[str, Tensor] = {"Y1": y1, "Y2": y2, "Y3": y3}
        previous = y3.float()
        for j in range(4, len(self.outcomes) + 1):
            if j % 2 == 0:
                covariate = x[:, j % 5]
                value = 0.6 * torch.tanh(previous) + 0.3 * a * covariate + 0.2 * u + 0.3 * torch.randn(n, generator=rng)
            else:
                value = (torch.rand(n, generator=rng) < torch.sigmoid(previous + 0.5 * a - 0.3)).long()
            out[f"Y{j}"] = value
            previous = value.float()
        return out


class ConfoundedEffectProcess(PotentialOutcomeProcess):
    """IWDD's setup: ten covariates, overlap set by ``kappa``, a heterogeneous effect ``1 + 2 x1`` (module docstring).

    Args:
        kappa: the confounding strength (0.5 good overlap, 2, 4 poor).
        noise: ``"gaussian"`` or ``"mixture"`` (bimodal: tests the distributional fit).
    """

    def __init__(self, kappa: float = 2.0, noise: str = "gaussian") -> None:
        if isinstance(kappa, bool) or not isinstance(kappa, int | float) or not kappa >= 0:
            raise QueryError(f"kappa must be a number >= 0, got {kappa!r}")
        if noise not in ("gaussian", "mixture"):
            raise QueryError(f"noise must be 'gaussian' or 'mixture', got {noise!r}")
        self.kappa = float(kappa)
        self.noise = noise
        self.covariates = tuple(f"X{i}" for i in range(1, 11))
        self.outcomes = ("Y",)

    @property
    def variables(self) -> dict[str, VariableSpec]:
        specs = {c: VariableSpec(c, "continuous") for c in self.covariates}
        specs[self.treatment] = VariableSpec(self.treatment, "binary")
        specs["Y"] = VariableSpec("Y", "continuous")
        return specs

    def propensity(self, x: Tensor) -> Tensor:
        e = torch.sigmoid(self.kappa * (x[:, 0] + x[:, 1]) / math.sqrt(2.0))
        return torch.stack([1 - e, e], dim=1)

    def mean(self, x: Tensor, arm: int) -> Tensor:
        """E[Y(arm) | x] exactly: ``mu_arm(x)`` (the noise has mean 0)."""
        mu0 = x[:, 0] + 0.5 * x[:, 1] ** 2 + torch.sin(x[:, 2])
        return mu0 + (1 + 2 * x[:, 0]) if arm == 1 else mu0

    def cate(self, x: Tensor) -> Tensor:
        """E[Y(1) - Y(0) | x] exactly: ``1 + 2 x1``."""
        return 1 + 2 * x[:, 0]

    def scale(self, x: Tensor) -> Tensor:
        """The noise scale ``s(x) = 0.5 + 0.5 sigmoid(x4)``."""
        return 0.5 + 0.5 * torch.sigmoid(x[:, 3])

    def outcomes_given(self, x: Tensor, arm: Tensor, rng: torch.Generator) -> dict[str, Tensor]:
        n = x.shape[0]
        if self.noise == "gaussian":
            eta = torch.randn(n, generator=rng)
        else:
            side = torch.where(torch.rand(n, generator=rng) < 0.5, -1.0, 1.0)
            eta = side + 0.3 * torch.randn(n, generator=rng)
        mu = torch.where(arm == 1, self.mean(x, 1), self.mean(x, 0))
        return {"Y": mu + self.scale(x) * eta}
