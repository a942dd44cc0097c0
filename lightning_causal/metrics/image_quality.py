"""Quality of generated images, read by an attribute network trained on the ground-truth renderer.

A benchmark whose images are rendered from known attributes (digit, colour, thickness, ...) scores a generative
model in two ways, neither of which downloads anything:

- Attribute fidelity: :class:`AttributeNet`, a small CNN with one classification head per attribute, is trained by
  :func:`train_attribute_net` on fresh renderings of the ground-truth generator. It reads the attributes off the
  generated images (:func:`predict_attributes`, :func:`attribute_distribution`), and :func:`attribute_tvd` reports
  the total variation distance ``TVD(p, q) = 1/2 sum_k |p_k - q_k|`` (:func:`tvd`) between the distribution of each
  read-off attribute and its exact distribution.
- FID and KID (:func:`fid_kid`): the Fréchet distance of Heusel et al. 2017 ("GANs Trained by a Two Time-Scale
  Update Rule Converge to a Local Nash Equilibrium", arXiv 1706.08500) and the kernel distance of Bińkowski et al.
  2018 ("Demystifying MMD GANs", arXiv 1801.01401), computed by torchmetrics on the penultimate features of the
  same :class:`AttributeNet` instead of Inception-v3. The values are therefore comparable only between runs that
  use the same trained network (cache it with :func:`save_attribute_net` / :func:`load_attribute_net`), not with
  published Inception FIDs.

With a custom feature network torchmetrics (1.9) needs neither torch-fidelity nor scipy: the matrix square root
of FID is taken through ``torch.linalg.eigvals``, and the network's ``num_features`` attribute spares the dummy
299x299 forward pass.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from lightning_causal.errors import ConfigError, QueryError, TrainingError, listing
from lightning_causal.files import atomic_write

__all__ = [
    "AttributeNet",
    "Render",
    "attribute_distribution",
    "attribute_tvd",
    "fid_kid",
    "load_attribute_net",
    "predict_attributes",
    "save_attribute_net",
    "train_attribute_net",
    "tvd",
]

Render = Callable[[int, torch.Generator], tuple[Tensor, Mapping[str, Tensor]]]
"""``render(n, rng) -> (uint8 images (n, C, H, W), {attribute: int64 codes (n,)})``: fresh labelled images."""

_FORMAT = "lightning_causal.AttributeNet"
_VERSION = 1
_EVAL_SIZE = 2000


# ----------------------------------------------------------------------------------------------------------------
# the network


class AttributeNet(nn.Module):
    """Small CNN that reads the attributes of an image: shared features, one linear classification head each.

    Layers: conv 3x3 (``base`` channels) -> conv 3x3 stride 2 (``2 base``) -> conv 3x3 stride 2 (``2 base``), each
    followed by GroupNorm and SiLU, then an adaptive average pool to 4x4 (coarse position survives), a linear layer
    to ``hidden`` features with SiLU and a LayerNorm without affine parameters (:meth:`features`, the FID/KID
    embedding: every feature vector has mean 0 and variance 1, which keeps the cubic KID kernel ``(x.y / d + 1)^3``
    in a sane range), and one linear head per attribute.
    There are no batch statistics, so train and eval mode compute the same function. Works for any image of at
    least 4x4 pixels (8x8 to 64x64 in the benchmarks).

    Args:
        channels: image channels C.
        height: image height H.
        width: image width W.
        heads: number of classes per attribute, e.g. ``{"digit": 10, "colour": 6}`` (at least 2 each).
        hidden: width of the feature layer (``num_features``).
        base: channels of the first convolution.

    Attributes:
        num_features: ``hidden``; torchmetrics reads it instead of running a dummy image through the network.
    """

    def __init__(
        self,
        channels: int,
        height: int,
        width: int,
        heads: Mapping[str, int],
        hidden: int = 128,
        base: int = 32,
    ) -> None:
        super().__init__()
        for what, value, least in (
            ("channels", channels, 1),
            ("height", height, 4),
            ("width", width, 4),
            ("hidden", hidden, 1),
            ("base", base, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
                raise QueryError(f"AttributeNet: {what} must be an integer >= {least}, got {value!r}")
        if not isinstance(heads, Mapping) or len(heads) == 0:
            raise QueryError(f"AttributeNet: heads must be a non-empty mapping attribute -> classes, got {heads!r}")
        for name, classes in heads.items():
            if not isinstance(name, str) or not name or "." in name:
                raise QueryError(f"AttributeNet: attribute name {name!r} must be a non-empty string without '.'")
            if isinstance(classes, bool) or not isinstance(classes, int | np.integer) or classes < 2:
                raise QueryError(f"AttributeNet: attribute {name!r} needs an integer >= 2 classes, got {classes!r}")
        self.channels, self.height, self.width = int(channels), int(height), int(width)
        self.heads: dict[str, int] = {name: int(classes) for name, classes in heads.items()}
        self.hidden, self.base = int(hidden), int(base)
        self.num_features = self.hidden
        wide = 2 * self.base
        self.body = nn.Sequential(
            nn.Conv2d(self.channels, self.base, 3, padding=1),
            nn.GroupNorm(min(8, self.base), self.base),
            nn.SiLU(),
            nn.Conv2d(self.base, wide, 3, stride=2, padding=1),
            nn.GroupNorm(min(8, wide), wide),
            nn.SiLU(),
            nn.Conv2d(wide, wide, 3, stride=2, padding=1),
            nn.GroupNorm(min(8, wide), wide),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d((4, 4)),
            nn.Flatten(),
            nn.Linear(wide * 16, self.hidden),
            nn.SiLU(),
            nn.LayerNorm(self.hidden, elementwise_affine=False),
        )
        self.classifiers = nn.ModuleDict({name: nn.Linear(self.hidden, k) for name, k in self.heads.items()})

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments, as plain Python values (what :func:`save_attribute_net` stores)."""
        return {
            "channels": self.channels,
            "height": self.height,
            "width": self.width,
            "heads": dict(self.heads),
            "hidden": self.hidden,
            "base": self.base,
        }

    def _check_images(self, images: Tensor, what: str = "images") -> None:
        """A one-line QueryError unless ``images`` are uint8, or floats in [0, 1], of shape (n, C, H, W)."""
        if not isinstance(images, Tensor):
            raise QueryError(f"{what} must be a torch.Tensor, got {type(images).__name__}")
        expected = (self.channels, self.height, self.width)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise QueryError(
                f"{what} have shape {tuple(images.shape)}; the attribute network reads (n, C, H, W) = (n, "
                f"{', '.join(map(str, expected))})"
            )
        if images.dtype == torch.uint8:
            return
        if not images.is_floating_point():
            raise QueryError(f"{what} must be uint8 (0..255) or floating point (0..1), got {images.dtype}")
        if images.numel() and not bool(((images >= 0) & (images <= 1)).all()):
            low, high = float(images.min()), float(images.max())
            raise QueryError(f"floating-point {what} must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]")

    def _check(self, images: Tensor, what: str = "images") -> Tensor:
        """``images`` as float32 in [-1, 1] on the network's device; a one-line QueryError if they do not fit."""
        self._check_images(images, what)
        device = next(self.parameters()).device
        if images.dtype == torch.uint8:
            return images.to(device, torch.float32) / 127.5 - 1.0
        return images.to(device, torch.float32) * 2.0 - 1.0

    def features(self, images: Tensor) -> Tensor:
        """Penultimate features, shape (n, ``hidden``), of uint8 images (0..255) or float images (0..1)."""
        return self.body(self._check(images))

    def forward(self, images: Tensor) -> dict[str, Tensor]:  # type: ignore[override]
        """Logits per attribute, ``{attribute: (n, classes)}``, of uint8 images (0..255) or float images (0..1)."""
        hidden = self.features(images)
        return {name: head(hidden) for name, head in self.classifiers.items()}


