"""The mechanisms of one ID-GEN dataset: its factors as entries of one bank set over the columns they use.

Checks ``lightning_causal.models.idgen.factors.FactorMechanisms`` built from hand-written factors: the
layout holds only the columns the factors use, in the given graph order, each as wide as its codec;
factors without inputs are resampled from kept rows under ``roots="empirical"`` and modelled under
``roots="model"``; two factors of one variable are separate entries; ``keep`` keeps rows (jointly) of
the resampled factors' variables only.
"""

from __future__ import annotations

import pytest
import torch

from lightning_causal.errors import NotTrainedError
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models.idgen import FactorMechanisms
from lightning_causal.plan.parts import Factor
from lightning_causal.variables.spec import VariableSpec

ORDER = ("A", "C", "B", "W", "Y")
"""A topological order of the graph the factors come from (C is used by none of them)."""
SPECS = {
    "A": VariableSpec("A", mean=(0.0,), std=(1.0,)),
    "B": VariableSpec("B", "categorical", classes=3),
    "C": VariableSpec("C", mean=(0.0,), std=(1.0,)),
    "W": VariableSpec("W", "binary"),
    "Y": VariableSpec("Y", dim=2, mean=(0.0, 0.0), std=(1.0, 1.0)),
}


def _factor(name: str, variable: str, inputs: tuple[str, ...]) -> Factor:
    return Factor(name, variable, inputs, "D1", 1, "test")


def _config(**fields: object) -> MechanismConfig:
    return MechanismConfig(hidden=8, timesteps=10, **fields)  # type: ignore[arg-type]


def _values(n: int = 12, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 1, generator=g)
    return {
        "A": a,
        "B": torch.randint(0, 3, (n,), generator=g),
        "C": torch.randn(n, 1, generator=g),
        "W": torch.randint(0, 2, (n,), generator=g),
        "Y": torch.cat([2 * a, -a], 1),  # Y's row names A's row: kept rows must stay joint
    }


def test_the_layout_holds_only_the_used_columns_in_graph_order() -> None:
    # the factors name their columns out of order; C is in the graph but no factor uses it
    factors = [_factor("f0", "Y", ("W", "B", "A")), _factor("f1", "W", ("A",))]
    mechanisms = FactorMechanisms(factors, SPECS, ORDER, _config())
    assert mechanisms.columns == ("A", "B", "W", "Y")
    assert mechanisms.layout.order == ("A", "B", "W", "Y") and "C" not in mechanisms.variables
    # each block as wide as its codec: A 1, B one-hot 3, W one bit, Y 2
    assert mechanisms.layout.slices == {"A": (0, 1), "B": (1, 4), "W": (4, 5), "Y": (5, 7)}
    assert mechanisms.layout.width == 7
    assert mechanisms.factors == {"f0": factors[0], "f1": factors[1]}
    assert mechanisms.inputs == {"f0": ("W", "B", "A"), "f1": ("A",)}  # each factor keeps its own inputs
    assert mechanisms.targets == {"f0": "Y", "f1": "W"}


def test_factors_without_inputs_resample_rows_under_empirical_roots() -> None:
    factors = [_factor("f0", "A", ()), _factor("f1", "W", ()), _factor("f2", "Y", ("A", "W"))]
    mechanisms = FactorMechanisms(factors, SPECS, ORDER, _config(roots="empirical"))
    assert mechanisms.resampled == ("f0", "f1") and mechanisms.trained == ["f2"]
    assert mechanisms.bank("f0") is None and mechanisms.bank("f2") is not None
    assert mechanisms.loss_vector(_values(), torch.Generator().manual_seed(0)).shape == (1,)
    encoded = mechanisms.blank(4)
    with pytest.raises(NotTrainedError, match="no training rows to resample"):
        mechanisms.generate(["f0"], encoded, torch.Generator().manual_seed(0))  # nothing kept yet


def test_factors_without_inputs_are_modelled_under_model_roots() -> None:
    factors = [_factor("f0", "A", ()), _factor("f1", "W", ()), _factor("f2", "Y", ("A", "W"))]
    mechanisms = FactorMechanisms(factors, SPECS, ORDER, _config(roots="model"))
    assert mechanisms.resampled == ()
    # every factor has a loss: the continuous ones in the diffusion bank, the binary W in the classifier bank
    assert sorted(mechanisms.trained) == ["f0", "f1", "f2"] and all(mechanisms.bank(f) for f in ("f0", "f1", "f2"))
    parts = mechanisms.loss_vector(_values(), torch.Generator().manual_seed(0))
    assert parts.shape == (3,) and torch.isfinite(parts).all()
    mechanisms.keep(_values(), torch.Generator().manual_seed(0))
    assert mechanisms.rows.store == {}  # nothing to resample: no rows kept


def test_two_factors_of_one_variable_are_separate_entries_with_their_own_weights() -> None:
    # ID-GEN's line 7 can put P(Y) and P(Y | A, B) on one dataset
    factors = [_factor("f0", "Y", ()), _factor("f1", "Y", ("A",)), _factor("f2", "Y", ("A", "B"))]
    mechanisms = FactorMechanisms(factors, SPECS, ORDER, _config())
    assert mechanisms.entries == ("f0", "f1", "f2") and set(mechanisms.targets.values()) == {"Y"}
    assert mechanisms.resampled == ("f0",) and mechanisms.trained == ["f1", "f2"]
    values = _values()
    rng = torch.Generator().manual_seed(0)
    assert mechanisms.loss_vector(values, rng).shape == (2,)
    # one batched bank holds both, one slice of weights each: a factor's loss moves its own slice only
    bank = mechanisms.bank("f1")
    assert bank is not None and bank is mechanisms.bank("f2")
    touched = []
    for entry in ("f1", "f2"):
        mechanisms.zero_grad()
        mechanisms.entry_loss(entry, values, torch.Generator().manual_seed(0)).backward()
        grads = [p.grad for p in bank.parameters() if p.grad is not None]
        assert grads and all(g.shape[0] == 2 for g in grads)
        touched.append({k for g in grads for k in range(2) if g[k].abs().sum() > 0})
    assert len(touched[0]) == len(touched[1]) == 1 and touched[0] != touched[1]


def test_keep_keeps_joint_rows_of_the_resampled_factors_variables_only() -> None:
    factors = [_factor("f0", "A", ()), _factor("f1", "Y", ()), _factor("f2", "W", ("A", "Y"))]
    mechanisms = FactorMechanisms(factors, SPECS, ORDER, _config(max_root_samples=5))
    values = _values(n=12)
    mechanisms.keep(values, torch.Generator().manual_seed(0))
    store = mechanisms.rows.store
    assert set(store) == {"A", "Y"}  # W is modelled: none of its rows are kept
    assert store["A"].shape == (5, 1) and store["Y"].shape == (5, 2)
    picked = [int((values["A"][:, 0] == a).nonzero()) for a in store["A"][:, 0]]
    assert len(set(picked)) == 5  # drawn without replacement
    assert torch.equal(store["Y"], values["Y"][picked])  # the same rows for A and Y: kept jointly
    drawn = mechanisms.generate(["f1"], mechanisms.blank(20), torch.Generator().manual_seed(1))["f1"]
    assert drawn.shape == (20, 2) and all(any(torch.equal(row, kept) for kept in store["Y"]) for row in drawn)
