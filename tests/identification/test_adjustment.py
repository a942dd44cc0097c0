"""Covariate adjustment on ADMGs: the canonical set, checks of given sets, and the path left open.

The named cases are the textbook ones (back door, mediator, M-bias, front door, a latent confounder
of treatment and outcome). The oracle of the random cases is numeric, not the criterion itself: on
random discrete SCMs with explicit latents, a set Z adjusts exactly when sum_z P(y | x, z) P(z) equals
the brute-force P(y | do(x)) (generic parameters make the equality fail whenever Z is not valid).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lightning_causal.errors import QueryError
from lightning_causal.graph import CausalGraph
from lightning_causal.identification.adjustment import (
    NotAdjustableError,
    adjustment_set,
    check_adjustment,
    forbidden_nodes,
    open_path,
)
from lightning_causal.scm.discrete import DiscreteSCM


def test_the_back_door_set_is_the_common_cause() -> None:
    g = CausalGraph([("Z", "X"), ("Z", "Y"), ("X", "Y")])
    assert adjustment_set(g, "X", "Y") == ("Z",)
    assert check_adjustment(g, "X", "Y", ["Z"]) == ("Z",)
    with pytest.raises(NotAdjustableError, match=r"the path X <- Z -> Y .* stays open with no covariates") as err:
        check_adjustment(g, "X", "Y", [])
    assert err.value.path == ("X", "Z", "Y") and "\n" not in str(err.value)


def test_a_mediator_is_forbidden_and_causes_of_the_outcome_alone_are_kept() -> None:
    g = CausalGraph([("C", "X"), ("C", "Y"), ("X", "M"), ("M", "Y"), ("P", "Y"), ("M", "D")])
    assert forbidden_nodes(g, ["X"], ["Y"]) == {"X", "M", "Y", "D"}
    assert adjustment_set(g, "X", "Y") == ("C", "P")  # P only causes Y: allowed, it sharpens the estimate
    with pytest.raises(NotAdjustableError, match="covariate 'M' is caused by the treatment") as err:
        check_adjustment(g, "X", "Y", ["C", "M"])
    assert err.value.forbidden == ("M",)
    with pytest.raises(NotAdjustableError, match="covariate 'D' is caused by the treatment"):
        check_adjustment(g, "X", "Y", ["C", "D"])  # a descendant of the mediator


def test_m_bias_adjusting_for_the_collider_opens_the_path() -> None:
    g = CausalGraph([("X", "Y")], bidirected=[("X", "M"), ("M", "Y")])
    assert adjustment_set(g, "X", "Y") == ()
    assert open_path(g, ["X"], ["Y"], ["M"]) == ("X", "M", "Y")
    with pytest.raises(NotAdjustableError, match=r"X <-> M <-> Y .* given \{M\}"):
        check_adjustment(g, "X", "Y", ["M"])


def test_a_latent_confounder_of_treatment_and_outcome_is_refused_naming_the_path() -> None:
    g = CausalGraph([("C", "A"), ("C", "Y1"), ("A", "Y1"), ("A", "Y2")], bidirected=[("A", "Y2")])
    with pytest.raises(NotAdjustableError) as err:
        adjustment_set(g, "A", ["Y1", "Y2"])
    message = str(err.value)
    assert "the path A <-> Y2 stays open given {C}" in message and "not identifiable" in message
    assert err.value.path == ("A", "Y2") and "\n" not in message


def test_the_front_door_is_refused_and_pointed_to_id_gen() -> None:
    g = CausalGraph([("X", "M"), ("M", "Y")], bidirected=[("X", "Y")])
    with pytest.raises(NotAdjustableError, match=r"X <-> Y stays open with no covariates.*use ID-GEN"):
        adjustment_set(g, "X", "Y")


def test_several_outcomes_that_affect_each_other() -> None:
    g = CausalGraph([("C", "A"), ("C", "Y1"), ("A", "Y1"), ("A", "Y2"), ("Y1", "Y2"), ("W", "Y2")])
    assert adjustment_set(g, "A", ["Y1", "Y2"]) == ("C", "W")
    with pytest.raises(NotAdjustableError, match="covariate 'Y1' is an outcome"):
        check_adjustment(g, "A", ["Y1", "Y2"], ["C", "Y1"])


def test_unknown_variables_are_one_line() -> None:
    g = CausalGraph([("X", "Y")])
    with pytest.raises(QueryError, match="unknown variable 'Q' in the covariates"):
        check_adjustment(g, "X", "Y", ["Q"])
    with pytest.raises(QueryError, match="unknown variable 'T' in the treatment"):
        adjustment_set(g, "T", "Y")


def _random_graph(rng: np.random.Generator, n: int = 5) -> CausalGraph:
    names = [f"V{i}" for i in range(n)]
    directed = [(names[i], names[j]) for i, j in itertools.combinations(range(n), 2) if rng.random() < 0.4]
    bidirected = [(names[i], names[j]) for i, j in itertools.combinations(range(n), 2) if rng.random() < 0.2]
    return CausalGraph(directed, bidirected, nodes=names)


def _adjusts(scm: DiscreteSCM, x: str, ys: list[str], zs: tuple[str, ...]) -> bool:
    """Whether sum_z P(ys | x, z) P(z) is P(ys | do(x)) for every x, computed exactly."""
    p = scm.observational().marginal([x, *ys, *zs]).aligned([x, *ys, *zs])
    y_axes = tuple(range(1, 1 + len(ys)))
    p_given = p / p.sum(axis=y_axes, keepdims=True)
    p_z = p.sum(axis=(0, *y_axes), keepdims=True)
    formula = (p_given * p_z).sum(axis=tuple(range(1 + len(ys), p.ndim)))
    for value in range(scm.cardinalities[x]):
        truth = scm.interventional(ys, {x: value}).aligned(ys)
        if not np.allclose(formula[value], truth, atol=1e-9):
            return False
    return True


@pytest.mark.parametrize("seed", range(60))
def test_the_criterion_agrees_with_exact_interventions_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    graph = _random_graph(rng)
    scm = DiscreteSCM.random(graph, seed=seed, cardinality=(2, 2), latent_cardinality=(2, 3))
    x = str(rng.choice(graph.nodes[:3]))
    later = [v for v in graph.nodes if v != x]
    ys = [str(v) for v in rng.choice(later, size=1 + int(rng.random() < 0.3), replace=False)]
    others = [v for v in graph.nodes if v != x and v not in ys]
    valid = {zs for k in range(len(others) + 1) for zs in itertools.combinations(others, k) if _adjusts(scm, x, ys, zs)}
    try:
        chosen = adjustment_set(graph, x, ys)
    except NotAdjustableError as err:
        assert not valid, (graph, x, ys, valid)  # refused only when no set adjusts
        assert err.path[0] == x and err.path[-1] in ys
    else:
        assert chosen in valid, (graph, x, ys, chosen, valid)
    for k in range(len(others) + 1):
        for zs in itertools.combinations(others, k):
            try:
                check_adjustment(graph, x, ys, zs)
                accepted = True
            except NotAdjustableError as err:
                accepted = False
                if err.path:
                    assert err.path[0] == x and err.path[-1] in ys and open_path(graph, [x], ys, zs) is not None
            assert accepted == (zs in valid), (graph, x, ys, zs)
