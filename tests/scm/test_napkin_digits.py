"""The coloured-digits napkin: rendering, seeded sampling, frequencies, exact truth, IDX strokes, errors."""

from __future__ import annotations

import pickle
import re
import struct
from pathlib import Path

import pytest
import torch

from lightning_causal.errors import DataError, QueryError
from lightning_causal.scm import NapkinDigits
from lightning_causal.scm.napkin_digits import (
    ATTRIBUTES,
    COLOUR_RGB,
    COLOURS,
    MNIST_FILES,
    THICKNESSES,
    attribute_names,
    load_strokes,
    read_idx,
    render,
)
from tests.toys import synthetic_strokes, write_idx

NOISE = 0.1


@pytest.fixture(scope="module")
def scm() -> NapkinDigits:
    return NapkinDigits(size=16, noise=NOISE, strokes=synthetic_strokes())


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(err.value)
    assert "\n" not in message and message
    return message


# ---------------------------------------------------------------------- structure and rendering
def test_graph_variables_and_constants(scm: NapkinDigits) -> None:
    assert scm.graph.nodes == ("W1", "W2", "X", "Y")
    assert set(scm.graph.directed) == {("W1", "W2"), ("W2", "X"), ("X", "Y")}
    assert {frozenset(e) for e in scm.graph.bidirected} == {frozenset({"W1", "X"}), frozenset({"W1", "Y"})}
    for v in ("W1", "X", "Y"):
        spec = scm.variables[v]
        assert spec.is_image and spec.image_shape == (3, 16, 16) and spec.dtype == "uint8"
    assert scm.variables["W2"].kind == "categorical" and scm.variables["W2"].classes == 20
    assert ATTRIBUTES == NapkinDigits.ATTRIBUTES == {"digit": 10, "colour": 6, "thickness": 3}
    assert len(COLOURS) == len(COLOUR_RGB) == 6 and COLOURS[3] == "yellow" and THICKNESSES[0] == "thin"
    assert attribute_names("X") == ("X_digit", "X_colour", "X_thickness")
    assert "NapkinDigits(size=16" in repr(scm) and set(scm.equations) >= {"W1", "W2", "X", "Y", "U1", "U2"}


def test_render_shapes_colours_and_thickness_order() -> None:
    strokes = synthetic_strokes()[0][:6].float() / 255
    for size in (8, 16, 32):
        for colour in range(6):
            images = [
                render(strokes, torch.full((6,), colour), torch.full((6,), t), size).to(torch.int32) for t in range(3)
            ]
            assert images[0].shape == (6, 3, size, size)
            lit = torch.tensor(COLOUR_RGB[colour]) > 0
            assert all(int(img[:, ~lit].sum()) == 0 for img in images)  # only the colour's channels
            for img in images:  # the lit channels are equal: a pure colour
                assert all(torch.equal(img[:, c], img[:, lit.nonzero()[0, 0]]) for c in lit.nonzero()[:, 0])
            thin, regular, thick = images
            assert bool((thin <= regular).all() and (regular <= thick).all())  # erosion <= stroke <= dilation
            mass = [img.sum((1, 2, 3)) for img in images]
            assert bool((mass[0] < mass[1]).all() and (mass[1] < mass[2]).all())
    out = render(strokes, torch.zeros(6, dtype=torch.long), torch.ones(6, dtype=torch.long), 16)
    assert out.dtype == torch.uint8 and int(out.max()) == 255  # strokes are scaled to peak at 1
    blank = render(torch.zeros(2, 8, 8), torch.tensor([0, 5]), torch.tensor([1, 2]), 16)
    assert int(blank.sum()) == 0  # black background
    assert render(
        torch.zeros(0, 8, 8), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), 16
    ).shape == (
        0,
        3,
        16,
        16,
    )


