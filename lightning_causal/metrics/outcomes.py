"""Distributional metrics for per-unit potential-outcome distributions (the DIME and IWDD benchmarks).

The protocol: for every test unit (a covariate row) and every arm, the model draws ``n`` samples of the potential
outcomes and the data-generating process draws ``m`` exact ones; each score below compares the two samples of
ONE unit, and the reported value is the mean over units. Every metric's ``update`` takes a batch of units,
shape (units, draws) (or (units, draws, d) for :class:`JointMMD`).

- :func:`wasserstein1` / :class:`Wasserstein1`: 1-D Wasserstein-1 distance between the empirical distributions
  of a continuous outcome (the integral of the absolute difference of the two quantile functions).
- :func:`discrete_kl` / :class:`DiscreteKL`: KL(p_true || p_model) of a discrete outcome's empirical class
  frequencies, each smoothed by adding 1e-6 to every class and renormalising.
- :func:`discrete_tvd` / :class:`DiscreteTVD`: total variation distance 0.5 sum |p_true - p_model| of the
  (unsmoothed) empirical class frequencies.
- :func:`joint_mmd` / :class:`JointMMD`: squared MMD of the outcome vectors per unit, exactly
  :func:`lightning_causal.metrics.mmd.mmd` (RBF kernel, median-heuristic bandwidth, biased V-statistic);
  :func:`outcome_matrix` builds the outcome vectors (continuous standardised, binary 0/1, categorical one-hot).
- :func:`spearman` / :class:`DependenceError`: |rho_model(Y1, Y2) - rho_true(Y1, Y2)| of Spearman's rank
  correlation (average ranks for ties) between two outcomes, per unit.
- :class:`PEHE`: sqrt(mean over units of (tau_hat - tau)^2), tau the conditional average treatment effect.
- :class:`IntervalCoverage`: the share of intervals [low, high] that hold the truth, and their mean width.

Every metric keeps a float64 sum and an integer count as states reduced by ``sum`` over DDP ranks, so its value
under several processes equals the single-process value on the union of the units (up to float rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric

from lightning_causal.errors import DataError
from lightning_causal.metrics.mmd import mmd

__all__ = [
    "PEHE",
    "DependenceError",
    "DiscreteKL",
    "DiscreteTVD",
    "IntervalCoverage",
    "JointMMD",
    "Wasserstein1",
    "discrete_kl",
    "discrete_tvd",
    "joint_mmd",
    "outcome_matrix",
    "spearman",
    "wasserstein1",
]

SMOOTHING = 1e-6
"""Added to every class frequency (then renormalised) before :func:`discrete_kl` takes logarithms."""


# ----------------------------------------------------------------------------------------------------------------
# input checks (every error is one line naming the argument)


def _tensor(x: Any, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise DataError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x.detach()


def _finite(x: Tensor, name: str) -> Tensor:
    """``x`` as float64; NaN or infinite values are an error."""
    x = x.to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise DataError(f"{name} holds NaN or infinite values; drop or repair those draws first")
    return x


def _draws(x: Any, name: str, ndims: tuple[int, ...] = (2,)) -> Tensor:
    """A float64 tensor of draws, (units, draws) by default, with at least one draw per unit."""
    x = _tensor(x, name)
    if x.ndim not in ndims:
        wanted = " or ".join({1: "(draws,)", 2: "(units, draws)", 3: "(units, draws, d)"}[k] for k in ndims)
        raise DataError(f"{name} must have shape {wanted}, got {tuple(x.shape)}")
    if x.shape[-1 if x.ndim < 3 else -2] == 0:
        raise DataError(f"{name} has 0 draws per unit; pass at least one draw for every unit")
    return _finite(x, name)


def _same_units(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.ndim != b.ndim or (a.ndim > 1 and a.shape[0] != b.shape[0]):
        raise DataError(
            f"{name_a} has shape {tuple(a.shape)} but {name_b} has {tuple(b.shape)}; pass the same units "
            "(first axis) on both sides"
        )


def _classes(classes: Any) -> int:
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise DataError(f"classes must be an integer of at least 2 (the number of outcome classes), got {classes!r}")
    return classes


def _codes(x: Any, classes: int, name: str) -> Tensor:
    """Integer class codes in 0..classes-1, (draws,) or (units, draws), as int64."""
    x = _tensor(x, name)
    if x.ndim not in (1, 2):
        raise DataError(f"{name} must have shape (units, draws) or (draws,) of class codes, got {tuple(x.shape)}")
    if x.shape[-1] == 0:
        raise DataError(f"{name} has 0 draws per unit; pass at least one draw for every unit")
    if x.is_floating_point():
        if not bool((torch.isfinite(x) & (x == x.round())).all()):
            raise DataError(f"{name} must hold whole-number class codes 0..{classes - 1}; got fractional or NaN values")
    elif x.is_complex():
        raise DataError(f"{name} must hold integer class codes, got dtype {x.dtype}")
    x = x.to(torch.int64)
    if x.numel() > 0:
        low, high = int(x.min()), int(x.max())
        if low < 0 or high >= classes:
            bad = low if low < 0 else high
            raise DataError(
                f"{name} holds class code {bad} outside 0..{classes - 1}; pass classes={max(high + 1, classes)} "
                "or recode the outcome"
            )
    return x


# ----------------------------------------------------------------------------------------------------------------
# plain functions


def wasserstein1(a: Tensor, b: Tensor) -> Tensor:
    """Exact Wasserstein-1 distance between the empirical distributions of two 1-D samples, per unit.

    ``W1 = integral over t in (0, 1) of |F_a^-1(t) - F_b^-1(t)|``, the empirical quantile functions being step
    functions. With equal sizes this is ``mean |sort(a) - sort(b)|``; otherwise the integral is summed exactly
    over the pieces between the breakpoints ``i/n`` and ``j/m`` (the value ``scipy.stats.wasserstein_distance``
    gives).

    Args:
        a: model draws, shape (n,) or (units, n).
        b: true draws, shape (m,) or (units, m), as many units as ``a``.

    Returns:
        float64 W1 per unit, shape (units,), or a 0-d tensor for 1-D inputs.
    """
    a = _draws(a, "a", (1, 2))
    b = _draws(b, "b", (1, 2))
    _same_units(a, b, "a", "b")
    a_sorted = a.sort(dim=-1).values
    b_sorted = b.sort(dim=-1).values
    n, m = a.shape[-1], b.shape[-1]
    if n == m:
        return (a_sorted - b_sorted).abs().mean(dim=-1)
    # breakpoints of both quantile functions on the integer grid t * n * m (exact, no float ties)
    device = a.device
    ends = torch.cat([torch.arange(1, n + 1, device=device) * m, torch.arange(1, m + 1, device=device) * n]).unique()
    widths = torch.diff(ends, prepend=ends.new_zeros(1)).to(torch.float64) / (n * m)
    # on (t_{k-1}, t_k] the quantile of a is its ceil(t_k n)-th smallest draw (1-based), likewise for b
    index_a = (ends + m - 1) // m - 1
    index_b = (ends + n - 1) // n - 1
    return ((a_sorted[..., index_a] - b_sorted[..., index_b]).abs() * widths).sum(dim=-1)


def _frequencies(codes: Tensor, classes: int) -> Tensor:
    """(..., classes) float64 empirical class frequencies of int64 codes (..., draws)."""
    counts = torch.zeros(*codes.shape[:-1], classes, dtype=torch.float64, device=codes.device)
    counts.scatter_add_(-1, codes, torch.ones_like(codes, dtype=torch.float64))
    return counts / codes.shape[-1]


def _discrete_pair(model: Tensor, true: Tensor, classes: int) -> tuple[Tensor, Tensor]:
    classes = _classes(classes)
    model = _codes(model, classes, "model")
    true = _codes(true, classes, "true")
    _same_units(model, true, "model", "true")
    return _frequencies(model, classes), _frequencies(true, classes)


def discrete_kl(model: Tensor, true: Tensor, classes: int) -> Tensor:
    """KL(p_true || p_model) of the empirical class frequencies of a discrete outcome, per unit.

    Both frequency vectors get ``1e-6`` added to every class and are renormalised (so a class the model never
    draws costs a large but finite amount); identical frequencies give exactly 0.

    Args:
        model: model draws as class codes 0..classes-1, shape (n,) or (units, n).
        true: true draws as class codes, shape (m,) or (units, m), as many units as ``model``.
        classes: the number of classes K (2 for a binary outcome).

    Returns:
        float64 KL per unit (nats), shape (units,), or a 0-d tensor for 1-D inputs.
    """
    p_model, p_true = _discrete_pair(model, true, classes)
    p_model = (p_model + SMOOTHING) / (1 + classes * SMOOTHING)
    p_true = (p_true + SMOOTHING) / (1 + classes * SMOOTHING)
    return (p_true * (p_true.log() - p_model.log())).sum(dim=-1)


def discrete_tvd(model: Tensor, true: Tensor, classes: int) -> Tensor:
    """Total variation distance ``0.5 sum_k |p_true(k) - p_model(k)|`` of the empirical class frequencies, per unit.

    No smoothing: disjoint supports give exactly 1, identical frequencies exactly 0.

    Args:
        model: model draws as class codes 0..classes-1, shape (n,) or (units, n).
        true: true draws as class codes, shape (m,) or (units, m), as many units as ``model``.
        classes: the number of classes K (2 for a binary outcome).

    Returns:
        float64 TVD per unit, shape (units,), or a 0-d tensor for 1-D inputs.
    """
    p_model, p_true = _discrete_pair(model, true, classes)
    return 0.5 * (p_true - p_model).abs().sum(dim=-1)


def joint_mmd(model: Tensor, true: Tensor, gamma: float | None = None) -> Tensor:
    """Squared MMD between the model's and the true outcome vectors of each unit: :func:`~.mmd.mmd` per unit.

    Per unit, :func:`lightning_causal.metrics.mmd.mmd` (RBF kernel, biased V-statistic, median-heuristic bandwidth
    on that unit's pooled draws unless ``gamma`` is fixed). A unit whose pooled draws are all one point (say a
    deterministic outcome) has no bandwidth by the median heuristic but its MMD^2 is 0 for every bandwidth, so
    it scores 0 instead of raising.

    Args:
        model: model outcome vectors, shape (units, n, d), or (units, n) for one feature (see :func:`outcome_matrix`).
        true: true outcome vectors, shape (units, m, d) or (units, m), as many units and features as ``model``.
        gamma: fixed kernel precision; ``None`` uses the median heuristic per unit.

    Returns:
        float64 MMD^2 per unit, shape (units,).
    """
    model = _draws(model, "model", (2, 3))
    true = _draws(true, "true", (2, 3))
    _same_units(model, true, "model", "true")
    if model.ndim == 3 and model.shape[2] != true.shape[2]:
        raise DataError(
            f"model has {model.shape[2]} features per draw but true has {true.shape[2]}; build both outcome "
            "vectors with the same outcome_matrix arguments"
        )
    values = []
    for x, y in zip(model, true, strict=True):
        pooled = torch.cat([x, y])
        if gamma is None and bool((pooled == pooled[0]).all()):
            values.append(pooled.new_zeros(()))
        else:
            values.append(mmd(x, y, gamma=gamma))
    if not values:
        return model.new_zeros(0)
    return torch.stack(values)


def _average_ranks(x: Tensor) -> Tensor:
    """1-based ranks along the last axis, tied values sharing the mean of their ranks (float64)."""
    ordered = x.sort(dim=-1).values.contiguous()
    x = x.contiguous()
    below = torch.searchsorted(ordered, x, right=False)  # how many are smaller
    up_to = torch.searchsorted(ordered, x, right=True)  # how many are smaller or equal
    # the tie group occupies ranks below+1 .. up_to; its mean rank is their midpoint
    return (below + up_to + 1).to(torch.float64) / 2


def spearman(a: Tensor, b: Tensor) -> Tensor:
    """Spearman's rank correlation between ``a`` and ``b`` along the last axis, average ranks for ties.

    The Pearson correlation of the average ranks (as ``scipy.stats.spearmanr``), so binary outcomes with many ties
    are scored correctly. Where either side is constant along the axis the correlation is undefined (scipy
    gives NaN); it is taken as 0 here, since a constant is independent of everything.

    Args:
        a: first variable, shape (..., n); integer codes (binary, ordinal) or floats.
        b: second variable, the same shape (paired draws).

    Returns:
        float64 correlation in [-1, 1], shape (...) (0-d for 1-D inputs).
    """
    a = _finite(_tensor(a, "a"), "a")
    b = _finite(_tensor(b, "b"), "b")
    if a.shape != b.shape:
        raise DataError(f"a has shape {tuple(a.shape)} but b has {tuple(b.shape)}; pass paired draws of equal shape")
    if a.ndim == 0 or a.shape[-1] < 2:
        raise DataError(f"a and b need at least 2 paired draws along the last axis, got shape {tuple(a.shape)}")
    rank_a = _average_ranks(a)
    rank_b = _average_ranks(b)
    rank_a = rank_a - rank_a.mean(dim=-1, keepdim=True)
    rank_b = rank_b - rank_b.mean(dim=-1, keepdim=True)
    covariance = (rank_a * rank_b).sum(dim=-1)
    scale = (rank_a.square().sum(dim=-1) * rank_b.square().sum(dim=-1)).sqrt()
    rho = torch.where(scale > 0, covariance / scale.clamp_min(1e-300), torch.zeros_like(covariance))
    return rho.clamp(-1.0, 1.0)


def outcome_matrix(
    values: Mapping[str, Tensor],
    kinds: Mapping[str, tuple[str, int]],
    scale: Mapping[str, tuple[float, float]] | None = None,
) -> Tensor:
    """The outcome vector of every draw, for :class:`JointMMD`: one float64 column block per outcome.

    Build it with the same arguments for the model draws and for the true draws, then compare them.

    Args:
        values: draws per outcome, all of one shape, e.g. (units, n): floats for a continuous outcome, class
            codes (integers) for a binary or categorical one.
        kinds: ``{outcome: (kind, classes)}`` for each outcome to include, in column order; ``kind`` is
            ``"continuous"`` (one column; ``classes`` is ignored), ``"binary"`` (one 0/1 column; codes 0..1) or
            ``"categorical"`` (``classes`` one-hot columns; codes 0..classes-1).
        scale: ``{outcome: (mean, std)}`` for every continuous outcome, which becomes ``(value - mean) / std``
            (take the statistics from training or true data, the same for both sides); ``None`` leaves continuous
            outcomes as they are.

    Returns:
        float64 tensor of shape ``values' shape + (d,)``, d = (number of continuous and binary outcomes) + (sum of
        the categorical outcomes' classes).
    """
    if len(kinds) == 0:
        raise DataError("kinds names no outcome; pass {outcome: (kind, classes)} for at least one outcome")
    columns: list[Tensor] = []
    shape: tuple[int, ...] | None = None
    first = ""
    for name, spec in kinds.items():
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise DataError(f"kinds[{name!r}] must be a (kind, classes) pair, got {spec!r}")
        kind, classes = spec
        if name not in values:
            have = ", ".join(sorted(values)) or "nothing"
            raise DataError(f"values holds no draws of outcome {name!r}; it holds {have}")
        value = _tensor(values[name], f"values[{name!r}]")
        if shape is None:
            shape, first = tuple(value.shape), name
        elif tuple(value.shape) != shape:
            raise DataError(
                f"values[{name!r}] has shape {tuple(value.shape)} but values[{first!r}] has {shape}; pass the same "
                "units and draws for every outcome"
            )
        if kind == "continuous":
            column = _finite(value, f"values[{name!r}]")
            if scale is not None:
                if name not in scale:
                    raise DataError(f"scale has no (mean, std) for continuous outcome {name!r}; add it or pass None")
                mean, std = scale[name]
                if not (std > 0 and std < float("inf")):
                    raise DataError(f"scale[{name!r}] has std {std}; it must be a positive finite number")
                column = (column - mean) / std
            columns.append(column.unsqueeze(-1))
        elif kind == "binary":
            columns.append(_codes(value.reshape(-1), 2, f"values[{name!r}]").reshape(*value.shape, 1).double())
        elif kind == "categorical":
            k = _classes(classes)
            codes = _codes(value.reshape(-1), k, f"values[{name!r}]").reshape(value.shape)
            columns.append(torch.nn.functional.one_hot(codes, k).to(torch.float64))
        else:
            raise DataError(f"kinds[{name!r}] has unknown kind {kind!r}; use 'continuous', 'binary' or 'categorical'")
    return torch.cat(columns, dim=-1)


# ----------------------------------------------------------------------------------------------------------------
# metrics


class _UnitMean(Metric):
    """Mean over units of a per-unit score: a float64 sum and an integer count, both reduced by ``sum``."""

    higher_is_better = False
    full_state_update = False
    is_differentiable = False

    total: Tensor
    units: Tensor

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("units", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def _add(self, per_unit: Tensor) -> None:
        self.total += per_unit.sum().to(self.total.device)
        self.units += per_unit.numel()

    def compute(self) -> Tensor:
        """The mean over every unit seen since the last ``reset`` (on all ranks), a 0-d float64 tensor."""
        if int(self.units) == 0:
            raise DataError(
                f"{type(self).__name__}.compute() was called before any unit was added; call update with draws first"
            )
        return self.total / self.units


class Wasserstein1(_UnitMean):
    """Mean over units of the 1-D Wasserstein-1 distance between model and true draws of a continuous outcome.

    Per unit :func:`wasserstein1` (exact for unequal draw counts); states: the sum of per-unit W1 and the number
    of units.

    Args:
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    def update(self, model_draws: Tensor, true_draws: Tensor) -> None:
        """Add a batch of units: model draws (units, n) and true draws (units, m) of the same units."""
        model_draws = _draws(model_draws, "model_draws")
        true_draws = _draws(true_draws, "true_draws")
        _same_units(model_draws, true_draws, "model_draws", "true_draws")
        self._add(wasserstein1(model_draws, true_draws))


