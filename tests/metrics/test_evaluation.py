"""The ground-truth evaluation protocol: which variables each score reads, and evaluate_against_scm on a DCM SCM.

The scores are checked against a numpy MMD (Gretton et al. 2012, eq. 5, median heuristic on the pooled
sample) and a numpy mean squared error written here. evaluate_against_scm takes a model object (``sample``
and ``counterfactual``), so two tiny models stand in for trained ones: a perfect one, which writes out
the chain's NL equations (Chao et al. 2023, appendix) by hand and abducts the noise exactly, and a wrong one.
A perfect model must score near the floor of two independent exact samples; the wrong one far above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from lightning_causal import CausalGraph
from lightning_causal.metrics.evaluation import (
    counterfactual_mse,
    counterfactual_variables,
    evaluate_against_scm,
    interventional_mmd,
    interventional_variables,
    observational_mmd,
    observational_variables,
    truth_seed,
)
from lightning_causal.scm.dcm_suite import ContinuousSCM, intervention_values, make_scm

SAMPLES = 200


# ---------------------------------------------------------------------------------------------------- numpy oracles
def np_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """Squared MMD, biased V-statistic, RBF kernel with the median heuristic on the pooled sample."""
    z = np.concatenate([x, y])
    d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    pairs = d2[np.triu_indices(len(z), k=1)]
    gamma = 1.0 / np.median(pairs[pairs > 0])
    k = np.exp(-gamma * d2)
    n = len(x)
    return float(k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean())


def columns(values: Mapping[str, Tensor], names: tuple[str, ...] | list[str]) -> np.ndarray:
    return np.concatenate([values[v].double().numpy().reshape(len(values[v]), -1) for v in names], axis=1)


def garbage(like: Tensor, seed: int) -> Tensor:
    return 100.0 * torch.rand(like.shape, generator=torch.Generator().manual_seed(seed)) - 50.0


# ---------------------------------------------------------------------------------------------------- which variables
def test_observational_scores_read_the_non_root_nodes_in_node_order() -> None:
    assert observational_variables(make_scm("chain").graph) == ["x2", "x3"]
    assert observational_variables(make_scm("y").graph) == ["x3", "x4"]  # x1 and x2 are both roots
    assert observational_variables(make_scm("ladder").graph) == [f"x{k}" for k in range(2, 11)]


def test_interventional_scores_read_the_proper_descendants_of_the_intervened_node() -> None:
    y = make_scm("y").graph  # x1 -> x3, x2 -> x3, x3 -> x4
    assert interventional_variables(y, "x1") == ("x3", "x4")
    assert interventional_variables(y, "x3") == ("x4",)
    assert interventional_variables(y, "x4") == ()
    assert interventional_variables(make_scm("diamond").graph, "x2") == ("x3", "x4")


def test_counterfactual_scores_read_every_descendant_or_the_node_itself_when_it_has_none() -> None:
    diamond = make_scm("diamond").graph  # x1 -> x2, x3; x2 -> x3, x4; x3 -> x4
    assert counterfactual_variables(diamond, "x1") == ("x2", "x3", "x4")
    assert counterfactual_variables(diamond, "x3") == ("x4",)
    assert counterfactual_variables(diamond, "x4") == ("x4",)


def test_observational_mmd_is_the_mmd_of_the_non_roots_and_ignores_the_roots() -> None:
    scm = make_scm("y", "NL")
    generated, _ = scm.sample(120, rng=1)
    truth, _ = scm.sample(150, rng=2)
    expected = np_mmd(columns(generated, ["x3", "x4"]), columns(truth, ["x3", "x4"]))
    score = observational_mmd(generated, truth, scm.graph)
    assert score == pytest.approx(expected, abs=1e-9)
    wrong_roots = {**generated, "x1": garbage(generated["x1"], 3), "x2": garbage(generated["x2"], 4)}
    assert observational_mmd(wrong_roots, truth, scm.graph) == score
    wrong_leaf = {**generated, "x4": garbage(generated["x4"], 5)}
    assert observational_mmd(wrong_leaf, truth, scm.graph) > score + 0.1


def test_interventional_mmd_reads_only_the_descendants_of_the_intervened_node() -> None:
    scm = make_scm("y", "NL")
    generated, _ = scm.sample(120, rng=1, interventions={"x1": 0.5})
    truth, _ = scm.sample(150, rng=2, interventions={"x1": 0.5})
    expected = np_mmd(columns(generated, ["x3", "x4"]), columns(truth, ["x3", "x4"]))
    score = interventional_mmd(generated, truth, scm.graph, "x1")
    assert score == pytest.approx(expected, abs=1e-9)
    elsewhere = {**generated, "x1": garbage(generated["x1"], 6), "x2": garbage(generated["x2"], 7)}
    assert interventional_mmd(elsewhere, truth, scm.graph, "x1") == score
    # under do(x3) only x4 counts
    only_x4 = np_mmd(columns(generated, ["x4"]), columns(truth, ["x4"]))
    assert interventional_mmd(generated, truth, scm.graph, "x3") == pytest.approx(only_x4, abs=1e-9)


def test_counterfactual_mse_averages_over_every_descendant_entry() -> None:
    scm = make_scm("diamond", "NL")
    _, noise = scm.sample(40, rng=0)
    truth = scm.counterfactual(noise, {"x2": 1.0})
    answer = {v: t + 0.1 * (k + 1) for k, (v, t) in enumerate(truth.items())}  # x3 off by 0.3, x4 by 0.4
    assert counterfactual_mse(answer, truth, scm.graph, "x2") == pytest.approx((0.3**2 + 0.4**2) / 2, rel=1e-5)
    answer["x1"] = garbage(truth["x1"], 1)  # not a descendant of x2: not read
    assert counterfactual_mse(answer, truth, scm.graph, "x2") == pytest.approx((0.3**2 + 0.4**2) / 2, rel=1e-5)
    # a leaf is scored on itself
    assert counterfactual_mse(answer, truth, scm.graph, "x4") == pytest.approx(0.4**2, rel=1e-5)
    expected = np.mean((columns(answer, ["x2", "x3", "x4"]) - columns(truth, ["x2", "x3", "x4"])) ** 2)
    assert counterfactual_mse(answer, truth, scm.graph, "x1") == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------------------------------------------- the protocol
Intervention = Any


class PerfectChain:
    """The chain NL SCM written out by hand: exact samples (own numpy noise) and exact abduction."""

    def __init__(self) -> None:
        self.sample_calls: list[tuple[int, dict[str, Intervention], Any]] = []
        self.counterfactual_calls: list[dict[str, Intervention]] = []

    @staticmethod
    def forward(u: Mapping[str, np.ndarray], interventions: Mapping[str, Intervention]) -> dict[str, Tensor]:
        def act(v: str, mechanism: np.ndarray) -> np.ndarray:
            action = interventions.get(v)
            if action is None:
                return mechanism
            if callable(action):
                return action(torch.as_tensor(mechanism)).numpy()
            return np.broadcast_to(np.asarray(action, dtype=np.float64).reshape(1, 1), mechanism.shape).copy()

        x1 = act("x1", u["x1"])
        x2 = act("x2", (np.exp(x1 / 2) + u["x2"] / 4) / 0.65)
        x3 = act("x3", ((x2 - 5) ** 3 / 15 + u["x3"]) / 2.13)
        return {v: torch.as_tensor(x, dtype=torch.float32) for v, x in (("x1", x1), ("x2", x2), ("x3", x3))}

    def sample(self, n: int, interventions: Any = None, seed: Any = None) -> dict[str, Tensor]:
        self.sample_calls.append((n, dict(interventions or {}), seed))
        rng = np.random.default_rng([7, int(seed)])  # never the torch stream the truth is drawn from
        u = {v: rng.standard_normal((n, 1)) for v in ("x1", "x2", "x3")}
        return self.forward(u, dict(interventions or {}))

    def counterfactual(self, factual: Mapping[str, Tensor], interventions: Any, seed: Any = None) -> dict[str, Tensor]:
        self.counterfactual_calls.append(dict(interventions))
        x = {v: t.double().numpy() for v, t in factual.items()}
        u = {
            "x1": x["x1"],
            "x2": 4 * (0.65 * x["x2"] - np.exp(x["x1"] / 2)),
            "x3": 2.13 * x["x3"] - (x["x2"] - 5) ** 3 / 15,
        }
        return self.forward(u, dict(interventions))


class WrongChain:
    """Samples of the other (NA) chain whatever the intervention; counterfactuals that change nothing."""

    def __init__(self) -> None:
        self.scm = make_scm("chain", "NA")

    def sample(self, n: int, interventions: Any = None, seed: Any = None) -> dict[str, Tensor]:
        return self.scm.sample(n, rng=1000 + int(seed))[0]

    def counterfactual(self, factual: Mapping[str, Tensor], interventions: Any, seed: Any = None) -> dict[str, Tensor]:
        return dict(factual)


def floor(draw: Callable[[int], dict[str, Tensor]], names: tuple[str, ...]) -> float:
    """The mean MMD of three pairs of independent exact samples: what even a perfect model scores."""
    return float(
        np.mean([np_mmd(columns(draw(500 + 2 * k), names), columns(draw(501 + 2 * k), names)) for k in range(3)])
    )


@pytest.fixture(scope="module")
def chain() -> tuple[ContinuousSCM, Tensor, dict[str, float]]:
    scm = make_scm("chain", "NL")
    values = intervention_values(scm, "x1", count=2, n=500)
    floors = {
        "obs_mmd": floor(lambda s: scm.sample(SAMPLES, rng=s)[0], ("x2", "x3")),
        "int_mmd": float(
            np.mean(
                [
                    floor(lambda s, v=v: scm.sample(SAMPLES, rng=s, interventions={"x1": v})[0], ("x2", "x3"))
                    for v in values
                ]
            )
        ),
    }
    return scm, values, floors


def test_the_hand_written_chain_is_the_suites_chain() -> None:
    """The perfect model's equations and abduction reproduce the SCM's values and counterfactuals."""
    scm = make_scm("chain", "NL")
    values, noise = scm.sample(50, rng=0)
    u = {v: t.double().numpy() for v, t in noise.items()}
    for v, t in PerfectChain.forward(u, {}).items():
        torch.testing.assert_close(t, values[v], rtol=1e-5, atol=1e-5)
    shift = {"x1": lambda v: v + 1.0}
    truth = scm.counterfactual(noise, shift)
    for v, t in PerfectChain().counterfactual(values, shift).items():
        torch.testing.assert_close(t, truth[v], rtol=1e-4, atol=1e-4)


def test_a_perfect_model_scores_near_the_floor_of_two_exact_samples(chain) -> None:  # type: ignore[no-untyped-def]
    scm, values, floors = chain
    scores = evaluate_against_scm(PerfectChain(), scm, values, samples=SAMPLES, seed=0)
    # one MMD of two exact samples varies by several times its mean from draw to draw, hence the factor 8
    assert set(scores) == {"obs_mmd", "int_mmd", "cf_mse"}
    assert scores["obs_mmd"] < 8 * floors["obs_mmd"], (scores, floors)
    assert scores["int_mmd"] < 8 * floors["int_mmd"], (scores, floors)
    assert scores["cf_mse"] < 1e-8


def test_the_observational_truth_is_independent_of_the_seed_the_model_gets(chain) -> None:  # type: ignore[no-untyped-def]
    scm, values, _ = chain

    class SameStream(WrongChain):
        def sample(self, n: int, interventions: Any = None, seed: Any = None) -> dict[str, Tensor]:
            return scm.sample(n, rng=seed, interventions=interventions)[0]

    scores = evaluate_against_scm(SameStream(), scm, values, samples=SAMPLES, seed=0)
    assert scores["obs_mmd"] > 0.0


def test_a_wrong_model_scores_far_above_the_floor(chain) -> None:  # type: ignore[no-untyped-def]
    scm, values, floors = chain
    scores = evaluate_against_scm(WrongChain(), scm, values, samples=SAMPLES, seed=0)
    assert scores["obs_mmd"] > 50 * floors["obs_mmd"], (scores, floors)
    assert scores["int_mmd"] > 50 * floors["int_mmd"], (scores, floors)
    assert scores["cf_mse"] > 0.1


def test_the_counterfactual_score_of_an_unchanged_answer_is_the_mean_squared_effect_of_the_shift(chain) -> None:  # type: ignore[no-untyped-def]
    """A model that returns the factual rows scores mean((cf - factual)^2) over x2 and x3, cf computed by hand."""
    scm, values, _ = chain

    class Recorder(WrongChain):
        def counterfactual(self, factual, interventions, seed=None):  # type: ignore[no-untyped-def]
            self.factual = dict(factual)
            return dict(factual)

    model = Recorder()
    scores = evaluate_against_scm(model, scm, values, samples=SAMPLES, seed=3)
    cf = PerfectChain().counterfactual(model.factual, {"x1": lambda v: v + 1.0})
    expected = np.mean((columns(cf, ["x2", "x3"]) - columns(model.factual, ["x2", "x3"])) ** 2)
    assert scores["cf_mse"] == pytest.approx(expected, rel=1e-3)


def test_the_protocol_intervenes_on_the_first_node_with_each_value_and_shifts_it_by_one(chain) -> None:  # type: ignore[no-untyped-def]
    scm, values, _ = chain
    model = PerfectChain()
    evaluate_against_scm(model, scm, values, samples=SAMPLES, seed=5)
    (n0, first, _), *rest = model.sample_calls
    assert n0 == SAMPLES and first == {}
    assert len(rest) == len(values)
    for (n, interventions, _), value in zip(rest, values, strict=True):
        assert (
            n == SAMPLES and list(interventions) == ["x1"] and torch.equal(torch.as_tensor(interventions["x1"]), value)
        )
    seeds = [seed for _, _, seed in model.sample_calls]
    assert len(set(seeds)) == len(seeds)  # a fresh seed per draw
    (shift,) = model.counterfactual_calls
    assert list(shift) == ["x1"] and torch.equal(shift["x1"](torch.tensor([0.5, -2.0])), torch.tensor([1.5, -1.0]))


def test_the_protocol_is_reproducible_with_its_seed(chain) -> None:  # type: ignore[no-untyped-def]
    scm, values, _ = chain
    a = evaluate_against_scm(PerfectChain(), scm, values, samples=100, seed=1)
    b = evaluate_against_scm(PerfectChain(), scm, values, samples=100, seed=1)
    c = evaluate_against_scm(PerfectChain(), scm, values, samples=100, seed=2)
    assert a == b and a["obs_mmd"] != c["obs_mmd"]


def test_a_first_node_without_descendants_gets_only_the_observational_score() -> None:
    graph = CausalGraph(directed=[("b", "c")], nodes=["a", "b", "c"])
    assert graph.topological_order()[0] == "a" and not graph.proper_descendants("a")
    scm = ContinuousSCM(
        "island",
        "NL",
        graph,
        {"a": 1, "b": 1, "c": 1},
        {"a": lambda p, u: u, "b": lambda p, u: u, "c": lambda p, u: p["b"] + 0.1 * u},
    )

    class Exact:
        calls = 0

        def sample(self, n: int, interventions: Any = None, seed: Any = None) -> dict[str, Tensor]:
            Exact.calls += 1
            assert not interventions
            return scm.sample(n, rng=100 + seed)[0]

        def counterfactual(self, factual: Any, interventions: Any, seed: Any = None) -> dict[str, Tensor]:
            raise AssertionError("no counterfactual is asked when the node has no descendants")

    scores = evaluate_against_scm(Exact(), scm, [0.0, 1.0], samples=SAMPLES, seed=0)
    assert set(scores) == {"obs_mmd"} and Exact.calls == 1
    truth = scm.sample(SAMPLES, rng=truth_seed(0))[0]  # the protocol's truth: its first draw of the truth's stream
    generated = scm.sample(SAMPLES, rng=100)[0]
    assert scores["obs_mmd"] == pytest.approx(np_mmd(columns(generated, ["c"]), columns(truth, ["c"])), abs=1e-9)
