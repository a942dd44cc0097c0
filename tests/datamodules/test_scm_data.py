"""SCMDataModule: seeded splits, train-split statistics, batches, exact truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightning_causal.datamodules import SCMDataModule


# ---------------------------------------------------------------------- data module
def test_datamodule_splits_and_statistics() -> None:
    dm = SCMDataModule(scm="diamond", variant="NL", n_train=300, n_val=70, n_test=50, batch_size=64, seed=1)
    assert dm.graph == dm.scm.graph and set(dm.variables) == {"x1", "x2", "x3", "x4"}
    for tensors, rows in ((dm.train_tensors, 300), (dm.val_tensors, 70), (dm.test_tensors, 50)):
        assert list(tensors) == ["x1", "x2", "x3", "x4"]
        for t in tensors.values():
            assert t.dtype == torch.float32 and t.shape == (rows, 1)
    assert not torch.equal(dm.train_tensors["x1"][:50], dm.test_tensors["x1"])
    for v, spec in dm.variables.items():
        x = dm.train_tensors[v].numpy().astype(np.float64)
        assert spec.kind == "continuous" and spec.dim == 1
        assert spec.mean is not None and spec.std is not None
        np.testing.assert_allclose(spec.mean, x.mean(axis=0), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(spec.std, x.std(axis=0, ddof=0), rtol=1e-6)
    ladder = SCMDataModule(scm="ladder", variant="NA", n_train=40, n_val=4, n_test=4, seed=2)
    assert all(spec.dim == 3 and len(spec.std or ()) == 3 for spec in ladder.variables.values())
    assert ladder.train_tensors["x7"].shape == (40, 3)


def test_datamodule_batches_cover_the_train_set_once() -> None:
    dm = SCMDataModule(scm="y", variant="NA", n_train=250, n_val=30, n_test=20, batch_size=64, seed=3)
    batches = list(dm.train_dataloader())
    assert len(batches) == 4 and all(isinstance(b, dict) and set(b) == {"x1", "x2", "x3", "x4"} for b in batches)
    assert [len(b["x1"]) for b in batches] == [64, 64, 64, 58]
    seen = {v: torch.cat([b[v] for b in batches]) for v in batches[0]}
    assert not torch.equal(seen["x1"], dm.train_tensors["x1"])  # shuffled
    order = seen["x1"][:, 0].argsort()
    truth = dm.train_tensors["x1"][:, 0].argsort()
    for v in seen:
        assert torch.equal(seen[v][order], dm.train_tensors[v][truth])
    again = list(dm.train_dataloader())
    assert torch.equal(torch.cat([b["x1"] for b in again]), seen["x1"])  # seeded shuffle
    val = torch.cat([b["x3"] for b in dm.val_dataloader()])
    test = torch.cat([b["x3"] for b in dm.test_dataloader()])
    assert torch.equal(val, dm.val_tensors["x3"]) and torch.equal(test, dm.test_tensors["x3"])


def test_datamodule_exact_truth_and_reproducibility() -> None:
    kwargs = {"scm": "triangle", "variant": "NA", "n_train": 100, "n_val": 20, "n_test": 30, "seed": 4}
    dm = SCMDataModule(**kwargs)  # type: ignore[arg-type]
    same = dm.counterfactuals(dm.test_noise, {})
    assert all(torch.equal(same[v], dm.test_tensors[v]) for v in dm.test_tensors)
    cf = dm.counterfactuals(dm.test_noise, {"x2": 1.0})
    assert torch.equal(cf["x1"], dm.test_tensors["x1"]) and torch.equal(cf["x2"], torch.ones(30, 1))
    draws = dm.interventional_samples(200, {"x1": -1.0}, seed=7)
    assert torch.equal(draws["x1"], torch.full((200, 1), -1.0))
    assert torch.equal(draws["x3"], dm.interventional_samples(200, {"x1": -1.0}, seed=7)["x3"])
    twin = SCMDataModule(**kwargs)  # type: ignore[arg-type]
    other = SCMDataModule(**{**kwargs, "seed": 5})  # type: ignore[arg-type]
    for name in ("train_tensors", "val_tensors", "test_tensors", "test_noise"):
        for v in dm.graph.nodes:
            assert torch.equal(getattr(dm, name)[v], getattr(twin, name)[v])
    assert not torch.equal(dm.train_tensors["x3"], other.train_tensors["x3"])
    assert dm.hparams["scm"] == "triangle" and dm.hparams["batch_size"] == 256
    with pytest.raises(ValueError, match="n_train"):
        SCMDataModule(n_train=0)