def test_sample_is_seeded_and_its_codes_are_consistent(scm: NapkinDigits) -> None:
    rows = scm.sample(64, gen(3))
    again = scm.sample(64, 3)  # an int seed too
    assert set(rows) == {"W1", "W2", "X", "Y"} | {f"{v}_{a}" for v in ("W1", "X", "Y") for a in ATTRIBUTES}
    assert all(torch.equal(rows[k], again[k]) for k in rows)
    assert not torch.equal(rows["X"], scm.sample(64, gen(4))["X"])
    for v in ("W1", "X", "Y"):
        assert rows[v].shape == (64, 3, 16, 16) and rows[v].dtype == torch.uint8
    codes = scm.sample_attributes(64, gen(3))  # the first draws of sample
    assert all(torch.equal(codes[k], rows[k]) for k in codes)
    assert rows["W2"].dtype == torch.int64 and int(rows["W2"].max()) < 20
    assert torch.equal(rows["W2"], 2 * rows["X_digit"] + rows["X_colour"] // 3)
    assert torch.equal(rows["Y_digit"], rows["X_digit"]) and torch.equal(rows["Y_thickness"], rows["X_thickness"])
    for v in ("W1", "X", "Y"):  # the images show their colour codes
        lit = rows[v].flatten(2).amax(2) > 0
        assert torch.equal(lit, torch.tensor(COLOUR_RGB)[rows[f"{v}_colour"]] > 0)
    generator = gen(5)
    first, second = scm.sample(8, generator), scm.sample(8, generator)
    assert not torch.equal(first["W1"], second["W1"])  # a generator is drawn from


def test_x_is_rotated_and_y_reflected(scm: NapkinDigits) -> None:
    digit, colour, thickness = torch.arange(10), torch.arange(10) % 6, torch.arange(10) % 3
    upright = scm.render_w1(digit, colour, thickness, 10, gen(1))
    x = scm.render_x(digit, colour, thickness, 10, gen(1))
    y = scm.render_y(digit, colour, thickness, 10, gen(1))
    assert torch.equal(x, torch.rot90(upright, 1, dims=(2, 3)))
    assert torch.equal(y, torch.flip(upright, dims=(3,)))
    assert not torch.equal(x, upright)
    same = scm.render_x(4, 2, 1, 5, gen(2))  # ints broadcast to every row
    assert same.shape == (5, 3, 16, 16) and int(same[:, :2].sum()) == 0 and int(same[:, 2].sum()) > 0


def test_observational_frequencies_match_the_equations(scm: NapkinDigits) -> None:
    n = 200_000
    rows = scm.sample_attributes(n, gen(11))
    sigma = (NOISE * (1 - NOISE) / n) ** 0.5
    kept = {
        "W2a = D": (rows["X_digit"] == rows["W1_digit"]).double().mean(),
        "W2b = U1 // 3": (rows["X_colour"] // 3 == rows["W1_colour"] // 3).double().mean(),
        "X thickness = U2": (rows["X_thickness"] == rows["W1_thickness"]).double().mean(),
        "Y colour = U1": (rows["Y_colour"] == rows["W1_colour"]).double().mean(),
    }
    for what, rate in kept.items():
        assert abs(float(rate) - (1 - NOISE)) < 5 * sigma, what
    for key, classes in (("W1_digit", 10), ("W1_colour", 6), ("W1_thickness", 3), ("X_colour", 6), ("Y_colour", 6)):
        freq = torch.bincount(rows[key], minlength=classes).double() / n
        assert float((freq - 1 / classes).abs().max()) < 5 * (1 / classes / n) ** 0.5, key
    flipped = rows["X_digit"] != rows["W1_digit"]  # a flip lands uniformly on the other 9 digits
    shift = (rows["X_digit"][flipped] - rows["W1_digit"][flipped]) % 10
    freq = torch.bincount(shift, minlength=10).double() / len(shift)
    assert float(freq[0]) == 0 and float((freq[1:] - 1 / 9).abs().max()) < 0.02
    noiseless = NapkinDigits(16, noise=0.0, strokes=synthetic_strokes()).sample_attributes(500, gen(1))
    assert torch.equal(noiseless["X_digit"], noiseless["W1_digit"])
    assert torch.equal(noiseless["Y_colour"], noiseless["W1_colour"])


# ---------------------------------------------------------------------- exact truth
def test_conditional_attributes_are_exact(scm: NapkinDigits) -> None:
    joint = scm.joint_attributes()
    assert joint.shape == (10, 6, 3, 10, 6, 3) and joint.dtype == torch.float64
    assert abs(float(joint.sum()) - 1) < 1e-12 and float(joint.min()) >= 0
    n = 1_000_000
    rows = scm.sample_attributes(n, gen(7))
    keys = ("X_digit", "X_colour", "X_thickness", "Y_digit", "Y_colour", "Y_thickness")
    cell = torch.zeros(0, dtype=torch.long)
    for key, classes in zip(keys, (10, 6, 3, 10, 6, 3), strict=True):
        cell = cell * classes + rows[key] if len(cell) else rows[key].clone()
    counts = torch.bincount(cell, minlength=joint.numel()).double().reshape(joint.shape) / n
    sd = (joint * (1 - joint) / n).sqrt()
    assert float(((counts - joint).abs() - 5 * sd).max()) < 1e-4  # every cell within 5 sigma
    # the colour bias: given X's colour, Y's colour stays in X's colour group
    in_group = (1 - NOISE) * (1 - NOISE) / 3 + NOISE / 5 * (1 - (1 - NOISE) / 3)
    for d, c, t in ((0, 0, 0), (7, 4, 2), (3, 2, 1)):
        exact = scm.conditional_attributes(d, c, t)
        assert torch.equal(exact["digit"], torch.eye(10, dtype=torch.float64)[d])
        assert torch.equal(exact["thickness"], torch.eye(3, dtype=torch.float64)[t])
        group = torch.arange(6) // 3 == c // 3
        assert torch.allclose(exact["colour"][group], torch.full((3,), in_group, dtype=torch.float64))
        assert abs(float(exact["colour"].sum()) - 1) < 1e-12 and float(exact["colour"][group].sum()) > 0.8
        mask = (rows["X_digit"] == d) & (rows["X_colour"] == c) & (rows["X_thickness"] == t)
        m = int(mask.sum())
        assert m > 3000
        freq = torch.bincount(rows["Y_colour"][mask], minlength=6).double() / m
        sigma = (exact["colour"] * (1 - exact["colour"]) / m).sqrt()
        assert bool(((freq - exact["colour"]).abs() < 5 * sigma).all())


def test_true_attributes_are_the_interventional_distribution(scm: NapkinDigits) -> None:
    for digit, thickness in ((0, 0), (9, 2), (4, 1)):
        truth = scm.true_attributes(digit, thickness)
        assert {k: v.shape for k, v in truth.items()} == {"digit": (10,), "colour": (6,), "thickness": (3,)}
        assert all(abs(float(v.sum()) - 1) < 1e-12 for v in truth.values())
        assert int(truth["digit"].argmax()) == digit and float(truth["digit"].max()) == 1
        assert int(truth["thickness"].argmax()) == thickness
        assert torch.allclose(truth["colour"], torch.full((6,), 1 / 6, dtype=torch.float64))
    observed = scm.conditional_attributes(4, 0, 1)["colour"]
    assert float((observed - 1 / 6).abs().max()) > 0.1  # confounded: the naive conditional is biased


def test_interventional_samples_follow_x(scm: NapkinDigits) -> None:
    n = 6000
    out = scm.interventional(n, 3, 5, 2, gen(2))
    assert set(out) == {"Y", "Y_digit", "Y_colour", "Y_thickness"}
    assert out["Y"].shape == (n, 3, 16, 16) and out["Y"].dtype == torch.uint8
    assert bool((out["Y_digit"] == 3).all() and (out["Y_thickness"] == 2).all())
    freq = torch.bincount(out["Y_colour"], minlength=6).double() / n
    assert float((freq - 1 / 6).abs().max()) < 5 * (1 / 6 * 5 / 6 / n) ** 0.5  # uniform, whatever x's colour
    lit = out["Y"].flatten(2).amax(2) > 0
    assert torch.equal(lit, torch.tensor(COLOUR_RGB)[out["Y_colour"]] > 0)
    digits = torch.arange(20) % 10
    per_row = scm.interventional(20, digits, torch.zeros(20, dtype=torch.long), 0, gen(3))
    assert torch.equal(per_row["Y_digit"], digits) and bool((per_row["Y_thickness"] == 0).all())
    again = scm.interventional(20, digits, torch.zeros(20, dtype=torch.long), 0, gen(3))
    assert torch.equal(again["Y"], per_row["Y"])


def test_render_attributes_draws_uniform_codes(scm: NapkinDigits) -> None:
    images, codes = scm.render_attributes(300, gen(4), style="x")
    assert images.shape == (300, 3, 16, 16) and set(codes) == set(ATTRIBUTES)
    for name, classes in ATTRIBUTES.items():
        assert codes[name].dtype == torch.int64 and set(codes[name].tolist()) == set(range(classes))
    same = scm.render_x(codes["digit"], codes["colour"], codes["thickness"], 300, gen(0))
    assert same.shape == images.shape
    upright, _ = scm.render_attributes(300, gen(4), style="w1")
    assert torch.equal(images, torch.rot90(upright, 1, dims=(2, 3)))
    reflected, _ = scm.render_attributes(300, gen(4))  # style "y" by default
    assert torch.equal(reflected, torch.flip(upright, dims=(3,)))


def test_pickles_for_worker_processes(scm: NapkinDigits) -> None:
    twin = pickle.loads(pickle.dumps(scm))
    assert torch.equal(twin.sample(5, gen(1))["Y"], scm.sample(5, gen(1))["Y"])


# ---------------------------------------------------------------------- stroke sources
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_idx_folder(tmp_path: Path, suffix: str) -> None:
    images, labels = synthetic_strokes(per_digit=2, side=12, seed=1)
    write_idx(tmp_path / f"{MNIST_FILES[0]}{suffix}", images)
    write_idx(tmp_path / f"{MNIST_FILES[1]}{suffix}", labels.to(torch.uint8))
    assert torch.equal(read_idx(tmp_path / f"{MNIST_FILES[0]}{suffix}"), images)
    assert torch.equal(read_idx(tmp_path / f"{MNIST_FILES[1]}{suffix}"), labels.to(torch.uint8))
    header = (tmp_path / MNIST_FILES[0]).with_suffix(suffix).read_bytes() if not suffix else None
    if header is not None:
        assert struct.unpack(">i", header[:4])[0] == 2051
    bank, digits = load_strokes(tmp_path)
    assert torch.equal(bank, images) and torch.equal(digits, labels)
    scm = NapkinDigits(size=16, strokes=str(tmp_path))
    rows = scm.sample(10, gen(0))
    assert rows["X"].shape == (10, 3, 16, 16)


def test_bad_idx_files(tmp_path: Path) -> None:
    images, labels = synthetic_strokes()
    write_idx(tmp_path / MNIST_FILES[0], images, magic=0x0D03)  # floats, not unsigned bytes
    write_idx(tmp_path / MNIST_FILES[1], labels.to(torch.uint8))
    with pytest.raises(DataError, match="magic number 3331, expected 2051") as err:
        read_idx(tmp_path / MNIST_FILES[0])
    one_line(err)
    write_idx(tmp_path / MNIST_FILES[0], labels.to(torch.uint8))  # the labels in the images' place
    with pytest.raises(DataError, match="1 dimensions, expected 3") as err:
        NapkinDigits(strokes=tmp_path)
    one_line(err)
    write_idx(tmp_path / MNIST_FILES[0], images)
    (tmp_path / MNIST_FILES[0]).write_bytes((tmp_path / MNIST_FILES[0]).read_bytes()[:-5])  # truncated
    with pytest.raises(DataError, match="intact") as err:
        NapkinDigits(strokes=tmp_path)
    one_line(err)
    write_idx(tmp_path / MNIST_FILES[0], images[:-1])
    with pytest.raises(DataError, match="labels") as err:
        NapkinDigits(strokes=tmp_path)
    one_line(err)
    (tmp_path / "broken.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match=r"broken\.gz") as err:
        read_idx(tmp_path / "broken.gz")
    one_line(err)
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="train-images-idx3-ubyte and train-labels-idx1-ubyte") as err:
        NapkinDigits(strokes=missing)
    assert str(missing) in one_line(err)
    (tmp_path / MNIST_FILES[1]).unlink()
    with pytest.raises(DataError, match=re.escape(str(tmp_path))) as err:
        NapkinDigits(strokes=tmp_path)
    one_line(err)


def test_scikit_learn_digits() -> None:
    pytest.importorskip("sklearn")
    images, labels = load_strokes("sklearn")
    assert images.shape == (1797, 8, 8) and images.dtype == torch.uint8 and int(images.max()) == 255
    assert set(labels.tolist()) == set(range(10)) and labels.dtype == torch.int64
    rows = NapkinDigits().sample(4, gen(0))
    assert rows["Y"].shape == (4, 3, 16, 16)


# ---------------------------------------------------------------------- errors
def test_bad_inputs_give_one_line_errors(scm: NapkinDigits) -> None:
    images, labels = synthetic_strokes()
    cases: list[tuple[type[Exception], str, object]] = [
        (DataError, "size", lambda: NapkinDigits(size=15, strokes=(images, labels))),
        (DataError, "size", lambda: NapkinDigits(size=256, strokes=(images, labels))),
        (DataError, "noise", lambda: NapkinDigits(noise=1.0, strokes=(images, labels))),
        (DataError, "noise", lambda: NapkinDigits(noise=True, strokes=(images, labels))),
        (DataError, "strokes", lambda: NapkinDigits(strokes=42)),  # type: ignore[arg-type]
        (DataError, "digit 9", lambda: NapkinDigits(strokes=(images[labels < 9], labels[labels < 9]))),
        (DataError, "outside 0..9", lambda: NapkinDigits(strokes=(images, labels + 1))),
        (DataError, "float images", lambda: NapkinDigits(strokes=(images.float(), labels))),
        (QueryError, "digit codes must lie in 0..9", lambda: scm.render_x(10, 0, 0, 3, gen(0))),
        (QueryError, "colour", lambda: scm.render_y(0, torch.zeros(2, dtype=torch.long), 0, 3, gen(0))),
        (QueryError, "thickness", lambda: scm.interventional(3, 0, 0, torch.full((3,), 0.5), gen(0))),
        (QueryError, "n must be", lambda: scm.sample(-1, gen(0))),
        (QueryError, "rng", lambda: scm.sample(3, "seed")),  # type: ignore[arg-type]
        (QueryError, "style", lambda: scm.render_attributes(3, gen(0), style="z")),
        (QueryError, "colour must be an int code in 0..5", lambda: scm.conditional_attributes(0, 6, 0)),
        (QueryError, "thickness", lambda: scm.true_attributes(0, -1)),
        (QueryError, "strokes must be float", lambda: render(images, torch.zeros(30), torch.zeros(30), 16)),
    ]
    for kind, words, call in cases:
        with pytest.raises(kind, match=words) as err:
            call()  # type: ignore[operator]
        one_line(err)