class _Discrete(_UnitMean):
    """A per-unit score of a discrete outcome's class frequencies (``score``), averaged over units.

    Args:
        classes: the number of classes K (2 for a binary outcome).
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    @staticmethod
    def score(model: Tensor, true: Tensor, classes: int) -> Tensor:
        raise NotImplementedError

    def __init__(self, classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.classes = _classes(classes)

    def update(self, model: Tensor, true: Tensor) -> None:
        """Add a batch of units: model class codes (units, n) and true class codes (units, m)."""
        _draws_2d(model, "model")
        _draws_2d(true, "true")
        self._add(self.score(model, true, self.classes))


class DiscreteKL(_Discrete):
    """Mean over units of KL(p_true || p_model) of a discrete outcome's smoothed class frequencies.

    Per unit :func:`discrete_kl` (1e-6 added to every class frequency, then renormalised).
    """

    score = staticmethod(discrete_kl)


class DiscreteTVD(_Discrete):
    """Mean over units of the total variation distance of a discrete outcome's class frequencies.

    Per unit :func:`discrete_tvd` (unsmoothed frequencies).
    """

    score = staticmethod(discrete_tvd)


def _draws_2d(x: Any, name: str) -> None:
    """A metric's ``update`` takes a batch of units: refuse a 1-D tensor (one unit) with a clear message."""
    x = _tensor(x, name)
    if x.ndim != 2:
        raise DataError(f"{name} must have shape (units, draws), got {tuple(x.shape)}; a single unit is (1, draws)")


