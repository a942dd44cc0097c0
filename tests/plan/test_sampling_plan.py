"""SamplingPlan: stages, roles and free inputs, the JSON file round trip, its text, and fit() against brute force.

The exact answers of fitted plans are checked against P(outcome | do(x), z) summed out by brute force
here, over every configuration of the SCM's observed and latent variables.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from lightning_causal import CausalGraph, QueryError
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.plan import INPUT, Dataset, Factor, Node, SamplingPlan, Wiring, compile_plan
from lightning_causal.sampling import CategoricalLearner, SamplingNetwork
from lightning_causal.scm import DiscreteSCM
from tests.checks import strong_napkin_scm

# Z -> X -> Y and Z -> W -> Y: IDC's rule 2 moves the condition Z into the intervention set.
MOVABLE = CausalGraph(directed=[("Z", "X"), ("X", "Y"), ("Z", "W"), ("W", "Y")])


def brute_force(
    scm: DiscreteSCM, outcome: Sequence[str], do: Mapping[str, int], given: Mapping[str, int] | None = None
) -> np.ndarray:
    """P(outcome | do, given) with axes in ``outcome`` order: the mutilated model's product, summed term by term."""
    given = dict(given or {})
    nodes = scm.graph.nodes
    latents = scm.latents
    table = np.zeros([scm.cardinalities[v] for v in outcome])
    for hidden in itertools.product(*(range(len(u.prior)) for u in latents)):
        u_value = {u.name: k for u, k in zip(latents, hidden, strict=True)}
        weight = float(np.prod([u.prior[u_value[u.name]] for u in latents]))
        for values in itertools.product(*(range(scm.cardinalities[v]) for v in nodes)):
            x = dict(zip(nodes, values, strict=True))
            if any(x[v] != k for v, k in {**do, **given}.items()):
                continue
            p = weight
            for v in nodes:
                if v in do:
                    continue
                index = [x[q] for q in scm.graph.parents(v)]
                index += [u_value[u.name] for u in latents if v in u.children]
                p *= scm.tables[v][(*index, x[v])]
            table[tuple(x[v] for v in outcome)] += p
    return table / table.sum()


def _hand_plan(
    factors: Sequence[Factor], inputs: tuple[str, ...] = ("X",), condition: tuple[str, ...] = ()
) -> SamplingPlan:
    graph = CausalGraph(directed=[("A", "X"), ("X", "Y"), ("B", "Y"), ("Z", "Y")])
    wiring = Wiring(
        nodes=(Node("n0", "Y", "f0", tuple((v, INPUT) for v in inputs)),),
        inputs=inputs,
        outputs=(("Y", "n0"),),
    )
    return SamplingPlan(graph, ("X",), ("Y",), condition, (), factors, [Dataset("D0", "observational data")], wiring)


# ---------------------------------------------------------------------------------------------------- structure
def test_stages_group_the_factors_by_stage_in_plan_order() -> None:
    f = [Factor(f"f{k}", "Y", (), "D0", stage, "") for k, stage in enumerate([1, 0, 1, 0, 2])]
    plan = _hand_plan(f)
    assert plan.stages == ((f[1], f[3]), (f[0], f[2]), (f[4],))


def test_a_stage_without_factors_is_an_empty_group_and_a_plan_without_factors_has_no_stages() -> None:
    f = [Factor("f0", "Y", (), "D0", 0, ""), Factor("f1", "Y", (), "D2", 2, "")]
    assert _hand_plan(f).stages == ((f[0],), (), (f[1],))
    assert _hand_plan([]).stages == ()


def test_factor_looks_a_factor_up_by_name() -> None:
    f = [Factor("f0", "Y", ("X",), "D0", 0, ""), Factor("f7", "X", (), "D0", 0, "")]
    plan = _hand_plan(f)
    assert plan.factor("f7") is f[1] and plan.factor("f0") is f[0]


def test_role_says_how_each_network_input_is_fed() -> None:
    plan = _hand_plan([], inputs=("A", "X", "B", "Z"), condition=("Z",))
    assert [plan.role(v) for v in ("A", "X", "B", "Z")] == ["data", "treatment", "data", "condition"]


def test_arbitrary_inputs_are_the_network_inputs_that_are_neither_treatment_nor_condition_in_wiring_order() -> None:
    assert _hand_plan([], inputs=("B", "X", "Z", "A"), condition=("Z",)).arbitrary == ("B", "A")
    assert _hand_plan([], inputs=("X", "Z"), condition=("Z",)).arbitrary == ()


