"""ID-GEN sampling plans: exact parity with brute-force truth, sampling accuracy, merging, serialisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lightning_causal import CausalGraph, DiscreteDistribution, NotIdentifiableError, QueryError
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.plan import INPUT, Dataset, Network, Node, SamplingPlan, compile_plan
from lightning_causal.scm import DiscreteSCM
from tests.checks import assignments, random_query_cases, strong_napkin_scm
from tests.test_identify_random import NESTED_LINE_7

CASES = list(random_query_cases(420, seed=7))


def _plan_or_none(graph, treatment, outcome, condition):  # type: ignore[no-untyped-def]
    try:
        return compile_plan(graph, treatment, outcome, condition)
    except NotIdentifiableError:
        return None


def _check_network(graph: CausalGraph, treatment, outcome, condition, seed: int, n_samples: int = 100_000) -> None:  # type: ignore[no-untyped-def]
    plan = compile_plan(graph, treatment, outcome, condition)
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
    if _plan_or_none(graph, treatment, outcome, condition) is None:
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


@pytest.mark.parametrize("index", range(len(NESTED_LINE_7)))
def test_nested_updates(index: int) -> None:
    graph, treatment, outcome = NESTED_LINE_7[index]
    plan = compile_plan(graph, treatment, outcome)
    depth = {"D0": 0}
    for ds in plan.datasets:
        if ds.source is not None:
            depth[ds.name] = depth[ds.source] + 1
    assert max(depth.values()) == 2, "a dataset generated from a generated dataset (step-7 chain)"
    for seed in range(3):
        _check_network(graph, treatment, outcome, [], seed)


def test_napkin_plan_structure_follows_the_paper() -> None:
    plan = compile_plan(NAMED_GRAPHS["napkin"].graph, "X", "Y")
    models = {(f.variable, f.inputs, f.dataset) for f in plan.factors}
    assert models == {
        ("W1", (), "D0"),
        ("X", ("W1", "W2"), "D0"),
        ("Y", ("W1", "W2", "X"), "D0"),
        ("Y", ("W2", "X"), "D1"),
    }
    (d1,) = [d for d in plan.datasets if d.name == "D1"]
    assert d1.copied == ("W2",) and set(d1.columns) == {"W2", "W1", "X", "Y"}
    assert plan.arbitrary == ("W2",)
    assert [n.variable for n in plan.network.nodes] == ["Y"]
    assert [len(s) for s in plan.stages] == [3, 1]


def test_step7_pitfall_is_caught() -> None:
    """Keeping a row's own W1 in the napkin update (instead of resampling it) must break parity."""
    g = NAMED_GRAPHS["napkin"].graph
    plan = compile_plan(g, "X", "Y")
    d1 = next(d for d in plan.datasets if d.name == "D1")
    assert d1.network is not None
    wrong_nodes = tuple(
        Node(n.name, n.variable, n.factor, tuple((v, INPUT if v == "W1" else s) for v, s in n.sources))
        for n in d1.network.nodes
        if n.variable != "W1"
    )
    # D1 now copies W1 together with W2 from the same data row instead of resampling W1
    wrong = Dataset(
        d1.name,
        d1.origin,
        d1.source,
        ("W1", "W2"),
        Network(wrong_nodes, ("W1", "W2"), tuple(o for o in d1.network.outputs if o[0] != "W1")),
    )
    mutant = SamplingPlan(
        g,
        plan.treatment,
        plan.outcome,
        plan.condition,
        plan.moved,
        plan.factors,
        [wrong if d.name == "D1" else d for d in plan.datasets],
        plan.network,
    )
    worst = {"right": 0.0, "wrong": 0.0}
    scm = strong_napkin_scm()
    joint = scm.observational()
    for label, p in (("right", plan), ("wrong", mutant)):
        net = p.fit(joint)
        for x in (0, 1):
            truth = scm.interventional(["Y"], {"X": x})
            worst[label] = max(worst[label], net.distribution({"X": x}).tvd(truth))
    assert worst["right"] < 1e-12
    assert worst["wrong"] > 0.05


def test_napkin_answer_does_not_depend_on_w2() -> None:
    g = NAMED_GRAPHS["napkin"].graph
    plan = compile_plan(g, "X", "Y")
    scm = DiscreteSCM.random(g, seed=4)
    net = plan.fit(scm.observational())
    (last,) = [f for f in plan.factors if f.dataset == "D1"]
    table = net.generators[last.name].probs  # axes (W2, X, Y)
    for w2 in range(1, table.shape[0]):
        np.testing.assert_allclose(table[w2], table[0], atol=1e-12)


def test_every_network_edge_goes_forward_in_topological_order() -> None:
    for graph, t, o, c, _ in CASES[:200]:
        plan = _plan_or_none(graph, t, o, c)
        if plan is None:
            continue
        order = graph.core.index
        nets = [d.network for d in plan.datasets if d.network is not None]
        if not set(c) - set(plan.moved):  # IDC-GEN's final network reads z, which may come later
            nets.append(plan.network)
        for net in nets:
            seen: dict[str, str] = {}
            for node in net.nodes:
                for v, src in node.sources:
                    assert order[v] < order[node.variable], (v, node)
                    if src != INPUT:
                        assert seen[src] == v, "a node reads an earlier node that produced that variable"
                    else:
                        assert v in net.inputs
                seen[node.name] = node.variable


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


def test_plan_serialises_and_reloads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    g = NAMED_GRAPHS["napkin"].graph
    plan = compile_plan(g, "W1", "Y")
    path = plan.save(tmp_path / "plan.json")
    again = SamplingPlan.load(path)
    assert str(again) == str(plan)
    assert again.to_dict() == json.loads(path.read_text())
    joint = DiscreteSCM.random(g, seed=3).observational()
    a = plan.fit(joint).distribution({"W1": 1})
    b = again.fit(joint).distribution({"W1": 1})
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-15)


def test_plan_prints_as_a_table() -> None:
    text = str(compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y"))
    assert "Factors to train:" in text and "Sampling network" in text
    assert "P(Y | X, Z)" in text and "D1" in text


def test_plan_errors() -> None:
    g = NAMED_GRAPHS["bow"].graph
    with pytest.raises(NotIdentifiableError):
        compile_plan(g, "X", "Y")
    napkin = NAMED_GRAPHS["napkin"].graph
    plan = compile_plan(napkin, "X", "Y")
    data = DiscreteSCM.random(napkin, seed=0).sample(100, seed=0)
    with pytest.raises(QueryError, match="no column 'W1'"):
        plan.fit({k: v for k, v in data.items() if k != "W1"})
    with pytest.raises(QueryError, match="non-integer"):
        plan.fit({**data, "X": data["X"] + 0.5})
    with pytest.raises(QueryError, match="unknown generator"):
        plan.fit(data, generator="gan")
    net = plan.fit(data)
    with pytest.raises(QueryError, match="treatment variables"):
        net.sample(10, {"W1": 0})
    with pytest.raises(QueryError, match="out of range"):
        net.sample(10, {"X": 7})
    with pytest.raises(QueryError, match="condition variables"):
        net.sample(10, {"X": 0}, given={"W2": 0})
    with pytest.raises(QueryError, match="not a sampling plan"):
        SamplingPlan.from_dict({"format": "something else"})
