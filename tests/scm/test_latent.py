"""SCMs with latent confounders: graphs, exact (conditional) interventional sampling, confounding bias, errors."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from lightning_causal.errors import QueryError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.scm import LATENT_SCMS, LatentSCM, make_latent_scm
from lightning_causal.scm.latent import LatentConfounder
from lightning_causal.variables.spec import VariableSpec

# name -> (directed edges, bidirected edges, discrete variables {name: classes}, condition)
SPEC: dict[str, tuple[set[tuple[str, str]], set[frozenset[str]], dict[str, int], tuple[str, ...]]] = {
    "backdoor": ({("Z", "X"), ("Z", "Y"), ("X", "Y")}, set(), {}, ()),
    "frontdoor": ({("X", "M"), ("M", "Y")}, {frozenset({"X", "Y"})}, {}, ()),
    "napkin": (
        {("W1", "W2"), ("W2", "X"), ("X", "Y")},
        {frozenset({"W1", "X"}), frozenset({"W1", "Y"})},
        {},
        (),
    ),
    "napkin_mixed": (
        {("W1", "W2"), ("W2", "X"), ("X", "Y")},
        {frozenset({"W1", "X"}), frozenset({"W1", "Y"})},
        {"W2": 3, "X": 2},
        (),
    ),
    "verma": (
        {("A", "B"), ("B", "X"), ("X", "Y")},
        {frozenset(p) for p in (("A", "X"), ("B", "Y"))},
        {},
        (),
    ),
    "conditional": ({("X", "M"), ("M", "Y"), ("Y", "Z")}, {frozenset({"X", "Y"})}, {"Z": 2}, ("Z",)),
    "frontdoor_mixed": ({("X", "M"), ("M", "Y")}, {frozenset({"X", "Y"})}, {"M": 4}, ()),
    "napkin_conditional": (
        {("W1", "W2"), ("W2", "X"), ("X", "Y"), ("Y", "Z")},
        {frozenset({"W1", "X"}), frozenset({"W1", "Y"})},
        {"Z": 2},
        ("Z",),
    ),
}

N = 200_000


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Elementwise ops on a few 100k rows: one intra-op thread is many times faster than a contended pool."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mean_y(values: dict[str, torch.Tensor], rows: torch.Tensor | None = None) -> float:
    y = values["Y"][:, 0].double()
    return float(y.mean() if rows is None else y[rows].mean())


def _near(x: torch.Tensor, value: float | int, width: float = 0.05) -> torch.Tensor:
    """Rows whose X equals ``value`` (discrete) or lies within ``width`` of it (continuous)."""
    return x == value if x.dtype == torch.int64 else (x[:, 0] - value).abs() < width


# ---------------------------------------------------------------------- registry and graphs
def test_registry_lists_every_built_in_and_refuses_unknown_names() -> None:
    assert set(LATENT_SCMS) == set(SPEC) and len(LATENT_SCMS) == len(SPEC)
    assert make_latent_scm(" NapKin ").name == "napkin"
    with pytest.raises(QueryError, match=r"unknown latent SCM 'bogus'.*backdoor.*frontdoor_mixed"):
        make_latent_scm("bogus")


@pytest.mark.parametrize("name", LATENT_SCMS)
def test_graph_variables_latents_and_query(name: str) -> None:
    directed, bidirected, discrete, condition = SPEC[name]
    scm = make_latent_scm(name)
    assert set(scm.graph.directed) == directed
    assert {frozenset(e) for e in scm.graph.bidirected} == bidirected
    # the bidirected edges are exactly the latents' child pairs, one latent per edge
    assert sorted(frozenset(u.children) for u in scm.latents) == sorted(bidirected, key=sorted)
    assert all(len(set(u.children)) == 2 and set(u.children) <= set(scm.graph.nodes) for u in scm.latents)
    assert not {u.name for u in scm.latents} & set(scm.graph.nodes)
    assert list(scm.variables) == list(scm.graph.nodes)
    for v, spec in scm.variables.items():
        assert spec.name == v and spec.dim == 1 and spec.mean is None
        if v in discrete:
            assert spec.is_discrete and spec.classes == discrete[v]
        else:
            assert spec.kind == "continuous"
    assert (scm.treatment, scm.outcome, scm.condition) == (("X",), ("Y",), condition)
    assert set(scm.equations) == set(scm.graph.nodes) | {u.name for u in scm.latents}
    assert scm.description and scm.query.startswith("P(Y | do(X)")


def test_constructor_checks_the_latents_against_the_graph() -> None:
    graph = CausalGraph(directed=[("X", "Y")], bidirected=[("X", "Y")])
    variables = {v: VariableSpec(v) for v in ("X", "Y")}
    mechanisms = {"X": lambda p, e: e, "Y": lambda p, e: p["X"] + e}
    with pytest.raises(QueryError, match="bidirected edges"):
        LatentSCM("bad", "", graph, variables, [], mechanisms, {}, ("X",), ("Y",))
    with pytest.raises(QueryError, match="two distinct observed children"):
        LatentSCM("bad", "", graph, variables, [LatentConfounder("U", ("X", "Q"))], mechanisms, {}, ("X",), ("Y",))
    with pytest.raises(QueryError, match="'Y' needs both a spec and a mechanism"):
        LatentSCM("bad", "", graph, variables, [LatentConfounder("U", ("X", "Y"))], {"X": lambda p, e: e}, {}, "X", "Y")
    ok = LatentSCM("ok", "", graph, variables, [LatentConfounder("U", ("Y", "X"))], mechanisms, {}, ("X",), ("Y",))
    assert ok.sample(3, seed=0)["Y"].shape == (3, 1)


# ---------------------------------------------------------------------- sampling
@pytest.mark.parametrize("name", LATENT_SCMS)
def test_samples_have_the_convention_shapes_and_roughly_unit_scale(name: str) -> None:
    scm = make_latent_scm(name)
    values = scm.sample(20_000, seed=3)
    assert list(values) == list(scm.graph.nodes)
    for v, t in values.items():
        if scm.variables[v].is_discrete:
            assert t.dtype == torch.int64 and t.shape == (20_000,)
            counts = torch.bincount(t, minlength=scm.variables[v].classes)
            assert len(counts) == scm.variables[v].classes and (counts > 0.05 * len(t)).all(), (v, counts)
        else:
            assert t.dtype == torch.float32 and t.shape == (20_000, 1) and torch.isfinite(t).all()
            assert 0.7 < float(t.std()) < 1.5 and abs(float(t.mean())) < 0.3, (v, float(t.mean()), float(t.std()))


@pytest.mark.parametrize("name", LATENT_SCMS)
def test_seeds_reproduce_and_differ_and_the_global_rng_is_untouched(name: str) -> None:
    scm = make_latent_scm(name)
    state = torch.get_rng_state()
    a, b, c = scm.sample(500, seed=5), scm.sample(500, seed=5), scm.sample(500, seed=6)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a[v], b[v]) for v in a)
    assert not torch.equal(a["Y"], c["Y"])
    g = torch.Generator().manual_seed(5)
    first, second = scm.sample(500, seed=g), scm.sample(500, seed=g)
    assert torch.equal(first["Y"], a["Y"]) and not torch.equal(second["Y"], first["Y"])


@pytest.mark.parametrize("name", LATENT_SCMS)
def test_interventions_set_the_value_and_leave_non_descendants_alone(name: str) -> None:
    scm = make_latent_scm(name)
    value = scm.treatment_values()[-1]["X"]
    plain = scm.sample(1000, seed=9)
    done = scm.sample(1000, {"X": value}, seed=9)
    x = done["X"]
    if scm.variables["X"].is_discrete:
        assert x.dtype == torch.int64 and torch.equal(x, torch.full((1000,), int(value)))
    else:
        assert x.dtype == torch.float32 and torch.equal(x, torch.full((1000, 1), float(value)))
    downstream = scm.graph.descendants("X")
    for v in scm.graph.nodes:  # the same seed draws the same latents and noise (common random numbers)
        if v not in downstream:
            assert torch.equal(plain[v], done[v]), v
    assert not torch.equal(plain["Y"], done["Y"])


def test_per_row_interventions_broadcast() -> None:
    scm = make_latent_scm("napkin_mixed")
    codes = torch.tensor([0, 1, 1, 0])
    out = scm.sample(4, {"X": codes, "W1": torch.tensor([[0.5], [-0.5], [1.0], [0.0]])}, seed=0)
    assert torch.equal(out["X"], codes) and out["W1"][:, 0].tolist() == [0.5, -0.5, 1.0, 0.0]
    assert torch.equal(scm.sample(4, {"W1": torch.zeros(4)}, seed=0)["W1"], torch.zeros(4, 1))
    assert scm.sample(0, seed=0)["Y"].shape == (0, 1)


def test_pickles_as_its_recipe() -> None:
    scm = make_latent_scm("verma")
    twin = pickle.loads(pickle.dumps(scm))
    assert isinstance(twin, LatentSCM) and twin.graph == scm.graph
    assert torch.equal(twin.sample(50, seed=1)["Y"], scm.sample(50, seed=1)["Y"])


# ---------------------------------------------------------------------- evaluation values
@pytest.mark.parametrize("name", LATENT_SCMS)
def test_treatment_values_are_quantiles_or_classes(name: str) -> None:
    scm = make_latent_scm(name)
    rows = scm.treatment_values()
    assert len(rows) == (2 if name == "napkin_mixed" else 3)
    assert all(set(row) == {"X"} for row in rows)
    if scm.variables["X"].is_discrete:
        assert [row["X"] for row in rows] == [0, 1]
    else:
        x = scm.sample(N, seed=77)["X"][:, 0].double()  # another seed: agrees up to sampling error
        want = torch.quantile(x, torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64)).tolist()
        got = [row["X"] for row in rows]
        assert got == [round(v, 2) for v in got] and np.allclose(got, want, atol=0.02)
    rows[0]["X"] = 99.0  # a copy: the cache stays intact
    assert scm.treatment_values()[0]["X"] != 99.0
    assert scm.given_values() == ([{"Z": 0}, {"Z": 1}] if name.endswith("conditional") else [{}])


# ---------------------------------------------------------------------- confounding and overlap
@pytest.mark.parametrize("name", LATENT_SCMS)
def test_strong_confounding_bias_with_overlap(name: str) -> None:
    """E[Y | do(x)] and E[Y | X = x] differ by more than 0.3 sd(Y) at an evaluation value; x is well supported."""
    scm = make_latent_scm(name)
    obs = scm.sample(N, seed=21)
    sd_y = float(obs["Y"].double().std())
    gaps = []
    for row in scm.treatment_values():
        near = _near(obs["X"], row["X"])
        assert near.float().mean() > (0.2 if scm.variables["X"].is_discrete else 0.01), row  # positivity
        do = scm.sample(N, row, seed=22)
        gaps.append(abs(_mean_y(do) - _mean_y(obs, near)) / sd_y)
    assert max(gaps) > 0.3, gaps
    if scm.variables["X"].kind == "continuous":  # the evaluation values sit inside the observational support
        lo, hi = torch.quantile(obs["X"][:, 0], torch.tensor([0.05, 0.95])).tolist()
        assert all(lo < row["X"] < hi for row in scm.treatment_values())


def test_conditional_model_is_biased_given_z_and_z_is_balanced() -> None:
    scm = make_latent_scm("conditional")
    obs = scm.sample(N, seed=31)
    sd_y = float(obs["Y"].double().std())
    gaps = []
    for row in scm.treatment_values():
        do = scm.sample(N, row, seed=32)
        near = _near(obs["X"], row["X"])
        for given in scm.given_values():
            z = given["Z"]
            assert float((do["Z"] == z).float().mean()) > 0.2, (row, z)
            gaps.append(abs(_mean_y(do, do["Z"] == z) - _mean_y(obs, near & (obs["Z"] == z))) / sd_y)
    assert max(gaps) > 0.3, gaps


# ---------------------------------------------------------------------- exactness against identification formulas
def test_backdoor_matches_the_adjustment_formula_from_observational_data() -> None:
    """E[Y | do(x)] = E_Z[E[Y | x, Z]], with E[Y | X, Z] fitted by least squares on observational rows only."""
    scm = make_latent_scm("backdoor")
    obs = {v: t[:, 0].double().numpy() for v, t in scm.sample(N, seed=41).items()}

    def basis(x: np.ndarray, z: np.ndarray) -> np.ndarray:
        return np.stack([x**i * z**j for i in range(6) for j in range(4)], axis=1)

    beta, *_ = np.linalg.lstsq(basis(obs["X"], obs["Z"]), obs["Y"], rcond=None)
    for row in scm.treatment_values():
        x = row["X"]
        adjusted = float((basis(np.full_like(obs["Z"], x), obs["Z"]) @ beta).mean())
        do = _mean_y(scm.sample(N, row, seed=42))
        naive = float(obs["Y"][np.abs(obs["X"] - x) < 0.05].mean())
        assert abs(adjusted - do) < 0.03, (x, adjusted, do)
        if x != 0:
            assert abs(naive - do) > 0.3, (x, naive, do)


@pytest.mark.parametrize("name", ["frontdoor", "frontdoor_mixed"])
def test_frontdoor_matches_the_front_door_formula_from_observational_data(name: str) -> None:
    """E[Y | do(x)] = sum_m P(m | x) E_X'[E[Y | m, X']], every term estimated from observational rows."""
    scm = make_latent_scm(name)
    raw = scm.sample(N, seed=51)
    x, y = raw["X"][:, 0].double().numpy(), raw["Y"][:, 0].double().numpy()
    m = raw["M"].double().reshape(N).numpy()
    if scm.variables["M"].is_discrete:  # E[Y | M = k, X] per class, averaged over the marginal of X
        inner = {}
        for k in range(scm.variables["M"].classes):
            sel = m == k
            coef, *_ = np.linalg.lstsq(np.stack([x[sel] ** j for j in range(5)], 1), y[sel], rcond=None)
            inner[k] = float((np.stack([x**j for j in range(5)], 1) @ coef).mean())
    else:  # E[Y | M, X] = sum_ij b_ij M^i X^j, so the double average factorises into moments
        coef, *_ = np.linalg.lstsq(np.stack([m**i * x**j for i in range(6) for j in range(4)], 1), y, rcond=None)
        beta = coef.reshape(6, 4)
        x_moments = np.array([(x**j).mean() for j in range(4)])
    for row in scm.treatment_values():
        near = np.abs(x - row["X"]) < 0.05
        if scm.variables["M"].is_discrete:
            p_m = np.bincount(m[near].astype(int), minlength=4) / near.sum()
            formula = sum(p_m[k] * inner[k] for k in inner)
        else:
            formula = float(np.array([(m[near] ** i).mean() for i in range(6)]) @ beta @ x_moments)
        do = _mean_y(scm.sample(N, row, seed=52))
        assert abs(formula - do) < 0.04, (row, formula, do)


# ---------------------------------------------------------------------- conditional interventional sampling
def test_conditional_keeps_the_given_rows_and_matches_brute_force_filtering() -> None:
    scm = make_latent_scm("conditional")
    x = scm.treatment_values()[0]["X"]
    rows = scm.conditional(20_000, {"X": x}, {"Z": 1}, seed=61)
    assert rows["Z"].dtype == torch.int64 and torch.equal(rows["Z"], torch.ones(20_000, dtype=torch.int64))
    assert torch.equal(rows["X"], torch.full((20_000, 1), x)) and rows["Y"].shape == (20_000, 1)
    brute = scm.sample(N, {"X": x}, seed=62)
    kept = brute["Y"][brute["Z"] == 1, 0].double()
    got = rows["Y"][:, 0].double()
    qs = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    assert abs(float(got.mean() - kept.mean())) < 0.03
    assert torch.allclose(torch.quantile(got, qs), torch.quantile(kept, qs), atol=0.05)
    # the event moves Y: it is a real conditional, not the interventional marginal
    assert float(got.mean() - brute["Y"].double().mean()) > 0.3
    again = scm.conditional(20_000, {"X": x}, {"Z": 1}, seed=61)
    assert torch.equal(again["Y"], rows["Y"])
    assert not torch.equal(scm.conditional(20_000, {"X": x}, {"Z": 1}, seed=63)["Y"], rows["Y"])


def test_conditional_on_a_categorical_variable_and_edge_cases() -> None:
    scm = make_latent_scm("napkin_mixed")
    rows = scm.conditional(5000, {"X": 1}, {"W2": torch.tensor(2)}, seed=71)
    assert torch.equal(rows["W2"], torch.full((5000,), 2)) and torch.equal(
        rows["X"], torch.ones(5000, dtype=torch.int64)
    )
    brute = scm.sample(N, {"X": 1}, seed=72)
    want = float(brute["W1"][brute["W2"] == 2].mean())
    assert abs(float(rows["W1"].mean()) - want) < 0.04
    assert float(rows["W1"].mean()) > float(brute["W1"].mean()) + 0.5  # W2 = 2 selects large W1
    # no given: the interventional distribution itself; given on the intervened variable: consistent
    plain = scm.conditional(100, {"X": 0}, {}, seed=3)
    assert all(torch.equal(plain[v], scm.sample(100, {"X": 0}, seed=3)[v]) for v in plain)
    same = scm.conditional(100, {"X": 1}, {"X": 1}, seed=4)
    assert torch.equal(same["X"], torch.ones(100, dtype=torch.int64))
    assert scm.conditional(0, {"X": 1}, {"W2": 0}, seed=0)["Y"].shape == (0, 1)


# ---------------------------------------------------------------------- bad input
def test_bad_queries_raise_one_line_query_errors_naming_the_variable() -> None:
    scm = make_latent_scm("napkin_mixed")
    cases = [
        (lambda: scm.sample(5, {"Q": 1.0}), "unknown variable 'Q'.*W1, W2, X, Y"),
        (lambda: scm.sample(5, {"U1": 1.0}), "'U1': it is latent"),
        (lambda: scm.sample(5, {"X": 2}), "X.*out of range"),
        (lambda: scm.sample(5, {"X": 0.5}), "X must be a class code"),
        (lambda: scm.sample(5, {"W1": float("nan")}), "W1 holds NaN"),
        (lambda: scm.sample(5, {"W1": torch.zeros(3, 1)}), "W1 has shape"),
        (lambda: scm.sample(5, {"W1": lambda v: v + 1}), "W1 must be a hard value"),  # type: ignore[dict-item]
        (lambda: scm.sample(5, [("X", 1)]), "interventions must be a mapping"),  # type: ignore[arg-type]
        (lambda: scm.sample(-1), "n must be a non-negative int"),
        (lambda: scm.sample(5, seed=1.5), "seed must be a torch.Generator or an int"),  # type: ignore[arg-type]
        (lambda: scm.conditional(5, {"X": 1}, {"Y": 0}), "given Y is continuous"),
        (lambda: scm.conditional(5, {"X": 1}, {"W2": 3}), "given W2 = 3 is not a class code of W2"),
        (lambda: scm.conditional(5, {"X": 1}, {"W2": 1.0}), "given W2 = 1.0 is not a class code"),  # type: ignore[dict-item]
        (lambda: scm.conditional(5, {"X": 1}, {"Q": 0}), "unknown variable 'Q'"),
        (lambda: scm.conditional(5, {"X": 1}, {"X": 0}), "given X = 0 contradicts do\\(X = 1\\)"),
        (lambda: scm.conditional(5, {"X": torch.tensor([0, 1])}, {"W2": 0}), "X must be one value"),
        (lambda: scm.conditional(5, {"W1": 5.0}, {"W2": 0}), "P\\(W2 = 0 \\| do\\(W1 = 5\\)\\).*below 0.001"),
    ]
    for call, message in cases:
        with pytest.raises(QueryError, match=message) as info:
            call()
        assert "\n" not in str(info.value)
