"""The learned P(w | x) of a network's free inputs where a fixed input is an image.

Checks ``lightning_causal.models.idgen.free_inputs``: which plans get a model (the napkin with an
image X and a class W2 does; numbers, classes and image free inputs keep row matching); the model
learns a class that an image shows, and a second free input from the first; the napkin digits plan
trains it as its own resumable step after the stages and its queries draw W2 from it; a checkpoint
written before the model existed still loads and matches rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from lightning_causal.datamodules import NapkinDigitsDataModule
from lightning_causal.graph.named import NAMED_GRAPHS
from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.models import IDGEN
from lightning_causal.models.idgen import fit_idgen, stage_trainer_factory
from lightning_causal.models.idgen.free_inputs import FREE_INPUTS, FreeInputModel, free_input_model
from lightning_causal.plan.compile import compile_plan
from lightning_causal.variables.spec import parse_variables, variables_to_dict

NAPKIN = NAMED_GRAPHS["napkin"].graph
IMAGE = {"type": "image", "channels": 3, "height": 4, "width": 4}
CLASSES = {"type": "categorical", "classes": 3}


def _specs(**kinds: Any) -> dict[str, Any]:
    return parse_variables(kinds, NAPKIN.nodes)


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ({"X": IMAGE, "W2": CLASSES}, True),
        ({"X": CLASSES, "W2": CLASSES}, False),
        ({"X": {"type": "continuous", "dim": 2}, "W2": CLASSES}, False),
        ({"X": IMAGE, "W2": {"type": "continuous"}}, False),
        ({"X": IMAGE, "W2": IMAGE}, False),
    ],
)
def test_a_model_is_built_where_the_free_inputs_are_discrete_and_a_fixed_input_is_an_image(
    kinds: dict[str, Any], expected: bool
) -> None:
    plan = compile_plan(NAPKIN, ("X",), ("Y",))
    assert plan.arbitrary == ("W2",)
    model = free_input_model(plan, _specs(**kinds), MechanismConfig.of(None))
    assert (model is not None) is expected
    if model is not None:
        assert model.fixed == ("X",) and model.free == ("W2",) and not bool(model.trained)


def _quadrants(codes: torch.Tensor) -> torch.Tensor:
    """4x4 RGB images (uint8) lit in the quadrant ``codes`` names (0..3), with noise elsewhere."""
    g = torch.Generator().manual_seed(int(codes.sum()))
    images = torch.randint(0, 60, (len(codes), 3, 4, 4), generator=g, dtype=torch.uint8)
    for q in range(4):
        r, c = divmod(q, 2)
        images[codes == q, :, 2 * r : 2 * r + 2, 2 * c : 2 * c + 2] = 255
    return images


def test_the_model_learns_the_class_an_image_shows_and_a_second_free_input_from_the_first() -> None:
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 4, (512,), generator=g)
    rows = {"X": _quadrants(codes), "A": codes, "B": (codes + 1) % 4}
    specs = parse_variables(
        {
            "X": IMAGE,
            "A": {"type": "categorical", "classes": 4},
            "B": {"type": "categorical", "classes": 4},
        },
        ["X", "A", "B"],
    )
    torch.manual_seed(0)
    model = FreeInputModel(("X",), ("A", "B"), specs, dim=16)
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(150):
        pick = torch.randint(0, 512, (64,), generator=g)
        loss = model.loss_vector({k: v[pick] for k, v in rows.items()}).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test = torch.arange(4).repeat(8)
    drawn = model.draw({"X": _quadrants(test)}, ("A", "B"))
    assert drawn["A"].dtype == torch.long and torch.equal(drawn["A"], test)
    assert torch.equal(drawn["B"], (test + 1) % 4)
    # B is read from A too: a value the caller chose for A is the one B follows
    chosen = model.draw({"X": _quadrants(test), "A": test}, ("B",))
    assert set(chosen) == {"B"} and torch.equal(chosen["B"], (test + 1) % 4)


def test_the_napkin_digits_plan_trains_the_model_as_its_own_step_and_queries_draw_w2_from_it(
    tmp_path: Path, tiny_image: dict[str, Any]
) -> None:
    dm = NapkinDigitsDataModule(size=8, n_train=96, n_val=16, batch_size=32, seed=0)

    def build() -> IDGEN:
        return IDGEN(
            dm.graph,
            variables=variables_to_dict(dm.variables),
            treatment="X",
            outcome="Y",
            mechanisms={"hidden": 16, "image": tiny_image},
            generated_size=24,
            seed=0,
        )

    model = build()
    assert model.training_steps == [0, 1, FREE_INPUTS]
    factory = stage_trainer_factory(3, progress=False, accelerator="cpu", ema=None)
    run = tmp_path / "run"
    fit_idgen(model, dm, run, factory, batch_size=32, shard_rows=16, progress=False)
    manifest = json.loads((run / "idgen.json").read_text())
    assert manifest[FREE_INPUTS]["steps"] == 3 and (run / manifest[FREE_INPUTS]["checkpoint"]).is_file()
    assert model.free_inputs is not None and bool(model.free_inputs.trained)

    x = dm.scm.render_x(3, 0, 1, 1, torch.Generator().manual_seed(0)).repeat(6, 1, 1, 1)
    network = model.sampling_network()
    assert network.free_inputs is not None
    expected = model.free_inputs.draw({"X": x}, ("W2",))["W2"]
    drawn: dict[str, Any] = {}
    original = network.free_inputs
    network.free_inputs = lambda values, names: drawn.update(original(values, names)) or original(values, names)
    network.sample(6, {"X": x[0]}, seed=0)
    assert torch.equal(drawn["W2"], expected)

    loaded = IDGEN.load(run / "idgen.ckpt")
    assert loaded.free_inputs is not None and bool(loaded.free_inputs.trained)
    assert torch.equal(loaded.sample(6, {"X": x[0]}, seed=2)["Y"], model.sample(6, {"X": x[0]}, seed=2)["Y"])

    # a rerun finds every step trained and retrains nothing
    before = (run / manifest[FREE_INPUTS]["checkpoint"]).stat().st_mtime_ns
    fit_idgen(build(), dm, run, factory, batch_size=32, shard_rows=16, progress=False)
    assert (run / manifest[FREE_INPUTS]["checkpoint"]).stat().st_mtime_ns == before

    # a checkpoint written before free-input models existed loads, and its queries match data rows
    old = torch.load(run / "idgen.ckpt", map_location="cpu", weights_only=False)
    old["state_dict"] = {k: v for k, v in old["state_dict"].items() if not k.startswith("free_inputs.")}
    torch.save(old, tmp_path / "old.ckpt")
    legacy = IDGEN.load(tmp_path / "old.ckpt")
    assert legacy.free_inputs is not None and not bool(legacy.free_inputs.trained)
    assert legacy.sampling_network().free_inputs is None
    assert legacy.sample(6, {"X": x[0]}, seed=2)["Y"].shape == (6, 3, 8, 8)
