"""The DCM structural-equation suite: equations as published, counterfactual semantics, seeded sampling."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from lightning_causal.datamodules import SCMDataModule
from lightning_causal.errors import QueryError
from lightning_causal.scm import SUITE, ContinuousSCM, intervention_values, make_scm

SMALL = ("chain", "triangle", "diamond", "y")
VARIANTS = ("NL", "NA")

# Five hand-written noise rows per node (moderate and extreme values, both signs).
U = {
    "x1": [0.3, -1.2, 2.1, 0.0, -0.45],
    "x2": [-0.7, 0.25, 1.6, -2.2, 0.9],
    "x3": [1.1, -0.35, -1.8, 0.6, 0.05],
    "x4": [-0.2, 1.7, 0.4, -1.1, 2.5],
}

Arr = np.ndarray

EDGES = {
    "chain": {("x1", "x2"), ("x2", "x3")},
    "triangle": {("x1", "x2"), ("x1", "x3"), ("x2", "x3")},
    "diamond": {("x1", "x2"), ("x1", "x3"), ("x2", "x3"), ("x2", "x4"), ("x3", "x4")},
    "y": {("x1", "x3"), ("x2", "x3"), ("x3", "x4")},
}


def _hand_noise(scm: ContinuousSCM) -> dict[str, torch.Tensor]:
    return {v: torch.tensor(U[v], dtype=torch.float32).unsqueeze(1) for v in scm.graph.nodes}


def _np(values: dict[str, torch.Tensor]) -> dict[str, Arr]:
    return {k: v.double().numpy() for k, v in values.items()}


# ---------------------------------------------------------------------- structural equations
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", SMALL)
def test_equations_match_benchmarks_md(name: str, variant: str) -> None:
    scm = make_scm(name, variant)
    assert set(scm.graph.directed) == EDGES[name]
    assert scm.name == name and scm.variant == variant
    noise = _hand_noise(scm)
    got = _np(scm.forward(noise))
    want = _numpy_forward(name, variant, {v: np.asarray(U[v], dtype=np.float64)[:, None] for v in noise})
    assert list(got) == list(scm.graph.nodes)
    for v in scm.graph.nodes:
        assert got[v].shape == (5, 1) and np.isfinite(got[v]).all()
        np.testing.assert_allclose(got[v], want[v], rtol=1e-5, atol=1e-5, err_msg=f"{name} {variant} {v}")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", SMALL)
def test_each_equation_at_fixed_parent_values(name: str, variant: str) -> None:
    """Hold every parent at chosen values by hard interventions; only the child's equation runs."""
    scm = make_scm(name, variant)
    noise = _hand_noise(scm)
    parent_values = {  # x2 > 0: the chain NA's x2 always is, and its x3 takes sqrt(x2 + |u3|)
        "x1": [0.5, -1.5, 1.9, 0.1, -0.8],
        "x2": [1.2, 0.6, 0.3, 2.4, 1.9],
        "x3": [-1.0, 0.7, 2.2, 0.0, 3.1],
    }
    for child in scm.graph.nodes:
        parents = scm.graph.parents(child)
        if not parents:
            continue
        fixed = {p: torch.tensor(parent_values[p]).unsqueeze(1) for p in parents}
        got = _np(scm.forward(noise, fixed))[child]
        inputs = {v: np.asarray(U[v], dtype=np.float64)[:, None] for v in noise}
        want = _numpy_forward(name, variant, inputs, {p: np.asarray(parent_values[p])[:, None] for p in parents})
        assert np.isfinite(want[child]).all()
        np.testing.assert_allclose(got, want[child], rtol=1e-5, atol=1e-5, err_msg=f"{name} {variant} {child}")


def _numpy_forward(name: str, variant: str, u: dict[str, Arr], fixed: dict[str, Arr] | None = None) -> dict[str, Arr]:
    """The re-typed equations evaluated in the order x1, x2, ...; nodes in ``fixed`` take those values."""
    fixed = fixed or {}
    values: dict[str, Arr] = {}
    for v in sorted(u, key=lambda v: int(v[1:])):
        values[v] = fixed[v] if v in fixed else _one_equation(name, variant, v, values, u)
    return values


