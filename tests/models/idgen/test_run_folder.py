"""The run folder of a staged ID-GEN training: its manifest, what is trained and generated, and its resume checks.

Checks ``lightning_causal.models.idgen.run_folder`` on untrained tiny models of the front-door query
(X -> Z -> Y with the latent confounder X <-> Y): a new folder gets ``idgen.json`` and ``plan.json``,
a folder of other settings, a non-empty folder without a run, a damaged manifest and a file are refused
with one line, what is marked trained or generated survives a reopening, only rank 0 writes, and the
fingerprint follows the settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from lightning_causal.errors import ConfigError
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import RunFolder, generate_dataset
from lightning_causal.models.idgen.run_folder import RUN_FORMAT, legacy_fingerprints, run_fingerprint
from lightning_causal.plan import SamplingPlan
from lightning_causal.ranks import global_rank

RANKS = ("RANK", "SLURM_PROCID", "LOCAL_RANK")


@pytest.fixture(autouse=True)
def single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """No launcher variables: this process is rank 0 unless a test says otherwise."""
    for key in RANKS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def make(tiny_mechanisms: dict[str, Any]) -> Any:
    """Builds the front-door model P(Y | do(X)) with tiny mechanisms; keyword arguments change its settings."""

    def build(**settings: Any) -> IDGEN:
        return IDGEN(
            NAMED_GRAPHS["frontdoor"].graph,
            treatment="X",
            outcome="Y",
            mechanisms=settings.pop("mechanisms", tiny_mechanisms),
            **settings,
        )

    return build


def _one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    return message


def test_a_new_folder_gets_the_manifest_and_the_plan(make: Any, tmp_path: Path) -> None:
    model = make()
    root = tmp_path / "runs" / "frontdoor"  # parents are made too
    run = RunFolder(root, model)
    assert sorted(p.name for p in root.iterdir()) == ["idgen.json", "plan.json"]
    state = json.loads((root / "idgen.json").read_text())
    assert state == {
        "format": RUN_FORMAT,
        "query": "P(Y | do(X))",
        "fingerprint": run_fingerprint(model),
        "stages": {},
        "datasets": {},
        "checkpoint": None,
    }
    assert run.state == state and run.writer
    plan = SamplingPlan.load(root / "plan.json")
    assert plan.query == "P(Y | do(X))" and [f.name for f in plan.factors] == ["f0", "f1", "f2"]  # one stage: composed
    assert run.stage_dir(1) == root / "stage1" and run.data_dir("D1") == root / "data" / "D1"


def test_an_empty_existing_folder_is_used(make: Any, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    RunFolder(tmp_path / "run", make())
    assert (tmp_path / "run" / "idgen.json").is_file()


def test_a_folder_of_other_settings_is_refused_naming_both_fingerprints(make: Any, tmp_path: Path) -> None:
    RunFolder(tmp_path, make(seed=0))
    before = (tmp_path / "idgen.json").read_bytes()
    other = make(seed=1)
    with pytest.raises(ConfigError, match="holds a run of other settings") as err:
        RunFolder(tmp_path, other)
    message = _one_line(err)
    written = json.loads(before)["fingerprint"]
    assert f"fingerprint {written}, this run {run_fingerprint(other)}" in message
    assert "P(Y | do(X))" in message and str(tmp_path) in message
    assert (tmp_path / "idgen.json").read_bytes() == before  # the other run's manifest is left as it was


def test_a_non_empty_folder_without_a_run_and_a_file_are_refused(make: Any, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty and holds no ID-GEN run") as err:
        RunFolder(tmp_path / "mine", make())
    assert str(tmp_path / "mine") in _one_line(err)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]

    (tmp_path / "run.txt").write_text("a file")
    with pytest.raises(ConfigError, match=r"run\.txt' is a file; give a folder") as err:
        RunFolder(tmp_path / "run.txt", make())
    _one_line(err)


def test_a_damaged_manifest_is_refused(make: Any, tmp_path: Path) -> None:
    (tmp_path / "idgen.json").write_text('{"fingerprint": ')
    with pytest.raises(ConfigError, match=r"idgen\.json' is damaged; delete the run folder") as err:
        RunFolder(tmp_path, make())
    _one_line(err)


def test_what_is_trained_and_generated_survives_reopening_the_folder(make: Any, tmp_path: Path) -> None:
    run = RunFolder(tmp_path, make())
    assert run.trained(0) is None and run.last_trained(2) is None
    final = tmp_path / "stage0" / "final.ckpt"
    final.parent.mkdir()
    final.write_bytes(b"weights")
    run.mark_trained(0, final, 40)
    run.mark_generated("D1", tmp_path / "data" / "D1")
    assert run.trained(0) == final and run.trained(1) is None and run.last_trained(2) == 0

    again = RunFolder(tmp_path, make())  # the same settings: the run resumes
    assert again.trained(0) == final and again.last_trained(2) == 0 and again.last_trained(1) == 0
    state = json.loads((tmp_path / "idgen.json").read_text())
    assert state["stages"] == {"0": {"checkpoint": "stage0/final.ckpt", "steps": 40}}  # relative to the folder
    assert state["datasets"] == {"D1": "data/D1"}


def test_a_stage_is_trained_only_while_its_checkpoint_exists(make: Any, tmp_path: Path) -> None:
    run = RunFolder(tmp_path, make())
    for stage in (0, 1):
        path = tmp_path / f"stage{stage}" / "final.ckpt"
        path.parent.mkdir()
        path.write_bytes(b"weights")
        run.mark_trained(stage, path, 10)
    assert run.last_trained(2) == 1 and run.last_trained(1) == 0  # only the first `stages` stages count
    (tmp_path / "stage1" / "final.ckpt").unlink()
    assert run.trained(1) is None and run.last_trained(2) == 0
    (tmp_path / "stage0" / "final.ckpt").unlink()
    assert run.last_trained(2) is None


def test_global_rank_reads_the_launchers_variables_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert global_rank() == 0
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert global_rank() == 1
    monkeypatch.setenv("SLURM_PROCID", "5")
    assert global_rank() == 5  # SLURM's global rank before the node-local one
    monkeypatch.setenv("RANK", "3")
    assert global_rank() == 3  # torchrun's global rank first
    monkeypatch.setenv("RANK", "")
    assert global_rank() == 5  # an empty or non-numeric value is skipped
    monkeypatch.setenv("SLURM_PROCID", "x")
    assert global_rank() == 1


def test_only_rank_0_writes_the_run_folder(make: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    run = RunFolder(tmp_path / "run", make())
    assert not run.writer and not (tmp_path / "run").exists()
    run.mark_generated("D1", tmp_path / "run" / "data" / "D1")
    assert not (tmp_path / "run").exists() and run.state["datasets"] == {"D1": "data/D1"}


def test_the_fingerprint_is_stable_for_equal_settings_and_changes_with_the_seed(make: Any) -> None:
    first = run_fingerprint(make(seed=0))
    assert len(first) == 16 and int(first, 16) >= 0
    assert run_fingerprint(make(seed=0)) == first  # built again: the same print
    assert run_fingerprint(make(seed=1)) != first
    assert run_fingerprint(make(generated_size=100)) != first
    assert run_fingerprint(make(generation_guidance=1.0)) != first
    assert run_fingerprint(make(mechanisms={"hidden": 8, "timesteps": 10})) != first


def test_settings_only_queries_read_leave_the_fingerprint_alone(make: Any, tiny_mechanisms: dict[str, Any]) -> None:
    def image(**settings: Any) -> dict[str, Any]:
        return {**tiny_mechanisms, "image": {**tiny_mechanisms.get("image", {}), **settings}}

    first = run_fingerprint(make(mechanisms=image()))
    assert run_fingerprint(make(mechanisms=image(eta=1.0))) == first  # generated datasets draw with eta 0
    # guidance draws the generated datasets unless generation_guidance is set: then only queries read it
    assert run_fingerprint(make(mechanisms=image(guidance=2.0))) != first
    fixed = run_fingerprint(make(mechanisms=image(), generation_guidance=1.0))
    assert run_fingerprint(make(mechanisms=image(guidance=2.0, eta=1.0), generation_guidance=1.0)) == fixed
    assert run_fingerprint(make(mechanisms=image(), generation_guidance=2.0)) != fixed


def test_a_folder_printed_with_the_query_guidance_resumes_and_takes_the_new_print(
    make: Any, tiny_mechanisms: dict[str, Any], tmp_path: Path
) -> None:
    def model(guidance: float) -> IDGEN:
        mechanisms = {**tiny_mechanisms, "image": {**tiny_mechanisms["image"], "guidance": guidance}}
        return make(mechanisms=mechanisms, generation_guidance=1.0)

    def folder(name: str, legacy: str) -> Path:  # a run folder as this release's predecessor wrote it
        RunFolder(tmp_path / name, model(0.0))
        state = json.loads((tmp_path / name / "idgen.json").read_text())
        (tmp_path / name / "idgen.json").write_text(json.dumps({**state, "fingerprint": legacy}))
        return tmp_path / name

    made_with_half = model(0.5)
    (old_print,) = legacy_fingerprints(made_with_half) - legacy_fingerprints(model(0.0))
    assert old_print != run_fingerprint(made_with_half)
    root = folder("half", old_print)
    with pytest.raises(ConfigError, match="holds a run of other settings"):
        RunFolder(root, model(1.5))  # another guidance than the one it was made with: its print cannot tell
    run = RunFolder(root, made_with_half)  # its own settings: it resumes, with the new print
    assert json.loads((root / "idgen.json").read_text())["fingerprint"] == run.state["fingerprint"]
    assert RunFolder(root, model(1.5)).state == run.state  # from now on queries may change it
    # made with the default guidance: it resumes with any
    default = folder("default", next(iter(legacy_fingerprints(model(0.0)))))
    assert RunFolder(default, model(0.5)).state["fingerprint"] == run_fingerprint(model(0.0))


def test_a_setting_that_changes_the_generated_datasets_changes_the_fingerprint(make: Any, tmp_path: Path) -> None:
    n = 40
    source = {v: torch.arange(n, dtype=torch.float32)[:, None] + 100 * k for k, v in enumerate(("X", "Z", "Y"))}
    rows = {}
    for steps in (None, 2):
        model = make(sample_steps=steps, marginals="learn")  # learned marginals: D1 is generated
        model.keep_rows("D0", source, seed=0)
        (d1,) = [d for d in model.plan.datasets if d.name == "D1"]
        folder = tmp_path / f"steps{steps}"
        rows[steps] = generate_dataset(model, d1, source, folder, 20, 20, torch.device("cpu"), progress=False)
    assert not torch.equal(rows[None]["Y"], rows[2]["Y"])  # the datasets differ with sample_steps ...
    learned = [run_fingerprint(make(sample_steps=k, marginals="learn")) for k in (None, 2, 3)]
    assert len(set(learned)) == 3  # ... so must the print
    # without a generated dataset the steps are a query setting: the run folder does not depend on them
    assert run_fingerprint(make(sample_steps=None)) == run_fingerprint(make(sample_steps=2))
    # a folder an earlier release made (its print without the steps) still resumes
    assert run_fingerprint(make(marginals="learn")) in legacy_fingerprints(make(sample_steps=2, marginals="learn"))
