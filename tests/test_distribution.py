"""DiscreteDistribution and the random discrete SCM's exact enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lightning_causal import CausalGraph, DiscreteDistribution, QueryError
from lightning_causal.scm import DiscreteSCM


def test_marginal_condition_and_prob() -> None:
    d = DiscreteDistribution(["X", "Y"], [[0.3, 0.2], [0.1, 0.4]])
    np.testing.assert_allclose(d.marginal(["Y"]).probs, [0.4, 0.6])
    np.testing.assert_allclose(d.marginal(["Y", "X"]).probs, [[0.3, 0.1], [0.2, 0.4]])
    np.testing.assert_allclose(d.condition({"X": 1}).probs, [0.2, 0.8])
    assert d.prob({"X": 0, "Y": 1}) == pytest.approx(0.2)
    assert d.cardinalities == {"X": 2, "Y": 2}


@pytest.mark.parametrize(
    "variables,probs,message",
    [
        (["X"], [0.5, 0.6], "sum to 1.1"),
        (["X"], [[0.5, 0.5]], "2 axes but 1 variables"),
        (["X"], [1.5, -0.5], "negative"),
        (["X", "X"], [[0.25, 0.25], [0.25, 0.25]], "listed twice"),
        (["X"], [np.nan, 1.0], "NaN"),
    ],
)
def test_bad_distributions(variables, probs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match=message):
        DiscreteDistribution(variables, probs)


def test_sampling_and_empirical_distribution() -> None:
    d = DiscreteDistribution(["A", "B"], [[0.1, 0.2, 0.3], [0.05, 0.15, 0.2]])
    a = d.sample(200_000, seed=0)
    b = d.sample(200_000, seed=0)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    empirical = DiscreteDistribution.from_samples(a, cardinalities=d.cardinalities)
    assert empirical.tvd(d) < 0.005
    with pytest.raises(QueryError, match="probability zero"):
        DiscreteDistribution(["A"], [1.0, 0.0]).condition({"A": 1})


def test_scm_enumeration_matches_explicit_loops() -> None:
    """The einsum enumeration agrees with a plain sum over every latent and observed value."""
    g = CausalGraph(directed=[("A", "B"), ("B", "C")], bidirected=[("A", "C"), ("A", "B")])
    scm = DiscreteSCM.random(g, seed=5)
    cards = scm.cardinalities
    latents = scm.latents
    joint = np.zeros([cards[v] for v in g.nodes])
    do = {"B": 1}
    inter = np.zeros_like(joint)
    for u_values in itertools.product(*(range(len(u.prior)) for u in latents)):
        pu = np.prod([u.prior[k] for u, k in zip(latents, u_values, strict=True)])
        u_of = {u.name: k for u, k in zip(latents, u_values, strict=True)}
        for values in itertools.product(*(range(cards[v]) for v in g.nodes)):
            val = dict(zip(g.nodes, values, strict=True))
            p = pu
            q = pu
            for v in g.nodes:
                index = tuple(val[a] for a in g.parents(v)) + tuple(u_of[u.name] for u in latents if v in u.children)
                pv = scm.tables[v][(*index, val[v])]
                p *= pv
                q *= (1.0 if val[v] == do[v] else 0.0) if v in do else pv
            joint[values] += p
            inter[values] += q
    np.testing.assert_allclose(scm.observational().probs, joint, atol=1e-14)
    np.testing.assert_allclose(scm.interventional(["C"], do).probs, inter.sum(axis=(0, 1)), atol=1e-14)
    samples = scm.sample(100_000, seed=1)
    assert DiscreteDistribution.from_samples(samples, cardinalities=cards).tvd(scm.observational()) < 0.03


def test_conditional_falls_back_to_the_marginal_off_support() -> None:
    d = DiscreteDistribution(("X", "W"), np.array([[0.3, 0.0], [0.2, 0.5]]))
    np.testing.assert_allclose(d.conditional(("W",), {"X": 0}).probs, [1.0, 0.0])
    np.testing.assert_allclose(d.conditional(("W",), {"X": 1}).probs, [0.2 / 0.7, 0.5 / 0.7])
    np.testing.assert_allclose(d.conditional(("W",), {}).probs, [0.5, 0.5])
    off = DiscreteDistribution(("X", "W"), np.array([[0.4, 0.6], [0.0, 0.0]]))
    np.testing.assert_allclose(off.conditional(("W",), {"X": 1}).probs, [0.4, 0.6])
