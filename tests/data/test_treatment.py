"""Treatment tables: the propensity model against the true propensities of the potential-outcome processes,
overlap refused where the covariates nearly decide the arm, one arm and outcomes out of type refused."""

from __future__ import annotations

import pytest
import torch

from lightning_causal.data.treatment import check_overlap, check_treatment_table, fit_propensity
from lightning_causal.errors import DataError
from lightning_causal.scm.potential_outcomes import ConfoundedEffectProcess, MultiOutcomeProcess


@pytest.mark.parametrize("kappa", [0.5, 2.0])
def test_the_propensity_model_recovers_the_true_propensities(kappa: float) -> None:
    process = ConfoundedEffectProcess(kappa)
    errors = []
    for n in (4000, 16000):
        rows = process.sample(n, seed=1)
        x = process.covariate_matrix(rows)
        fitted = fit_propensity(x, rows["A"], 2)
        truth = process.propensity(x)
        errors.append(float((fitted(x) - truth).abs().mean()))
        constant = float((rows["A"].float().mean() - truth[:, 1]).abs().mean())  # the rate alone
        assert errors[-1] < 0.25 * constant, (errors, constant)
    assert errors[1] < 0.7 * errors[0]  # well specified (logistic in x1 + x2): the error shrinks with the rows
    assert torch.equal(fitted(x), fit_propensity(x, rows["A"], 2)(x))  # deterministic


def test_three_arms_are_fitted_by_the_multinomial_model() -> None:
    process = MultiOutcomeProcess(arms=3)
    rows = process.sample(6000, seed=2)
    x = process.covariate_matrix(rows)
    fitted = fit_propensity(x, rows["A"], 3)(x)
    assert fitted.shape == (6000, 3) and torch.allclose(fitted.sum(1), torch.ones(6000))
    assert float((fitted - process.propensity(x)).abs().mean()) < 0.03


def test_overlap_passes_with_mild_confounding_and_is_refused_when_the_arms_separate() -> None:
    names = [f"X{i}" for i in range(1, 11)]
    mild = ConfoundedEffectProcess(0.5).sample(3000, seed=0)
    check_overlap(ConfoundedEffectProcess().covariate_matrix(mild), mild["A"], 2, "A", names)
    strong = ConfoundedEffectProcess(12.0).sample(3000, seed=0)  # the arm is nearly a function of x1 + x2
    with pytest.raises(DataError) as err:
        check_overlap(ConfoundedEffectProcess().covariate_matrix(strong), strong["A"], 2, "A", names)
    message = str(err.value)
    assert message.startswith("treatment 'A' has no overlap") and "\n" not in message
    assert set(message.split("predict the arm most: ")[1].split(")")[0].split(", ")[:2]) == {"X1", "X2"}


def test_bad_tables_are_one_line_naming_the_column() -> None:
    process = MultiOutcomeProcess()
    rows = process.sample(500, seed=0)
    specs = process.variables
    covariates = list(process.covariates)
    assert check_treatment_table(rows, specs, "A", process.outcomes, covariates) is not None
    cases = [
        ({**rows, "A": torch.zeros(500, dtype=torch.long)}, "treatment 'A' has one arm only"),
        ({**rows, "Y2": rows["Y2"] * 2}, "outcome 'Y2' is binary with 2 classes but holds the value 2"),
        ({**rows, "Y3": rows["Y3"].float() + 0.5}, "outcome 'Y3' is categorical but holds non-integer values"),
        ({**rows, "Y1": rows["Y1"] / torch.zeros(1)}, "outcome 'Y1' holds NaN or infinite values"),
        ({k: v for k, v in rows.items() if k != "X3"}, "no column 'X3'"),
    ]
    for table, fragment in cases:
        with pytest.raises(DataError, match=fragment):
            check_treatment_table(table, specs, "A", process.outcomes, covariates)
    with pytest.raises(DataError, match="treatment 'Y1' is continuous"):
        check_treatment_table(rows, specs, "Y1", ["Y2"], covariates)
