"""Per-row potential-outcome distributions, summarised: what ``lightning-causal effects`` writes.

A model that answers per-row effects (:meth:`~lightning_causal.models.base.CausalModule.effects`:
the DCM today, DIME and IWDD next) gives, for every input row (a patient's covariates) and an
intervention, ``n`` draws of each outcome: ``{outcome: (rows, n)}`` (``(rows, n, d)`` for a vector).
This module turns them into the tables a user reads:

* :func:`draws_table`: one row per (input row, draw): ``row``, ``draw`` and one column per outcome
  (labels for a categorical outcome trained from labels; ``Y_0 .. Y_{d-1}`` for a vector);
* :func:`summary_table`: one row per input row: for a continuous outcome its mean, median and the
  ``level`` interval of its distribution (``Y_mean``, ``Y_q05``, ``Y_q50``, ``Y_q95`` at 0.9: the
  spread of the outcome itself, not the uncertainty of the estimate), for a discrete one the
  probability of each class (``Y_p<label>``); with the draws under another arm (``--against``) also
  each outcome's effect (``Y_effect``: the difference of the means, CATE; of each class probability
  for a discrete one), and the probability of any joint event (:func:`risk`) under both arms;
* :func:`risk`: P(event) per row for an event such as ``"Y1 > 2 & Y2 == 1"``: comparisons of an
  outcome with a number or a category label, joined by ``&`` (and) and ``|`` (or, binding looser);
* :func:`plot_row`: one figure per input row, a panel per outcome with the arms' distributions
  (histograms of a continuous outcome, bars of class probabilities).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from lightning_causal.errors import QueryError
from lightning_causal.variables.spec import VariableSpec

__all__ = ["draws_table", "plot_row", "risk", "summary_table"]

_COMPARISON = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|!=|>=|<=|>|<)\s*([^<>=!\s].*?)\s*$")


def _labels(spec: VariableSpec) -> list[str]:
    return list(spec.categories) if spec.categories else [str(k) for k in range(spec.classes or 2)]


def _scalar(name: str, spec: VariableSpec, values: Tensor) -> Tensor:
    """A continuous outcome's draws as ``(rows, n)`` (one-dimensional outcomes only)."""
    if spec.kind == "continuous" and values.dim() == 3:
        if values.shape[2] != 1:
            raise QueryError(
                f"outcome {name!r} is a {values.shape[2]}-vector; summaries and risks take scalar outcomes"
            )
        return values[:, :, 0]
    return values


def draws_table(draws: Mapping[str, Tensor], variables: Mapping[str, VariableSpec]) -> Any:
    """One row per (input row, draw): ``row``, ``draw`` and every outcome (a pandas DataFrame)."""
    import pandas as pd

    first = next(iter(draws.values()))
    rows, n = first.shape[0], first.shape[1]
    columns: dict[str, Any] = {
        "row": torch.arange(rows).repeat_interleave(n).numpy(),
        "draw": torch.arange(n).repeat(rows).numpy(),
    }
    for name, values in draws.items():
        spec = variables[name]
        if spec.is_discrete:
            labels = _labels(spec)
            codes = values.reshape(-1).tolist()
            columns[name] = [labels[c] for c in codes] if spec.categories else codes
        elif values.dim() == 3 and values.shape[2] > 1:
            for k in range(values.shape[2]):
                columns[f"{name}_{k}"] = values[:, :, k].reshape(-1).numpy()
        else:
            columns[name] = values.reshape(-1).numpy()
    return pd.DataFrame(columns)


def _parse(expression: str, variables: Mapping[str, VariableSpec]) -> list[list[tuple[str, str, float]]]:
    """``"A > 1 & B == x | C < 0"`` as or-groups of and-ed comparisons ``(outcome, operator, value)``."""
    if not isinstance(expression, str) or not expression.strip():
        raise QueryError("--risk is empty; give an event such as 'Y1 > 2 & Y2 == 1'")
    groups: list[list[tuple[str, str, float]]] = []
    for alternative in expression.split("|"):
        clauses: list[tuple[str, str, float]] = []
        for clause in alternative.split("&"):
            match = _COMPARISON.match(clause)
            if match is None:
                raise QueryError(
                    f"--risk {expression!r}: cannot read {clause.strip()!r}; write comparisons such as 'Y1 > 2' or "
                    "'Y2 == 1' joined by & and |"
                )
            name, op, text = match.groups()
            if name not in variables:
                known = ", ".join(variables)
                raise QueryError(f"--risk {expression!r}: {name!r} is not an outcome; the outcomes are {known}")
            spec = variables[name]
            text = text.strip("'\"")
            if spec.is_discrete and spec.categories and text in spec.categories:
                value = float(spec.categories.index(text))
            else:
                try:
                    value = float(text)
                except ValueError:
                    known = f" (its labels: {', '.join(spec.categories)})" if spec.categories else ""
                    raise QueryError(f"--risk {expression!r}: {text!r} is not a number{known}") from None
            clauses.append((name, op, value))
        groups.append(clauses)
    return groups


