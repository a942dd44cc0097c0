"""A new model family joins without touching ``launch/``: ``fit`` trains it and ``sample`` answers with it.

The family here, ``marginal``, learns each variable's marginal (a mean and a log-scale for a
continuous variable, logits for a discrete one) and samples it, the intervened variables set. It is
no causal model; it is the least a family must write for the commands to train, load and query it.
Two ways a newcomer adds it, each run as a user would, in fresh processes:

* as one new package under ``lightning_causal/models/`` (a copy of the installed layout, laid out
  as symbolic links with ``models/marginal/`` added, goes first on ``PYTHONPATH``): the registry
  finds it by discovery;
* in the user's own module, outside the package: the checkpoint says where the class is defined
  and ``sample`` imports it from there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "configs" / "tabular" / "smoking.csv"
GRAPH = ROOT / "configs" / "tabular" / "smoking.yaml"
MAPPED = ("launch", "datamodules", "callbacks")  # the top-level folders that install inside the package

FAMILY = textwrap.dedent(
    '''
    """A toy family: each variable's marginal, learned by gradient descent."""

    from __future__ import annotations

    from typing import Any

    import torch
    from torch import Tensor, nn

    from lightning_causal.graph.io import resolve_graph_spec
    from lightning_causal.models import CausalModule
    from lightning_causal.variables.spec import parse_variables, variables_to_dict


    class Marginal(CausalModule):
        family = "marginal"

        def __init__(self, graph: Any, variables: dict[str, Any] | None = None, seed: int = 0) -> None:
            super().__init__(seed=seed)
            causal_graph, declared = resolve_graph_spec(graph)
            self.variables = parse_variables({**declared, **(variables or {})}, causal_graph.nodes)
            self.save_hyperparameters(
                {"graph": causal_graph.to_dict(), "variables": variables_to_dict(self.variables), "seed": seed}
            )
            self.params = nn.ParameterDict(
                {
                    name: nn.Parameter(torch.zeros(spec.classes if spec.is_discrete else 2 * spec.dim))
                    for name, spec in self.variables.items()
                }
            )

        @property
        def loss_names(self) -> list[str]:
            return list(self.variables)

        def model_step(self, batch: dict[str, Tensor], rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
            parts = []
            for name, spec in self.variables.items():
                p, x = self.params[name], batch[name]
                if spec.is_discrete:
                    parts.append(nn.functional.cross_entropy(p.expand(len(x), -1), x.long()))
                else:
                    mean, log_std = p[: spec.dim], p[spec.dim :]
                    z = (x.float() - torch.tensor(spec.mean)) / torch.tensor(spec.std)
                    parts.append((0.5 * ((z - mean) / log_std.exp()) ** 2 + log_std).mean())
            loss = torch.stack(parts)
            return loss.sum(), loss.detach()

        @torch.no_grad()
        def sample(
            self, n: int, interventions: dict[str, Any] | None = None, seed: int = 0, **_: Any
        ) -> dict[str, Tensor]:
            rng = torch.Generator().manual_seed(seed)
            out = {}
            for name, spec in self.variables.items():
                p = self.params[name].detach().cpu()
                if name in (interventions or {}):
                    value = torch.as_tensor(interventions[name])
                    out[name] = value.expand(n, *value.shape).clone()
                elif spec.is_discrete:
                    out[name] = torch.multinomial(p.softmax(0), n, replacement=True, generator=rng)
                else:
                    z = p[: spec.dim] + p[spec.dim :].exp() * torch.randn(n, spec.dim, generator=rng)
                    out[name] = z * torch.tensor(spec.std) + torch.tensor(spec.mean)
            return out
    '''
)


def _package_with(family_package: Path) -> Path:
    """The installed layout of ``lightning_causal`` as symbolic links, with ``models/marginal`` added."""
    package = family_package / "lightning_causal"
    package.mkdir(parents=True)
    for entry in (ROOT / "lightning_causal").iterdir():
        if entry.name not in ("__pycache__", "models"):
            os.symlink(entry, package / entry.name)
    for folder in MAPPED:
        os.symlink(ROOT / folder, package / folder)
    models = package / "models"
    models.mkdir()
    for entry in (ROOT / "lightning_causal" / "models").iterdir():
        if entry.name != "__pycache__":
            os.symlink(entry, models / entry.name)
    (models / "marginal").mkdir()
    (models / "marginal" / "__init__.py").write_text(FAMILY)
    return family_package


def _run(args: list[str], path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(path), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-c", "from lightning_causal.launch.cli import main; raise SystemExit(main())", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _fit(class_path: str, path: Path, tmp_path: Path, steps: int) -> Path:
    """``lightning-causal fit`` of ``class_path`` on the smoking table; the checkpoint it wrote."""
    fit = _run(
        [
            "fit",
            f"--model.class_path={class_path}",
            "--data.class_path=lightning_causal.datamodules.TabularDataModule",
            f"--data.init_args.data={DATA}",
            f"--data.init_args.graph={GRAPH}",
            "--data.init_args.batch_size=256",
            f"--trainer.max_steps={steps}",
            "--trainer.accelerator=cpu",
            "--trainer.logger=false",
            "--trainer.enable_progress_bar=false",
            f"--trainer.default_root_dir={tmp_path / 'run'}",
        ],
        path,
        tmp_path,
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    (ckpt,) = (tmp_path / "run").rglob("*.ckpt")
    return ckpt


def _fit_and_sample(class_path: str, path: Path, tmp_path: Path) -> pd.DataFrame:
    ckpt = _fit(class_path, path, tmp_path, steps=20)
    out = tmp_path / "do_smoker.csv"
    sample = _run(["sample", "--ckpt", str(ckpt), "--do", "smoker=1", "--n", "2000", "--out", str(out)], path, tmp_path)
    assert sample.returncode == 0, sample.stderr[-3000:]
    assert "do(smoker)" in sample.stdout
    return pd.read_csv(out)


def _check(samples: pd.DataFrame) -> None:
    data = pd.read_csv(DATA)
    assert sorted(samples.columns) == sorted(data.columns)
    assert (samples["smoker"] == 1).all()  # the intervention
    for column in ("age", "lung"):  # standardised draws decoded by the data's statistics (within sampling error)
        assert abs(samples[column].mean() - data[column].mean()) < 0.15 * data[column].std()
        assert 0.7 < samples[column].std() / data[column].std() < 1.3
    assert set(samples["genotype"]) <= {"A", "B", "C"}


@pytest.mark.slow
def test_a_family_added_as_a_package_under_models_trains_and_samples_from_the_commands(tmp_path: Path) -> None:
    path = _package_with(tmp_path / "site")
    _check(_fit_and_sample("lightning_causal.models.Marginal", path, tmp_path))


@pytest.mark.slow
def test_a_family_in_a_users_own_module_loads_by_the_class_its_checkpoint_names(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "my_models.py").write_text(FAMILY)
    _check(_fit_and_sample("my_models.Marginal", tmp_path / "site", tmp_path))


def test_a_checkpoint_whose_family_module_is_gone_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "my_models.py").write_text(FAMILY)
    ckpt = _fit("my_models.Marginal", tmp_path / "site", tmp_path, steps=2)
    sample = _run(["sample", "--ckpt", str(ckpt), "--n", "5", "--out", str(tmp_path / "s.csv")], tmp_path, tmp_path)
    assert sample.returncode != 0
    lines = sample.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in sample.stderr, sample.stderr
    assert "'marginal'" in lines[0] and "'my_models'" in lines[0] and "PYTHONPATH" in lines[0]
    assert not (tmp_path / "s.csv").exists()