class JointMMD(_UnitMean):
    """Mean over units of the squared MMD between the model's and the true outcome vectors.

    Per unit :func:`joint_mmd`, i.e. exactly :func:`lightning_causal.metrics.mmd.mmd` (RBF kernel, biased
    V-statistic, median-heuristic bandwidth on that unit's pooled draws) on the (n, d) and (m, d) outcome vectors
    built by :func:`outcome_matrix`.

    Args:
        gamma: fixed kernel precision; ``None`` (default) uses the median heuristic per unit.
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    def __init__(self, gamma: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if gamma is not None and not (gamma > 0 and gamma < float("inf")):
            raise DataError(f"gamma must be a positive finite number or None, got {gamma}")
        self.gamma = gamma

    def update(self, model: Tensor, true: Tensor) -> None:
        """Add a batch of units: model outcome vectors (units, n, d) and true ones (units, m, d)."""
        self._add(joint_mmd(model, true, gamma=self.gamma))


class DependenceError(_UnitMean):
    """Mean over units of |rho_model(Y1, Y2) - rho_true(Y1, Y2)|, rho Spearman's rank correlation (:func:`spearman`).

    Args:
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    def update(self, model_a: Tensor, model_b: Tensor, true_a: Tensor, true_b: Tensor) -> None:
        """Add a batch of units: paired model draws of Y1 and Y2, (units, n) each, and paired true ones, (units, m)."""
        model_a = _draws(model_a, "model_a")
        model_b = _draws(model_b, "model_b")
        true_a = _draws(true_a, "true_a")
        true_b = _draws(true_b, "true_b")
        if model_a.shape != model_b.shape:
            raise DataError(
                f"model_a has shape {tuple(model_a.shape)} but model_b has {tuple(model_b.shape)}; pass paired draws"
            )
        if true_a.shape != true_b.shape:
            raise DataError(
                f"true_a has shape {tuple(true_a.shape)} but true_b has {tuple(true_b.shape)}; pass paired draws"
            )
        _same_units(model_a, true_a, "model_a", "true_a")
        self._add((spearman(model_a, model_b) - spearman(true_a, true_b)).abs())


