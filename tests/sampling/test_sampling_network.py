"""SamplingNetwork: samples and exact answers of plans fitted with exact tables, its checks, free inputs, seeds.

The oracles are the SCMs' interventional distributions summed out in the mutilated models
(:meth:`DiscreteSCM.interventional`) and numpy arithmetic on them, never the network itself.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from lightning_causal import CausalGraph, DiscreteDistribution, QueryError, compile_plan
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.sampling import NumpyValueSpace, SamplingNetwork
from lightning_causal.scm import DiscreteSCM, Latent
from tests.checks import strong_napkin_scm


def _flip(bits: np.ndarray, flip: float) -> np.ndarray:
    """A binary table that keeps ``bits`` with probability 1 - flip (last axis: the variable)."""
    keep = np.stack([1.0 - bits, bits], axis=-1)
    return keep * (1 - flip) + keep[..., ::-1] * flip


def copying_napkin() -> DiscreteSCM:
    """The napkin with X := W2: the data never hold W2 != X, so the answer holds only for W2 = x."""
    graph = CausalGraph(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
    bit = np.arange(2)
    tables = {
        "W1": _flip(bit[:, None] ^ bit[None, :], 0.1),  # axes U0, U1, W1
        "W2": _flip(bit, 0.2),  # axes W1, W2
        "X": _flip(np.broadcast_to(bit[:, None], (2, 2)).astype(float), 0.0),  # axes W2, U0, X: X = W2
        "Y": _flip(bit[:, None] ^ bit[None, :], 0.15),  # axes X, U1, Y
    }
    latents = [Latent("U0", ("W1", "X"), np.array([0.5, 0.5])), Latent("U1", ("W1", "Y"), np.array([0.7, 0.3]))]
    return DiscreteSCM(graph, dict.fromkeys(graph.nodes, 2), latents, tables)


def _empirical(samples: dict[str, np.ndarray], cards: dict[str, int]) -> DiscreteDistribution:
    return DiscreteDistribution.from_samples(samples, cardinalities=cards)


def _fitted(name: str, seed: int, condition: tuple[str, ...] = ()) -> tuple[DiscreteSCM, SamplingNetwork]:
    scm = DiscreteSCM.random(NAMED_GRAPHS[name].graph, seed=seed)
    return scm, compile_plan(scm.graph, "X", "Y", condition).fit(scm.observational())


# ---------------------------------------------------------------------------------------------------- answers
@pytest.mark.parametrize("name", ["frontdoor", "napkin"])
def test_distribution_is_the_interventional_answer_and_samples_follow_it(name: str) -> None:
    scm, network = _fitted(name, seed=1)
    for x in range(scm.cardinalities["X"]):
        truth = scm.interventional(["Y"], {"X": x})
        exact = network.distribution({"X": x})
        assert exact.variables == ("Y",)
        np.testing.assert_allclose(exact.probs, truth.probs, atol=1e-9, rtol=0)
        samples = network.sample(40_000, {"X": x}, seed=x)
        assert list(samples) == ["Y"]
        assert samples["Y"].dtype == np.int64 and samples["Y"].shape == (40_000,)
        assert _empirical(samples, scm.cardinalities).tvd(truth) < 0.015


@pytest.mark.parametrize("conditioning", ["learn", "select"])
def test_a_conditional_query_answers_given_the_condition(conditioning: str) -> None:
    scm = DiscreteSCM.random(NAMED_GRAPHS["conditional"].graph, seed=2)
    network = compile_plan(scm.graph, "X", "Y", "Z", conditioning=conditioning).fit(scm.observational())
    assert network.plan.selected == (("Z",) if conditioning == "select" else ())
    for x in range(scm.cardinalities["X"]):
        for z in range(scm.cardinalities["Z"]):
            truth = scm.interventional(["Y"], {"X": x}, given={"Z": z})
            np.testing.assert_allclose(network.distribution({"X": x}, {"Z": z}).probs, truth.probs, atol=1e-9)
    samples = network.sample(40_000, {"X": 1}, given={"Z": 0}, seed=3)
    truth = scm.interventional(["Y"], {"X": 1}, given={"Z": 0})
    assert _empirical(samples, scm.cardinalities).tvd(truth) < 0.015
    again = network.sample(40_000, {"X": 1}, given={"Z": 0}, seed=3)
    np.testing.assert_array_equal(samples["Y"], again["Y"])


def _rare_proxy(p_one: float) -> DiscreteSCM:
    """The conditional graph's SCM with Z = 1 drawn with probability ``p_one`` whatever Y is."""
    scm = DiscreteSCM.random(NAMED_GRAPHS["conditional"].graph, seed=2)
    table = np.zeros_like(scm.tables["Z"])
    table[..., 0], table[..., 1] = 1 - p_one, p_one
    return DiscreteSCM(scm.graph, scm.cardinalities, scm.latents, {**scm.tables, "Z": table})


