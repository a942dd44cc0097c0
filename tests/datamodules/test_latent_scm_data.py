"""LatentSCMDataModule: seeded splits, train-split statistics, mixed-type batches, exact truth, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightning_causal.datamodules import LatentSCMDataModule
from lightning_causal.errors import DataError, QueryError


def test_splits_statistics_and_graph() -> None:
    dm = LatentSCMDataModule(scm="napkin_mixed", n_train=400, n_val=90, batch_size=64, seed=1)
    assert dm.graph is dm.scm.graph and set(dm.graph.bidirected) == {("W1", "X"), ("W1", "Y")}
    assert list(dm.variables) == ["W1", "W2", "X", "Y"] == list(dm.graph.nodes)
    for tensors, rows in ((dm.train_tensors, 400), (dm.val_tensors, 90)):
        assert tensors["W1"].shape == (rows, 1) and tensors["W1"].dtype == torch.float32
        assert tensors["W2"].shape == (rows,) and tensors["W2"].dtype == torch.int64
        assert tensors["X"].shape == (rows,) and tensors["X"].dtype == torch.int64
    assert not torch.equal(dm.train_tensors["W1"][:90], dm.val_tensors["W1"])
    for v in ("W1", "Y"):  # statistics of the training split only, population std
        spec = dm.variables[v]
        x = dm.train_tensors[v].numpy().astype(np.float64)
        assert spec.kind == "continuous" and spec.mean is not None and spec.std is not None
        np.testing.assert_allclose(spec.mean, x.mean(axis=0), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(spec.std, x.std(axis=0, ddof=0), rtol=1e-6)
        assert spec.low == (float(x.min()),) and spec.high == (float(x.max()),)
    assert dm.variables["W2"] == dm.scm.variables["W2"] and dm.variables["W2"].classes == 3
    assert dm.variables["X"].kind == "binary" and dm.variables["X"].mean is None


def test_batches_cover_the_train_set_once_in_a_seeded_order() -> None:
    dm = LatentSCMDataModule(scm="conditional", n_train=250, n_val=30, batch_size=64, seed=3)
    batches = list(dm.train_dataloader())
    assert [len(b["Y"]) for b in batches] == [64, 64, 64, 58]
    assert all(set(b) == {"X", "M", "Y", "Z"} and b["Z"].dtype == torch.int64 for b in batches)
    seen = {v: torch.cat([b[v] for b in batches]) for v in batches[0]}
    assert not torch.equal(seen["Y"], dm.train_tensors["Y"])  # shuffled
    order, truth = seen["Y"][:, 0].argsort(), dm.train_tensors["Y"][:, 0].argsort()
    for v in seen:  # rows stay whole
        assert torch.equal(seen[v][order], dm.train_tensors[v][truth])
    again = torch.cat([b["Y"] for b in dm.train_dataloader()])
    assert torch.equal(again, seen["Y"])
    val = {v: torch.cat([b[v] for b in dm.val_dataloader()]) for v in dm.val_tensors}
    assert all(torch.equal(val[v], dm.val_tensors[v]) for v in val)


def test_exact_truth_delegates_to_the_scm_and_seeds_reproduce() -> None:
    dm = LatentSCMDataModule(scm="conditional", n_train=100, n_val=20, seed=4)
    draws = dm.interventional_samples(300, {"X": 0.5}, seed=7)
    assert torch.equal(draws["X"], torch.full((300, 1), 0.5))
    assert torch.equal(draws["Y"], dm.scm.sample(300, {"X": 0.5}, seed=7)["Y"])
    rows = dm.conditional_samples(200, {"X": 0.5}, {"Z": 0}, seed=8)
    assert torch.equal(rows["Z"], torch.zeros(200, dtype=torch.int64))
    assert torch.equal(rows["Y"], dm.scm.conditional(200, {"X": 0.5}, {"Z": 0}, seed=8)["Y"])
    twin = LatentSCMDataModule(scm="conditional", n_train=100, n_val=20, seed=4)
    other = LatentSCMDataModule(scm="conditional", n_train=100, n_val=20, seed=5)
    for v in dm.graph.nodes:
        assert torch.equal(dm.train_tensors[v], twin.train_tensors[v])
        assert torch.equal(dm.val_tensors[v], twin.val_tensors[v])
    assert not torch.equal(dm.train_tensors["Y"], other.train_tensors["Y"])
    # train then val from one stream: the training rows are the first rows of that stream
    stream = dm.scm.sample(100, seed=torch.Generator().manual_seed(4))
    assert torch.equal(stream["Y"], dm.train_tensors["Y"])
    assert dm.hparams["scm"] == "conditional" and dm.hparams["batch_size"] == 256


def test_defaults_and_bad_arguments() -> None:
    dm = LatentSCMDataModule(n_train=50, n_val=0)
    assert dm.scm.name == "frontdoor" and len(dm.val_tensors["Y"]) == 0 and dm.variables["Y"].std is not None
    for kwargs, name in (
        ({"n_train": 0}, "n_train"),
        ({"n_val": -1}, "n_val"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"num_workers": True}, "num_workers"),
        ({"seed": "0"}, "seed"),
    ):
        with pytest.raises(DataError, match=f"LatentSCMDataModule: {name} must be an int"):
            LatentSCMDataModule(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="unknown latent SCM 'ladder'"):
        LatentSCMDataModule(scm="ladder", n_train=10)
    with pytest.raises(QueryError, match="unknown variable 'Q'"):
        dm.interventional_samples(5, {"Q": 1.0})