def _one_equation(name: str, variant: str, v: str, x: dict[str, Arr], u: dict[str, Arr]) -> Arr:
    """Each structural equation of benchmarks.md on its own (parents taken from ``x``)."""
    a = np.abs
    e = np.exp
    table: dict[tuple[str, str, str], Callable[[], Arr]] = {
        ("chain", "NL", "x2"): lambda: (e(x["x1"] / 2) + u["x2"] / 4) / 0.65,
        ("chain", "NL", "x3"): lambda: ((x["x2"] - 5) ** 3 / 15 + u["x3"]) / 2.13,
        ("chain", "NA", "x2"): lambda: 1 / ((u["x2"] + x["x1"]) ** 2 + 0.5) / 0.63,
        ("chain", "NA", "x3"): lambda: np.sqrt(x["x2"] + a(u["x3"])) / (0.1 + x["x2"]),
        ("triangle", "NL", "x2"): lambda: (u["x2"] + 2 * x["x1"] ** 2) / 3,
        ("triangle", "NL", "x3"): lambda: (u["x3"] + 20 / (1 + e(-(x["x2"] ** 2) + x["x1"]))) / 2.41,
        ("triangle", "NA", "x2"): lambda: (x["x1"] / ((u["x2"] + x["x1"]) ** 2 + 1) + u["x2"] / 4) / 0.47,
        ("triangle", "NA", "x3"): lambda: (a(u["x3"]) + 0.3) * (-x["x1"] + x["x2"] / 2 + a(u["x3"]) / 5) ** 2 / 0.93,
        ("diamond", "NL", "x2"): lambda: (x["x1"] ** 2 + u["x2"] / 2) / 1.5,
        ("diamond", "NL", "x3"): lambda: (x["x2"] ** 2 - 2 / (1 + e(-x["x1"])) + u["x3"] / 2) / 1.27,
        ("diamond", "NL", "x4"): lambda: (x["x3"] / (a(x["x2"] + x["x3"]) + 0.5) + u["x4"] / 5) / 0.54,
        ("diamond", "NA", "x2"): lambda: (
            (np.sqrt(a(x["x1"])) * (a(u["x2"]) + 0.1) / 2 + a(x["x1"]) + u["x2"] / 5) / 0.83
        ),
        ("diamond", "NA", "x3"): lambda: 6 / (1 + (a(u["x3"]) + 0.5) * e(-x["x2"] + x["x1"])),
        ("diamond", "NA", "x4"): lambda: ((x["x3"] + x["x2"] + u["x4"] / 4 - 7) ** 2 - 20) / 7.27,
        ("y", "NL", "x3"): lambda: (-(x["x2"] ** 2) + 4 / (1 + e(-x["x1"] - x["x2"])) + u["x3"] / 2) / 1.83,
        ("y", "NL", "x4"): lambda: (20 / (1 + e(x["x3"] ** 2 / 2 - x["x3"])) + u["x4"]) / 3.26,
        ("y", "NA", "x3"): lambda: (x["x1"] - 2 * x["x2"] - 2) * (a(u["x3"]) + 0.2) / 2.87,
        ("y", "NA", "x4"): lambda: 1 / (a(u["x4"] + 2 * x["x3"]) + 0.5) / 0.43,
    }
    key = (name, variant, v)
    return table[key]() if key in table else u[v]


def test_stable_forms_do_not_overflow() -> None:
    """Extreme noise gives finite values (sigmoid forms instead of 1/(1 + exp(.)))."""
    for name in SMALL:
        for variant in VARIANTS:
            scm = make_scm(name, variant)
            noise = {v: torch.tensor([[40.0], [-40.0]]) for v in scm.graph.nodes}
            for v, t in scm.forward(noise).items():
                assert torch.isfinite(t).all(), (name, variant, v)


