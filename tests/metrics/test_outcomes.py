"""Per-unit potential-outcome metrics against hand computations, scipy, ``mmd`` per unit, and two gloo ranks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from lightning_causal import DataError
from lightning_causal.metrics import (
    PEHE,
    DependenceError,
    DiscreteKL,
    DiscreteTVD,
    IntervalCoverage,
    JointMMD,
    Wasserstein1,
    discrete_kl,
    discrete_tvd,
    joint_mmd,
    mmd,
    outcome_matrix,
    spearman,
    wasserstein1,
)

EPS = 1e-6  # the smoothing of discrete_kl


def smoothed(p: list[float]) -> list[float]:
    return [(q + EPS) / (1 + len(p) * EPS) for q in p]


def kl(p_true: list[float], p_model: list[float]) -> float:
    return sum(t * math.log(t / m) for t, m in zip(smoothed(p_true), smoothed(p_model), strict=True))


# ----------------------------------------------------------------------------------------------------------------
# Wasserstein-1


def test_wasserstein1_zero_shift_and_hand_case() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 40, generator=g, dtype=torch.float64)
    assert torch.equal(wasserstein1(x, x), torch.zeros(5, dtype=torch.float64))
    # a shift by c moves every quantile by c: W1 = |c|, also with unequal sizes
    assert torch.allclose(wasserstein1(x, x - 0.7), torch.full((5,), 0.7, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(wasserstein1(x[:, :13], x[:, :13] + 2.5), torch.full((5,), 2.5, dtype=torch.float64))
    # equal sizes: sorted [0, 1, 3] against sorted [2, 2, 5] -> (2 + 1 + 2) / 3
    assert wasserstein1(torch.tensor([3.0, 0.0, 1.0]), torch.tensor([5.0, 2.0, 2.0])).item() == pytest.approx(5 / 3)
    # unequal sizes by hand: quantiles of {0, 1} and {0, 1, 2} differ by 1 on (1/3, 1/2] and on (2/3, 1]
    assert wasserstein1(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 0.0, 1.0])).item() == pytest.approx(0.5)
    assert wasserstein1(torch.tensor([2.0, 0.0, 1.0]), torch.tensor([1.0, 0.0])).item() == pytest.approx(0.5)


@pytest.mark.parametrize("n,m", [(30, 30), (17, 45), (50, 7), (1, 9)])
def test_wasserstein1_matches_scipy(n: int, m: int) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")  # the hand cases above run without scipy
    rng = np.random.default_rng(n * 100 + m)
    a = rng.normal(size=(4, n))
    b = 1.5 * rng.standard_t(3, size=(4, m)) + 0.3
    b[0, : m // 2] = b[0, 0]  # ties
    values = wasserstein1(torch.from_numpy(a), torch.from_numpy(b))
    assert values.shape == (4,) and values.dtype == torch.float64
    for u in range(4):
        expected = scipy_stats.wasserstein_distance(a[u], b[u])
        assert expected > 0.05
        assert values[u].item() == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_wasserstein1_metric_averages_units() -> None:
    g = torch.Generator().manual_seed(1)
    model, true = torch.randn(9, 20, generator=g), torch.randn(9, 31, generator=g) + 0.4
    metric = Wasserstein1()
    metric.update(model[:4], true[:4])
    metric.update(model[4:], true[4:])
    assert metric.compute().item() == pytest.approx(wasserstein1(model, true).mean().item(), rel=1e-12)
    metric.reset()
    metric.update(torch.zeros(2, 3), torch.ones(2, 5))
    assert metric.compute().item() == 1.0


# ----------------------------------------------------------------------------------------------------------------
# discrete KL and TVD


def test_discrete_kl_tvd_hand_cases() -> None:
    true = torch.tensor([[0, 0, 1, 1], [1, 0, 1, 0]])
    same = torch.tensor([[1, 0, 1, 0], [0, 0, 1, 1]])
    assert torch.allclose(discrete_kl(same, true, 2), torch.zeros(2, dtype=torch.float64), atol=1e-15)
    assert torch.equal(discrete_tvd(same, true, 2), torch.zeros(2, dtype=torch.float64))
    # p_true = (1/2, 1/2), p_model = (1/4, 3/4)
    model = torch.tensor([0, 1, 1, 1])
    expected = kl([0.5, 0.5], [0.25, 0.75])
    assert discrete_kl(model, true[0], 2).item() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.5 * math.log(4 / 3), abs=1e-5)  # the smoothing barely moves it
    assert discrete_tvd(model, true[0], 2).item() == pytest.approx(0.25)
    # KL is not symmetric: KL(p_model || p_true) is another number
    assert discrete_kl(true[0], model, 2).item() == pytest.approx(kl([0.25, 0.75], [0.5, 0.5]), rel=1e-12)
    # disjoint supports, 3 classes, unequal draw counts: TVD exactly 1; KL finite thanks to the smoothing
    model, true = torch.zeros(1, 5, dtype=torch.long), torch.full((1, 8), 2)
    assert discrete_tvd(model, true, 3).item() == 1.0
    assert discrete_kl(model, true, 3).item() == pytest.approx(kl([0, 0, 1], [1, 0, 0]), rel=1e-12)
    # bool and whole-number float codes are accepted
    assert discrete_tvd(torch.tensor([True, False]), torch.tensor([1.0, 1.0]), 2).item() == pytest.approx(0.5)


def test_discrete_metrics_average_units() -> None:
    g = torch.Generator().manual_seed(2)
    model, true = torch.randint(0, 4, (7, 25), generator=g), torch.randint(0, 4, (7, 60), generator=g)
    for metric, function in ((DiscreteKL(4), discrete_kl), (DiscreteTVD(4), discrete_tvd)):
        metric.update(model[:2], true[:2])
        metric.update(model[2:], true[2:])
        expected = function(model, true, 4).mean().item()
        assert expected > 0.01
        assert metric.compute().item() == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------------------------------------------------------------
# Spearman and the dependence error


def test_spearman_monotone_reversal_constant() -> None:
    g = torch.Generator().manual_seed(3)
    a = torch.randn(3, 50, generator=g, dtype=torch.float64)
    assert torch.allclose(spearman(a, 3 * a.exp() - 1), torch.ones(3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(spearman(a, -(a**3)), -torch.ones(3, dtype=torch.float64), atol=1e-12)
    # a constant side has no rank correlation: 0 (scipy returns NaN)
    assert spearman(a[0], torch.zeros(50)).item() == 0.0
    # by hand: ranks of [10, 20, 20, 30] are [1, 2.5, 2.5, 4]; of [1, 3, 2, 4] they are the values
    # centred: [-1.5, 0, 0, 1.5] and [-1.5, 0.5, -0.5, 1.5] -> 4.5 / sqrt(4.5 * 5)
    value = spearman(torch.tensor([10, 20, 20, 30]), torch.tensor([1.0, 3.0, 2.0, 4.0])).item()
    assert value == pytest.approx(4.5 / math.sqrt(4.5 * 5), rel=1e-12)


def test_spearman_ties_match_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")  # the hand case above runs without scipy
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 80))
    binary = (x + rng.normal(size=(5, 80)) > 0.3).astype(np.int64)
    ordinal = np.clip(np.round(x + rng.normal(size=(5, 80))), -1, 1)
    for a, b in ((binary, x), (binary, ordinal), (ordinal, x)):
        values = spearman(torch.from_numpy(a), torch.from_numpy(b))
        for u in range(5):
            expected = scipy_stats.spearmanr(a[u], b[u]).statistic
            assert abs(expected) > 0.05
            assert values[u].item() == pytest.approx(expected, rel=1e-10)


def test_dependence_error_metric() -> None:
    g = torch.Generator().manual_seed(5)
    model_a, model_b = torch.randn(6, 30, generator=g), torch.randn(6, 30, generator=g)
    true_a = torch.randn(6, 45, generator=g)
    true_b = (true_a + 0.5 * torch.randn(6, 45, generator=g) > 0).long()
    metric = DependenceError()
    metric.update(model_a[:3], model_b[:3], true_a[:3], true_b[:3])
    metric.update(model_a[3:], model_b[3:], true_a[3:], true_b[3:])
    expected = (spearman(model_a, model_b) - spearman(true_a, true_b)).abs().mean().item()
    assert expected > 0.1
    assert metric.compute().item() == pytest.approx(expected, rel=1e-12)
    # model dependence equal to the truth: the error is 0
    metric.reset()
    metric.update(true_a, true_b, true_a, true_b)
    assert metric.compute().item() == 0.0


# ----------------------------------------------------------------------------------------------------------------
# joint MMD and the outcome matrix


def test_joint_mmd_is_mmd_per_unit() -> None:
    g = torch.Generator().manual_seed(6)
    model = torch.randn(5, 30, 3, generator=g, dtype=torch.float64)
    true = 1.2 * torch.randn(5, 22, 3, generator=g, dtype=torch.float64) + 0.3
    per_unit = torch.stack([mmd(model[u], true[u]) for u in range(5)])
    assert torch.equal(joint_mmd(model, true), per_unit)
    metric = JointMMD()
    metric.update(model[:2], true[:2])
    metric.update(model[2:], true[2:])
    assert metric.compute().item() == pytest.approx(per_unit.mean().item(), rel=1e-12)
    fixed = JointMMD(gamma=0.3)
    fixed.update(model, true)
    expected = torch.stack([mmd(model[u], true[u], gamma=0.3) for u in range(5)]).mean().item()
    assert fixed.compute().item() == pytest.approx(expected, rel=1e-12)
    # a unit whose draws are all one point on both sides scores 0 (the median heuristic has no distance there)
    same = torch.ones(2, 4, 3)
    assert torch.equal(joint_mmd(same, same), torch.zeros(2, dtype=torch.float64))


def test_outcome_matrix_builds_standardised_binary_and_one_hot_columns() -> None:
    values = {
        "Y1": torch.tensor([[1.0, 3.0], [5.0, -1.0]]),
        "Y2": torch.tensor([[0, 1], [1, 1]]),
        "Y3": torch.tensor([[2, 0], [1, 2]]),
        "unused": torch.zeros(2, 2),
    }
    kinds = {"Y1": ("continuous", 1), "Y2": ("binary", 2), "Y3": ("categorical", 3)}
    z = outcome_matrix(values, kinds, {"Y1": (1.0, 2.0)})
    assert z.shape == (2, 2, 5) and z.dtype == torch.float64
    expected = torch.tensor(
        [
            [[0.0, 0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0, 0.0]],
            [[2.0, 1.0, 0.0, 1.0, 0.0], [-1.0, 1.0, 0.0, 0.0, 1.0]],
        ],
        dtype=torch.float64,
    )
    assert torch.equal(z, expected)
    assert torch.equal(outcome_matrix(values, {"Y1": ("continuous", 1)})[..., 0], values["Y1"].double())
    with pytest.raises(DataError, match=r"values\['Y3'\] holds class code 2 outside 0..1; pass classes=3"):
        outcome_matrix(values, {"Y3": ("categorical", 2)})
    with pytest.raises(DataError, match="scale has no \\(mean, std\\) for continuous outcome 'Y1'"):
        outcome_matrix(values, kinds, {})
    with pytest.raises(DataError, match="unknown kind 'ordinal'"):
        outcome_matrix(values, {"Y2": ("ordinal", 2)})
    with pytest.raises(DataError, match="no draws of outcome 'Y4'"):
        outcome_matrix(values, {"Y4": ("binary", 2)})
    with pytest.raises(DataError, match=r"values\['Y2'\] has shape \(2, 3\) but values\['Y1'\] has \(2, 2\)"):
        outcome_matrix({**values, "Y2": torch.zeros(2, 3, dtype=torch.long)}, kinds)


# ----------------------------------------------------------------------------------------------------------------
# PEHE and interval coverage


def test_pehe_hand_case() -> None:
    metric = PEHE()
    metric.update(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.0]))
    metric.update(torch.tensor([3.0, 4.0]), torch.tensor([3.0, 0.0]))
    assert metric.compute().item() == pytest.approx(math.sqrt(5.0), rel=1e-15)  # sqrt((0 + 4 + 0 + 16) / 4)


def test_interval_coverage_hand_case() -> None:
    metric = IntervalCoverage()
    metric.update(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0]), torch.tensor([0.5, 3.0]))  # in, out
    metric.update(torch.tensor([1.0, -1.0]), torch.tensor([1.0, 1.0]), torch.tensor([1.0, -2.0]))  # on a bound, out
    result = metric.compute()
    assert result["coverage"].item() == 0.5
    assert result["width"].item() == 1.25  # (1 + 2 + 0 + 2) / 4


# ----------------------------------------------------------------------------------------------------------------
# bad input


def test_errors_are_one_line_and_name_the_argument() -> None:
    cases: list[tuple[Any, str]] = [
        (lambda: wasserstein1(torch.zeros(3, 4), torch.zeros(2, 4)), "a has shape \\(3, 4\\) but b has \\(2, 4\\)"),
        (lambda: wasserstein1(torch.zeros(3, 0), torch.zeros(3, 4)), "a has 0 draws"),
        (
            lambda: Wasserstein1().update(torch.zeros(4), torch.zeros(4)),
            "model_draws must have shape \\(units, draws\\)",
        ),
        (lambda: Wasserstein1().update(torch.tensor([[float("nan")]]), torch.zeros(1, 2)), "model_draws holds NaN"),
        (lambda: discrete_kl(torch.tensor([0, 3]), torch.tensor([0, 1]), 3), "model holds class code 3 outside 0..2"),
        (lambda: discrete_tvd(torch.tensor([0, 1]), torch.tensor([-1, 1]), 2), "true holds class code -1 outside 0..1"),
        (lambda: discrete_tvd(torch.tensor([0.5]), torch.tensor([1]), 2), "model must hold whole-number class codes"),
        (lambda: DiscreteKL(1), "classes must be an integer of at least 2"),
        (lambda: DiscreteTVD(3).update(torch.tensor([0, 1]), torch.tensor([[0, 1]])), "model must have shape"),
        (lambda: spearman(torch.zeros(3, 5), torch.zeros(3, 4)), "a has shape \\(3, 5\\) but b has \\(3, 4\\)"),
        (lambda: joint_mmd(torch.zeros(2, 5, 3), torch.zeros(2, 5, 2)), "model has 3 features per draw but true has 2"),
        (
            lambda: DependenceError().update(
                torch.zeros(2, 5), torch.zeros(2, 4), torch.zeros(2, 5), torch.zeros(2, 5)
            ),
            "model_a has shape \\(2, 5\\) but model_b has \\(2, 4\\)",
        ),
        (lambda: PEHE().update(torch.zeros(3), torch.zeros(4)), "tau_hat has shape \\(3,\\) and tau \\(4,\\)"),
        (
            lambda: IntervalCoverage().update(torch.ones(2), torch.zeros(2), torch.zeros(2)),
            "low exceeds high in 2 intervals",
        ),
        (
            lambda: IntervalCoverage().update(torch.zeros(2), torch.ones(3), torch.zeros(2)),
            "low, high and truth have shapes",
        ),
    ]
    for call, message in cases:
        with pytest.raises(DataError, match=message) as caught:
            call()
        assert "\n" not in str(caught.value)
    with pytest.warns(UserWarning, match="before the ``update``"), pytest.raises(DataError, match=r"PEHE\.compute"):
        PEHE().compute()


# ----------------------------------------------------------------------------------------------------------------
# DDP: two gloo ranks, each with part of the units, give the single-process values on all units

UNITS = 7  # rank 0 takes 4 units, rank 1 takes 3 (in two updates)


def _ddp_data() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(11)
    true_a = torch.randn(UNITS, 24, generator=g, dtype=torch.float64)
    return {
        "model": torch.randn(UNITS, 16, generator=g, dtype=torch.float64),
        "true": 1.3 * torch.randn(UNITS, 24, generator=g, dtype=torch.float64) + 0.2,
        "model_codes": torch.randint(0, 3, (UNITS, 16), generator=g),
        "true_codes": torch.randint(0, 3, (UNITS, 24), generator=g),
        "model_joint": torch.randn(UNITS, 16, 2, generator=g, dtype=torch.float64),
        "true_joint": torch.randn(UNITS, 24, 2, generator=g, dtype=torch.float64) + 0.5,
        "true_a": true_a,
        "true_b": (true_a > 0.1).long(),
        "tau_hat": torch.randn(UNITS, generator=g, dtype=torch.float64),
        "tau": torch.randn(UNITS, generator=g, dtype=torch.float64),
        "truth": torch.randn(UNITS, generator=g, dtype=torch.float64),
    }


def _ddp_values(parts: list[slice]) -> dict[str, float]:
    """Every metric updated with the units in ``parts`` (one update per slice), then computed."""
    d = _ddp_data()
    metrics: dict[str, Any] = {
        "w1": Wasserstein1(),
        "kl": DiscreteKL(3),
        "tvd": DiscreteTVD(3),
        "joint_mmd": JointMMD(),
        "dependence": DependenceError(),
        "pehe": PEHE(),
        "coverage": IntervalCoverage(),
    }
    for s in parts:
        metrics["w1"].update(d["model"][s], d["true"][s])
        metrics["kl"].update(d["model_codes"][s], d["true_codes"][s])
        metrics["tvd"].update(d["model_codes"][s], d["true_codes"][s])
        metrics["joint_mmd"].update(d["model_joint"][s], d["true_joint"][s])
        metrics["dependence"].update(d["model"][s], d["model"][s].exp(), d["true_a"][s], d["true_b"][s])
        metrics["pehe"].update(d["tau_hat"][s], d["tau"][s])
        metrics["coverage"].update(d["tau_hat"][s] - 1, d["tau_hat"][s] + d["tau"][s].abs(), d["truth"][s])
    values: dict[str, float] = {}
    for name, metric in metrics.items():
        result = metric.compute()
        if isinstance(result, dict):
            values |= {f"{name}.{key}": float(value) for key, value in result.items()}
        else:
            values[name] = float(result)
    return values


def _ddp_rank(rank: int, port: int, folder: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        parts = [slice(0, 4)] if rank == 0 else [slice(4, 5), slice(5, UNITS)]
        values = _ddp_values(parts)  # compute() syncs the states of both ranks
        if rank == 0:
            Path(folder, "values.json").write_text(json.dumps(values))
    finally:
        dist.destroy_process_group()


def test_metrics_under_two_gloo_ranks_equal_the_single_process_values(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    from tests.checks import free_port

    single = _ddp_values([slice(0, UNITS)])
    assert single["dependence"] > 0.05 and 0 < single["coverage.coverage"] < 1  # nothing degenerate
    rank0_alone = _ddp_values([slice(0, 4)])
    assert abs(rank0_alone["w1"] - single["w1"]) > 1e-3  # half the units alone would be caught
    mp.spawn(_ddp_rank, args=(free_port(), str(tmp_path)), nprocs=2)
    distributed = json.loads((tmp_path / "values.json").read_text())
    assert distributed.keys() == single.keys()
    for name, value in single.items():
        assert distributed[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name