def test_compiled_plans_have_the_free_inputs_of_their_estimands(named_graphs) -> None:  # type: ignore[no-untyped-def]
    napkin = compile_plan(named_graphs["napkin"].graph, "X", "Y")
    assert napkin.arbitrary == ("W2",) and napkin.role("W2") == "data" and napkin.role("X") == "treatment"
    assert compile_plan(named_graphs["frontdoor"].graph, "X", "Y").arbitrary == ()
    conditional = compile_plan(named_graphs["conditional"].graph, "X", "Y", "Z")
    assert conditional.role("Z") == "condition" and conditional.arbitrary == ()


def test_a_condition_moved_by_rule_2_keeps_the_condition_role() -> None:
    plan = compile_plan(MOVABLE, "X", "Y", "Z")
    assert plan.moved == ("Z",) and plan.condition == ("Z",)
    assert plan.role("Z") == "condition" and "Z" not in plan.arbitrary


# ---------------------------------------------------------------------------------------------------- text
def test_query_and_repr_name_the_query_and_count_factors_and_datasets() -> None:
    f = [Factor("f0", "Y", ("X",), "D0", 0, ""), Factor("f1", "X", (), "D0", 0, "")]
    plan = _hand_plan(f, inputs=("X", "Z"), condition=("Z",))
    assert plan.query == "P(Y | do(X), Z)"
    assert repr(plan) == "SamplingPlan(P(Y | do(X), Z): 2 factors, 1 datasets)"