def test_ladder_equations_against_numpy() -> None:
    """f = 0.75 W2 SiLU(W1 [parents]) (+ u for NL, [parents; u] for NA), parents in graph order."""
    rng = np.random.default_rng(7)
    for variant in VARIANTS:
        scm = make_scm("ladder", variant, seed=3)
        u = {v: rng.standard_normal((5, 3)) for v in scm.graph.nodes}
        got = _np(scm.forward({v: torch.tensor(a, dtype=torch.float32) for v, a in u.items()}))
        x: dict[str, Arr] = {"x1": u["x1"]}
        for k in range(2, 11):
            v = f"x{k}"
            w1, w2 = (w.double().numpy() for w in scm.weights[v])
            inp = np.concatenate([x[p] for p in scm.graph.parents(v)], axis=1)
            if variant == "NA":
                inp = np.concatenate([inp, u[v]], axis=1)
            h = inp @ w1.T
            f = 0.75 * (h / (1 + np.exp(-h))) @ w2.T
            x[v] = f + u[v] if variant == "NL" else f
        for v in scm.graph.nodes:
            np.testing.assert_allclose(got[v], x[v], rtol=1e-4, atol=1e-4, err_msg=f"ladder {variant} {v}")


# ---------------------------------------------------------------------- scale
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", SMALL)
def test_nodes_are_roughly_unit_scale(name: str, variant: str) -> None:
    values, _ = make_scm(name, variant).sample(20_000, rng=0)
    for v, t in values.items():
        std = float(t.std())
        assert 0.25 <= std <= 4.0, f"{name} {variant} {v}: std {std:.3f}"


# ---------------------------------------------------------------------- interventions and counterfactuals
@pytest.mark.parametrize("name", SUITE)
def test_counterfactual_semantics(name: str) -> None:
    for variant in VARIANTS:
        scm = make_scm(name, variant)
        values, noise = scm.sample(64, rng=1)
        same = scm.counterfactual(noise, {})
        for v in scm.graph.nodes:
            assert torch.equal(same[v], values[v])
        for node in scm.graph.topological_order():
            if not scm.graph.children(node):
                continue
            dim = scm.dims[node]
            cf = scm.counterfactual(noise, {node: torch.full((dim,), 0.7)})
            assert torch.equal(cf[node], torch.full((64, dim), 0.7))
            descendants = scm.graph.descendants(node) - {node}
            assert any(not torch.allclose(cf[d], values[d]) for d in descendants), (name, variant, node)
            for other in set(scm.graph.nodes) - scm.graph.descendants(node):
                assert torch.equal(cf[other], values[other])


@pytest.mark.parametrize("name", SUITE)
def test_shift_intervention_on_a_root(name: str) -> None:
    scm = make_scm(name, "NL")
    values, noise = scm.sample(32, rng=2)
    root = scm.graph.topological_order()[0]
    shifted = scm.forward(noise, {root: lambda v: v + 1})
    torch.testing.assert_close(shifted[root], values[root] + 1)
    child = scm.graph.children(root)[0]
    assert not torch.allclose(shifted[child], values[child])


def test_intervention_values_broadcast() -> None:
    scm = make_scm("ladder", "NA")
    _, noise = scm.sample(10, rng=3)
    per_row = torch.arange(30, dtype=torch.float32).reshape(10, 3)
    for value, want in (
        (2.5, torch.full((10, 3), 2.5)),
        ([1.0, 2.0, 3.0], torch.tensor([1.0, 2.0, 3.0]).expand(10, 3)),
        (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0]).expand(10, 3)),
        (per_row, per_row),
    ):
        out = scm.forward(noise, {"x4": value})
        assert out["x4"].dtype == torch.float32 and torch.equal(out["x4"], want)
    chain = make_scm("chain")
    _, noise1 = chain.sample(6, rng=0)
    column = torch.linspace(-1, 1, 6).unsqueeze(1)
    assert torch.equal(chain.forward(noise1, {"x2": column})["x2"], column)
    assert torch.equal(chain.forward(noise1, {"x2": torch.tensor(3.0)})["x2"], torch.full((6, 1), 3.0))
    with pytest.raises(ValueError, match="x4"):
        scm.forward(noise, {"x4": torch.ones(10, 2)})


