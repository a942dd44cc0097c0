"""Free network inputs (ID's line 3) are drawn given the fixed inputs: P(w | x), which keeps P(x | w) > 0."""

from __future__ import annotations

import numpy as np
import torch

from lightning_causal import CausalGraph, DiscreteDistribution, compile_plan, identify
from lightning_causal.sampling.data import ArrayData, ExactData, TensorData, nearest_rows
from lightning_causal.scm import DiscreteSCM, Latent
from tests.checks import _noisy


def _copying_napkin() -> DiscreteSCM:
    """The napkin with X := W2 exactly: P(x | w2) = 0 for x != w2, so only w2 = x may feed P(y | x, w2)."""
    graph = CausalGraph(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
    u0 = Latent("U0", ("W1", "X"), np.array([0.5, 0.5]))
    u1 = Latent("U1", ("W1", "Y"), np.array([0.7, 0.3]))
    bit = np.arange(2)
    tables = {
        "W1": _noisy(bit[:, None] ^ bit[None, :], 0.05),  # axes U0, U1, W1
        "W2": _noisy(bit, 0.1),  # axes W1, W2
        "X": _noisy(np.broadcast_to(bit[:, None], (2, 2)), 0.0),  # axes W2, U0, X: X = W2
        "Y": _noisy(bit[:, None] ^ bit[None, :], 0.1),  # axes X, U1, Y
    }
    return DiscreteSCM(graph, {v: 2 for v in graph.nodes}, [u0, u1], tables)


def test_a_copying_napkin_is_answered_exactly_although_positivity_fails_for_other_w2() -> None:
    scm = _copying_napkin()
    plan = compile_plan(scm.graph, "X", "Y")
    assert plan.arbitrary == ("W2",)
    network = plan.fit(scm.observational())
    for x in (0, 1):
        truth = scm.interventional(["Y"], {"X": x})
        exact = network.distribution({"X": x})
        np.testing.assert_allclose(exact.aligned(truth.variables), truth.probs, atol=1e-9, rtol=0)
        samples = network.sample(50_000, {"X": x}, seed=x)
        assert DiscreteDistribution.from_samples(samples, cardinalities={"Y": 2}).tvd(truth) < 0.01
    # the two answers differ, and the confounded P(y | x) is not either of them
    assert abs(scm.interventional(["Y"], {"X": 1}).probs[1] - scm.interventional(["Y"], {"X": 0}).probs[1]) > 0.2


def test_discrete_values_match_every_equal_row_and_each_query_row_its_own() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, 600)
    data = ArrayData({"X": x, "W": 10 * x + rng.integers(0, 2, 600)}, {"X": 3, "W": 30})
    query = np.array([0, 1, 2] * 200)
    out = data.matched_rows(("W",), {"X": query}, 600, np.random.default_rng(1))
    np.testing.assert_array_equal(out["W"] // 10, query)
    assert set(out["W"][query == 2].tolist()) == {20, 21}  # every equal row can be drawn
    # with nothing fixed, rows come from the whole data
    assert len(set(data.matched_rows(("W",), {}, 600, np.random.default_rng(1))["W"] // 10)) == 3


def test_images_match_the_nearest_rows_and_draws_are_reproducible() -> None:
    levels = torch.arange(40, dtype=torch.uint8) * 6  # 40 flat grey images, W says which
    data = TensorData({"X": levels[:, None, None, None].expand(40, 3, 4, 4).clone(), "W": torch.arange(40)}, {})
    query = torch.full((50, 3, 4, 4), 61, dtype=torch.uint8)  # nearest levels: 60, 66, 54, 72
    first = data.matched_rows(("W",), {"X": query}, 50, torch.Generator().manual_seed(0), neighbours=4)
    assert set(first["W"].tolist()) <= {10, 11, 9, 12} and len(set(first["W"].tolist())) > 1
    again = data.matched_rows(("W",), {"X": query}, 50, torch.Generator().manual_seed(0), neighbours=4)
    assert torch.equal(first["W"], again["W"])
    [(members, near)] = nearest_rows(data.columns, {"X": query}, set(), neighbours=1)
    assert len(members) == 50 and near.tolist() == [10]
    # a different image per row: each row draws from its own neighbours
    query[1::2] = 200  # nearest levels: 198, 204, 192, 210
    mixed = data.matched_rows(("W",), {"X": query}, 50, torch.Generator().manual_seed(0), neighbours=4)
    assert set(mixed["W"][0::2].tolist()) <= {9, 10, 11, 12} and set(mixed["W"][1::2].tolist()) <= {32, 33, 34, 35}


def test_exact_data_draws_from_the_conditional_and_falls_back_to_the_marginal_off_support() -> None:
    probs = np.array([[0.3, 0.0], [0.2, 0.5]])  # axes X, W: X = 0 only with W = 0
    data = ExactData(DiscreteDistribution(("X", "W"), probs))
    rng = np.random.default_rng(0)
    drawn = data.matched_rows(("W",), {"X": np.zeros(2000, dtype=np.int64)}, 2000, rng)
    assert (drawn["W"] == 0).all()
    drawn = data.matched_rows(("W",), {"X": np.ones(20_000, dtype=np.int64)}, 20_000, rng)
    assert abs(drawn["W"].mean() - 0.5 / 0.7) < 0.02
    off = ExactData(DiscreteDistribution(("X", "W"), np.array([[0.5, 0.5], [0.0, 0.0]])))
    drawn = off.matched_rows(("W",), {"X": np.ones(20_000, dtype=np.int64)}, 20_000, rng)
    assert abs(drawn["W"].mean() - 0.5) < 0.02


def test_the_exact_estimand_averages_the_free_input_given_the_treatment_too() -> None:
    scm = _copying_napkin()
    estimand = identify(scm.graph, "X", "Y")
    assert estimand.arbitrary == ("W2",)
    for x in (0, 1):
        truth = scm.interventional(["Y"], {"X": x})
        value = estimand.evaluate(scm.observational(), {"X": x})
        np.testing.assert_allclose(value.aligned(truth.variables), truth.probs, atol=1e-9, rtol=0)


def test_discrete_free_inputs_take_the_vote_of_the_nearest_rows() -> None:
    levels = torch.arange(40, dtype=torch.uint8) * 6
    images = levels[:, None, None, None].expand(40, 3, 4, 4).clone()
    data = TensorData({"X": images, "W": torch.arange(40) // 3, "row": torch.arange(40)}, {"W": 14})
    query = torch.full((200, 3, 4, 4), 61, dtype=torch.uint8)
    # the 8 nearest rows 10, 11, 9, 12, 8, 13, 7, 14 have W = 3, 3, 3, 4, 2, 4, 2, 4: a tie, which the
    # nearest row (10, W = 3) breaks; only the rows with W = 3 are drawn
    out = data.matched_rows(("W",), {"X": query}, 200, torch.Generator().manual_seed(0), neighbours=8)
    assert set(out["W"].tolist()) == {3}
    # a continuous free input takes no vote: any of the 8 nearest rows
    free = TensorData({"X": images, "V": torch.arange(40, dtype=torch.float32)[:, None]}, {})
    drawn = free.matched_rows(("V",), {"X": query}, 200, torch.Generator().manual_seed(0), neighbours=8)
    assert set(drawn["V"][:, 0].long().tolist()) == {7, 8, 9, 10, 11, 12, 13, 14}