class PEHE(_UnitMean):
    """Precision in estimating heterogeneous effects: sqrt(mean over units of (tau_hat - tau)^2).

    ``tau`` is the true conditional average treatment effect of each unit, ``tau_hat`` the model's. States: the
    sum of squared errors and the number of units; ``compute`` returns the square root of their ratio.

    Args:
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    def update(self, tau_hat: Tensor, tau: Tensor) -> None:
        """Add a batch of units: estimated effects and true effects, both (units,)."""
        tau_hat = _finite(_tensor(tau_hat, "tau_hat"), "tau_hat")
        tau = _finite(_tensor(tau, "tau"), "tau")
        if tau_hat.ndim != 1 or tau_hat.shape != tau.shape:
            raise DataError(
                f"tau_hat has shape {tuple(tau_hat.shape)} and tau {tuple(tau.shape)}; pass one effect per unit, "
                "both of shape (units,)"
            )
        self._add((tau_hat - tau).square())

    def compute(self) -> Tensor:
        """The root of the mean squared effect error over every unit seen (on all ranks), a 0-d float64 tensor."""
        return super().compute().sqrt()


class IntervalCoverage(Metric):
    """The share of intervals [low, high] (bounds included) that hold the truth, and the intervals' mean width.

    ``compute`` returns ``{"coverage": ..., "width": ...}``, two 0-d float64 tensors. Every entry of the tensors
    given to ``update`` is one interval (a unit, or a unit and an outcome). States: the number of covering
    intervals, the sum of widths and the number of intervals, all reduced by ``sum``.

    Args:
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    higher_is_better = None
    full_state_update = False
    is_differentiable = False

    covered: Tensor
    width: Tensor
    intervals: Tensor

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("covered", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("width", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("intervals", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, low: Tensor, high: Tensor, truth: Tensor) -> None:
        """Add a batch of intervals: lower bounds, upper bounds and true values, all of one shape."""
        low = _finite(_tensor(low, "low"), "low")
        high = _finite(_tensor(high, "high"), "high")
        truth = _finite(_tensor(truth, "truth"), "truth")
        if not (low.shape == high.shape == truth.shape):
            raise DataError(
                f"low, high and truth have shapes {tuple(low.shape)}, {tuple(high.shape)} and {tuple(truth.shape)}; "
                "pass one bound pair per true value"
            )
        reversed_count = int((low > high).sum())
        if reversed_count:
            raise DataError(f"low exceeds high in {reversed_count} intervals; pass the lower bound as low")
        self.covered += ((low <= truth) & (truth <= high)).sum().to(self.covered.device)
        self.width += (high - low).sum().to(self.width.device)
        self.intervals += low.numel()

    def compute(self) -> dict[str, Tensor]:
        """``{"coverage": share of intervals holding the truth, "width": mean high - low}`` over all ranks."""
        if int(self.intervals) == 0:
            raise DataError("IntervalCoverage.compute() was called before any interval was added; call update first")
        count = self.intervals.to(torch.float64)
        return {"coverage": self.covered.to(torch.float64) / count, "width": self.width / count}
