"""ID and IDC proven numerically: several hundred random discrete SCMs with explicit latents.

For every query the estimand, evaluated on the exact observational joint, must equal the
interventional distribution computed by brute-force enumeration in the mutilated model to 1e-9;
every "not identifiable" verdict must come with a valid hedge.
"""

from __future__ import annotations

import numpy as np
import pytest

from lightning_causal import CausalGraph, NotIdentifiableError, identify
from lightning_causal.scm import DiscreteSCM
from tests.checks import NESTED_LINE_7, assert_hedge, assignments, random_query_cases

CASES = list(random_query_cases(420, seed=7))


def _check_case(graph: CausalGraph, treatment: list[str], outcome: list[str], condition: list[str], seed: int) -> str:
    try:
        estimand = identify(graph, treatment, outcome, condition)
    except NotIdentifiableError as err:
        hedge = err.hedge
        # IDC: the hedge is for P(y, z' | do(x, moved)), where moved are conditions rule 2 moved.
        assert set(treatment) <= set(hedge.treatment)
        assert set(hedge.treatment) - set(treatment) <= set(condition)
        assert set(hedge.outcome) == set(outcome) | (set(condition) - set(hedge.treatment))
        assert_hedge(graph, hedge, hedge.treatment, hedge.outcome)
        assert err.line == 5
        assert "F = {" in str(err) and "F' = {" in str(err) and "line 5" in str(err)
        return "hedge"
    scm = DiscreteSCM.random(graph, seed=seed)
    joint = scm.observational()
    cards = scm.cardinalities
    checked = 0
    for x_values in assignments(cards, treatment):
        for z_values in assignments(cards, condition):
            truth_joint = scm.interventional(list(condition) + list(outcome), x_values)
            if condition and truth_joint.marginal(condition).probs[tuple(z_values[c] for c in condition)] < 1e-6:
                continue
            truth = scm.interventional(outcome, x_values, given=z_values or None)
            got = estimand.evaluate(joint, interventions=x_values, given=z_values)
            assert got.variables == tuple(outcome)
            np.testing.assert_allclose(got.probs, truth.probs, atol=1e-9, rtol=0)
            checked += 1
    assert checked > 0
    return "identified"


@pytest.mark.parametrize("case", range(len(CASES)))
def test_random_query_matches_brute_force(case: int) -> None:
    _check_case(*CASES[case])


def test_random_cases_cover_both_verdicts_and_conditionals() -> None:
    verdicts = {"hedge": 0, "identified": 0}
    conditional = sum(1 for c in CASES if c[3])
    for graph, t, o, c, _ in CASES:
        try:
            identify(graph, t, o, c)
            verdicts["identified"] += 1
        except NotIdentifiableError:
            verdicts["hedge"] += 1
    assert verdicts["identified"] >= 150 and verdicts["hedge"] >= 80, verdicts
    assert conditional >= 100


# Graphs whose trace nests one line-7 update inside another (found by search; rare at random).


def _line7_depth(step) -> int:  # type: ignore[no-untyped-def]
    best = 0
    stack = [(step, 0)]
    while stack:
        s, d = stack.pop()
        d += s.line == 7
        best = max(best, d)
        if s.child is not None:
            stack.append((s.child, d))
        stack.extend((p, d) for _, p in s.parts)
    return best


@pytest.mark.parametrize("index", range(len(NESTED_LINE_7)))
def test_nested_line_7_matches_brute_force(index: int) -> None:
    graph, treatment, outcome = NESTED_LINE_7[index]
    estimand = identify(graph, treatment, outcome)
    assert _line7_depth(estimand.trace) == 2
    for seed in range(3):
        assert _check_case(graph, treatment, outcome, [], seed) == "identified"