def test_unknown_nodes_and_names_raise() -> None:
    scm = make_scm("triangle")
    _, noise = scm.sample(4, rng=0)
    with pytest.raises(ValueError, match="'x9'"):
        scm.forward(noise, {"x9": 1.0})
    with pytest.raises(ValueError, match="'x9'"):
        scm.counterfactual(noise, {"x9": 1.0})
    with pytest.raises(ValueError, match="'x3'"):
        scm.forward({"x1": noise["x1"], "x2": noise["x2"]})
    with pytest.raises(QueryError, match=r"chain, triangle, diamond, y, ladder"):
        make_scm("square")
    with pytest.raises(QueryError, match="NL"):
        make_scm("chain", "XX")
    assert make_scm("TRIANGLE", "na").variant == "NA"


def test_shift_must_keep_the_shape() -> None:
    scm = make_scm("chain")
    _, noise = scm.sample(4, rng=0)
    with pytest.raises(ValueError, match="shift intervention on x2"):
        scm.forward(noise, {"x2": lambda v: v.sum()})


# ---------------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("name", SUITE)
def test_seeded_sampling(name: str) -> None:
    scm = make_scm(name, "NA")
    a, _ = scm.sample(50, rng=torch.Generator().manual_seed(5))
    b, _ = scm.sample(50, rng=5)
    c, _ = scm.sample(50, rng=6)
    for v in scm.graph.nodes:
        assert torch.equal(a[v], b[v])
        assert not torch.equal(a[v], c[v])


def test_global_rng_is_never_used() -> None:
    state = torch.get_rng_state()
    scm = make_scm("ladder", "NL", seed=1)
    scm.sample(20, rng=1)
    intervention_values(scm, "x4", n=100)
    SCMDataModule(scm="ladder", n_train=20, n_val=5, n_test=5)
    assert torch.equal(torch.get_rng_state(), state)


def test_ladder_weights_depend_on_the_seed_only() -> None:
    torch.manual_seed(123)
    a = make_scm("ladder", "NL", seed=4)
    torch.manual_seed(456)
    b = make_scm("ladder", "NL", seed=4)
    c = make_scm("ladder", "NL", seed=5)
    assert set(a.weights) == {f"x{k}" for k in range(2, 11)}
    for v in a.weights:
        for wa, wb, wc in zip(a.weights[v], b.weights[v], c.weights[v], strict=True):
            assert torch.equal(wa, wb)
            assert not torch.equal(wa, wc)
            assert wa.abs().max() <= 1.0
    assert a.weights["x4"][0].shape == (16, 6) and a.weights["x4"][1].shape == (3, 16)
    assert make_scm("ladder", "NA", seed=4).weights["x4"][0].shape == (16, 9)
    assert make_scm("ladder", "NA", seed=4, layout="scalar").weights["x4"][0].shape == (16, 7)


