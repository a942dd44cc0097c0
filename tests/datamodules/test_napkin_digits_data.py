"""NapkinDigitsDataModule: seeded splits of images, attribute codes kept aside, batches, exact truth, bad arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lightning_causal.datamodules import NapkinDigitsDataModule
from lightning_causal.errors import DataError, QueryError
from lightning_causal.scm.napkin_digits import ATTRIBUTES, MNIST_FILES
from tests.toys import synthetic_strokes, write_idx

OBSERVED = ["W1", "W2", "X", "Y"]
CODES = {f"{v}_{a}" for v in ("W1", "X", "Y") for a in ATTRIBUTES}


@pytest.fixture(scope="module")
def mnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny MNIST folder (gzipped IDX files), so the tests need no scikit-learn."""
    folder = tmp_path_factory.mktemp("mnist")
    images, labels = synthetic_strokes(per_digit=4, side=10, seed=2)
    write_idx(folder / f"{MNIST_FILES[0]}.gz", images)
    write_idx(folder / f"{MNIST_FILES[1]}.gz", labels.to(torch.uint8))
    return folder


def test_splits_variables_and_attributes(mnist: Path) -> None:
    dm = NapkinDigitsDataModule(size=16, n_train=100, n_val=20, batch_size=32, seed=1, strokes=mnist)
    assert dm.graph is dm.scm.graph and list(dm.graph.nodes) == OBSERVED == list(dm.variables)
    assert {frozenset(e) for e in dm.graph.bidirected} == {frozenset({"W1", "X"}), frozenset({"W1", "Y"})}
    assert dm.variables == dm.scm.variables and dm.variables["W2"].classes == 20
    for tensors, attributes, rows in (
        (dm.train_tensors, dm.train_attributes, 100),
        (dm.val_tensors, dm.val_attributes, 20),
    ):
        assert list(tensors) == OBSERVED and set(attributes) == CODES
        for v in ("W1", "X", "Y"):
            assert tensors[v].shape == (rows, 3, 16, 16) and tensors[v].dtype == torch.uint8
            assert dm.variables[v].image_shape == (3, 16, 16)
        assert tensors["W2"].shape == (rows,) and tensors["W2"].dtype == torch.int64
        assert all(t.shape == (rows,) and t.dtype == torch.int64 for t in attributes.values())
        # the codes are row-aligned with the tensors
        assert torch.equal(tensors["W2"], 2 * attributes["X_digit"] + attributes["X_colour"] // 3)
    assert not torch.equal(dm.train_tensors["X"][:20], dm.val_tensors["X"])
    stream = torch.Generator().manual_seed(1)  # train, then validation, from one stream
    first, second = dm.scm.sample(100, stream), dm.scm.sample(20, stream)
    assert all(torch.equal(first[v], dm.train_tensors[v]) for v in OBSERVED)
    assert all(torch.equal(second[v], dm.val_tensors[v]) for v in OBSERVED)
    assert dm.hparams["size"] == 16 and dm.hparams["batch_size"] == 32 and dm.hparams["noise"] == 0.1


def test_batches_cover_the_train_set_once_in_a_seeded_order(mnist: Path) -> None:
    dm = NapkinDigitsDataModule(size=8, n_train=100, n_val=10, batch_size=32, seed=3, strokes=str(mnist))
    batches = list(dm.train_dataloader())
    assert [len(b["W2"]) for b in batches] == [32, 32, 32, 4]
    assert all(sorted(b) == OBSERVED and b["Y"].shape[1:] == (3, 8, 8) for b in batches)
    seen = {v: torch.cat([b[v] for b in batches]) for v in OBSERVED}
    weights = torch.arange(1, 3 * 8 * 8 + 1) ** 2  # a row fingerprint
    key = torch.stack([seen["W1"].flatten(1).long() @ weights, seen["W2"]], 1)
    truth = torch.stack([dm.train_tensors["W1"].flatten(1).long() @ weights, dm.train_tensors["W2"]], 1)
    assert sorted(key.tolist()) == sorted(truth.tolist())  # every row once
    assert not torch.equal(seen["W2"], dm.train_tensors["W2"])  # shuffled
    again = torch.cat([b["X"] for b in dm.train_dataloader()])
    assert torch.equal(again, seen["X"])
    val = {v: torch.cat([b[v] for b in dm.val_dataloader()]) for v in OBSERVED}
    assert all(torch.equal(val[v], dm.val_tensors[v]) for v in OBSERVED)


def test_seeds_reproduce_and_truth_delegates(mnist: Path) -> None:
    dm = NapkinDigitsDataModule(size=16, n_train=30, n_val=5, seed=4, noise=0.2, strokes=mnist)
    twin = NapkinDigitsDataModule(size=16, n_train=30, n_val=5, seed=4, noise=0.2, strokes=mnist)
    other = NapkinDigitsDataModule(size=16, n_train=30, n_val=5, seed=5, noise=0.2, strokes=mnist)
    assert all(torch.equal(dm.train_tensors[v], twin.train_tensors[v]) for v in OBSERVED)
    assert all(torch.equal(dm.val_attributes[k], twin.val_attributes[k]) for k in CODES)
    assert not torch.equal(dm.train_tensors["Y"], other.train_tensors["Y"])
    assert dm.scm.noise == 0.2
    draws = dm.interventional_samples(50, 6, 1, 0, seed=7)
    assert bool((draws["Y_digit"] == 6).all() and (draws["Y_thickness"] == 0).all())
    assert torch.equal(draws["Y"], dm.scm.interventional(50, 6, 1, 0, torch.Generator().manual_seed(7))["Y"])
    with pytest.raises(QueryError, match="digit"):
        dm.interventional_samples(5, 11, 0, 0)


def test_default_strokes_are_scikit_learns() -> None:
    pytest.importorskip("sklearn")
    dm = NapkinDigitsDataModule(n_train=8, n_val=2)
    assert dm.train_tensors["X"].shape == (8, 3, 16, 16) and dm.batch_size == 256 and dm.seed == 0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"size": 7}, "size must be an even int in 8..128"),
        ({"size": 130}, "size must be an even int in 8..128"),
        ({"size": 17}, "size must be an even int in 8..128"),
        ({"n_train": 0}, "n_train must be an int >= 1"),
        ({"n_val": 0}, "n_val must be an int >= 1"),
        ({"batch_size": 2.5}, "batch_size must be an int >= 1"),
        ({"num_workers": True}, "num_workers must be an int >= 0"),
        ({"seed": "0"}, "seed must be an int"),
        ({"noise": 1.0}, "noise must be a number with 0 <= noise < 1"),
        ({"noise": -0.1}, "noise must be a number with 0 <= noise < 1"),
        ({"strokes": 3}, "strokes must be 'sklearn' or a MNIST folder"),
        ({"strokes": "/nonexistent/mnist"}, "/nonexistent/mnist is not a folder holding train-images-idx3-ubyte"),
    ],
)
def test_bad_arguments_give_one_line_errors(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(DataError, match=words) as err:
        NapkinDigitsDataModule(**({"n_train": 4, "n_val": 2} | kwargs))  # type: ignore[arg-type]
    assert "\n" not in str(err.value)
