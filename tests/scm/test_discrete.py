"""Discrete SCMs with explicit latent confounders (``scm/discrete.py``).

The exact observational and interventional distributions are compared with a brute-force sum
over every latent and observed configuration written here (and with a two-variable model worked
out by hand); sampled frequencies must sit within a few standard errors of the exact
probabilities; seeds must reproduce models and samples; bad queries raise one-line errors.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pytest

from lightning_causal import CausalGraph, QueryError
from lightning_causal.scm import DiscreteSCM, Latent

NAPKIN = CausalGraph(directed=[("W1", "W2"), ("W2", "X"), ("X", "Y")], bidirected=[("W1", "X"), ("W1", "Y")])
MIXED = CausalGraph(
    directed=[("A", "B"), ("B", "C"), ("A", "C"), ("C", "D")], bidirected=[("A", "C"), ("B", "D"), ("A", "B")]
)
SHUFFLED = CausalGraph(directed=[("B", "C"), ("A", "C"), ("A", "B")], bidirected=[("C", "A")])
"""Declared B, C, A; topological order A, B, C."""


def brute_force_joint(scm: DiscreteSCM, do: Mapping[str, int] | None = None) -> np.ndarray:
    """P(V) (axes in ``graph.nodes`` order) in the model mutilated by ``do``, by explicit loops.

    Tables have axes (observed parents in topological order, the variable's latents in ``scm.latents``
    order, the variable), as the class documents.
    """
    do = dict(do or {})
    graph = scm.graph
    nodes = list(graph.nodes)
    cards = scm.cardinalities
    out = np.zeros([cards[v] for v in nodes])
    latent_sizes = [len(u.prior) for u in scm.latents]
    for u_values in itertools.product(*(range(k) for k in latent_sizes)):
        pu = 1.0
        u_of = {}
        for latent, k in zip(scm.latents, u_values, strict=True):
            pu *= latent.prior[k]
            u_of[latent.name] = k
        for values in itertools.product(*(range(cards[v]) for v in nodes)):
            val = dict(zip(nodes, values, strict=True))
            if any(val[v] != x for v, x in do.items()):
                continue
            p = pu
            for v in nodes:
                if v in do:
                    continue
                index = [val[q] for q in graph.parents(v)]
                index += [u_of[latent.name] for latent in scm.latents if v in latent.children]
                p *= scm.tables[v][tuple([*index, val[v]])]
            out[values] += p
    return out


def _marginal(joint: np.ndarray, nodes: tuple[str, ...], keep: list[str]) -> np.ndarray:
    table = joint.sum(axis=tuple(i for i, v in enumerate(nodes) if v not in keep))
    kept = [v for v in nodes if v in keep]
    return np.transpose(table, [kept.index(v) for v in keep])


def _assert_frequencies(samples: Mapping[str, np.ndarray], names: list[str], probs: np.ndarray) -> None:
    """Every cell's empirical frequency within 5 standard errors of its probability."""
    n = len(samples[names[0]])
    counts = np.zeros(probs.shape)
    np.add.at(counts, tuple(samples[v] for v in names), 1)
    freq = counts / n
    tolerance = 5 * np.sqrt(probs * (1 - probs) / n) + 1e-9
    assert (np.abs(freq - probs) <= tolerance).all(), np.abs(freq - probs).max()


# ---------------------------------------------------------------------------- a model by hand
def _two_variables() -> DiscreteSCM:
    graph = CausalGraph(directed=[("X", "Y")])
    tables = {"X": np.array([0.3, 0.7]), "Y": np.array([[0.9, 0.1], [0.2, 0.8]])}
    return DiscreteSCM(graph, {"X": 2, "Y": 2}, [], tables)


def test_a_two_variable_model_worked_out_by_hand() -> None:
    scm = _two_variables()
    joint = scm.observational()
    assert joint.variables == ("X", "Y")
    np.testing.assert_allclose(joint.probs, [[0.27, 0.03], [0.14, 0.56]], atol=1e-15)
    np.testing.assert_allclose(scm.interventional(["Y"], {"X": 1}).probs, [0.2, 0.8], atol=1e-15)
    np.testing.assert_allclose(scm.interventional(["X"], {"Y": 0}).probs, [0.3, 0.7], atol=1e-15)
    np.testing.assert_allclose(scm.interventional(["X"], {}, given={"Y": 0}).probs, [0.27 / 0.41, 0.14 / 0.41])