class _FeatureExtractor(nn.Module):
    """The network's features in float64 on the CPU (where the metric states live), for torchmetrics' FID and KID."""

    def __init__(self, net: AttributeNet) -> None:
        super().__init__()
        self.net = net
        self.num_features = net.num_features

    def forward(self, images: Tensor) -> Tensor:
        return self.net.features(images).double().cpu()


# ----------------------------------------------------------------------------------------------------------------
# training


def _stream(seed: int, stream: int) -> int:
    """An independent 63-bit seed for stream ``stream`` of ``seed`` (numpy SeedSequence)."""
    state = np.random.SeedSequence((int(seed), stream)).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def _check_batch(
    images: Any, labels: Any, n: int, heads: Mapping[str, int], shape: tuple[int, int, int]
) -> tuple[Tensor, dict[str, Tensor]]:
    """The output of ``render`` checked against the requested count, the heads and the image shape."""
    if not isinstance(images, Tensor) or images.dtype != torch.uint8 or tuple(images.shape) != (n, *shape):
        got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, Tensor) else type(images).__name__
        raise QueryError(f"render({n}, rng) must return uint8 images of shape {(n, *shape)}, got {got}")
    if not isinstance(labels, Mapping) or set(labels) != set(heads):
        got = listing(labels) if isinstance(labels, Mapping) else type(labels).__name__
        raise QueryError(f"render must return labels for exactly the attributes {listing(heads)}, got {got}")
    checked: dict[str, Tensor] = {}
    for name, classes in heads.items():
        codes = labels[name]
        if not isinstance(codes, Tensor) or codes.dtype != torch.int64 or tuple(codes.shape) != (n,):
            got = f"{codes.dtype} {tuple(codes.shape)}" if isinstance(codes, Tensor) else type(codes).__name__
            raise QueryError(f"render labels of {name!r} must be int64 codes of shape ({n},), got {got}")
        if n and (int(codes.min()) < 0 or int(codes.max()) >= classes):
            raise QueryError(
                f"render labels of {name!r} must lie in 0..{classes - 1}, got {int(codes.min())}..{int(codes.max())}"
            )
        checked[name] = codes
    return images, checked