def test_selection_refuses_a_condition_too_rare_to_select_in_one_line() -> None:
    network = compile_plan(NAMED_GRAPHS["conditional"].graph, "X", "Y", "Z").fit(_rare_proxy(0.0004).observational())
    assert network.plan.selected == ("Z",)
    rare = r"given Z = 1 matched \d+ of \d+ draws of the network under do\(X = 0\)"
    with pytest.raises(QueryError, match=rare) as err:
        network.sample(100, {"X": 0}, given={"Z": 1}, seed=0)
    assert "conditioning='learn'" in str(err.value) and "\n" not in str(err.value)
    exact = network.distribution({"X": 0}, {"Z": 1})  # the exact answer still exists
    assert exact.variables == ("Y",)
    # rare but above the floor: selection draws more rounds and still answers
    scm = _rare_proxy(0.01)
    network = compile_plan(scm.graph, "X", "Y", "Z").fit(scm.observational())
    samples = network.sample(20_000, {"X": 0}, given={"Z": 1}, seed=1)
    truth = scm.interventional(["Y"], {"X": 0}, given={"Z": 1})
    assert samples["Y"].shape == (20_000,) and _empirical(samples, scm.cardinalities).tvd(truth) < 0.02


def test_the_exact_answer_given_an_impossible_condition_is_refused() -> None:
    network = compile_plan(NAMED_GRAPHS["conditional"].graph, "X", "Y", "Z").fit(_rare_proxy(0.0).observational())
    with pytest.raises(QueryError, match="given Z = 1 has probability 0"):
        network.distribution({"X": 0}, {"Z": 1})


def test_the_network_reports_the_observed_cardinalities_and_its_parts() -> None:
    scm, network = _fitted("napkin", seed=6)
    assert network.cardinalities == scm.cardinalities
    assert isinstance(network.space, NumpyValueSpace)
    assert repr(network) == f"SamplingNetwork(P(Y | do(X)), {len(network.plan.factors)} trained factors)"


# ---------------------------------------------------------------------------------------------------- checks
@pytest.mark.parametrize(
    "interventions,given,fragment",
    [
        ({"W1": 0}, None, "'W1' is not a treatment variable"),
        ({}, None, "missing X"),
        ({"X": 0, "W1": 1}, None, "'W1' is not a treatment variable"),
        ({"X": 0}, {"W2": 0}, "'W2' is not a condition variable"),
        ({"X": 2}, None, "value 2 for X is out of range"),
        ({"X": 0.5}, None, "value 0.5 for X must be an integer"),
    ],
)
def test_wrong_interventions_and_conditions_are_refused_naming_the_variable(
    interventions: dict, given: dict | None, fragment: str
) -> None:
    network = compile_plan(strong_napkin_scm().graph, "X", "Y").fit(strong_napkin_scm().observational())
    for ask in (lambda: network.sample(5, interventions, given), lambda: network.distribution(interventions, given)):
        with pytest.raises(QueryError, match=re.escape(fragment)) as err:
            ask()
        assert "\n" not in str(err.value)


