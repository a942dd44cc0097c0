"""Every command answers a bad input with one line on stderr that names the offending thing, and exit 2.

Table-driven, over the real console script (subprocesses, as a user runs it) and the Python API.
New commands join the table. Each row: the arguments, and words the one line must contain.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_causal import CausalGraph, ConfigError, QueryError, compile_plan
from lightning_causal.data.loaders import tensor_loader
from lightning_causal.files import atomic_write
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import DCM
from lightning_causal.scm import DiscreteSCM
from lightning_causal.variables import VariableSpec
from tests.checks import run_cli

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "configs/dcm/triangle_na.yaml")
TABULAR = str(ROOT / "configs/dcm/tabular.yaml")
IDGEN_CONFIG = str(ROOT / "configs/idgen/tabular.yaml")
DDP_CPU = ("--trainer.devices=2", "--trainer.accelerator=cpu", "--trainer.strategy=ddp")
AB_QUERY = ("--model.init_args.treatment=a", "--model.init_args.outcome=b", "--model.init_args.condition=null")
IDGEN_DATA = (
    f"--data.data={ROOT / 'configs/tabular/confounded.csv'}",
    f"--data.graph={ROOT / 'configs/tabular/confounded.yaml'}",
)
SMOKING = (
    f"--data.data={ROOT / 'configs/tabular/smoking.csv'}",
    f"--data.graph={ROOT / 'configs/tabular/smoking.yaml'}",
)
GRAPH = CausalGraph(directed=[("x1", "x2"), ("x2", "x3"), ("x1", "x3")])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, cpu_trainer: Callable[..., L.Trainer]) -> dict[str, str]:
    """A tiny trained checkpoint and the bad files the table refers to."""
    root = tmp_path_factory.mktemp("bad")
    specs = {v: VariableSpec(v, mean=(0.0,), std=(1.0,)) for v in GRAPH.nodes}
    model = DCM(GRAPH, specs, MechanismConfig(hidden=8, timesteps=10))
    g = torch.Generator().manual_seed(0)
    data = {v: torch.randn(64, 1, generator=g) for v in GRAPH.nodes}
    trainer = cpu_trainer(max_steps=3)
    trainer.fit(model, tensor_loader(data, 16, 0))
    trainer.save_checkpoint(root / "good.ckpt")
    (root / "text.ckpt").write_text("not a checkpoint\n")
    (root / "latin1.yaml").write_bytes("directed: [caf\xe9 -> b]\n".encode("latin-1"))
    (root / "graph.yaml").write_text("directed: [x1 -> x2, x2 -> x3, x1 -> x3]\n")
    (root / "confounded.yaml").write_text("directed: [a -> b]\nbidirected: [a <-> b]\n")
    (root / "ab.csv").write_text("a,b\n" + "".join(f"{k / 7:.3f},{k / 5:.3f}\n" for k in range(12)))
    (root / "nan.csv").write_text("x1,x2,x3\n0.1,0.2,0.3\n0.4,nan,0.6\n")
    (root / "huge.csv").write_text("x1,x2,x3\n0.1,0.2,0.3\n0.4,1e39,0.6\n" + "0.2,0.1,0.5\n" * 5)
    (root / "binary.yaml").write_text("directed: [a -> b]\nvariables:\n  b: binary\n")
    (root / "binary.csv").write_text("a,b\n0.5,1\n0.1,2\n0.3,0\n")
    (root / "codes.yaml").write_text("directed: [a -> b]\nvariables:\n  b: categorical\n")
    (root / "codes.csv").write_text("a,b\n0.5,1\n0.1,1000000\n0.3,0\n")
    (root / "gzip.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (root / "adir").mkdir()
    _tiny_idgen(root / "idgen")
    return {
        k: str(root / v)
        for k, v in {
            "ckpt": "good.ckpt",
            "text_ckpt": "text.ckpt",
            "latin1": "latin1.yaml",
            "graph": "graph.yaml",
            "confounded": "confounded.yaml",
            "ab": "ab.csv",
            "nan": "nan.csv",
            "huge": "huge.csv",
            "binary_graph": "binary.yaml",
            "binary": "binary.csv",
            "codes_graph": "codes.yaml",
            "codes": "codes.csv",
            "gzip": "gzip.csv.gz",
            "dir": "adir",
            "idgen": "idgen/idgen.ckpt",
            "root": "",
        }.items()
    }


def _tiny_idgen(folder: Path) -> None:
    """A conditional query P(Y | do(X), Z) trained for two steps per stage."""
    from lightning_causal.datamodules import LatentSCMDataModule
    from lightning_causal.models import IDGEN
    from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
    from lightning_causal.variables.spec import variables_to_dict

    dm = LatentSCMDataModule("conditional", n_train=64, n_val=0, batch_size=16)
    model = IDGEN(dm.graph, variables_to_dict(dm.variables), "X", "Y", "Z", mechanisms={"hidden": 8, "timesteps": 10})
    fit_idgen(model, dm, folder, stage_trainer_factory(2, progress=False, accelerator="cpu"), progress=False)


LATE = "<late>"  # a failure found while the Trainer runs, after Lightning's own notes on stderr
SHORT = ("--trainer.max_steps=2", "--trainer.enable_progress_bar=false")
CASES = [
    # identify
    (["identify", "--graph", "missing.yaml", "-x", "X", "-y", "Y"], ["missing.yaml"]),
    (["identify", "--graph", "{latin1}", "-x", "a", "-y", "b"], ["latin1.yaml", "UTF-8"]),
    (["identify", "--graph", "napkin", "-x", "Q", "-y", "Y"], ["'Q'"]),
    (["identify", "--graph", "napkin", "-x", "X", "-y", "Y", "--draw", "{root}g.txt"], ["--draw", "g.txt"]),
    (["identify", "--graph", "napkin", "-x", "X", "-y", "Y", "--plan-out", "{dir}"], ["--plan-out", "folder"]),
    (["identify", "--graph", "napkin", "-x", "X", "-y", "Y", "--frobnicate"], ["--frobnicate"]),
    (["nonsense"], ["nonsense"]),
    # sample and counterfactual
    (["sample", "--ckpt", "{text_ckpt}", "--out", "{root}s.csv"], ["text.ckpt"]),
    (["sample", "--ckpt", "{root}none.ckpt", "--out", "{root}s.csv"], ["none.ckpt", "does not exist"]),
    (["sample", "--ckpt", "{ckpt}", "--n", "-3", "--out", "{root}s.csv"], ["--n", "-3"]),
    (["sample", "--ckpt", "{ckpt}", "--steps", "-3", "--out", "{root}s.csv"], ["--steps", "-3"]),
    (["sample", "--ckpt", "{ckpt}", "--do", "x1=nan", "--out", "{root}s.csv"], ["x1", "finite"]),
    (["sample", "--ckpt", "{ckpt}", "--do", "zz=1", "--out", "{root}s.csv"], ["'zz'"]),
    (["sample", "--ckpt", "{ckpt}", "--out", "{root}s.txt"], ["--out", "s.txt"]),
    (["sample", "--ckpt", "{ckpt}", "--out", "{dir}"], ["--out", "folder"]),
    (["sample", "--ckpt", "{ckpt}", "--n", "many", "--out", "{root}s.csv"], ["--n", "many"]),
    (
        ["counterfactual", "--ckpt", "{ckpt}", "--do", "x1=1", "--factual", "{root}no.csv", "--out", "{root}c.csv"],
        ["no.csv"],
    ),
    (["counterfactual", "--ckpt", "{ckpt}", "--factual", "{nan}", "--out", "{root}c.csv"], ["--do"]),
    (["sample", "--ckpt", "{dir}", "--out", "{root}s.csv"], ["adir", "folder"]),
    (["sample", "--ckpt", "{ckpt}", "--n", "10000000000", "--out", "{root}s.csv"], ["--n", "10,000,000,000", "limit"]),
    # effects
    (["effects", "--ckpt", "{text_ckpt}", "--rows", "{nan}", "--do", "x1=1", "--out", "{root}e.csv"], ["text.ckpt"]),
    (["effects", "--ckpt", "{ckpt}", "--rows", "{root}no.csv", "--do", "x1=1", "--out", "{root}e.csv"], ["no.csv"]),
    (["effects", "--ckpt", "{ckpt}", "--rows", "{nan}", "--do", "zz=1", "--out", "{root}e.csv"], ["'zz'"]),
    (["effects", "--ckpt", "{ckpt}", "--rows", "{nan}", "--do", "x1=1", "--n", "-3", "--out", "{root}e.csv"], ["--n"]),
    (["effects", "--ckpt", "{ckpt}", "--rows", "{nan}", "--do", "x1=1", "--out", "{root}e.txt"], ["--out", "e.txt"]),
    (["effects", "--ckpt", "{ckpt}", "--rows", "{ab}", "--do", "x2=1", "--out", "{root}e.csv"], ["'x1'"]),
    (["effects", "--ckpt", "{ckpt}", "--rows", "{nan}", "--out", "{root}e.csv"], ["--do"]),
    # fit: the parser, the settings, the data, the model
    (["fit", "--config", "{root}missing.yaml"], ["missing.yaml"]),
    (["fit", "--config", CONFIG, "--trainer.max_stepz=3"], ["max_stepz"]),
    (["fit", "--config", CONFIG, "--trainer.max_steps=-5"], ["trainer.max_steps", "-5"]),
    (["fit", "--config", CONFIG, "--trainer.max_steps=many"], ["max_steps"]),
    (["fit", "--config", CONFIG, "--data.batch_size=0"], ["batch_size", "0"]),
    (["fit", "--config", CONFIG, "--model.optimizer.init_args.lr=-1"], ["lr", "-1"]),
    (["fit", "--config", CONFIG, "--model.mechanisms.hidden=0"], ["mechanisms.hidden", "0"]),
    (["fit", "--config", CONFIG, "--data.scm=pentagon", "--data.n_train=200", *SHORT], ["pentagon"]),
    (["fit", "--config", CONFIG, "--seed_everything=abc"], ["seed_everything"]),
    (["fit", "--config", CONFIG, "--trainer.devices=0", *SHORT, "--data.n_train=100"], ["devices"]),
    # found once the Trainer runs: Lightning's own notes come first, the error is the last line
    (["validate", "--config", CONFIG, "--data.n_train=100", "--data.n_val=20"], ["x1", "train the model first", LATE]),
    (["identify", "--graph", "{dir}", "-x", "X", "-y", "Y"], ["adir", "folder"]),
    (["fit", "--config", TABULAR, "--data.data={nan}", "--data.graph={graph}", *SHORT], ["nan.csv", "x2", "row 2"]),
    (["fit", "--config", TABULAR, "--data.data={huge}", "--data.graph={graph}", *SHORT], ["huge.csv", "float32"]),
    (["fit", "--config", TABULAR, "--data.data={binary}", "--data.graph={binary_graph}", *SHORT], ["binary", "'b'"]),
    (["fit", "--config", TABULAR, "--data.data={codes}", "--data.graph={codes_graph}", *SHORT], ["'b'", "limit"]),
    (["fit", "--config", TABULAR, "--data.data={gzip}", "--data.graph={graph}", *SHORT], ["gzip.csv.gz"]),
    (["fit", "--config", TABULAR, "--data.data={ab}", "--data.graph={confounded}", *SHORT], ["a <-> b"]),
    (["fit", "--config", CONFIG, "--ckpt_path={root}none.ckpt"], ["ckpt_path", "none.ckpt"]),
    (["fit", "--config", CONFIG, "--ckpt_path={text_ckpt}"], ["ckpt_path", "text.ckpt"]),
    (["fit", "--config", TABULAR, *SMOKING, "--ckpt_path={ckpt}"], ["ckpt_path", "good.ckpt", "x1, x2, x3", "age"]),
    (["fit", "--config", CONFIG, "--ckpt_path={ckpt}"], ["ckpt_path", "good.ckpt", "hidden 8 (here 64)"]),
    # ID-GEN: the query, the run folder, the sampling of a conditional query
    (["fit", "--config", IDGEN_CONFIG, *IDGEN_DATA, "--model.init_args.treatment=Q"], ["'Q'", "treatment"]),
    (
        ["fit", "--config", IDGEN_CONFIG, "--data.data={ab}", "--data.graph={confounded}", *SHORT, *AB_QUERY],
        ["not identifiable", "hedge"],
    ),
    (["fit", "--config", IDGEN_CONFIG, *IDGEN_DATA, "--model.init_args.generated_size=0"], ["generated_size", "0"]),
    (
        ["fit", "--config", IDGEN_CONFIG, *IDGEN_DATA, "--model.init_args.generation_guidance=-1"],
        ["generation_guidance", "-1", ">= 0"],
    ),
    (["fit", "--config", IDGEN_CONFIG, *IDGEN_DATA, "--trainer.default_root_dir={nan}"], ["nan.csv", "file"]),
    (["fit", "--config", IDGEN_CONFIG, *IDGEN_DATA, "--ckpt_path={idgen}"], ["run folder", "--ckpt_path"]),
    (["fit", "--config", IDGEN_CONFIG, *IDGEN_DATA, *DDP_CPU], ["2 processes", "srun", "trainer.devices=1", LATE]),
    (["validate", "--config", IDGEN_CONFIG, *IDGEN_DATA], ["validate", "ID-GEN", "lightning-causal sample", LATE]),
    (["sample", "--ckpt", "{idgen}", "--do", "X=1", "--out", "{root}s.csv"], ["--given", "Z"]),
    (["sample", "--ckpt", "{idgen}", "--given", "Z=1", "--out", "{root}s.csv"], ["--do", "X"]),
    (["sample", "--ckpt", "{idgen}", "--do", "X=1", "--given", "Z=7", "--out", "{root}s.csv"], ["Z", "0..1"]),
    (["sample", "--ckpt", "{idgen}", "--shift", "X=1", "--given", "Z=1", "--out", "{root}s.csv"], ["--shift"]),
    (["sample", "--ckpt", "{ckpt}", "--do", "x1=1", "--given", "x2=1", "--out", "{root}s.csv"], ["--given", "ID-GEN"]),
    (
        ["counterfactual", "--ckpt", "{idgen}", "--do", "X=1", "--factual", "{nan}", "--out", "{root}c.csv"],
        ["ID-GEN", "counterfactual"],
    ),
    # demo
    (["demo", "--steps", "-3"], ["--steps", "-3"]),
    (["demo", "--out", "{nan}"], ["--out", "nan.csv"]),
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=[" ".join(c[0][:2]) + f" #{i}" for i, c in enumerate(CASES)])
def test_bad_input_is_one_line_naming_it(case: int, files: dict[str, str]) -> None:
    args, words = CASES[case]
    result = run_cli(*[a.format(**files) for a in args], cwd=Path(files["dir"]))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr[-2000:]}"
    if LATE in words:
        lines, words = lines[-1:], [w for w in words if w != LATE]
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    for word in words:
        assert word.format(**files) in lines[0], lines[0]


def test_debug_shows_the_traceback(files: dict[str, str]) -> None:
    result = run_cli("sample", "--ckpt", files["text_ckpt"], "--out", files["root"] + "s.csv", "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr
    env_result = run_cli("identify", "--graph", "missing.yaml", "-x", "X", "-y", "Y")
    assert "Traceback" not in env_result.stderr


def test_python_api_refuses_bad_values_with_the_project_errors(files: dict[str, str]) -> None:
    model = DCM.load_from_checkpoint(files["ckpt"])
    with pytest.raises(QueryError, match=r"number of samples must be a whole number >= 1, got -1"):
        model.sample(-1)
    with pytest.raises(QueryError, match="x1 holds NaN"):
        model.sample(5, {"x1": float("nan")})
    factual = {v: torch.zeros(3, 1) for v in GRAPH.nodes}
    factual["x2"][1] = float("inf")
    with pytest.raises(QueryError, match="factual 'x2' holds NaN or infinite"):
        model.counterfactual(factual, {"x1": 1.0})
    untrained = DCM(GRAPH, {v: VariableSpec(v) for v in GRAPH.nodes}, MechanismConfig(hidden=4))
    with pytest.raises(QueryError, match="root 'x1' has no training rows"):
        untrained.sample(3)
    scm = DiscreteSCM.random(CausalGraph(directed=[("X", "Y")], bidirected=[("Z", "Y")]), seed=0)
    network = compile_plan(scm.graph, "X", "Y").fit(scm.sample(100, seed=0))
    with pytest.raises(QueryError, match="got -2"):
        network.sample(-2, {"X": 0})
    with pytest.raises(QueryError, match="1,000,000"):
        compile_plan(scm.graph, "X", "Y").fit({"X": [0, 1000000], "Y": [0, 1], "Z": [0, 0]})
    with pytest.raises(ConfigError, match=r"mechanisms\.depth is 0"):
        MechanismConfig(depth=0)


def test_exact_tables_refuse_absurd_sizes_before_allocating() -> None:
    graph = CausalGraph(directed=[("A", "Y"), ("B", "Y"), ("X", "Y")])
    plan = compile_plan(graph, "X", "Y")
    data = {"A": [0, 9000], "B": [0, 9000], "X": [0, 1], "Y": [0, 1]}
    with pytest.raises(QueryError, match="entries"):
        plan.fit(data)


def test_outputs_keep_the_permissions_a_normal_write_gives(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        fresh = atomic_write(tmp_path / "new.txt", "a")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        (tmp_path / "shared.txt").write_text("x")
        os.chmod(tmp_path / "shared.txt", 0o664)
        assert stat.S_IMODE(atomic_write(tmp_path / "shared.txt", "y").stat().st_mode) == 0o664
    finally:
        os.umask(old)
