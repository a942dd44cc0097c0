"""Treatment tables checked before a potential-outcome model trains: arms, outcome types, overlap.

A treatment table (covariates, a treatment with two or more arms, outcomes) is what the
potential-outcome families (DIME, IWDD) and per-row effects read. Three things make their answers
meaningless, and each is refused in one line naming the column:

* a treatment with one arm only (nothing to compare);
* an outcome whose values do not match its declared type (a "binary" outcome with a 2, a
  categorical one with codes outside its classes, a continuous one that is not finite);
* no overlap: where the covariates nearly decide the arm, some arm has (almost) no comparable rows,
  and every method extrapolates there. :func:`fit_propensity` estimates P(arm | covariates) by
  multinomial logistic regression (standardised covariates, a small L2 penalty, full-batch L-BFGS:
  deterministic), and :func:`check_overlap` refuses a table where more than ``max_share`` of the rows
  (default :data:`MAX_SHARE` = 5%) have an estimated propensity below ``clip`` (default
  :data:`CLIP` = 0.01) for some arm, naming the arm and the covariates that predict it most.

The propensity model is also IWDD's (its inverse-propensity weights).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lightning_causal.errors import DataError
from lightning_causal.variables.spec import VariableSpec

__all__ = ["CLIP", "MAX_SHARE", "Propensity", "check_overlap", "check_treatment_table", "fit_propensity"]

CLIP = 0.01
"""An estimated propensity below this is "no overlap" for its row and arm."""
MAX_SHARE = 0.05
"""The share of rows without overlap past which a table is refused."""


@dataclass
class Propensity:
    """A fitted multinomial logistic propensity model: P(arm | x) = softmax(((x - mean) / std) W + b)."""

    mean: Tensor
    std: Tensor
    weight: Tensor
    bias: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        """P(A = a | x) for every arm, ``(n, arms)``."""
        z = (x.float() - self.mean) / self.std
        return torch.softmax(z @ self.weight + self.bias, dim=1)


def fit_propensity(x: Tensor, arm: Tensor, arms: int, l2: float = 1e-3, steps: int = 200) -> Propensity:
    """Multinomial logistic regression of ``arm`` (codes ``(n,)``) on covariates ``x`` ``(n, d)``, by L-BFGS.

    Deterministic (full batch, zero start); the L2 penalty (on the standardised scale) keeps the
    weights finite when the arms are separable, so the propensities then approach 0 and 1.
    """
    x = x.float().reshape(len(x), -1)
    mean, std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-6)
    z = (x - mean) / std
    weight = torch.zeros(z.shape[1], arms, requires_grad=True)
    bias = torch.zeros(arms, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")
    target = arm.long()

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(z @ weight + bias, target) + l2 * (weight**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return Propensity(mean, std, weight.detach(), bias.detach())


def check_overlap(
    x: Tensor,
    arm: Tensor,
    arms: int,
    treatment: str,
    covariates: Sequence[str],
    clip: float = CLIP,
    max_share: float = MAX_SHARE,
) -> Propensity:
    """The fitted propensity model, after refusing a table without overlap (see the module docstring)."""
    model = fit_propensity(x, arm, arms)
    p = model(x)
    low = p < clip
    share = float(low.any(dim=1).float().mean())
    if share > max_share:
        worst = int(low.float().mean(dim=0).argmax())
        strongest = torch.argsort(model.weight.abs().max(dim=1).values, descending=True)[:3].tolist()
        names = ", ".join(covariates[i] for i in strongest)
        raise DataError(
            f"treatment {treatment!r} has no overlap: {share:.0%} of the rows have an estimated propensity below "
            f"{clip:g} (arm {worst} for {float(low[:, worst].float().mean()):.0%} of them; the covariates that "
            f"predict the arm most: {names}); past {max_share:.0%} every method extrapolates there: restrict the "
            "rows to where both arms occur, or raise max_share knowingly"
        )
    return model


def check_treatment_table(
    rows: Mapping[str, Tensor],
    variables: Mapping[str, VariableSpec],
    treatment: str,
    outcomes: Sequence[str],
    covariates: Sequence[str],
    clip: float = CLIP,
    max_share: float = MAX_SHARE,
) -> Propensity | None:
    """Refuse a treatment table with one arm, an outcome out of its type, or no overlap; returns the propensity
    model (None without covariates)."""
    for name in (treatment, *outcomes, *covariates):
        if name not in rows:
            raise DataError(f"the table has no column {name!r}; give it or rename the variable in the graph")
    spec = variables[treatment]
    if not spec.is_discrete:
        raise DataError(f"treatment {treatment!r} is {spec.kind}; give a binary or categorical treatment (its arms)")
    arm = torch.as_tensor(rows[treatment]).long().reshape(-1)
    arms = spec.classes or 2
    present = sorted(set(arm.tolist()))
    if len(present) < 2:
        raise DataError(
            f"treatment {treatment!r} has one arm only ({present[0] if present else 'no rows'}) in the table; "
            "effects compare arms: give rows of at least two"
        )
    for name in outcomes:
        _check_outcome(name, variables[name], torch.as_tensor(rows[name]))
    if not covariates:
        return None
    x = torch.cat([torch.as_tensor(rows[c]).float().reshape(len(arm), -1) for c in covariates], dim=1)
    return check_overlap(x, arm, arms, treatment, covariates, clip, max_share)


def _check_outcome(name: str, spec: VariableSpec, values: Tensor) -> None:
    if spec.is_discrete:
        classes = spec.classes or 2
        if values.is_floating_point() and not bool(torch.equal(values, values.round())):
            raise DataError(f"outcome {name!r} is {spec.kind} but holds non-integer values; give class codes")
        bad = values[(values < 0) | (values >= classes)]
        if len(bad):
            raise DataError(
                f"outcome {name!r} is {spec.kind} with {classes} classes but holds the value {bad[0].item():g}; "
                f"give codes 0..{classes - 1} or declare its type"
            )
    elif spec.kind == "continuous" and not bool(torch.isfinite(values.float()).all()):
        raise DataError(f"outcome {name!r} holds NaN or infinite values; drop or fill those rows")