def test_a_missing_condition_is_named() -> None:
    _, network = _fitted("conditional", seed=2, condition=("Z",))
    with pytest.raises(QueryError, match=r"exactly the condition variables \(Z\): missing Z"):
        network.sample(5, {"X": 0})


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_the_number_of_samples_must_be_a_whole_positive_number(n: object) -> None:
    _, network = _fitted("frontdoor", seed=0)
    with pytest.raises(QueryError, match="the number of samples must be a whole number >= 1"):
        network.sample(n, {"X": 0})  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------- free inputs
def test_inputs_fix_the_free_input_instead_of_drawing_it_from_the_data() -> None:
    """With X := W2, only W2 = x is in the data: fixed there, the answer is right; fixed at W2 != x the factor
    P(Y | W2, X) has never seen the pair and falls back to Y's marginal in D1, sum_w P(W2 = w) P(Y | do(X = w))."""
    scm = copying_napkin()
    plan = compile_plan(scm.graph, "X", "Y")
    assert plan.arbitrary == ("W2",)
    network = plan.fit(scm.observational())
    p_w2 = scm.observational().marginal(["W2"]).probs
    answers = [scm.interventional(["Y"], {"X": x}).probs for x in (0, 1)]
    mixture = DiscreteDistribution(("Y",), p_w2[0] * answers[0] + p_w2[1] * answers[1])
    for x in (0, 1):
        truth = scm.interventional(["Y"], {"X": x})
        assert mixture.tvd(truth) > 0.05  # the two checks below cannot both pass by accident
        right = network.sample(40_000, {"X": x}, inputs={"W2": x}, seed=10 + x)
        assert _empirical(right, {"Y": 2}).tvd(truth) < 0.015
        off = network.sample(40_000, {"X": x}, inputs={"W2": 1 - x}, seed=20 + x)
        assert _empirical(off, {"Y": 2}).tvd(mixture) < 0.015


def test_the_answer_does_not_depend_on_a_free_input_that_the_data_support() -> None:
    scm = strong_napkin_scm()
    network = compile_plan(scm.graph, "X", "Y").fit(scm.observational())
    truth = scm.interventional(["Y"], {"X": 1})
    for w2 in (0, 1):
        samples = network.sample(40_000, {"X": 1}, inputs={"W2": w2}, seed=w2)
        assert _empirical(samples, scm.cardinalities).tvd(truth) < 0.015


def test_inputs_may_name_only_free_inputs() -> None:
    scm = strong_napkin_scm()
    napkin = compile_plan(scm.graph, "X", "Y").fit(scm.observational())
    with pytest.raises(
        QueryError, match=r"inputs names 'X', which is not a free input of the network \(free inputs: W2\)"
    ):
        napkin.sample(5, {"X": 0}, inputs={"X": 1})
    with pytest.raises(QueryError, match="value 3 for W2 is out of range"):
        napkin.sample(5, {"X": 0}, inputs={"W2": 3})
    _, frontdoor = _fitted("frontdoor", seed=0)
    with pytest.raises(QueryError, match=r"inputs names 'Z', which is not a free input .*\(free inputs: none\)") as err:
        frontdoor.sample(5, {"X": 0}, inputs={"Z": 0})
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------------------------------- seeds
def test_the_same_seed_gives_the_same_samples_and_another_seed_others() -> None:
    _, network = _fitted("napkin", seed=3)
    a = network.sample(2000, {"X": 1}, seed=7)["Y"]
    b = network.sample(2000, {"X": 1}, seed=7)["Y"]
    c = network.sample(2000, {"X": 1}, seed=8)["Y"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_numpy_generator_as_seed_is_drawn_from_as_it_is() -> None:
    _, network = _fitted("napkin", seed=3)
    by_int = network.sample(2000, {"X": 0}, seed=4)["Y"]
    rng = np.random.default_rng(4)
    first = network.sample(2000, {"X": 0}, seed=rng)["Y"]
    second = network.sample(2000, {"X": 0}, seed=rng)["Y"]  # the same generator, now further along
    assert np.array_equal(first, by_int) and not np.array_equal(first, second)