def test_str_is_the_table_headed_by_the_query() -> None:
    napkin = compile_plan(NAMED_GRAPHS["napkin"].graph, "X", "Y")
    text = str(napkin)
    assert text.splitlines()[0] == "ID-GEN sampling plan for P(Y | do(X))"
    assert all(str(f) in text for f in napkin.factors)
    assert "W2 is drawn from the data rows" in text
    assert "drawn from the data rows" not in str(compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y"))


# ---------------------------------------------------------------------------------------------------- files
@pytest.mark.parametrize(
    "graph,treatment,outcome,condition",
    [
        (NAMED_GRAPHS["napkin"].graph, "X", "Y", ()),
        (NAMED_GRAPHS["conditional"].graph, "X", "Y", ("Z",)),
        (MOVABLE, "X", "Y", ("Z",)),
    ],
    ids=["napkin", "idc-gen", "rule-2"],
)
def test_save_and_load_give_back_every_field(tmp_path, graph, treatment, outcome, condition) -> None:  # type: ignore[no-untyped-def]
    plan = compile_plan(graph, treatment, outcome, condition)
    path = plan.save(tmp_path / "plan.json")
    assert path == tmp_path / "plan.json" and path.read_text().endswith("}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # written atomically: no temporary left
    again = SamplingPlan.load(path)
    assert again.graph == plan.graph
    assert (again.treatment, again.outcome, again.condition, again.moved) == (
        plan.treatment,
        plan.outcome,
        plan.condition,
        plan.moved,
    )
    assert again.factors == plan.factors and again.datasets == plan.datasets and again.wiring == plan.wiring
    assert again.arbitrary == plan.arbitrary and again.estimand_text == plan.estimand_text
    assert json.loads(path.read_text()) == json.loads(plan.to_json())


def test_load_refuses_a_missing_or_broken_file_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match="does not exist") as missing:
        SamplingPlan.load(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(QueryError, match="is not valid JSON") as invalid:
        SamplingPlan.load(broken)
    assert "\n" not in str(missing.value) and "\n" not in str(invalid.value)


# ---------------------------------------------------------------------------------------------------- fit
@pytest.mark.parametrize(
    "scm,treatment,condition,conditioning",
    [
        (strong_napkin_scm(), "X", (), "auto"),
        (DiscreteSCM.random(NAMED_GRAPHS["napkin"].graph, seed=11, cardinality=(2, 3)), "X", (), "auto"),
        (DiscreteSCM.random(NAMED_GRAPHS["frontdoor"].graph, seed=2), "X", (), "auto"),
        (DiscreteSCM.random(NAMED_GRAPHS["conditional"].graph, seed=5), "X", ("Z",), "learn"),
        (DiscreteSCM.random(NAMED_GRAPHS["conditional"].graph, seed=5), "X", ("Z",), "select"),
        (DiscreteSCM.random(MOVABLE, seed=3), "X", ("Z",), "auto"),
    ],
    ids=["strong-napkin", "napkin", "frontdoor", "idc-gen", "idc-select", "rule-2"],
)
def test_fit_on_an_exact_distribution_gives_the_brute_force_interventional_answer(  # type: ignore[no-untyped-def]
    scm, treatment, condition, conditioning
) -> None:
    plan = compile_plan(scm.graph, treatment, "Y", condition, conditioning=conditioning)
    network = plan.fit(scm.observational())
    assert isinstance(network, SamplingNetwork) and network.plan is plan
    assert set(network.generators) == {f.name for f in plan.factors}
    cards = scm.cardinalities
    for x in range(cards["X"]):
        for zs in itertools.product(*(range(cards[c]) for c in condition)):
            given = dict(zip(condition, zs, strict=True))
            truth = brute_force(scm, ["Y"], {"X": x}, given)
            got = network.distribution({"X": x}, given)
            np.testing.assert_allclose(got.aligned(["Y"]), truth, atol=1e-9, rtol=0)


def test_the_strong_napkin_answer_is_not_the_confounded_conditional() -> None:
    """The parity check above could not pass by reading P(Y | X) off the data: here they differ."""
    scm = strong_napkin_scm()
    confounded = scm.observational().condition({"X": 1}).marginal(["Y"]).probs
    assert np.abs(brute_force(scm, ["Y"], {"X": 1}) - confounded).sum() / 2 > 0.05


def test_fit_on_samples_gives_the_adjustment_formula_of_the_counts() -> None:
    """Back-door plan on integer columns: exactly sum_z P^(z) P^(y | z, x) of the empirical counts."""
    scm = DiscreteSCM.random(NAMED_GRAPHS["backdoor"].graph, seed=4, cardinality=(2, 3))
    data = scm.sample(3000, seed=8)
    network = compile_plan(scm.graph, "X", "Y").fit(data)
    k = scm.cardinalities
    counts = np.zeros((k["Z"], k["X"], k["Y"]))
    np.add.at(counts, (data["Z"], data["X"], data["Y"]), 1.0)
    p_z = counts.sum(axis=(1, 2)) / counts.sum()
    for x in range(k["X"]):
        p_y = counts[:, x, :] / counts[:, x, :].sum(axis=1, keepdims=True)
        np.testing.assert_allclose(network.distribution({"X": x}).aligned(["Y"]), p_z @ p_y, atol=1e-12, rtol=0)


def test_fit_takes_a_learner_instance_and_declared_cardinalities() -> None:
    scm = DiscreteSCM.random(NAMED_GRAPHS["backdoor"].graph, seed=0, cardinality=(2, 2))
    data = scm.sample(500, seed=1)
    network = compile_plan(scm.graph, "X", "Y").fit(data, learner=CategoricalLearner(), cardinalities={"Y": 4})
    assert network.cardinalities["Y"] == 4
    answer = network.distribution({"X": 0}).aligned(["Y"])
    assert answer.shape == (4,) and answer[2:].sum() == 0.0 and answer.sum() == pytest.approx(1.0)


def test_fit_on_samples_is_reproducible_with_its_seed() -> None:
    scm = strong_napkin_scm()
    data = scm.sample(2000, seed=0)
    plan = compile_plan(scm.graph, "X", "Y")
    (generated,) = [f.name for f in plan.factors if f.dataset != "D0"]  # fitted on the generated dataset D1
    a, b, c = (plan.fit(data, seed=s).generators[generated].probs for s in (3, 3, 4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_fit_with_the_old_generator_keyword_says_it_is_now_learner() -> None:
    plan = compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y")
    with pytest.raises(QueryError, match=r"plan\.fit\(generator=\.\.\.\) is plan\.fit\(learner=\.\.\.\)") as err:
        plan.fit({}, generator="categorical")
    assert "\n" not in str(err.value) and "learner='diffusion'" in str(err.value)


def test_fit_refuses_any_other_unknown_keyword_naming_it() -> None:
    plan = compile_plan(NAMED_GRAPHS["frontdoor"].graph, "X", "Y")
    with pytest.raises(TypeError, match="unexpected keyword argument 'epochs'"):
        plan.fit({}, epochs=3)
