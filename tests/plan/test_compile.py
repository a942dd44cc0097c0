"""The ID-GEN compiler: plan structure as the paper gives it, the step-7 pitfall, acyclic merged networks, errors."""

from __future__ import annotations

import pytest

from lightning_causal import NotIdentifiableError, QueryError
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.plan import INPUT, Dataset, Node, SamplingPlan, Wiring, compile_plan
from lightning_causal.scm import DiscreteSCM
from tests.checks import plan_or_none, random_query_cases, strong_napkin_scm

CASES = list(random_query_cases(420, seed=7))


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
    assert [n.variable for n in plan.wiring.nodes] == ["Y"]
    assert [len(s) for s in plan.stages] == [3, 1]


def test_step7_pitfall_is_caught() -> None:
    """Keeping a row's own W1 in the napkin update (instead of resampling it) must break parity."""
    g = NAMED_GRAPHS["napkin"].graph
    plan = compile_plan(g, "X", "Y")
    d1 = next(d for d in plan.datasets if d.name == "D1")
    assert d1.wiring is not None
    wrong_nodes = tuple(
        Node(n.name, n.variable, n.factor, tuple((v, INPUT if v == "W1" else s) for v, s in n.sources))
        for n in d1.wiring.nodes
        if n.variable != "W1"
    )
    # D1 now copies W1 together with W2 from the same data row instead of resampling W1
    wrong = Dataset(
        d1.name,
        d1.origin,
        d1.source,
        ("W1", "W2"),
        Wiring(wrong_nodes, ("W1", "W2"), tuple(o for o in d1.wiring.outputs if o[0] != "W1")),
    )
    mutant = SamplingPlan(
        g,
        plan.treatment,
        plan.outcome,
        plan.condition,
        plan.moved,
        plan.factors,
        [wrong if d.name == "D1" else d for d in plan.datasets],
        plan.wiring,
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


def test_every_network_edge_goes_forward_in_topological_order() -> None:
    for graph, t, o, c, _ in CASES[:200]:
        plan = plan_or_none(graph, t, o, c)
        if plan is None:
            continue
        order = graph.core.index
        nets = [d.wiring for d in plan.datasets if d.wiring is not None]
        if not set(c) - set(plan.moved):  # IDC-GEN's final network reads z, which may come later
            nets.append(plan.wiring)
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
    with pytest.raises(QueryError, match="unknown learner"):
        plan.fit(data, learner="gan")
    net = plan.fit(data)
    with pytest.raises(QueryError, match="treatment variables"):
        net.sample(10, {"W1": 0})
    with pytest.raises(QueryError, match="out of range"):
        net.sample(10, {"X": 7})
    with pytest.raises(QueryError, match="condition variables"):
        net.sample(10, {"X": 0}, given={"W2": 0})
    with pytest.raises(QueryError, match="not a sampling plan"):
        SamplingPlan.from_dict({"format": "something else"})


# ---------------------------------------------------------------------------------------------------- conditioning
def test_select_trains_no_idc_stage_and_its_network_outputs_the_condition() -> None:
    g = NAMED_GRAPHS["conditional"].graph
    learn = compile_plan(g, "X", "Y", "Z", conditioning="learn")
    select = compile_plan(g, "X", "Y", "Z", conditioning="select")
    assert (learn.conditioning, learn.selected) == ("learn", ())
    assert (select.conditioning, select.selected) == ("select", ("Z",))
    assert len(learn.datasets) == len(select.datasets) + 1 and len(learn.stages) == len(select.stages) + 1
    # the learned stage's network takes Z as an input; the selecting network draws Z next to Y
    assert "Z" in learn.wiring.inputs and "Z" not in learn.wiring.output_variables
    assert "Z" not in select.wiring.inputs and {"Y", "Z"} <= set(select.wiring.output_variables)
    assert "Z" not in select.arbitrary


def test_auto_is_resolved_by_the_types_of_the_kept_conditions() -> None:
    g = NAMED_GRAPHS["conditional"].graph
    auto = compile_plan(g, "X", "Y", "Z")
    assert auto.conditioning == "auto" and not auto.selected
    assert auto.resolve_conditioning({"X", "Y", "Z"}).selected == ("Z",)
    learned = auto.resolve_conditioning({"X", "Y"})  # Z continuous: only a learned stage answers
    assert learned.conditioning == "learn" and len(learned.datasets) == len(auto.datasets)
    with pytest.raises(QueryError, match="'Z' is not discrete") as err:
        compile_plan(g, "X", "Y", "Z", conditioning="select").resolve_conditioning({"X", "Y"})
    assert "\n" not in str(err.value)
    # a condition rule 2 moves into the intervention set is no condition to select on
    movable = compile_plan(NAMED_GRAPHS["backdoor"].graph, "X", "Y")
    assert movable.resolve_conditioning(set()) is movable


def test_an_unknown_conditioning_is_refused_in_one_line() -> None:
    with pytest.raises(QueryError, match="conditioning is 'sample'; use 'auto'") as err:
        compile_plan(NAMED_GRAPHS["conditional"].graph, "X", "Y", "Z", conditioning="sample")
    assert "\n" not in str(err.value)


def test_composed_marginals_wire_the_updates_factors_instead_of_a_factor_on_generated_rows() -> None:
    frontdoor = compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y")
    learned = compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y", marginals="learn")
    assert (frontdoor.marginals, frontdoor.composed) == ("compose", ("P(Y | Z)",))
    assert (learned.marginals, learned.composed) == ("learn", ())
    # the front-door formula itself: sum_z P(z | x) sum_x' P(x') P(y | x', z), one stage, no generated data
    assert [d.name for d in frontdoor.datasets] == ["D0"] and len(frontdoor.stages) == 1
    assert {str(f) for f in frontdoor.factors} == {"P(Z | X)", "P(X)", "P(Y | X, Z)"}
    nodes = {n.variable: n for n in frontdoor.wiring.nodes}
    assert [n.variable for n in frontdoor.wiring.nodes] == ["X", "Z", "Y"] and frontdoor.wiring.inputs == ("X",)
    assert nodes["Z"].sources == (("X", INPUT),)  # P(z | x) reads the treatment ...
    assert nodes["Y"].sources == (("X", nodes["X"].name), ("Z", nodes["Z"].name))  # ... P(y | x', z) a fresh x'
    assert len(learned.stages) == 2 and {d.name for d in learned.datasets} == {"D0", "D1"}


def test_a_marginal_given_a_generated_column_stays_learned() -> None:
    # the napkin's last factor conditions on X, which its dataset generates: no update draws it given X
    napkin = compile_plan(NAMED_GRAPHS["napkin"].graph, "X", "Y")
    assert napkin.composed == () and len(napkin.stages) == 2
    assert (
        napkin.to_dict()["factors"]
        == compile_plan(NAMED_GRAPHS["napkin"].graph, "X", "Y", marginals="learn").to_dict()["factors"]
    )


def test_a_conditional_plan_composes_inside_its_idc_stage_and_keeps_stages_contiguous() -> None:
    g = NAMED_GRAPHS["conditional"].graph
    for conditioning in ("learn", "select"):
        plan = compile_plan(g, "X", "Y", "Z", conditioning=conditioning)
        assert plan.composed == ("P(Y | M)",)
        stages = sorted({f.stage for f in plan.factors})
        assert stages == list(range(len(stages))) and len(plan.stages) == (2 if conditioning == "learn" else 1)
        assert [d.name for d in plan.datasets] == (["D0", "D1"] if conditioning == "learn" else ["D0"])


def test_an_unknown_marginals_is_refused_in_one_line() -> None:
    with pytest.raises(QueryError, match="marginals is 'sample'; use 'compose'") as err:
        compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y", marginals="sample")
    assert "\n" not in str(err.value)