# ---------------------------------------------------------------------- ladder layouts
def test_ladder_layouts() -> None:
    vector = make_scm("ladder", "NL", seed=2)
    assert len(vector.graph.nodes) == 10 and set(vector.dims.values()) == {3}
    assert len(vector.graph.directed) == 13
    assert all(spec.dim == 3 and spec.kind == "continuous" for spec in vector.variables.values())
    scalar = make_scm("ladder", "NL", seed=2, layout="scalar")
    assert scalar.graph.nodes == tuple(f"x{i:02d}" for i in range(1, 31))
    assert set(scalar.dims.values()) == {1} and len(scalar.graph.directed) == 13 * 9
    assert set(scalar.graph.parents("x10")) == {f"x{i:02d}" for i in range(4, 10)}
    # NL is additive: row j of the super node output plus u_j equals the vector layout's value
    _, noise = vector.sample(40, rng=9)
    split = {f"x{3 * (k - 1) + j + 1:02d}": noise[f"x{k}"][:, j : j + 1] for k in range(1, 11) for j in range(3)}
    vec = vector.forward(noise)
    sca = scalar.forward(split)
    for k in range(1, 11):
        joined = torch.cat([sca[f"x{3 * (k - 1) + j + 1:02d}"] for j in range(3)], dim=1)
        torch.testing.assert_close(joined, vec[f"x{k}"], rtol=1e-5, atol=1e-5)
    # and the same seed draws the same noise in both layouts
    _, scalar_noise = scalar.sample(40, rng=9)
    assert all(torch.equal(scalar_noise[k], split[k]) for k in split)


def test_scalar_ladder_na_feeds_each_scalar_noise() -> None:
    scm = make_scm("ladder", "NA", seed=0, layout="scalar")
    values, noise = scm.sample(8, rng=0)
    changed = dict(noise)
    changed["x05"] = noise["x05"] + 1.0  # scalar node 2 of super node 2
    out = scm.forward(changed)
    assert torch.equal(out["x04"], values["x04"]) and torch.equal(out["x06"], values["x06"])
    assert not torch.allclose(out["x05"], values["x05"])


# ---------------------------------------------------------------------- intervention values
@pytest.mark.parametrize(("name", "node"), [("chain", "x2"), ("y", "x3"), ("ladder", "x4")])
def test_intervention_values_protocol(name: str, node: str) -> None:
    scm = make_scm(name, "NL")
    values = intervention_values(scm, node, count=20, seed=3, n=2000)
    dim = scm.dims[node]
    assert values.shape == (20, dim) and values.dtype == torch.float32
    observed = scm.sample(2000, rng=3)[0][node].double().numpy()
    lo, hi = np.quantile(observed, [0.1, 0.9], axis=0)
    np.testing.assert_allclose(values[0].numpy(), lo, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values[-1].numpy(), hi, rtol=1e-5, atol=1e-6)
    assert (values[1:] > values[:-1]).all()
    steps = np.diff(values.double().numpy(), axis=0)
    np.testing.assert_allclose(steps, np.broadcast_to(steps[0], steps.shape), rtol=1e-4)
    scm.forward(scm.sample_noise(3, 0), {node: values[5]})  # a row is a valid intervention


def test_suite_members_pickle_as_their_recipe() -> None:
    import pickle

    for name in ("triangle", "ladder"):
        scm = make_scm(name, "NA", seed=3)
        again = pickle.loads(pickle.dumps(scm))
        noise = scm.sample_noise(20, torch.Generator().manual_seed(0))
        for k, v in scm.forward(noise).items():
            assert torch.equal(v, again.forward(noise)[k])


def test_counterfactual_oracle_is_exact_where_noise_is_invertible_and_not_where_it_is_not() -> None:
    from benchmarks.dcm_cf_oracle import oracle_mse

    # additive noise: the factual value pins the noise down, the posterior mean is the truth
    assert oracle_mse(make_scm("chain", "NL"), seed=0, rows=20, count=3) < 1e-6
    # chain NA: x2 = 1/((u2 + x1)^2 + 0.5)/0.63 has two noises per value; under do(x1) no answer is exact
    floor = oracle_mse(make_scm("chain", "NA"), seed=0, rows=50, count=5)
    assert 0.03 < floor < 0.5


def test_intervened_nodes_follow_the_protocol() -> None:
    from lightning_causal.scm import intervened_nodes

    assert intervened_nodes(make_scm("chain")) == ["x1", "x2"]
    assert intervened_nodes(make_scm("diamond", "NA")) == ["x1", "x2", "x3"]
    assert intervened_nodes(make_scm("y")) == ["x1", "x2", "x3"]
    assert intervened_nodes(make_scm("ladder")) == ["x1", "x4"]
