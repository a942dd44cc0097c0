"""Fitting plans with exact tables: exact parity with brute-force truth, sampling accuracy, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from lightning_causal import CausalGraph, DiscreteDistribution, NotIdentifiableError
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.plan import compile_plan
from lightning_causal.scm import DiscreteSCM
from tests.checks import NESTED_LINE_7, assignments, plan_or_none, random_query_cases, strong_napkin_scm

CASES = list(random_query_cases(420, seed=7))


def _check_network(
    graph: CausalGraph, treatment, outcome, condition, seed: int, n_samples: int = 100_000, marginals: str = "compose"
) -> None:  # type: ignore[no-untyped-def]
    plan = compile_plan(graph, treatment, outcome, condition, marginals=marginals)
    scm = DiscreteSCM.random(graph, seed=seed)
    network = plan.fit(scm.observational())
    sampled = False
    for x_values in assignments(scm.cardinalities, treatment):
        for z_values in assignments(scm.cardinalities, condition):
            joint = scm.interventional(list(condition) + list(outcome), x_values)
            if condition and joint.marginal(condition).probs[tuple(z_values[c] for c in condition)] < 1e-6:
                continue
            truth = scm.interventional(outcome, x_values, given=z_values or None)
            exact = network.distribution(x_values, z_values)
            np.testing.assert_allclose(exact.aligned(truth.variables), truth.probs, atol=1e-9, rtol=0)
            if not sampled:  # 10^5 samples of one query value per case
                samples = network.sample(n_samples, x_values, z_values, seed=seed)
                empirical = DiscreteDistribution.from_samples(samples, cardinalities=scm.cardinalities)
                assert empirical.tvd(truth) < 0.01
                sampled = True
    assert sampled


@pytest.mark.parametrize("case", range(len(CASES)))
def test_random_plan_matches_brute_force(case: int) -> None:
    graph, treatment, outcome, condition, seed = CASES[case]
    if plan_or_none(graph, treatment, outcome, condition) is None:
        with pytest.raises(NotIdentifiableError):
            compile_plan(graph, treatment, outcome, condition)
        return
    _check_network(graph, treatment, outcome, condition, seed)


@pytest.mark.parametrize(
    "name,treatment,outcome",
    [
        ("napkin", ["X"], ["Y"]),
        ("napkin", ["W1"], ["Y"]),  # ID-GEN's Figure 3: three c-factors, two separate updates
        ("frontdoor", ["X"], ["Y"]),
        ("backdoor", ["X"], ["Y"]),
        ("verma", ["V3"], ["V4"]),
        ("verma", ["V1"], ["V4"]),
        ("conditional", ["X"], ["Y"]),
    ],
)
def test_named_graph_plans(name: str, treatment: list[str], outcome: list[str]) -> None:
    g = NAMED_GRAPHS[name]
    for seed in range(3):
        _check_network(g.graph, treatment, outcome, list(g.condition), seed)


COMPOSED = [k for k, (g, x, y, z, _) in enumerate(CASES) if (p := plan_or_none(g, x, y, z)) is not None and p.composed]


@pytest.mark.parametrize("case", COMPOSED)
def test_random_plan_with_learned_marginals_matches_brute_force(case: int) -> None:
    graph, treatment, outcome, condition, seed = CASES[case]
    _check_network(graph, treatment, outcome, condition, seed, marginals="learn")


def test_random_cases_compose_marginals_often_enough_to_check_both_ways() -> None:
    assert len(COMPOSED) >= 3  # every other case compiles to the same plan either way


@pytest.mark.parametrize("index", range(len(NESTED_LINE_7)))
@pytest.mark.parametrize("marginals", ["learn", "compose"])
def test_nested_updates(index: int, marginals: str) -> None:
    graph, treatment, outcome = NESTED_LINE_7[index]
    plan = compile_plan(graph, treatment, outcome, marginals=marginals)
    depth = {"D0": 0}
    for ds in plan.datasets:
        if ds.source is not None:
            depth[ds.name] = depth[ds.source] + 1
    if marginals == "learn":
        assert max(depth.values()) == 2, "a dataset generated from a generated dataset (step-7 chain)"
    else:  # composing the marginals shortens the chain: fewer generated datasets, never more
        assert len(plan.datasets) < len(compile_plan(graph, treatment, outcome, marginals="learn").datasets)
    for seed in range(3):
        _check_network(graph, treatment, outcome, [], seed, marginals=marginals)


def test_napkin_answer_does_not_depend_on_w2() -> None:
    g = NAMED_GRAPHS["napkin"].graph
    plan = compile_plan(g, "X", "Y")
    scm = DiscreteSCM.random(g, seed=4)
    net = plan.fit(scm.observational())
    (last,) = [f for f in plan.factors if f.dataset == "D1"]
    table = net.generators[last.name].probs  # axes (W2, X, Y)
    for w2 in range(1, table.shape[0]):
        np.testing.assert_allclose(table[w2], table[0], atol=1e-12)


def test_fit_on_samples_is_close() -> None:
    scm = strong_napkin_scm()
    g = scm.graph
    data = scm.sample(50_000, seed=1)
    plan = compile_plan(g, "X", "Y")
    net = plan.fit(data, seed=0)
    for x in range(scm.cardinalities["X"]):
        truth = scm.interventional(["Y"], {"X": x})
        samples = net.sample(100_000, {"X": x}, seed=2)
        got = DiscreteDistribution.from_samples(samples, cardinalities=scm.cardinalities)
        assert got.tvd(truth) < 0.03
        # and the confounded conditional P(Y | X = x) is measurably different from the truth here
    conditional = scm.observational().condition({"X": 0}).marginal(["Y"])
    assert conditional.tvd(scm.interventional(["Y"], {"X": 0})) > 0.03


def test_sampling_is_reproducible() -> None:
    g = NAMED_GRAPHS["frontdoor"].graph
    net = compile_plan(g, "X", "Y").fit(DiscreteSCM.random(g, seed=0).observational())
    a = net.sample(1000, {"X": 1}, seed=5)["Y"]
    b = net.sample(1000, {"X": 1}, seed=5)["Y"]
    c = net.sample(1000, {"X": 1}, seed=6)["Y"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
