"""Identification on the named graphs, estimand text/LaTeX, query validation and evaluation errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lightning_causal import (
    CausalGraph,
    DiscreteDistribution,
    EvaluationError,
    NotIdentifiableError,
    QueryError,
    identify,
)
from lightning_causal.graph.named import NAMED_GRAPHS, named_graph
from lightning_causal.scm import DiscreteSCM
from tests.checks import assert_hedge, strong_napkin_scm


@pytest.mark.parametrize(
    "name,expected",
    [
        ("backdoor", "P(Y | do(X)) = Σ_{Z} P(Z) P(Y | Z, X)"),
        ("frontdoor", "P(Y | do(X)) = Σ_{Z} P(Z | X) [Σ_{X'} P(X') P(Y | X', Z)]"),
        (
            "napkin",
            "P(Y | do(X)) = [Σ_{W1} P(W1) P(X | W1, W2) P(Y | W1, W2, X)] / [Σ_{W1} P(W1) P(X | W1, W2)]"
            "   (for any value of W2)",
        ),
        ("verma", "P(V4 | do(V3)) = Σ_{V2} P(V2 | V1) P(V4 | V1, V2, V3)   (for any value of V1)"),
    ],
)
def test_named_estimands(name: str, expected: str) -> None:
    g = named_graph(name)
    assert str(identify(g.graph, g.treatment, g.outcome, g.condition)) == expected


@pytest.mark.parametrize("name", sorted(NAMED_GRAPHS))
def test_named_graphs_are_right_numerically(name: str) -> None:
    g = named_graph(name)
    try:
        estimand = identify(g.graph, g.treatment, g.outcome, g.condition)
    except NotIdentifiableError as err:
        assert name in ("bow", "instrumental", "deep")
        assert_hedge(g.graph, err.hedge, err.hedge.treatment, err.hedge.outcome)
        return
    for seed in range(5):
        scm = DiscreteSCM.random(g.graph, seed=seed)
        joint = scm.observational()
        given = {c: 0 for c in g.condition}
        for x in range(2):
            values = {t: x for t in g.treatment}
            truth = scm.interventional(g.outcome, values, given=given or None)
            got = estimand.evaluate(joint, values, given)
            np.testing.assert_allclose(got.probs, truth.probs, atol=1e-9)


def test_napkin_differs_from_the_confounded_conditional() -> None:
    """y0 0.2.11 answers P(Y | X) on the napkin; the true effect is different."""
    scm = strong_napkin_scm()
    joint = scm.observational()
    estimand = identify(scm.graph, "X", "Y")
    got = estimand.evaluate(joint, {"X": 0})
    np.testing.assert_allclose(got.probs, scm.interventional(["Y"], {"X": 0}).probs, atol=1e-12)
    assert got.tvd(joint.condition({"X": 0}).marginal(["Y"])) > 0.2


def test_latex_and_explain() -> None:
    g = named_graph("napkin").graph
    e = identify(g, "X", "Y")
    latex = e.to_latex()
    assert latex.startswith(r"P(Y \mid \mathrm{do}(X)) = \frac{\sum_{W_{1}}")
    assert r"P(X \mid W_{1}, W_{2})" in latex
    text = e.explain()
    assert "line 3" in text and "line 7" in text and "line 2" in text and "line 6" in text
    movable = CausalGraph(directed=[("X", "Z"), ("Z", "Y"), ("X", "Y")], bidirected=[("X", "Z")])
    conditional = identify(movable, "X", "Y", "Z")
    assert conditional.moved == ("Z",)
    assert str(conditional) == "P(Y | do(X), Z) = P(Y | X, Z)"
    assert "rule 2" in conditional.explain() and "treat Z as intervened" in conditional.explain()
    kept = identify(named_graph("conditional").graph, "X", "Y", "Z")
    assert kept.moved == () and "condition on Z" in kept.explain()


def test_idc_keeps_a_condition_that_rule_2_cannot_move() -> None:
    g = CausalGraph(directed=[("X", "M"), ("M", "Y"), ("Y", "Z")], bidirected=[("X", "Y")])
    e = identify(g, "X", "Y", "Z")
    assert e.moved == ()
    assert str(e).startswith("P(Y | do(X), Z) = ")
    scm = DiscreteSCM.random(g, seed=2)
    for x in range(scm.cardinalities["X"]):
        for z in range(scm.cardinalities["Z"]):
            truth = scm.interventional(["Y"], {"X": x}, given={"Z": z})
            np.testing.assert_allclose(
                e.evaluate(scm.observational(), {"X": x}, {"Z": z}).probs, truth.probs, atol=1e-9
            )


def test_not_identifiable_names_the_hedge_and_the_line() -> None:
    g = named_graph("bow").graph
    with pytest.raises(NotIdentifiableError) as info:
        identify(g, "X", "Y")
    err = info.value
    assert err.line == 5 and err.query == "P(Y | do(X))"
    assert set(err.F.nodes) == {"X", "Y"} and err.F_prime.nodes == ("Y",)
    assert "line 5" in str(err) and "F = {X, Y}" in str(err) and "F' = {Y}" in str(err)
    assert err.call == {"outcome": ("Y",), "treatment": ("X",), "vertices": ("X", "Y")}
    # IDC: P(Y | do(X), Z) with Z a child of Y and X <-> Y is blocked by the bow
    h = CausalGraph(directed=[("X", "Y"), ("Y", "Z")], bidirected=[("X", "Y")])
    with pytest.raises(NotIdentifiableError) as info:
        identify(h, "X", "Y", "Z")
    assert set(info.value.hedge.outcome) == {"Y", "Z"}
    assert_hedge(h, info.value.hedge, info.value.hedge.treatment, info.value.hedge.outcome)


@pytest.mark.parametrize(
    "args,message",
    [
        (("Q", "Y"), "unknown variable 'Q' in treatment"),
        (("X", ["Y", "Y"]), "outcome lists 'Y' twice"),
        (("X", []), "outcome is empty"),
        (("X", "X"), "'X' is in both the treatment and the outcome"),
        (("X", "Y", "X"), "'X' is in both the treatment and the condition"),
        (("X", "Y", ["Y"]), "'Y' is in both the outcome and the condition"),
        ((5, "Y"), "treatment must be a variable name or a list"),
    ],
)
def test_bad_queries(args: tuple, message: str) -> None:  # type: ignore[type-arg]
    g = named_graph("backdoor").graph
    with pytest.raises(QueryError, match=message):
        identify(g, *args)


def test_comma_separated_names_are_accepted() -> None:
    g = named_graph("backdoor").graph
    assert identify(g, "X", "Y, Z").outcome == ("Y", "Z")


def test_evaluation_errors() -> None:
    g = named_graph("napkin").graph
    e = identify(g, "X", "Y")
    scm = DiscreteSCM.random(g, seed=0, cardinality=(2, 2))
    joint = scm.observational()
    with pytest.raises(QueryError, match="treatment variables"):
        e.evaluate(joint, {"W1": 0})
    with pytest.raises(QueryError, match="out of range"):
        e.evaluate(joint, {"X": 2})
    with pytest.raises(QueryError, match="condition variables"):
        e.evaluate(joint, {"X": 0}, {"W2": 1})
    with pytest.raises(QueryError, match="has no variable 'W1'"):
        e.evaluate(joint.marginal(["W2", "X", "Y"]), {"X": 0})
    # zero mass where the estimand divides: W1 = 1 never happens
    probs = joint.probs.copy()
    probs[1] = 0.0
    degenerate = DiscreteDistribution(joint.variables, probs / probs.sum())
    with pytest.raises(EvaluationError, match="zero mass") as info:
        e.evaluate(degenerate, {"X": 0})
    assert "W1" in str(info.value) and "\n" not in str(info.value)


def test_identification_never_imports_torch() -> None:
    code = (
        "import sys; from lightning_causal import identify, CausalGraph; "
        "from lightning_causal.plan import compile_plan; "
        "g = CausalGraph(directed=[('X','Z'),('Z','Y')], bidirected=[('X','Y')]); "
        "identify(g, 'X', 'Y'); compile_plan(g, 'X', 'Y'); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
