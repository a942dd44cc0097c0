"""Image-quality metrics: attribute network training, attribute TVD, FID/KID on the network's features, caching."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import torch
from torch import Tensor

from lightning_causal import ConfigError, QueryError
from lightning_causal.metrics import (
    AttributeNet,
    attribute_distribution,
    attribute_tvd,
    fid_kid,
    load_attribute_net,
    predict_attributes,
    save_attribute_net,
    train_attribute_net,
    tvd,
)

# ----------------------------------------------------------------------------------------------------------------
# a synthetic renderer: a bright square on a noisy 8x8 background
#   colour = the channel it lights (3), size = side 2, 3 or 4 (3), position = left or right half (2)

SIZE = 8
HEADS = {"colour": 3, "size": 3, "position": 2}


def render(n: int, generator: torch.Generator, colours: tuple[int, ...] = (0, 1, 2)) -> tuple[Tensor, dict]:
    g = generator
    colour = torch.tensor(colours)[torch.randint(0, len(colours), (n,), generator=g)]
    size = torch.randint(0, 3, (n,), generator=g)
    position = torch.randint(0, 2, (n,), generator=g)
    side = size + 2
    x0 = 4 * position + (torch.rand(n, generator=g) * (5 - side)).long()
    y0 = (torch.rand(n, generator=g) * (SIZE + 1 - side)).long()
    coords = torch.arange(SIZE)
    in_x = (coords[None] >= x0[:, None]) & (coords[None] < (x0 + side)[:, None])
    in_y = (coords[None] >= y0[:, None]) & (coords[None] < (y0 + side)[:, None])
    square = in_y[:, :, None] & in_x[:, None, :]
    images = torch.randint(0, 40, (n, 3, SIZE, SIZE), generator=g, dtype=torch.uint8)
    bright = torch.randint(180, 256, (n, 1, 1, 1), generator=g).to(torch.uint8).expand_as(images)
    lit = torch.nn.functional.one_hot(colour, 3).bool()[:, :, None, None] & square[:, None]
    return torch.where(lit, bright, images), {"colour": colour, "size": size, "position": position}


def draw(n: int, seed: int, colours: tuple[int, ...] = (0, 1, 2)) -> tuple[Tensor, dict]:
    return render(n, torch.Generator().manual_seed(seed), colours)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Small convolutions run fastest on one thread; several oversubscribe a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained() -> tuple[AttributeNet, dict[str, float]]:
    return train_attribute_net(render, HEADS, 3, SIZE, SIZE, steps=150, batch_size=64, hidden=32, seed=0)


class PixelNet(AttributeNet):
    """Reads every attribute off pixel (0, 0, 0): class = value mod classes. Known answers for the arithmetic."""

    def forward(self, images: Tensor) -> dict[str, Tensor]:  # type: ignore[override]
        self._check(images)
        value = images[:, 0, 0, 0].long()
        return {name: torch.nn.functional.one_hot(value % k, k).float() for name, k in self.heads.items()}


def pixel_images(values: list[int]) -> Tensor:
    images = torch.zeros(len(values), 3, SIZE, SIZE, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.tensor(values, dtype=torch.uint8)
    return images


PIXEL_NET = PixelNet(3, SIZE, SIZE, {"a": 2, "b": 4})

# ----------------------------------------------------------------------------------------------------------------
# the network


def test_features_and_heads_for_several_image_sizes() -> None:
    for channels, height, width in ((3, 8, 8), (1, 12, 20), (3, 16, 16), (3, 64, 64)):
        net = AttributeNet(channels, height, width, {"digit": 10, "colour": 6}, hidden=24)
        images = torch.randint(0, 256, (5, channels, height, width), dtype=torch.uint8)
        assert net.num_features == 24
        assert net.features(images).shape == (5, 24)
        logits = net(images)
        assert list(logits) == ["digit", "colour"]
        assert logits["digit"].shape == (5, 10) and logits["colour"].shape == (5, 6)
        # uint8 0..255 and float 0..1 are the same image
        torch.testing.assert_close(net.features(images.float() / 255), net.features(images), atol=1e-5, rtol=1e-5)
        # no batch statistics: eval and train mode agree, and a batch of one is the row of the batch
        train_mode = net.train().features(images)
        torch.testing.assert_close(net.eval().features(images), train_mode)
        torch.testing.assert_close(net.features(images[2:3]), train_mode[2:3], atol=1e-5, rtol=1e-5)


def test_bad_network_settings_and_images() -> None:
    net = AttributeNet(3, SIZE, SIZE, HEADS)
    with pytest.raises(QueryError, match="heads must be a non-empty"):
        AttributeNet(3, SIZE, SIZE, {})
    with pytest.raises(QueryError, match="'colour' needs an integer >= 2 classes"):
        AttributeNet(3, SIZE, SIZE, {"colour": 1})
    with pytest.raises(QueryError, match=r"without '\.'"):
        AttributeNet(3, SIZE, SIZE, {"a.b": 2})
    with pytest.raises(QueryError, match="height must be an integer >= 4"):
        AttributeNet(3, 2, SIZE, HEADS)
    with pytest.raises(QueryError, match=r"shape \(4, 3, 16, 16\).*\(n, 3, 8, 8\)"):
        net.features(torch.zeros(4, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(QueryError, match=r"uint8 \(0..255\) or floating point"):
        net.features(torch.zeros(4, 3, SIZE, SIZE, dtype=torch.int64))
    with pytest.raises(QueryError, match=r"must lie in \[0, 1\], got values in \[-1, 0\.5\]"):
        net.features(torch.linspace(-1, 0.5, 4 * 3 * SIZE * SIZE).reshape(4, 3, SIZE, SIZE))
    with pytest.raises(QueryError, match="must be a torch\\.Tensor"):
        net.features([[0.0]])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------------
# training


def test_training_reads_the_attributes(trained: tuple[AttributeNet, dict[str, float]]) -> None:
    net, accuracy = trained
    assert set(accuracy) == set(HEADS)
    assert all(value >= 0.97 for value in accuracy.values()), accuracy
    assert not net.training
    images, labels = draw(500, seed=123)
    predicted = predict_attributes(net, images, batch_size=128)
    for name in HEADS:
        assert predicted[name].dtype == torch.int64 and predicted[name].shape == (500,)
        assert (predicted[name] == labels[name]).double().mean() >= 0.97


def test_training_is_deterministic_and_leaves_the_global_rng_alone() -> None:
    state = torch.get_rng_state()
    first = train_attribute_net(render, HEADS, 3, SIZE, SIZE, steps=4, batch_size=16, hidden=8, seed=7)
    again = train_attribute_net(render, HEADS, 3, SIZE, SIZE, steps=4, batch_size=16, hidden=8, seed=7)
    other = train_attribute_net(render, HEADS, 3, SIZE, SIZE, steps=4, batch_size=16, hidden=8, seed=8)
    assert torch.equal(torch.get_rng_state(), state)
    for key, value in first[0].state_dict().items():
        assert torch.equal(value, again[0].state_dict()[key]), key
    assert first[1] == again[1]
    assert not torch.equal(first[0].state_dict()["body.0.weight"], other[0].state_dict()["body.0.weight"])


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    train_attribute_net(render, HEADS, 3, SIZE, SIZE, steps=2, batch_size=8, hidden=8, progress=True)
    assert "attribute net" in capsys.readouterr().err


def test_bad_renderings_and_settings() -> None:
    def missing_label(n: int, g: torch.Generator) -> tuple[Tensor, dict]:
        images, labels = render(n, g)
        return images, {"colour": labels["colour"], "size": labels["size"]}

    def float_images(n: int, g: torch.Generator) -> tuple[Tensor, dict]:
        images, labels = render(n, g)
        return images.float() / 255, labels

    def out_of_range(n: int, g: torch.Generator) -> tuple[Tensor, dict]:
        images, labels = render(n, g)
        return images, {**labels, "position": labels["position"] + 1}

    def short(n: int, g: torch.Generator) -> tuple[Tensor, dict]:
        return render(n - 1, g)

    args = (HEADS, 3, SIZE, SIZE)
    with pytest.raises(QueryError, match="exactly the attributes colour, size, position, got colour, size"):
        train_attribute_net(missing_label, *args, steps=1)
    with pytest.raises(QueryError, match=r"must return uint8 images of shape \(4, 3, 8, 8\), got torch.float32"):
        train_attribute_net(float_images, *args, steps=1, batch_size=4)
    with pytest.raises(QueryError, match=r"'position' must lie in 0..1, got 1..2"):
        train_attribute_net(out_of_range, *args, steps=1)
    with pytest.raises(QueryError, match=r"shape \(4, 3, 8, 8\), got torch.uint8 \(3, 3, 8, 8\)"):
        train_attribute_net(short, *args, steps=1, batch_size=4)
    with pytest.raises(QueryError, match="steps must be a positive integer"):
        train_attribute_net(render, *args, steps=0)
    with pytest.raises(QueryError, match="lr must be a positive finite number"):
        train_attribute_net(render, *args, lr=-1.0)
    with pytest.raises(QueryError, match="'size' needs an integer >= 2 classes"):
        train_attribute_net(render, {**HEADS, "size": 1}, 3, SIZE, SIZE, steps=1)


# ----------------------------------------------------------------------------------------------------------------
# attribute distributions and TVD


def test_attribute_distribution_arithmetic() -> None:
    images = pixel_images([0, 1, 1, 2, 3, 3, 3])
    for batch_size in (1, 3, 512):
        dist = attribute_distribution(PIXEL_NET, images, batch_size=batch_size)
        assert set(dist) == {"a", "b"}
        torch.testing.assert_close(dist["a"], torch.tensor([2, 5], dtype=torch.float64) / 7)
        torch.testing.assert_close(dist["b"], torch.tensor([1, 2, 1, 3], dtype=torch.float64) / 7)
    # float images: pixel (0, 0, 0) is 0.0, class 0
    zeros = attribute_distribution(PIXEL_NET, torch.zeros(3, 3, SIZE, SIZE))
    assert zeros["b"].tolist() == [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(QueryError, match="at least one image, got 0"):
        attribute_distribution(PIXEL_NET, pixel_images([]))
    with pytest.raises(QueryError, match="batch_size must be a positive integer"):
        attribute_distribution(PIXEL_NET, images, batch_size=0)


def test_tvd_values() -> None:
    assert tvd(torch.tensor([0.2, 0.3, 0.5]), torch.tensor([0.2, 0.3, 0.5])) == 0.0
    assert tvd(torch.tensor([0.5, 0.5, 0.0]), torch.tensor([0.0, 0.0, 1.0])) == 1.0
    assert tvd(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])) == pytest.approx(0.5)
    p, q = torch.tensor([0.1, 0.6, 0.3]), torch.tensor([0.3, 0.3, 0.4])
    assert tvd(p, q) == pytest.approx(0.5 * (0.2 + 0.3 + 0.1)) == pytest.approx(tvd(q, p))
    assert tvd([0.25, 0.75], [0.75, 0.25]) == pytest.approx(0.5)  # type: ignore[arg-type]


def test_tvd_bad_inputs() -> None:
    with pytest.raises(QueryError, match="p has 3 classes but q has 2"):
        tvd(torch.tensor([0.2, 0.3, 0.5]), torch.tensor([0.5, 0.5]))
    with pytest.raises(QueryError, match=r"1-D probability vector, got shape \(1, 2\)"):
        tvd(torch.tensor([[0.5, 0.5]]), torch.tensor([0.5, 0.5]))
    with pytest.raises(QueryError, match=r"q must sum to 1, got 0\.9"):
        tvd(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.4]))
    with pytest.raises(QueryError, match="finite non-negative"):
        tvd(torch.tensor([1.5, -0.5]), torch.tensor([0.5, 0.5]))
    with pytest.raises(QueryError, match="p must be a probability vector, got str"):
        tvd("ab", torch.tensor([0.5, 0.5]))  # type: ignore[arg-type]


def test_attribute_tvd() -> None:
    images = pixel_images([0, 1, 1, 2, 3, 3, 3])
    exact = {"a": torch.tensor([2, 5]) / 7, "b": torch.tensor([1, 2, 1, 3]) / 7}
    result = attribute_tvd(PIXEL_NET, images, exact)
    assert result == pytest.approx({"a": 0.0, "b": 0.0, "mean": 0.0}, abs=1e-7)
    result = attribute_tvd(PIXEL_NET, images, {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([0.25] * 4)})
    b = 0.5 * (abs(1 / 7 - 0.25) + abs(2 / 7 - 0.25) + abs(1 / 7 - 0.25) + abs(3 / 7 - 0.25))
    assert result == pytest.approx({"a": 5 / 7, "b": b, "mean": (5 / 7 + b) / 2})
    # a subset of the heads is fine
    assert set(attribute_tvd(PIXEL_NET, images, {"b": exact["b"]})) == {"b", "mean"}


def test_attribute_tvd_bad_inputs() -> None:
    images = pixel_images([0, 1])
    with pytest.raises(QueryError, match="no head for digit; the network reads a, b"):
        attribute_tvd(PIXEL_NET, images, {"a": torch.tensor([0.5, 0.5]), "digit": torch.full((10,), 0.1)})
    with pytest.raises(QueryError, match=r"truth\['b'\] has 3 classes but the head has 4"):
        attribute_tvd(PIXEL_NET, images, {"b": torch.full((3,), 1 / 3)})
    with pytest.raises(QueryError, match="at least one attribute, got none"):
        attribute_tvd(PIXEL_NET, images, {})
    with pytest.raises(QueryError, match=r"shape \(2, 3, 16, 16\)"):
        attribute_tvd(PIXEL_NET, torch.zeros(2, 3, 16, 16, dtype=torch.uint8), {"a": torch.tensor([0.5, 0.5])})


def test_attribute_tvd_of_the_trained_network(trained: tuple[AttributeNet, dict[str, float]]) -> None:
    net, _ = trained
    uniform: Mapping[str, Tensor] = {name: torch.full((k,), 1 / k) for name, k in HEADS.items()}
    images, _ = draw(600, seed=3)
    close = attribute_tvd(net, images, uniform)
    assert close["mean"] < 0.08, close
    # only channel 2 lit: the colour distribution is a point mass, TVD to uniform is 2/3
    red, _ = draw(600, seed=4, colours=(2,))
    far = attribute_tvd(net, red, uniform)
    assert far["colour"] == pytest.approx(2 / 3, abs=0.02)
    assert far["size"] < 0.08 and far["position"] < 0.08


# ----------------------------------------------------------------------------------------------------------------
# FID and KID


def test_fid_kid_separate_distributions(trained: tuple[AttributeNet, dict[str, float]]) -> None:
    net, _ = trained
    real, _ = draw(300, seed=10)
    same, _ = draw(200, seed=11)
    other, _ = draw(250, seed=12, colours=(2,))
    state = torch.get_rng_state()
    itself = fid_kid(net, real, real)
    alike = fid_kid(net, real, same, subset_size=100)
    unlike = fid_kid(net, real, other, subset_size=100)
    assert torch.equal(torch.get_rng_state(), state)
    assert set(itself) == {"fid", "kid", "kid_std"}
    assert 0.0 <= itself["fid"] < 1e-6
    assert abs(itself["kid"]) < 0.1 and itself["kid_std"] < 1e-9  # the subsets are the whole sets
    assert alike["fid"] < 2.0 and abs(alike["kid"]) < 0.1
    assert unlike["fid"] > 10 * max(alike["fid"], 0.5)
    assert unlike["kid"] > 0.5 and unlike["kid"] > 10 * abs(alike["kid"])
    assert unlike["kid_std"] > 0


def test_fid_kid_is_deterministic_and_reads_float_images(trained: tuple[AttributeNet, dict[str, float]]) -> None:
    net, _ = trained
    real, _ = draw(120, seed=20)
    fake, _ = draw(100, seed=21, colours=(0, 1))
    first = fid_kid(net, real, fake, subset_size=50, subsets=20, seed=3)
    assert fid_kid(net, real, fake, subset_size=50, subsets=20, seed=3) == first
    assert fid_kid(net, real, fake, subset_size=50, subsets=20, seed=4)["kid"] != first["kid"]
    as_float = fid_kid(net, real.float() / 255, fake.float() / 255, subset_size=50, subsets=20, seed=3, batch_size=7)
    assert as_float == pytest.approx(first, rel=1e-4, abs=1e-6)


def test_fid_kid_bad_inputs() -> None:
    net = AttributeNet(3, SIZE, SIZE, HEADS, hidden=8)
    real, _ = draw(10, seed=0)
    with pytest.raises(QueryError, match="at least 2 real and 2 fake images, got 10 real and 1 fake"):
        fid_kid(net, real, real[:1])
    with pytest.raises(QueryError, match=r"subset_size must be an integer in 2..5 \(the smaller set\), got 6"):
        fid_kid(net, real, real[:5], subset_size=6)
    with pytest.raises(QueryError, match=r"fake images have shape \(4, 3, 16, 16\)"):
        fid_kid(net, real, torch.zeros(4, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(QueryError, match=r"real images must have shape \(n, C, H, W\), got \(10, 192\)"):
        fid_kid(net, real.flatten(1), real)
    with pytest.raises(QueryError, match=r"floating-point real images must lie in \[0, 1\]"):
        fid_kid(net, real.float(), real)


# ----------------------------------------------------------------------------------------------------------------
# cache


def test_save_and_load(tmp_path: Path, trained: tuple[AttributeNet, dict[str, float]]) -> None:
    net, accuracy = trained
    path = save_attribute_net(tmp_path / "cache" / "attributes.pt", net, accuracy)
    loaded, stored = load_attribute_net(path)
    assert stored == accuracy
    assert (
        loaded.config
        == net.config
        == {
            "channels": 3,
            "height": SIZE,
            "width": SIZE,
            "heads": HEADS,
            "hidden": 32,
            "base": 32,
        }
    )
    assert not loaded.training
    images, _ = draw(20, seed=5)
    torch.testing.assert_close(loaded.features(images), net.features(images))


def test_load_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_attribute_net(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="cannot read attribute network file"):
        load_attribute_net(garbage)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ConfigError, match="is not an attribute network file"):
        load_attribute_net(other)
    damaged = tmp_path / "damaged.pt"
    net = AttributeNet(3, SIZE, SIZE, HEADS, hidden=8)
    save_attribute_net(damaged, net, {})
    payload = torch.load(damaged, weights_only=True)
    payload["config"]["hidden"] = 9
    torch.save(payload, damaged)
    with pytest.raises(ConfigError, match="is damaged: Error"):
        load_attribute_net(damaged)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda(tmp_path: Path) -> None:
    net, accuracy = train_attribute_net(
        render, HEADS, 3, SIZE, SIZE, steps=150, batch_size=64, hidden=32, device="cuda"
    )
    assert next(net.parameters()).is_cuda
    assert all(value >= 0.97 for value in accuracy.values()), accuracy
    real, _ = draw(300, seed=10)  # CPU images, CUDA network
    other, _ = draw(250, seed=12, colours=(2,))
    itself, unlike = fid_kid(net, real, real.cuda()), fid_kid(net, real, other, subset_size=100)
    assert itself["fid"] < 1e-5 and unlike["fid"] > 1.0 and unlike["kid"] > 0.1
    assert attribute_tvd(net, other.cuda(), {"colour": torch.tensor([0.0, 0.0, 1.0])})["colour"] < 0.05
    loaded, _ = load_attribute_net(save_attribute_net(tmp_path / "net.pt", net, accuracy), device="cuda")
    torch.testing.assert_close(loaded.features(real[:10]), net.features(real[:10]))