def risk(draws: Mapping[str, Tensor], variables: Mapping[str, VariableSpec], expression: str) -> Tensor:
    """P(event) per input row: the share of a row's draws for which ``expression`` holds, ``(rows,)``."""
    groups = _parse(expression, {k: variables[k] for k in draws})
    held: Tensor | None = None
    for clauses in groups:
        both: Tensor | None = None
        for name, op, value in clauses:
            x = _scalar(name, variables[name], draws[name]).float()
            hit = {
                "==": x == value,
                "!=": x != value,
                ">": x > value,
                "<": x < value,
                ">=": x >= value,
                "<=": x <= value,
            }[op]
            both = hit if both is None else both & hit
        assert both is not None
        held = both if held is None else held | both
    assert held is not None
    return held.float().mean(dim=1)


def _stats(name: str, spec: VariableSpec, values: Tensor, level: float) -> dict[str, Tensor]:
    if spec.is_discrete:
        labels = _labels(spec)
        return {f"{name}_p{label}": (values == k).float().mean(dim=1) for k, label in enumerate(labels)}
    x = _scalar(name, spec, values).float()
    low, high = (1 - level) / 2, 1 - (1 - level) / 2
    q = torch.quantile(x, torch.tensor([low, 0.5, high]), dim=1)
    return {
        f"{name}_mean": x.mean(dim=1),
        f"{name}_q{round(100 * low):02d}": q[0],
        f"{name}_q50": q[1],
        f"{name}_q{round(100 * high):02d}": q[2],
    }


def summary_table(
    draws: Mapping[str, Tensor],
    variables: Mapping[str, VariableSpec],
    level: float = 0.9,
    against: Mapping[str, Tensor] | None = None,
    risks: Sequence[str] = (),
) -> Any:
    """One row per input row: each outcome's distribution summarised, and with ``against`` the effects.

    Args:
        draws: ``{outcome: (rows, n)}`` under the intervention asked.
        variables: the outcomes' specs.
        level: the central probability of the interval of each continuous outcome's distribution.
        against: the draws of the same rows under another arm: adds ``<Y>_effect`` (difference of the
            means; of each class probability, ``<Y>_p<label>_effect``, for a discrete outcome).
        risks: events (:func:`risk`) whose probability is added per row (``risk_<k>``; with
            ``against``: also under the other arm, ``risk_<k>_against``, and their difference).
    """
    import pandas as pd

    if not 0 < level < 1:
        raise QueryError(f"the interval level is {level}; give a probability in (0, 1), e.g. 0.9")
    first = next(iter(draws.values()))
    columns: dict[str, Any] = {"row": torch.arange(first.shape[0]).numpy()}
    for name, values in draws.items():
        stats = _stats(name, variables[name], values, level)
        columns.update({k: v.numpy() for k, v in stats.items()})
        if against is not None:
            other = _stats(name, variables[name], against[name], level)
            if variables[name].is_discrete:
                for key in stats:
                    columns[f"{key}_effect"] = (stats[key] - other[key]).numpy()
            else:
                columns[f"{name}_effect"] = (stats[f"{name}_mean"] - other[f"{name}_mean"]).numpy()
    for k, expression in enumerate(risks, start=1):
        p = risk(draws, variables, expression)
        columns[f"risk_{k}"] = p.numpy()
        if against is not None:
            q = risk(against, variables, expression)
            columns[f"risk_{k}_against"] = q.numpy()
            columns[f"risk_{k}_effect"] = (p - q).numpy()
    return pd.DataFrame(columns)


def plot_row(
    row: int,
    arms: Mapping[str, Mapping[str, Tensor]],
    variables: Mapping[str, VariableSpec],
    path: Any,
) -> Any:
    """A figure of input row ``row``'s outcome distributions under each arm (``{arm name: draws}``), to ``path``."""
    from lightning_causal.figures import pyplot, save_figure

    plt = pyplot()
    outcomes = list(next(iter(arms.values())))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(3.6 * len(outcomes), 2.8), squeeze=False)
    fig.subplots_adjust(wspace=0.4)
    for ax, name in zip(axes[0], outcomes, strict=True):
        spec = variables[name]
        if spec.is_discrete:
            labels = _labels(spec)
            width = 0.8 / len(arms)
            for k, (arm, draws) in enumerate(arms.items()):
                p = [(draws[name][row] == c).float().mean().item() for c in range(len(labels))]
                ax.bar([c + k * width for c in range(len(labels))], p, width=width, label=arm)
            ax.set_xticks([c + width * (len(arms) - 1) / 2 for c in range(len(labels))], labels)
            ax.set_ylabel("probability")
        else:
            for arm, draws in arms.items():
                ax.hist(_scalar(name, spec, draws[name])[row].numpy(), bins=30, density=True, alpha=0.5, label=arm)
            ax.set_ylabel("density")
        ax.set_title(name)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"input row {row}", fontsize=9, y=1.04)
    return save_figure(fig, path)
