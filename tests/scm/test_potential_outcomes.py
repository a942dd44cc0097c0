"""Treatment tables with exact potential outcomes: the observed rows follow the process, potential-outcome
draws match the closed-form laws, the covariates are the adjustment set of the process's graph."""

from __future__ import annotations

import math

import pytest
import torch

from lightning_causal.errors import QueryError
from lightning_causal.identification import adjustment_set
from lightning_causal.scm.potential_outcomes import ConfoundedEffectProcess, MultiOutcomeProcess


def test_the_multi_outcome_table_has_its_types_and_confounded_arms() -> None:
    process = MultiOutcomeProcess()
    rows = process.sample(20_000, seed=0)
    assert set(rows) == {"X1", "X2", "X3", "X4", "X5", "A", "Y1", "Y2", "Y3"}
    assert rows["Y1"].shape == (20_000, 1) and rows["Y2"].dtype == torch.long and set(rows["Y3"].tolist()) == {0, 1, 2}
    treated = rows["A"] == 1
    x1 = rows["X1"][:, 0]
    assert float(x1[treated].mean() - x1[~treated].mean()) > 0.5  # confounded through x1
    # the observed Y1 is the treated arm's equation plus its noise (sd sqrt(0.5^2 + 0.3^2))
    x = process.covariate_matrix(rows)
    a = rows["A"].float()
    residual = rows["Y1"][:, 0] - (torch.sin(x[:, 0]) + 0.5 * x[:, 1] + a * (1 + 0.5 * x[:, 2]))
    assert abs(float(residual.mean())) < 0.02 and abs(float(residual.std()) - math.sqrt(0.34)) < 0.02
    assert adjustment_set(process.graph, "A", process.outcomes) == process.covariates


def test_potential_outcomes_follow_each_arm_and_keep_the_outcomes_dependent() -> None:
    process = MultiOutcomeProcess()
    x = torch.tensor([[0.5, -1.0, 1.0, 0.0, 2.0], [-1.0, 0.5, -0.5, 1.0, -2.0]])
    for arm in (0, 1):
        draws = process.potential_outcomes(x, arm, 40_000, seed=arm)
        assert draws["Y1"].shape == (2, 40_000) and draws["Y3"].dtype == torch.long
        mean = torch.sin(x[:, 0]) + 0.5 * x[:, 1] + arm * (1 + 0.5 * x[:, 2])
        assert torch.allclose(draws["Y1"].mean(1), mean, atol=0.02)
        # Y2 rises with Y1 within a unit: the outcomes are dependent, not independent given x
        y1, y2 = draws["Y1"][0], draws["Y2"][0].float()
        assert float(y1[y2 == 1].mean() - y1[y2 == 0].mean()) > 0.1
    with pytest.raises(QueryError, match="arm 2 is out of range"):
        process.potential_outcomes(x, 2, 10)


def test_two_arm_propensity_is_the_sigmoid_and_more_arms_and_outcomes_extend_the_process() -> None:
    x = torch.randn(100, 5, generator=torch.Generator().manual_seed(0))
    s = 0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.3 * x[:, 2]
    assert torch.allclose(MultiOutcomeProcess().propensity(x)[:, 1], torch.sigmoid(s), atol=1e-6)
    assert torch.allclose(MultiOutcomeProcess(rct=True).propensity(x), torch.full((100, 2), 0.5))
    three = MultiOutcomeProcess(arms=3, outcomes=12)
    assert three.variables["A"].classes == 3 and set(three.sample(500, seed=1)["A"].tolist()) == {0, 1, 2}
    kinds = [three.variables[y].kind for y in three.outcomes]
    assert kinds[:3] == ["continuous", "binary", "categorical"] and kinds[3:5] == ["continuous", "binary"]
    assert ("Y11", "Y12") in three.graph.directed and len(three.outcomes) == 12
    draws = three.potential_outcomes(x[:3], 2, 50, seed=0)
    assert set(draws) == set(three.outcomes) and draws["Y12"].shape == (3, 50)
    for bad in ({"arms": 1}, {"arms": True}, {"outcomes": 2}):
        with pytest.raises(QueryError, match=next(iter(bad))):
            MultiOutcomeProcess(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("noise", ["gaussian", "mixture"])
def test_the_confounded_effect_has_its_closed_form_means_cate_and_noise(noise: str) -> None:
    process = ConfoundedEffectProcess(kappa=4.0, noise=noise)
    x = torch.randn(3, 10, generator=torch.Generator().manual_seed(2))
    y0 = process.potential_outcomes(x, 0, 50_000, seed=0)["Y"]
    y1 = process.potential_outcomes(x, 1, 50_000, seed=1)["Y"]
    assert torch.allclose(y0.mean(1), process.mean(x, 0), atol=0.03)
    assert torch.allclose(y1.mean(1) - y0.mean(1), process.cate(x), atol=0.04)
    assert torch.allclose(process.cate(x), 1 + 2 * x[:, 0])
    sd = process.scale(x) * (1.0 if noise == "gaussian" else math.sqrt(1 + 0.09))
    assert torch.allclose(y0.std(1), sd, rtol=0.02)
    centred = (y0 - process.mean(x, 0)[:, None]) / process.scale(x)[:, None]
    near_zero = float((centred.abs() < 0.2).float().mean())
    assert (near_zero < 0.01) if noise == "mixture" else (near_zero > 0.15)  # bimodal, or not


def test_kappa_sets_the_overlap_and_bad_settings_are_one_line() -> None:
    x = torch.randn(20_000, 10, generator=torch.Generator().manual_seed(0))
    extreme = [
        float(((p := ConfoundedEffectProcess(k).propensity(x)[:, 1]) < 0.05).float().mean() + (p > 0.95).float().mean())
        for k in (0.5, 4.0)
    ]
    assert extreme[0] < 0.001 and extreme[1] > 0.1
    rows = ConfoundedEffectProcess(2.0).sample(1000, seed=3)
    assert set(rows) == {*(f"X{i}" for i in range(1, 11)), "A", "Y"} and rows["Y"].shape == (1000, 1)
    frame = ConfoundedEffectProcess(2.0).table(50, seed=3)
    assert list(frame.columns)[-2:] == ["A", "Y"] and len(frame) == 50
    with pytest.raises(QueryError, match="kappa must be"):
        ConfoundedEffectProcess(-1.0)
    with pytest.raises(QueryError, match="noise must be"):
        ConfoundedEffectProcess(noise="t")
    with pytest.raises(QueryError, match="no covariate 'X2'"):
        ConfoundedEffectProcess().covariate_matrix({"X1": torch.zeros(2)})
