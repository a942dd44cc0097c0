"""The DCM network: one conditional generator per node of a causal DAG, evaluated in banks.

Diffusion-based causal models (Chao et al. 2023, arXiv 2302.00860) train, for every non-root node
V_i, a conditional model of V_i given its parents. :class:`DCMNetwork` composes the parts that do
it, each in its own module:

* the encoded layout (:class:`~lightning_causal.variables.EncodedLayout`): every variable's codec
  block side by side in topological order, so each bank gathers its targets and parents from one
  matrix with one index tensor;
* the banks (``banks.py``): all continuous non-root nodes in one :class:`DiffusionBank`, all
  discrete ones in one :class:`ClassifierBank`, image nodes in an :class:`ImageDiffusionBank`
  (a conditional UNet each, ``image_bank.py``);
* the roots (``roots.py``): the empirical distribution of the training data (``roots="empirical"``),
  or modelled too (``roots="model"``: unconditional diffusion or a learned marginal).

All values are dicts ``{name: tensor}`` in data space. :meth:`DCMNetwork.generate` samples one
topological level given its parents and :meth:`DCMNetwork.abduct` inverts nodes for
counterfactuals; the queries (``queries.py``) and the per-node generator views
(``node_generator.py``) are written on these two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from lightning_causal.diffusion import SCHEDULES
from lightning_causal.errors import ConfigError, GraphError
from lightning_causal.graph.causal_graph import CausalGraph
from lightning_causal.models.dcm.banks import BACKENDS, bank_losses, build_banks
from lightning_causal.models.dcm.image_bank import ImageNetworkConfig
from lightning_causal.models.dcm.roots import EmpiricalRoots
from lightning_causal.nets import CONDITIONING
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

__all__ = ["ROOTS", "DCMNetwork", "DCMNetworkConfig"]

ROOTS = ("empirical", "model")


@dataclass(frozen=True)
class DCMNetworkConfig:
    """The architecture of a DCM network (every field is a ``model.init_args.network`` key in configs)."""

    hidden: int = 64
    """Hidden width of every node's denoiser."""
    depth: int = 2
    """Hidden layers of every node network."""
    conditioning: str = "film"
    """How a denoiser sees its parents and the time step: ``"film"`` or ``"concat"``."""
    time_dim: int = 16
    """Width of the sinusoidal time embedding."""
    timesteps: int = 100
    """T, the diffusion steps (the DCM reference uses 100)."""
    schedule: str = "linear"
    """``"linear"`` or ``"cosine"`` (cosine suits T >= 1000; with T = 100 its last betas near 1 make
    DDIM's x0 estimate unstable)."""
    beta_start: float = 1e-4
    """First beta of the linear schedule."""
    beta_end: float = 0.1
    """Last beta of the linear schedule (0.1 in the DCM reference)."""
    roots: str = "empirical"
    """``"empirical"`` (resample training values) or ``"model"`` (learn the roots too)."""
    backend: str = "batched"
    """``"batched"`` (all node networks as one) or ``"separate"`` (one MLP per node, in a loop)."""
    classifier_hidden: int = 64
    """Hidden width of the discrete nodes' classifiers."""
    max_root_samples: int = 10_000
    """Training rows kept per root for empirical sampling."""
    image: ImageNetworkConfig = field(default_factory=ImageNetworkConfig)
    """The UNet and diffusion settings of image variables (:class:`ImageNetworkConfig`)."""

    def __post_init__(self) -> None:
        image: Any = self.image
        if isinstance(image, dict):
            try:
                object.__setattr__(self, "image", ImageNetworkConfig(**image))
            except TypeError as err:
                raise ConfigError(f"network.image: {err}; see ImageNetworkConfig for the keys") from None
        elif not isinstance(image, ImageNetworkConfig):
            raise ConfigError(f"network.image is {image!r}; give a mapping of ImageNetworkConfig keys")
        for key in ("hidden", "depth", "time_dim", "timesteps", "classifier_hidden", "max_root_samples"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"network.{key} is {value!r}; give a whole number >= 1")
        if self.time_dim % 2:
            raise ConfigError(f"network.time_dim is {self.time_dim}; give an even number (sines and cosines)")
        if not 0 < self.beta_start < self.beta_end < 1:
            raise ConfigError(
                f"network.beta_start {self.beta_start} and beta_end {self.beta_end}: give 0 < beta_start < beta_end < 1"
            )
        for key, allowed in (("roots", ROOTS), ("backend", BACKENDS), ("conditioning", CONDITIONING)):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"network.{key} is {getattr(self, key)!r}; choose one of {', '.join(allowed)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"network.schedule is {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")


class DCMNetwork(nn.Module):
    """All conditional generators of a DCM over ``graph``.

    Args:
        graph: a DAG (no bidirected edges: DCM assumes causal sufficiency).
        variables: the type (and codec statistics) of every node.
        config: the architecture (:class:`DCMNetworkConfig`; default: its defaults).
    """

    def __init__(
        self,
        graph: CausalGraph,
        variables: Mapping[str, VariableSpec],
        config: DCMNetworkConfig | None = None,
    ) -> None:
        super().__init__()
        if graph.bidirected:
            u, v = graph.bidirected[0]
            raise GraphError(
                f"DCM assumes no latent confounders, but the graph has {u} <-> {v}; "
                "for graphs with bidirected edges use ID-GEN (lightning_causal.compile_plan)"
            )
        config = config or DCMNetworkConfig()
        self.config = config
        missing = [n for n in graph.nodes if n not in variables]
        if missing:
            raise GraphError(f"no variable type for node {missing[0]!r}; give one for every node")
        self.graph = graph
        self.variables = {n: variables[n] for n in graph.nodes}
        self.order = graph.topological_order()
        self.parents = {n: graph.parents(n) for n in self.order}
        self.levels = [list(level) for level in graph.levels()]

        # 1. the encoded layout: one column block per variable, in topological order, plus a zero column
        self.layout = EncodedLayout(self.variables, self.order)

        # 2. which generator models which node
        modelled_roots = config.roots == "model"
        self.empirical = [n for n in self.order if not self.parents[n] and not modelled_roots]
        self.roots = EmpiricalRoots(self.empirical, config.max_root_samples)

        # 3. the banks (the diffusion bank first: parameters are initialised in this order)
        modelled = [n for n in self.order if n not in self.empirical]
        self.diffusion, self.classifiers, self.images = build_banks(
            modelled, self.parents, self.layout, self.variables, config
        )
        self.diffusion_nodes = list(self.diffusion.nodes) if self.diffusion is not None else []
        self.classifier_nodes = list(self.classifiers.nodes) if self.classifiers is not None else []
        self.image_nodes = list(self.images.nodes) if self.images is not None else []

    @property
    def device(self) -> torch.device:
        return self.layout.shift.device

    @property
    def modelled(self) -> list[str]:
        """The nodes with a trained generator, in the order of :meth:`loss_vector`."""
        return [*self.diffusion_nodes, *self.classifier_nodes, *self.image_nodes]

    def encode(
        self, values: Mapping[str, Tensor], names: Sequence[str] | None = None, out: Tensor | None = None
    ) -> Tensor:
        """The layout's encoding of ``values`` (see :meth:`EncodedLayout.encode`)."""
        return self.layout.encode(values, names, out)

    # ------------------------------------------------------------------ training
    def loss_vector(self, values: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        """Training losses of the modelled nodes (DDPM for diffusion, cross-entropy for classes) as one vector."""
        banks = (self.diffusion, self.classifiers, self.images)
        return bank_losses(banks, self.encode(values), values, rng)

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        names: list[str],
        encoded: Tensor,
        rng: torch.Generator | None,
        sampler: str,
        steps: int | None,
        eta: float,
        latents: Mapping[str, Tensor] | None = None,
        guidance: float | None = None,
    ) -> dict[str, Tensor]:
        """Values of the modelled ``names`` (one topological level) given the parents already in ``encoded``.

        With ``latents`` (counterfactuals) the diffusion nodes decode those latents
        deterministically and the classifier nodes apply that Gumbel noise. ``guidance`` is the
        classifier-free guidance weight of image nodes (default: ``network.image.guidance``).
        """
        out: dict[str, Tensor] = {}
        diff = [m for m in names if m in self.diffusion_nodes]
        if diff:
            assert self.diffusion is not None
            index = self.diffusion.index(diff, encoded.device)
            given = None if latents is None else [latents[m] for m in diff]
            x0 = self.diffusion.sample(encoded, index, rng, sampler, steps, eta, latents=given)
            for k, m in enumerate(diff):
                out[m] = self.layout.decode(m, x0[k])
        cls = [m for m in names if m in self.classifier_nodes]
        if cls:
            assert self.classifiers is not None
            index = self.classifiers.index(cls, encoded.device)
            given = None if latents is None else [latents[m] for m in cls]
            out.update(zip(cls, self.classifiers.sample(encoded, index, rng, latents=given), strict=True))
        imgs = [m for m in names if m in self.image_nodes]
        if imgs:
            assert self.images is not None
            index = self.images.index(imgs, encoded.device)
            given = None if latents is None else [latents[m] for m in imgs]
            x0s = self.images.sample(encoded, index, rng, sampler, steps, eta, latents=given, guidance=guidance)
            for m, x0 in zip(imgs, x0s, strict=True):
                out[m] = self.layout.decode(m, x0)
        return out

    @torch.no_grad()
    def abduct(
        self,
        factual: Mapping[str, Tensor],
        names: Sequence[str],
        rng: torch.Generator | None = None,
        steps: int | None = None,
        refine: int = 2,
    ) -> dict[str, Tensor]:
        """The latent (exogenous noise proxy) of each node in ``names`` given the factual parents."""
        encoded = self.encode(factual)
        out: dict[str, Tensor] = {}
        diff = [m for m in names if m in self.diffusion_nodes]
        if diff:
            assert self.diffusion is not None
            z = self.diffusion.abduct(encoded, self.diffusion.index(diff, encoded.device), steps, refine)
            out.update(zip(diff, z, strict=True))
        cls = [m for m in names if m in self.classifier_nodes]
        if cls:
            assert self.classifiers is not None
            index = self.classifiers.index(cls, encoded.device)
            out.update(zip(cls, self.classifiers.abduct(encoded, index, [factual[m] for m in cls], rng), strict=True))
        imgs = [m for m in names if m in self.image_nodes]
        if imgs:
            assert self.images is not None
            out.update(
                zip(
                    imgs,
                    self.images.abduct(encoded, self.images.index(imgs, encoded.device), steps, refine),
                    strict=True,
                )
            )
        return out
