"""Where a napkin-digits ID-GEN run loses an attribute: its generated rows, stage 0, stage 1, the free input.

    python benchmarks/napkin_digits_diagnose.py --run runs/napkin-seed0/idgen [--out diagnosis.json] [--d1-guidance 1 2]

Reads a finished run folder of ``configs/idgen/napkin_digits_cpu.yaml`` (``lightning-causal fit``)
and attribute networks trained on the structural model's renderings of W1, X and Y (as the
benchmark trains Y's), then reports, per thickness of x:

1. **generated dataset D1** (stage 1's training rows, drawn by stage 0's models): how often the
   generated Y copies the generated X's digit and thickness, and how often X's thickness follows W1's;
   Y's colour against W1's, W2's and X's (under do(W2) only W1's should matter);
2. **stage 0's P(Y | W1, W2, X)** given a *rendered* x (the images users intervene with) and
   W1, W2 drawn from data rows: how often Y copies x's thickness and digit;
3. **stage 1's P(Y | W2, X)**, the answer itself, with W2 drawn as queries draw it (data rows whose X
   is nearest to x) and with W2 set to the value that matches x (x's digit, colour group): the same rates;
4. the **free input**: how often the drawn W2 names x's digit, and how often it is the held-out rows' own W2.

The structural model copies X's digit and thickness into Y always (see ``scm/napkin_digits.py``), so
every such rate should be near 1; where a rate falls for one thickness, that is where that thickness is
lost. Colour: Y keeps W1's colour in 90% of rows (``y_colour_is_w1_colour``, stage 0 and D1), and
under do(x) Y's colour group owes nothing to x's (``y_group_is_x_group``: 0.5 exactly).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
import yaml

from lightning_causal.data.shards import read_shards
from lightning_causal.datamodules import NapkinDigitsDataModule
from lightning_causal.metrics.image_quality import predict_attributes, train_attribute_net
from lightning_causal.models import IDGEN
from lightning_causal.sampling.data import TensorData, generate_rows
from lightning_causal.scm.napkin_digits import ATTRIBUTES, THICKNESSES


def _nets(scm: Any, steps: int) -> dict[str, Any]:
    nets = {}
    for style in ("w1", "x", "y"):
        net, accuracy = train_attribute_net(
            lambda n, g, s=style: scm.render_attributes(n, g, style=s),
            dict(ATTRIBUTES),
            3,
            scm.size,
            scm.size,
            steps=steps,
            seed=0,
        )
        print(f"attribute network for {style}: held-out accuracy {accuracy}", file=sys.stderr)
        nets[style] = net
    return nets


def _rate(hit: torch.Tensor) -> float:
    return float(hit.float().mean()) if len(hit) else float("nan")


def _per_thickness(thickness: torch.Tensor, **hits: torch.Tensor) -> dict[str, dict[str, float]]:
    out = {}
    for code, name in enumerate(THICKNESSES):
        rows = thickness == code
        out[name] = {"rows": int(rows.sum()), **{k: _rate(v[rows]) for k, v in hits.items()}}
    return out


def _d1_rates(nets: dict[str, Any], d1: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Y against X (digit, thickness) and Y's colour against W1's, W2's and X's, over rows of D1."""
    w1, x, y = (predict_attributes(nets[s], d1[v]) for s, v in (("w1", "W1"), ("x", "X"), ("y", "Y")))
    out = _per_thickness(
        x["thickness"],
        y_copies_thickness=y["thickness"] == x["thickness"],
        y_copies_digit=y["digit"] == x["digit"],
        x_follows_w1_thickness=x["thickness"] == w1["thickness"],
        x_digit_is_w2_digit=x["digit"] == d1["W2"].reshape(-1) // 2,
    )
    out["x_thickness_share"] = [_rate(x["thickness"] == t) for t in range(3)]
    # colour: Y's comes from W1's (kept in 90% of rows), and under do(W2) it owes nothing to W2 or X (0.5)
    w2_group = d1["W2"].reshape(-1) % 2
    out["colour"] = {
        "y_colour_is_w1_colour": _rate(y["colour"] == w1["colour"]),
        "y_group_is_w2_group": _rate(y["colour"] // 3 == w2_group),
        "y_group_is_x_group": _rate(y["colour"] // 3 == x["colour"] // 3),
        "w1_group_is_w2_group": _rate(w1["colour"] // 3 == w2_group),
    }
    return out


def _redrawn_d1(model: IDGEN, dm: Any, nets: dict[str, Any], weights: list[float], rows: int) -> dict[str, Any]:
    """D1's rates for rows drawn afresh by the trained stage 0 at each guidance weight (W2 copied from data rows)."""
    [dataset] = [d for d in model.plan.datasets if d.name == "D1"]
    assert dataset.wiring is not None
    source = TensorData(dict(dm.train_tensors), {"W2": int(dm.variables["W2"].classes)})
    out = {}
    for weight in weights:
        network = model.sampling_network(guidance=weight)
        with torch.no_grad():
            d1 = generate_rows(
                source, dataset.wiring, dataset.copied, network.generators, rows, torch.Generator().manual_seed(0)
            )
        out[f"guidance={weight}"] = _d1_rates(nets, d1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="the run folder of a finished napkin-digits ID-GEN fit")
    parser.add_argument("--samples", type=int, default=300, help="Y draws per x (default 300)")
    parser.add_argument("--classifier-steps", type=int, default=1500)
    parser.add_argument(
        "--d1-guidance",
        type=float,
        nargs="*",
        default=[],
        help="also draw --d1-rows rows of D1 afresh from the trained stage 0 with each of these guidance weights and "
        "report the same D1 rates (what another generation_guidance would give stage 1, without retraining)",
    )
    parser.add_argument("--d1-rows", type=int, default=1500)
    parser.add_argument("--out", default=None, help="write every figure as JSON")
    args = parser.parse_args(argv)
    run = Path(args.run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    dm = NapkinDigitsDataModule(**config["data"]["init_args"])
    scm = dm.scm
    nets = _nets(scm, args.classifier_steps)
    results: dict[str, Any] = {"run": str(run)}

    # 1. the generated dataset
    d1 = read_shards(run / "data" / "D1")
    results["D1"] = _d1_rates(nets, d1)

    # 2-4. rendered x of every digit and thickness (colour cycling), through stage 0 and stage 1
    model = IDGEN.load(run / "idgen.ckpt").eval()
    if args.d1_guidance:
        results["D1_redrawn"] = _redrawn_d1(model, dm, nets, args.d1_guidance, args.d1_rows)
    rng = torch.Generator().manual_seed(7)
    stage0: dict[str, list[float]] = {}
    stage1: dict[str, dict[str, list[float]]] = {"drawn W2": {}, "matching W2": {}}
    w2_right: dict[str, list[float]] = {}
    stage0_colour: list[float] = []
    rows = dm.train_tensors
    n = args.samples
    network = model.sampling_network()
    f2 = network.generators["f2"]
    for thickness, name in enumerate(THICKNESSES):
        for digit in range(10):
            colour = (digit + thickness) % 6
            xs = scm.render_x(digit, colour, thickness, 1, rng).expand(n, -1, -1, -1)
            pick = torch.randint(len(rows["W1"]), (n,), generator=rng)
            y0 = f2.sample({"W1": rows["W1"][pick], "W2": rows["W2"][pick], "X": xs}, rng)
            got = predict_attributes(nets["y"], y0)
            stage0.setdefault(name, []).extend([_rate(got["thickness"] == thickness), _rate(got["digit"] == digit)])
            w1_colour = predict_attributes(nets["w1"], rows["W1"][pick])["colour"]
            stage0_colour.append(_rate(got["colour"] == w1_colour))
            for how in stage1:
                inputs = None
                if how == "matching W2":
                    inputs = {"W2": torch.full((n,), 2 * digit + colour // 3, dtype=rows["W2"].dtype)}
                out = model.sample(n, {"X": xs[0]}, seed=digit + 10 * thickness, inputs=inputs)
                got = predict_attributes(nets["y"], out["Y"])
                cell = stage1[how].setdefault(name, [0.0, 0.0, 0, 0.0])
                cell[0] += _rate(got["thickness"] == thickness)
                cell[1] += _rate(got["digit"] == digit)
                cell[2] += 1
                cell[3] += _rate(got["colour"] // 3 == colour // 3)
            if network.free_inputs is not None:  # the learned P(W2 | X) the queries draw from
                drawn = network.free_inputs({"X": xs}, ("W2",))["W2"].reshape(-1)
            else:  # a run made before free-input models: the vote of the nearest rows
                drawn = network.observed.matched_rows(("W2",), {"X": xs}, n, rng)["W2"].reshape(-1)
            w2_right.setdefault(name, []).append(_rate(drawn // 2 == digit))
    results["stage0_P(Y|W1,W2,X)"] = {
        k: {"y_copies_thickness": sum(v[0::2]) / len(v[0::2]), "y_copies_digit": sum(v[1::2]) / len(v[1::2])}
        for k, v in stage0.items()
    }
    results["stage0_P(Y|W1,W2,X)"]["y_colour_is_w1_colour"] = sum(stage0_colour) / len(stage0_colour)
    results["stage1_answer"] = {
        how: {
            k: {"y_copies_thickness": c[0] / c[2], "y_copies_digit": c[1] / c[2], "y_group_is_x_group": c[3] / c[2]}
            for k, c in cells.items()
        }
        for how, cells in stage1.items()
    }
    results["free_input_W2_names_x_digit"] = {k: sum(v) / len(v) for k, v in w2_right.items()}
    # the same on the held-out rows: the drawn W2 against the row's own W2 (X shows exactly its digit and group)
    val = dm.val_tensors
    if network.free_inputs is not None:
        held_out = network.free_inputs({"X": val["X"]}, ("W2",))["W2"].reshape(-1)
    else:
        held_out = network.observed.matched_rows(("W2",), {"X": val["X"]}, len(val["X"]), rng)["W2"].reshape(-1)
    results["free_input_W2_right_on_held_out_rows"] = _rate(held_out.cpu() == val["W2"].reshape(-1))
    results["free_input_drawn_by"] = "learned P(W2 | X)" if network.free_inputs is not None else "nearest-row vote"
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