def test_a_shared_latent_correlates_its_children_but_not_under_intervention() -> None:
    """U uniform on {0, 1}; X = U and Y = U exactly: P(X = Y) = 1, yet do(X = 0) leaves Y uniform."""
    graph = CausalGraph(directed=[], bidirected=[("X", "Y")])
    copy = np.eye(2)  # axes (U, self)
    scm = DiscreteSCM(graph, {"X": 2, "Y": 2}, [Latent("U", ("X", "Y"), np.array([0.5, 0.5]))], {"X": copy, "Y": copy})
    np.testing.assert_allclose(scm.observational().probs, [[0.5, 0.0], [0.0, 0.5]])
    np.testing.assert_allclose(scm.interventional(["Y"], {"X": 0}).probs, [0.5, 0.5])
    np.testing.assert_allclose(scm.interventional(["Y"], {}, given={"X": 0}).probs, [1.0, 0.0])


# ---------------------------------------------------------------------------- random models
def test_random_models_have_the_requested_shapes_and_normalised_tables() -> None:
    scm = DiscreteSCM.random(MIXED, seed=0, cardinality=(2, 4), latent_cardinality=(3, 5))
    assert set(scm.cardinalities) == set(MIXED.nodes)
    assert all(2 <= k <= 4 for k in scm.cardinalities.values())
    assert [u.children for u in scm.latents] == [tuple(e) for e in MIXED.bidirected]
    assert len({u.name for u in scm.latents}) == len(MIXED.bidirected)
    for u in scm.latents:
        assert 3 <= len(u.prior) <= 5 and u.prior.sum() == pytest.approx(1.0)
    for v in MIXED.nodes:
        own = [len(u.prior) for u in scm.latents if v in u.children]
        shape = (*(scm.cardinalities[p] for p in MIXED.parents(v)), *own, scm.cardinalities[v])
        assert scm.tables[v].shape == shape
        np.testing.assert_allclose(scm.tables[v].sum(axis=-1), 1.0)
        assert (scm.tables[v] >= 0).all()


def test_random_models_are_reproducible_from_their_seed() -> None:
    a = DiscreteSCM.random(NAPKIN, seed=7)
    b = DiscreteSCM.random(NAPKIN, seed=7)
    c = DiscreteSCM.random(NAPKIN, seed=np.random.default_rng(7))
    d = DiscreteSCM.random(NAPKIN, seed=8)
    for v in NAPKIN.nodes:
        np.testing.assert_array_equal(a.tables[v], b.tables[v])
        np.testing.assert_array_equal(a.tables[v], c.tables[v])
    assert any(
        a.tables[v].shape != d.tables[v].shape or not np.allclose(a.tables[v], d.tables[v]) for v in NAPKIN.nodes
    )


