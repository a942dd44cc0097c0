"""The datasets a trained ID-GEN stage generates for the next one, written as webdataset shards, one seed per shard.

Checks ``lightning_causal.models.idgen.generation`` on an untrained tiny front-door model (X -> Z -> Y,
X <-> Y) with learned marginals (``marginals="learn"``, ID-GEN as published), whose dataset D1 copies Z
from rows of D0 and draws X (resampled rows) and Y (a diffusion model): the shards and the manifest it
writes (read back with ``tarfile``), that a finished dataset is read and not generated again, that the
shards an interrupted run finished are kept and the rows are those of an uninterrupted run, that the rows
follow the model's seed, and how ``wait_for_dataset`` gives up.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor

from lightning_causal.data.shards import write_shard
from lightning_causal.errors import DataError
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import generate_dataset
from lightning_causal.models.idgen.generation import shard_seed, wait_for_dataset
from lightning_causal.plan.parts import Dataset

ROWS, SHARD_ROWS = 25, 10  # shards of 10, 10 and 5 rows
CPU = torch.device("cpu")


def _source(n: int = 40) -> dict[str, Tensor]:
    """Observed rows whose values name their row: X = i, Z = 100 + i, Y = 200 + i."""
    i = torch.arange(n, dtype=torch.float32)[:, None]
    return {"X": i, "Z": 100 + i, "Y": 200 + i}


def _frontdoor(tiny_mechanisms: dict[str, Any], **settings: Any) -> IDGEN:
    """The front-door model whose P(Y | Z) of D1 is a learned factor, so D1 is generated."""
    graph = NAMED_GRAPHS["frontdoor"].graph
    return IDGEN(graph, treatment="X", outcome="Y", mechanisms=tiny_mechanisms, marginals="learn", **settings)


def _model(tiny_mechanisms: dict[str, Any], seed: int = 0) -> IDGEN:
    model = _frontdoor(tiny_mechanisms, seed=seed)
    model.keep_rows("D0", _source(), seed=0)  # what stage 0 keeps for the resampled P(X)
    return model


def _d1(model: IDGEN) -> Dataset:
    (dataset,) = [d for d in model.plan.datasets if d.name == "D1"]
    return dataset


def _generate(model: IDGEN, folder: Path, rows: int = ROWS, source: dict[str, Tensor] | None = None) -> dict[str, Any]:
    return generate_dataset(model, _d1(model), source or _source(), folder, rows, SHARD_ROWS, CPU, progress=False)


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_shard_seeds_are_deterministic_and_differ_by_seed_dataset_and_shard() -> None:
    seeds = {shard_seed(0, "D1", k) for k in range(200)}
    assert len(seeds) == 200 and all(0 <= s < 2**63 for s in seeds)  # a valid torch seed for every shard
    assert shard_seed(0, "D1", 3) == shard_seed(0, "D1", 3)
    assert shard_seed(0, "D1", 3) != shard_seed(0, "D2", 3)
    assert shard_seed(0, "D1", 3) != shard_seed(1, "D1", 3)
    assert shard_seed(0, "D1", 3) not in {shard_seed(0, "D2", k) for k in range(200)}


def test_a_dataset_is_written_as_shards_with_a_manifest(tiny_mechanisms: dict[str, Any], tmp_path: Path) -> None:
    folder = tmp_path / "data" / "D1"  # made with its parents
    rows = _generate(_model(tiny_mechanisms), folder)
    assert list(rows) == ["Z", "X", "Y"] and all(v.shape == (ROWS, 1) for v in rows.values())
    source = _source()
    assert set(rows["Z"].flatten().tolist()) <= set(source["Z"].flatten().tolist())  # copied from rows of D0
    assert set(rows["X"].flatten().tolist()) <= set(source["X"].flatten().tolist())  # resampled kept rows
    assert torch.isfinite(rows["Y"]).all()  # drawn by the (untrained) diffusion model

    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "shard-000000.tar",
        "shard-000001.tar",
        "shard-000002.tar",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"] == ROWS and manifest["dataset"] == "D1"
    assert manifest["shards"] == [
        {"file": "shard-000000.tar", "rows": 10},
        {"file": "shard-000001.tar", "rows": 10},
        {"file": "shard-000002.tar", "rows": 5},
    ]
    assert set(manifest["columns"]) == {"Z", "X", "Y"}
    # webdataset samples: one member per row and column, keyed by the row number
    with tarfile.open(folder / "shard-000001.tar") as tar:
        names = tar.getnames()
    assert sorted(names) == sorted(f"{row:09d}.{v}.npy" for row in range(10, 20) for v in ("Z", "X", "Y"))


def test_a_finished_dataset_is_read_instead_of_generated_again(tiny_mechanisms: dict[str, Any], tmp_path: Path) -> None:
    model = _model(tiny_mechanisms)
    first = _generate(model, tmp_path)
    files = _files(tmp_path)
    other_source = {v: -t for v, t in _source(7).items()}
    again = _generate(model, tmp_path, rows=7, source=other_source)  # other rows and size: still the finished one
    assert _files(tmp_path) == files
    assert all(torch.equal(again[v], first[v]) for v in first) and len(again["Y"]) == ROWS


def test_an_interrupted_dataset_keeps_its_finished_shards_and_ends_as_an_uninterrupted_one(
    tiny_mechanisms: dict[str, Any], tmp_path: Path
) -> None:
    model = _model(tiny_mechanisms)
    first = _generate(model, tmp_path)
    files = _files(tmp_path)
    (tmp_path / "manifest.json").unlink()  # the run stopped after shards 0 and 2
    (tmp_path / "shard-000001.tar").unlink()
    again = _generate(model, tmp_path)
    now = _files(tmp_path)
    for kept in ("shard-000000.tar", "shard-000002.tar"):
        assert now[kept] == files[kept]  # not rewritten: the same bytes and time
    assert now["shard-000001.tar"][0] == files["shard-000001.tar"][0]  # redrawn from its own seed, identically
    assert json.loads(now["manifest.json"][0]) == json.loads(files["manifest.json"][0])
    for v in first:
        assert torch.equal(again[v], first[v]), v


def test_a_kept_shard_is_read_back_not_drawn_again(tiny_mechanisms: dict[str, Any], tmp_path: Path) -> None:
    model = _model(tiny_mechanisms)
    first = _generate(model, tmp_path)
    (tmp_path / "manifest.json").unlink()
    # shard 0 as an earlier run left it (values no draw of this model gives): it must come back as it is
    marker = {v: torch.full((SHARD_ROWS, 1), -7.0 - k) for k, v in enumerate(("Z", "X", "Y"))}
    write_shard(tmp_path / "shard-000000.tar", marker, model.variables, 0)
    again = _generate(model, tmp_path)
    for v in first:
        assert torch.equal(again[v][:SHARD_ROWS], marker[v]), v
        assert torch.equal(again[v][SHARD_ROWS:], first[v][SHARD_ROWS:]), v


def test_the_rows_follow_the_models_seed(tiny_mechanisms: dict[str, Any], tmp_path: Path) -> None:
    same = _generate(_model(tiny_mechanisms, seed=0), tmp_path / "a")
    repeat = _generate(_model(tiny_mechanisms, seed=0), tmp_path / "b")
    other = _generate(_model(tiny_mechanisms, seed=1), tmp_path / "c")
    assert all(torch.equal(same[v], repeat[v]) for v in same)
    assert (tmp_path / "a" / "shard-000000.tar").read_bytes() == (tmp_path / "b" / "shard-000000.tar").read_bytes()
    assert not torch.equal(same["Z"], other["Z"])  # other shard seeds pick other rows to copy


def test_generation_leaves_the_models_mode_as_it_was(tiny_mechanisms: dict[str, Any], tmp_path: Path) -> None:
    model = _model(tiny_mechanisms)
    model.train()
    _generate(model, tmp_path / "a")
    assert model.training
    model.eval()
    _generate(model, tmp_path / "b")
    assert not model.training


def test_waiting_for_a_dataset_gives_up_with_one_line_naming_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "D1"
    with pytest.raises(DataError, match=r"waited 0 s for rank 0 to write the manifest of") as err:
        wait_for_dataset(folder, timeout=0.0)
    assert str(folder) in str(err.value) and "\n" not in str(err.value)


def test_waiting_for_a_finished_dataset_returns_its_rows(tiny_mechanisms: dict[str, Any], tmp_path: Path) -> None:
    rows = _generate(_model(tiny_mechanisms), tmp_path)
    waited = wait_for_dataset(tmp_path, timeout=0.0)
    assert set(waited) == set(rows) and all(torch.equal(waited[v], rows[v]) for v in rows)


def test_a_generated_dataset_of_numbers_has_five_rows_per_source_row_unless_its_size_is_given(
    tiny_mechanisms: dict[str, Any],
) -> None:
    from lightning_causal.models.idgen.generation import GENERATED_ROWS, generated_rows
    from lightning_causal.variables.spec import VariableSpec

    model = _model(tiny_mechanisms)
    assert GENERATED_ROWS == 5 and generated_rows(model, _d1(model), 300) == 1500
    sized = _frontdoor(tiny_mechanisms, generated_size=70)
    assert generated_rows(sized, _d1(sized), 300) == 70  # a given size wins
    image = {"Y": VariableSpec("Y", "image", channels=3, height=8, width=8)}
    drawn = _frontdoor(tiny_mechanisms, variables=image)
    assert generated_rows(drawn, _d1(drawn), 300) == 300  # images are slow to draw: as many as the source