def train_attribute_net(
    render: Render,
    heads: Mapping[str, int],
    channels: int,
    height: int,
    width: int,
    steps: int = 1500,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    progress: bool = False,
    device: torch.device | str = "cpu",
    hidden: int = 128,
) -> tuple[AttributeNet, dict[str, float]]:
    """Train an :class:`AttributeNet` on fresh renderings and measure its accuracy on held-out ones.

    Every step draws a new batch ``render(batch_size, rng)`` and takes an Adam step on the sum of the
    cross-entropies of all heads; the learning rate follows a cosine from ``lr`` down to ``lr / 20``. Randomness is
    explicit: the initial weights come from ``seed`` (the global RNG is forked, not touched), the training batches
    from one CPU ``torch.Generator`` stream of ``seed`` and the 2000 held-out renderings from another, so the same
    seed gives identical weights on the same machine (on a GPU up to cuDNN's nondeterministic kernels).

    Args:
        render: ``render(n, rng) -> (uint8 images (n, C, H, W), {attribute: int64 codes (n,)})``, the
            ground-truth renderer; it must draw all its randomness from ``rng`` (a CPU ``torch.Generator``).
        heads: number of classes per attribute; ``render`` must label exactly these.
        channels: image channels C.
        height: image height H.
        width: image width W.
        steps: optimizer steps.
        batch_size: renderings per step.
        lr: Adam's initial learning rate.
        seed: the seed of the weights, the training batches and the held-out set.
        progress: show a tqdm progress bar with the running loss.
        device: where the network is trained and stays.
        hidden: width of the feature layer (the FID/KID embedding).

    Returns:
        The trained network (in eval mode, on ``device``) and its held-out accuracy per attribute.

    Raises:
        QueryError: a bad setting, or ``render`` returns images or labels that do not fit.
        TrainingError: the loss became NaN or infinite.
    """
    for what, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise QueryError(f"train_attribute_net: {what} must be a positive integer, got {value!r}")
    if not (isinstance(lr, int | float) and 0 < lr < math.inf):
        raise QueryError(f"train_attribute_net: lr must be a positive finite number, got {lr!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise QueryError(f"train_attribute_net: seed must be an integer, got {seed!r}")
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_stream(seed, 0))
        net = AttributeNet(channels, height, width, heads, hidden=hidden)
    net.to(device).train()
    shape = (net.channels, net.height, net.width)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=lr / 20)
    train_rng = torch.Generator().manual_seed(_stream(seed, 1))
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps, desc="attribute net", unit="step")
    try:
        for step in range(steps):
            images, labels = _check_batch(*render(batch_size, train_rng), batch_size, net.heads, shape)
            logits = net(images)
            loss = torch.stack([F.cross_entropy(logits[name], labels[name].to(device)) for name in net.heads]).sum()
            if not torch.isfinite(loss):
                raise TrainingError(f"attribute network: the loss became {loss.item()} at step {step}", step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if bar is not None:
                bar.update(1)
                if step % 25 == 0 or step == steps - 1:
                    bar.set_postfix(loss=f"{loss.item():.4f}")
    finally:
        if bar is not None:
            bar.close()
    net.eval()
    held_rng = torch.Generator().manual_seed(_stream(seed, 2))
    images, labels = _check_batch(*render(_EVAL_SIZE, held_rng), _EVAL_SIZE, net.heads, shape)
    predicted = predict_attributes(net, images)
    accuracy = {name: float((predicted[name] == labels[name]).double().mean()) for name in net.heads}
    return net, accuracy


# ----------------------------------------------------------------------------------------------------------------
# attribute fidelity


def _count(images: Tensor, what: str = "images") -> int:
    if not isinstance(images, Tensor):
        raise QueryError(f"{what} must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4:
        raise QueryError(f"{what} must have shape (n, C, H, W), got {tuple(images.shape)}")
    return int(images.shape[0])


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise QueryError(f"batch_size must be a positive integer, got {batch_size!r}")


@torch.no_grad()
def predict_attributes(net: AttributeNet, images: Tensor, batch_size: int = 512) -> dict[str, Tensor]:
    """The most likely class of every attribute of every image.

    Args:
        net: a trained attribute network.
        images: uint8 (0..255) or float (0..1) images, shape (n, C, H, W) as the network was built for.
        batch_size: images per forward pass.

    Returns:
        ``{attribute: int64 codes (n,)}`` on the CPU.
    """
    n = _count(images)
    _check_batch_size(batch_size)
    if n == 0:
        net._check_images(images)
        return {name: torch.zeros(0, dtype=torch.int64) for name in net.heads}
    chunks: dict[str, list[Tensor]] = {name: [] for name in net.heads}
    for start in range(0, n, batch_size):
        logits = net(images[start : start + batch_size])
        for name in net.heads:
            chunks[name].append(logits[name].argmax(dim=1).cpu())
    return {name: torch.cat(parts) for name, parts in chunks.items()}


def attribute_distribution(net: AttributeNet, images: Tensor, batch_size: int = 512) -> dict[str, Tensor]:
    """The distribution of each attribute as the network reads it off the images.

    Args:
        net: a trained attribute network.
        images: uint8 (0..255) or float (0..1) images, shape (n, C, H, W), n >= 1.
        batch_size: images per forward pass.

    Returns:
        ``{attribute: float64 class frequencies (classes,)}`` on the CPU, each summing to 1.
    """
    if _count(images) == 0:
        raise QueryError("attribute_distribution needs at least one image, got 0")
    codes = predict_attributes(net, images, batch_size)
    return {
        name: torch.bincount(codes[name], minlength=classes).double() / codes[name].numel()
        for name, classes in net.heads.items()
    }


def _as_distribution(p: Any, what: str) -> Tensor:
    try:
        p = torch.as_tensor(p).detach().to("cpu", torch.float64)
    except (TypeError, ValueError, RuntimeError) as error:
        raise QueryError(f"{what} must be a probability vector, got {type(p).__name__}: {error}") from None
    if p.ndim != 1 or p.numel() == 0:
        raise QueryError(f"{what} must be a non-empty 1-D probability vector, got shape {tuple(p.shape)}")
    if not bool(torch.isfinite(p).all()) or bool((p < 0).any()):
        raise QueryError(f"{what} must have finite non-negative entries, got {p.tolist()}")
    if abs(float(p.sum()) - 1.0) > 1e-6:
        raise QueryError(f"{what} must sum to 1, got {float(p.sum()):.8g}")
    return p


def tvd(p: Tensor, q: Tensor) -> float:
    """Total variation distance ``1/2 sum_k |p_k - q_k|`` between two distributions on the same classes.

    Args:
        p: probability vector, shape (k,) (non-negative, sums to 1 within 1e-6).
        q: probability vector, shape (k,).

    Returns:
        A number in [0, 1]: 0 for equal distributions, 1 for disjoint supports.
    """
    p = _as_distribution(p, "p")
    q = _as_distribution(q, "q")
    if p.shape != q.shape:
        raise QueryError(f"tvd: p has {p.numel()} classes but q has {q.numel()}; compare distributions on one set")
    return 0.5 * float((p - q).abs().sum())


def attribute_tvd(
    net: AttributeNet, images: Tensor, truth: Mapping[str, Tensor], batch_size: int = 512
) -> dict[str, float]:
    """TVD between the attribute distribution read off the images and the exact one, per attribute and on average.

    Args:
        net: a trained attribute network.
        images: uint8 (0..255) or float (0..1) generated images, shape (n, C, H, W), n >= 1.
        truth: exact distribution per attribute, ``{attribute: probability vector (classes,)}``; any non-empty
            subset of the network's heads.
        batch_size: images per forward pass.

    Returns:
        ``{attribute: TVD}`` for the attributes of ``truth`` and ``"mean"``, their average.
    """
    if not isinstance(truth, Mapping) or len(truth) == 0:
        raise QueryError("attribute_tvd needs the exact distribution of at least one attribute, got none")
    unknown = [name for name in truth if name not in net.heads]
    if unknown:
        raise QueryError(f"attribute_tvd: no head for {listing(unknown)}; the network reads {listing(net.heads)}")
    if "mean" in truth:
        raise QueryError("attribute_tvd: an attribute named 'mean' clashes with the average in the result")
    exact = {name: _as_distribution(truth[name], f"truth[{name!r}]") for name in truth}
    for name, p in exact.items():
        if p.numel() != net.heads[name]:
            raise QueryError(f"truth[{name!r}] has {p.numel()} classes but the head has {net.heads[name]}")
    read = attribute_distribution(net, images, batch_size)
    result = {name: 0.5 * float((read[name] - p).abs().sum()) for name, p in exact.items()}
    result["mean"] = sum(result.values()) / len(exact)
    return result


# ----------------------------------------------------------------------------------------------------------------
# FID and KID


@torch.no_grad()
def fid_kid(
    net: AttributeNet,
    real: Tensor,
    fake: Tensor,
    subset_size: int | None = None,
    seed: int = 0,
    subsets: int = 100,
    batch_size: int = 512,
) -> dict[str, float]:
    """FID and KID between real and generated images, on the attribute network's features (torchmetrics).

    FID (Heusel et al. 2017) is the Fréchet distance of Gaussians fitted to the two feature sets; KID (Bińkowski et
    al. 2018) the unbiased squared MMD with the kernel ``(x.y / d + 1)^3``, averaged over ``subsets`` random subsets
    of ``subset_size`` images from each side. The subsets are drawn from the CPU RNG seeded with ``seed`` inside a
    fork, so the result is deterministic and the global RNG untouched. The metrics are computed locally (no DDP
    sync), so the function may run on one rank only. With fewer images than features the FID covariances are
    singular; it is still defined but noisy, so use a few hundred images or more.

    Args:
        net: a trained attribute network.
        real: uint8 (0..255) or float (0..1) reference images, shape (n, C, H, W), n >= 2.
        fake: generated images of the same kind, shape (m, C, H, W), m >= 2 (m may differ from n).
        subset_size: KID subset size; ``None`` takes ``min(1000, n, m)``.
        seed: seed of the KID subsets.
        subsets: number of KID subsets.
        batch_size: images per forward pass.

    Returns:
        ``{"fid", "kid", "kid_std"}`` (kid_std: standard deviation of KID over the subsets). KID is unbiased,
        so it can be slightly negative when the two sets come from one distribution (or are the same set).
    """
    n, m = _count(real, "real images"), _count(fake, "fake images")
    if n < 2 or m < 2:
        raise QueryError(f"fid_kid needs at least 2 real and 2 fake images, got {n} real and {m} fake")
    _check_batch_size(batch_size)
    if subset_size is None:
        subset_size = min(1000, n, m)
    if isinstance(subset_size, bool) or not isinstance(subset_size, int) or not 2 <= subset_size <= min(n, m):
        raise QueryError(f"KID subset_size must be an integer in 2..{min(n, m)} (the smaller set), got {subset_size!r}")
    if isinstance(subsets, bool) or not isinstance(subsets, int) or subsets < 1:
        raise QueryError(f"KID subsets must be a positive integer, got {subsets!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise QueryError(f"fid_kid: seed must be an integer, got {seed!r}")
    net._check_images(real, "real images")
    net._check_images(fake, "fake images")
    extractor = _FeatureExtractor(net)
    fid = FrechetInceptionDistance(feature=extractor, sync_on_compute=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer.*")
        kid = KernelInceptionDistance(
            feature=extractor, subsets=subsets, subset_size=subset_size, sync_on_compute=False
        )
    for images, is_real in ((real, True), (fake, False)):
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size]
            fid.update(batch, real=is_real)
            kid.update(batch, real=is_real)
    # the Fréchet distance is >= 0; eigvals can leave a rounding error of either sign when the sets agree
    fid_value = max(float(fid.compute()), 0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        kid_mean, kid_std = kid.compute()
    return {"fid": fid_value, "kid": float(kid_mean), "kid_std": float(kid_std)}


# ----------------------------------------------------------------------------------------------------------------
# cache


def save_attribute_net(path: str | Path, net: AttributeNet, accuracy: Mapping[str, float]) -> Path:
    """Write the network's config, weights and held-out accuracy to one torch file (atomically).

    Args:
        path: the file to write (folders are created).
        net: the trained network.
        accuracy: its held-out accuracy per attribute, as :func:`train_attribute_net` returns it.

    Returns:
        The path written.
    """
    if not isinstance(net, AttributeNet):
        raise QueryError(f"save_attribute_net needs an AttributeNet, got {type(net).__name__}")
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "config": net.config,
        "state_dict": {key: value.detach().cpu() for key, value in net.state_dict().items()},
        "accuracy": {str(name): float(value) for name, value in accuracy.items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write(path, buffer.getvalue())


def load_attribute_net(path: str | Path, device: torch.device | str = "cpu") -> tuple[AttributeNet, dict[str, float]]:
    """Read a network written by :func:`save_attribute_net` (``weights_only`` load: no code is unpickled).

    Args:
        path: the file.
        device: where to put the network.

    Returns:
        The network (eval mode) and its stored held-out accuracy per attribute.

    Raises:
        ConfigError: the file is missing, unreadable or not an attribute-network file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"attribute network file {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"cannot read attribute network file {str(path)!r}: {reason}") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ConfigError(f"{str(path)!r} is not an attribute network file (written by save_attribute_net)")
    if payload.get("version") != _VERSION:
        raise ConfigError(f"{str(path)!r} has attribute network format {payload.get('version')!r}; expected {_VERSION}")
    try:
        net = AttributeNet(**payload["config"])
        net.load_state_dict(payload["state_dict"])
        accuracy = {str(name): float(value) for name, value in payload["accuracy"].items()}
    except (KeyError, TypeError, RuntimeError, QueryError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"attribute network file {str(path)!r} is damaged: {reason}") from None
    return net.to(device).eval(), accuracy