@pytest.mark.parametrize("graph", [NAPKIN, MIXED, SHUFFLED], ids=["napkin", "mixed", "shuffled"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_observational_joint_equals_brute_force_and_sums_to_one(graph: CausalGraph, seed: int) -> None:
    scm = DiscreteSCM.random(graph, seed=seed)
    joint = scm.observational()
    assert joint.variables == graph.nodes
    assert joint.probs.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(joint.probs, brute_force_joint(scm), atol=1e-12)


@pytest.mark.parametrize("graph", [NAPKIN, MIXED, SHUFFLED], ids=["napkin", "mixed", "shuffled"])
@pytest.mark.parametrize("seed", [0, 1])
def test_interventional_distributions_equal_the_mutilated_brute_force(graph: CausalGraph, seed: int) -> None:
    scm = DiscreteSCM.random(graph, seed=seed)
    nodes = graph.nodes
    treated, rest = nodes[1], [v for v in nodes if v != nodes[1]]
    for x in range(scm.cardinalities[treated]):
        mutilated = brute_force_joint(scm, {treated: x})
        got = scm.interventional(rest[::-1], {treated: x})
        assert got.variables == tuple(rest[::-1])
        np.testing.assert_allclose(got.probs, _marginal(mutilated, nodes, rest[::-1]), atol=1e-12)
        # conditional interventional: P(last | do(x), first)
        first, last = rest[0], rest[-1]
        for z in range(scm.cardinalities[first]):
            table = _marginal(mutilated, nodes, [first, last])[z]
            got = scm.interventional([last], {treated: x}, given={first: z})
            np.testing.assert_allclose(got.probs, table / table.sum(), atol=1e-12)


def test_intervening_on_two_variables_at_once() -> None:
    scm = DiscreteSCM.random(MIXED, seed=4)
    do = {"A": 1, "C": 0}
    got = scm.interventional(["B", "D"], do)
    np.testing.assert_allclose(got.probs, _marginal(brute_force_joint(scm, do), MIXED.nodes, ["B", "D"]), atol=1e-12)


# ---------------------------------------------------------------------------- sampling
def test_sample_frequencies_match_the_exact_joint() -> None:
    scm = DiscreteSCM.random(NAPKIN, seed=2)
    samples = scm.sample(60_000, seed=0)
    assert list(samples) == list(NAPKIN.nodes)
    for v, column in samples.items():
        assert column.shape == (60_000,) and column.dtype == np.int64
        assert column.min() >= 0 and column.max() < scm.cardinalities[v]
    _assert_frequencies(samples, list(NAPKIN.nodes), scm.observational().probs)


def test_interventional_samples_match_the_mutilated_model() -> None:
    scm = DiscreteSCM.random(NAPKIN, seed=3)
    samples = scm.sample(60_000, seed=1, interventions={"X": 1})
    assert (samples["X"] == 1).all()
    _assert_frequencies(samples, ["W1", "W2", "Y"], scm.interventional(["W1", "W2", "Y"], {"X": 1}).probs)


def test_sampling_is_reproducible_from_the_seed() -> None:
    scm = DiscreteSCM.random(MIXED, seed=5)
    a, b = scm.sample(500, seed=11), scm.sample(500, seed=11)
    c = scm.sample(500, seed=np.random.default_rng(11))
    d = scm.sample(500, seed=12)
    assert all(np.array_equal(a[v], b[v]) and np.array_equal(a[v], c[v]) for v in MIXED.nodes)
    assert any(not np.array_equal(a[v], d[v]) for v in MIXED.nodes)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "interventions,fragment",
    [({"Q": 0}, "unknown variable 'Q' in interventions"), ({"X": 2}, "value 2 for X is out of range 0..1")],
)
def test_interventional_rejects_bad_interventions(interventions: dict[str, int], fragment: str) -> None:
    scm = DiscreteSCM.random(NAPKIN, seed=0, cardinality=(2, 2))
    with pytest.raises(QueryError, match=fragment) as info:
        scm.interventional(["Y"], interventions)
    assert "\n" not in str(info.value)


def test_conditioning_on_an_impossible_value_is_an_error() -> None:
    graph = CausalGraph(directed=[], bidirected=[("X", "Y")])
    copy = np.eye(2)
    scm = DiscreteSCM(graph, {"X": 2, "Y": 2}, [Latent("U", ("X", "Y"), np.array([1.0, 0.0]))], {"X": copy, "Y": copy})
    with pytest.raises(QueryError, match="probability zero") as info:
        scm.interventional(["Y"], {}, given={"X": 1})
    assert "\n" not in str(info.value)


def test_too_many_variables_for_exact_enumeration() -> None:
    nodes = [f"V{i}" for i in range(50)]
    graph = CausalGraph(directed=list(itertools.pairwise(nodes)), bidirected=[("V0", "V1"), ("V1", "V2"), ("V2", "V3")])
    with pytest.raises(QueryError, match="at most 52 observed plus latent variables") as info:
        DiscreteSCM.random(graph, seed=0)
    assert "\n" not in str(info.value)
    DiscreteSCM.random(CausalGraph(directed=list(itertools.pairwise(nodes[:49])), bidirected=[("V0", "V1")]), seed=0)


def test_sample_rejects_an_unknown_intervened_variable_as_interventional_does() -> None:
    scm = DiscreteSCM.random(NAPKIN, seed=0, cardinality=(2, 2))
    with pytest.raises(QueryError, match="unknown variable 'Q'"):
        scm.sample(10, seed=0, interventions={"Q": 0})


def test_sample_rejects_an_out_of_range_intervention_as_interventional_does() -> None:
    scm = DiscreteSCM.random(NAPKIN, seed=0, cardinality=(2, 2))
    with pytest.raises(QueryError, match="out of range"):
        scm.sample(10, seed=0, interventions={"Y": 7})  # Y has no children: the 7s come back as samples
