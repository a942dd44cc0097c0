"""The DCM network: one conditional generator per node of a causal DAG, evaluated in banks.

Diffusion-based causal models (Chao et al. 2023, arXiv 2302.00860) train, for every non-root node
V_i, a conditional diffusion model of V_i given its parents. Here those models are grouped:

* every continuous non-root node is one network of the *diffusion bank*: a
  :class:`~lightning_causal.nets.BatchedMLP` denoiser eps_theta(x_t, t, parents) per node, trained
  with the DDPM loss and inverted with DDIM for abduction;
* every discrete (categorical or binary) non-root node is one network of the *classifier bank*,
  a Gumbel-max mechanism whose logits an MLP computes from the parents;
* roots take the empirical distribution of the training data (``roots="empirical"``) or are
  modelled too (``roots="model"``: unconditional diffusion or a learned marginal).

``backend="batched"`` evaluates each bank as one network (stacked weights, batched matmuls);
``backend="separate"`` keeps one ordinary MLP per node and loops over them (the reference layout,
kept for comparison). Both expose the same methods, so everything above them is backend-agnostic.

All values are dicts ``{name: tensor}`` in data space; internally every variable is encoded
(``variables.py``) into one row-major tensor ``E`` of shape (batch, width + 1) whose last column
is zero, and each network gathers its target and parent columns from ``E`` with one index tensor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_causal.diffusion import NoiseSchedule, ddim_encode, ddim_sample, ddpm_loss, ddpm_sample
from lightning_causal.errors import GraphError
from lightning_causal.generators.base import ConditionalGenerator
from lightning_causal.generators.gumbel import gumbel_decode, gumbel_posterior, gumbel_sample
from lightning_causal.graph import CausalGraph
from lightning_causal.nets import BatchedMLP, sinusoidal_embedding
from lightning_causal.variables import VariableSpec

__all__ = ["BACKENDS", "ROOTS", "DCMNetwork"]

BACKENDS = ("batched", "separate")
CLIP_MARGIN = 0.1  # generated values may leave the training range by this share of its span
ROOTS = ("empirical", "model")


class _SeparateMLPs(nn.Module):
    """One single-network BatchedMLP per node at its own (unpadded) widths, run in a loop."""

    def __init__(
        self, true_in: Sequence[int], true_cond: Sequence[int], true_out: Sequence[int], out_dim: int, **kwargs: object
    ) -> None:
        super().__init__()
        self.widths = list(zip(true_in, true_cond, true_out, strict=True))
        self.out_dim = out_dim
        self.nets = nn.ModuleList(
            BatchedMLP(1, i, c, o, **kwargs)  # type: ignore[arg-type]
            for i, c, o in self.widths
        )

    def forward(self, x: Tensor, c: Tensor, index: Tensor | None = None) -> Tensor:
        rows = range(len(self.nets)) if index is None else index.tolist()
        outs = []
        for k, node in enumerate(rows):
            i, cw, o = self.widths[node]
            y = self.nets[node](x[k : k + 1, :, :i], c[k : k + 1, :, :cw])
            outs.append(F.pad(y, (0, self.out_dim - o)))
        return torch.cat(outs, dim=0)


class DCMNetwork(nn.Module):
    """All conditional generators of a DCM over ``graph``.

    Args:
        graph: a DAG (no bidirected edges: DCM assumes causal sufficiency).
        variables: the type (and codec statistics) of every node.
        hidden, depth: width and number of hidden layers of every node network.
        conditioning: ``"film"`` or ``"concat"`` (how the denoiser sees parents and time).
        time_dim: width of the sinusoidal time embedding.
        timesteps, schedule, beta_start, beta_end: the diffusion (see ``NoiseSchedule``).
        roots: ``"empirical"`` or ``"model"``.
        backend: ``"batched"`` or ``"separate"``.
        classifier_hidden: hidden width of the categorical mechanisms.
        max_root_samples: rows of each root kept for empirical sampling.
    """

    mean: Tensor
    std: Tensor
    mean_padded: Tensor
    std_padded: Tensor
    time_table: Tensor
    diff_target: Tensor
    diff_cond: Tensor
    diff_mask: Tensor
    clip_low: Tensor
    clip_high: Tensor
    cls_cond: Tensor
    cls_valid: Tensor

    def __init__(
        self,
        graph: CausalGraph,
        variables: Mapping[str, VariableSpec],
        hidden: int = 64,
        depth: int = 2,
        conditioning: str = "film",
        time_dim: int = 16,
        timesteps: int = 100,
        schedule: str = "linear",
        beta_start: float = 1e-4,
        beta_end: float = 0.1,
        roots: str = "empirical",
        backend: str = "batched",
        classifier_hidden: int = 64,
        max_root_samples: int = 10_000,
    ) -> None:
        super().__init__()
        if graph.bidirected:
            u, v = graph.bidirected[0]
            raise GraphError(
                f"DCM assumes no latent confounders, but the graph has {u} <-> {v}; "
                "for graphs with bidirected edges use ID-GEN (lightning_causal.compile_plan)"
            )
        if roots not in ROOTS:
            raise ValueError(f"unknown roots {roots!r}; choose one of {', '.join(ROOTS)}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        missing = [n for n in graph.nodes if n not in variables]
        if missing:
            raise GraphError(f"no variable type for node {missing[0]!r}; give one for every node")
        self.graph = graph
        self.variables = {n: variables[n] for n in graph.nodes}
        self.order = graph.topological_order()
        self.parents = {n: graph.parents(n) for n in self.order}
        self.time_dim = time_dim
        self.roots = roots
        self.max_root_samples = max_root_samples

        # 1. the encoded layout: one column block per variable, in topological order, plus a zero column
        self.slices: dict[str, tuple[int, int]] = {}
        start = 0
        mean, std = [], []
        for name in self.order:
            spec = self.variables[name]
            width = spec.encoded_dim
            self.slices[name] = (start, start + width)
            start += width
            if spec.kind == "continuous":
                mean += list(spec.mean or [0.0] * spec.dim)
                std += list(spec.std or [1.0] * spec.dim)
            else:
                mean += [0.0] * width
                std += [1.0] * width
        self.width = start
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.register_buffer("mean_padded", torch.tensor([*mean, 0.0], dtype=torch.float32), persistent=False)
        self.register_buffer("std_padded", torch.tensor([*std, 1.0], dtype=torch.float32), persistent=False)

        # 2. which generator models which node
        modelled_roots = roots == "model"
        self.empirical = [n for n in self.order if not self.parents[n] and not modelled_roots]
        self.diffusion_nodes = [
            n for n in self.order if n not in self.empirical and self.variables[n].kind == "continuous"
        ]
        self.classifier_nodes = [n for n in self.order if n not in self.empirical and self.variables[n].is_discrete]
        self.bank_position = {n: k for k, n in enumerate(self.diffusion_nodes)}
        self.bank_position.update({n: k for k, n in enumerate(self.classifier_nodes)})
        self.levels = _levels(graph)

        # 3. gather indices into E (the zero column pads)
        pad = self.width

        def columns(names: Sequence[str]) -> list[int]:
            out: list[int] = []
            for n in names:
                a, b = self.slices[n]
                out.extend(range(a, b))
            return out

        def padded(rows: list[list[int]]) -> Tensor:
            size = max((len(r) for r in rows), default=0)
            return torch.tensor([r + [pad] * (size - len(r)) for r in rows], dtype=torch.long).reshape(len(rows), size)

        self.schedule = NoiseSchedule(timesteps, schedule, beta_start, beta_end)
        # the time embedding of every step, looked up instead of recomputed at every call
        self.register_buffer("time_table", sinusoidal_embedding(torch.arange(timesteps), time_dim), persistent=False)
        net_kwargs = {"hidden": hidden, "depth": depth}
        if self.diffusion_nodes:
            targets = [columns([n]) for n in self.diffusion_nodes]
            conds = [columns(self.parents[n]) for n in self.diffusion_nodes]
            self.register_buffer("diff_target", padded(targets))
            self.register_buffer("diff_cond", padded(conds))
            dmax = self.diff_target.shape[1]
            mask = torch.zeros(len(targets), 1, dmax)
            for k, cols in enumerate(targets):
                mask[k, 0, : len(cols)] = 1.0
            self.register_buffer("diff_mask", mask)
            # 4. the clip range of each node's x0 estimate (standardised): the training range
            #    widened by CLIP_MARGIN of its span; unbounded where the spec has no range
            low = torch.full((len(targets), 1, dmax), -torch.inf)
            high = torch.full((len(targets), 1, dmax), torch.inf)
            for k, n in enumerate(self.diffusion_nodes):
                spec = self.variables[n]
                if spec.low is None or spec.high is None:
                    continue
                a, _ = self.slices[n]
                lo = (torch.tensor(spec.low) - self.mean[a : a + spec.dim]) / self.std[a : a + spec.dim]
                hi = (torch.tensor(spec.high) - self.mean[a : a + spec.dim]) / self.std[a : a + spec.dim]
                span = (hi - lo).clamp(min=1e-6)
                low[k, 0, : spec.dim] = lo - CLIP_MARGIN * span
                high[k, 0, : spec.dim] = hi + CLIP_MARGIN * span
            self.register_buffer("clip_low", low)
            self.register_buffer("clip_high", high)
            true_in = [len(c) for c in targets]
            true_cond = [time_dim + len(c) for c in conds]
            cdim = time_dim + self.diff_cond.shape[1]
            if backend == "batched":
                self.denoiser: nn.Module = BatchedMLP(
                    len(targets),
                    dmax,
                    cdim,
                    dmax,
                    conditioning=conditioning,
                    true_in=true_in,
                    true_cond=true_cond,
                    **net_kwargs,  # type: ignore[arg-type]
                )
            else:
                self.denoiser = _SeparateMLPs(
                    true_in, true_cond, true_in, dmax, conditioning=conditioning, **net_kwargs
                )
        if self.classifier_nodes:
            conds = [columns(self.parents[n]) for n in self.classifier_nodes]
            self.register_buffer("cls_cond", padded(conds))
            classes = [self.variables[n].classes for n in self.classifier_nodes]
            cmax = max(classes)
            valid = torch.zeros(len(classes), 1, cmax, dtype=torch.bool)
            for k, c in enumerate(classes):
                valid[k, 0, :c] = True
            self.register_buffer("cls_valid", valid)
            true_in = [len(c) for c in conds]
            pmax = self.cls_cond.shape[1]
            kwargs = {"hidden": classifier_hidden, "depth": depth, "conditioning": "concat"}
            if backend == "batched":
                self.classifier: nn.Module = BatchedMLP(
                    len(conds),
                    pmax,
                    0,
                    cmax,
                    true_in=true_in,
                    true_cond=[0] * len(conds),
                    **kwargs,  # type: ignore[arg-type]
                )
            else:
                self.classifier = _SeparateMLPs(true_in, [0] * len(conds), classes, cmax, **kwargs)
        self.root_store: dict[str, Tensor] = {}

    @property
    def device(self) -> torch.device:
        return self.mean.device

    # ------------------------------------------------------------------ encoding
    def encode(
        self, values: Mapping[str, Tensor], names: Sequence[str] | None = None, out: Tensor | None = None
    ) -> Tensor:
        """Encode ``names`` (default: all, in one pass) into ``E`` of shape (batch, width + 1).

        With ``out`` given, only the columns of ``names`` are (re)written in place.
        """
        if names is None and out is None:
            parts = [self._raw(name, values[name]) for name in self.order]
            first = parts[0]
            parts.append(first.new_zeros(len(first), 1))
            return (torch.cat(parts, dim=1) - self.mean_padded) / self.std_padded
        names = self.order if names is None else names
        if out is None:
            batch = len(next(iter(values.values())))
            out = torch.zeros(batch, self.width + 1, device=self.device)
        for name in names:
            a, b = self.slices[name]
            out[:, a:b] = (self._raw(name, values[name]) - self.mean[a:b]) / self.std[a:b]
        return out

    def _raw(self, name: str, value: Tensor) -> Tensor:
        """A variable's columns before standardisation: the vector, a one-hot, or the code as -1/+1."""
        spec = self.variables[name]
        value = value.to(self.device)
        if spec.kind == "continuous":
            return value.reshape(len(value), -1).float()
        if spec.kind == "categorical":
            return F.one_hot(value.long(), spec.classes).float()
        return (value.float() * 2 - 1).unsqueeze(-1)

    def _decode_continuous(self, name: str, standardized: Tensor) -> Tensor:
        a, b = self.slices[name]
        return standardized[:, : b - a] * self.std[a:b] + self.mean[a:b]

    # ------------------------------------------------------------------ the banks
    def gather(self, encoded: Tensor, index_rows: Tensor) -> Tensor:
        """Columns of ``encoded`` picked by each row of an index table: (k, batch, width)."""
        return encoded[:, index_rows].permute(1, 0, 2)

    def eps(self, x_t: Tensor, t: Tensor, cond: Tensor, index: Tensor | None) -> Tensor:
        """eps_theta for the diffusion nodes ``index`` (all when None): x_t (k, B, D), t (k, B), cond (k, B, P)."""
        c = torch.cat([self.time_table[t].to(x_t.dtype), cond], dim=-1)
        mask = self.diff_mask if index is None else self.diff_mask[index]
        return self.denoiser(x_t, c, index) * mask

    def logits(self, encoded: Tensor, index: Tensor | None) -> Tensor:
        """Logits (k, B, C) of the classifier nodes ``index``; missing classes get -inf."""
        rows = self.cls_cond if index is None else self.cls_cond[index]
        x = self.gather(encoded, rows)
        empty = x.new_zeros(*x.shape[:2], 0)
        out = self.classifier(x, empty, index)
        valid = self.cls_valid if index is None else self.cls_valid[index]
        return out.masked_fill(~valid, float("-inf"))

    @property
    def modelled(self) -> list[str]:
        """The nodes with a trained generator, in the order of :meth:`loss_vector`."""
        return [*self.diffusion_nodes, *self.classifier_nodes]

    def generator(self, name: str) -> ConditionalGenerator:
        """The conditional generator of one node, as a :class:`ConditionalGenerator` (shares the weights)."""
        from lightning_causal.models.node_generator import NodeGenerator

        return NodeGenerator(self, name)

    def loss_vector(self, values: Mapping[str, Tensor], generator: torch.Generator | None = None) -> Tensor:
        """Training losses of the modelled nodes (DDPM for diffusion, cross-entropy for classes) as one vector."""
        encoded = self.encode(values)
        parts = []
        if self.diffusion_nodes:
            x0 = self.gather(encoded, self.diff_target)
            cond = self.gather(encoded, self.diff_cond)
            per_sample = ddpm_loss(
                lambda x, t: self.eps(x, t, cond, None), self.schedule, x0, generator, self.diff_mask
            )
            parts.append(per_sample.mean(dim=1))
        if self.classifier_nodes:
            logits = self.logits(encoded, None)
            targets = torch.stack([values[n].to(logits.device).long() for n in self.classifier_nodes])
            ce = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
            parts.append(ce.mean(dim=1))
        return torch.cat(parts) if parts else torch.zeros(0, device=self.device)

    def losses(self, values: Mapping[str, Tensor], generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """:meth:`loss_vector` keyed by node name."""
        return dict(zip(self.modelled, self.loss_vector(values, generator), strict=True))

    # ------------------------------------------------------------------ empirical roots
    def observe_roots(self, values: Mapping[str, Tensor]) -> None:
        """Keep root rows (up to ``max_root_samples``) for empirical sampling."""
        for name in self.empirical:
            have = self.root_store.get(name)
            room = self.max_root_samples - (0 if have is None else len(have))
            if room <= 0:
                continue
            rows = values[name][:room].detach().to("cpu")
            self.root_store[name] = rows if have is None else torch.cat([have, rows])

    def draw_root(self, name: str, n: int, generator: torch.Generator | None) -> Tensor:
        """``n`` rows of an empirical root, drawn with replacement from the kept training rows."""
        store = self.root_store.get(name)
        if store is None or not len(store):
            raise RuntimeError(
                f"root {name!r} has no training rows to sample from: train the model first "
                "(or build it with roots='model')"
            )
        pick = torch.randint(0, len(store), (n,), generator=generator)
        return store[pick]

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        names: list[str],
        encoded: Tensor,
        generator: torch.Generator | None,
        sampler: str,
        steps: int | None,
        eta: float,
        latents: Mapping[str, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Values of ``names`` (one topological level) given the parents already in ``encoded``.

        With ``latents`` (counterfactuals) the diffusion nodes decode those latents
        deterministically and the classifier nodes apply that Gumbel noise.
        """
        n = encoded.shape[0]
        out: dict[str, Tensor] = {}
        diff = [m for m in names if m in self.diffusion_nodes]
        if diff:
            index = torch.tensor([self.bank_position[m] for m in diff], device=encoded.device)
            cond = self.gather(encoded, self.diff_cond[index])
            mask = self.diff_mask[index]
            if latents is not None:
                z = torch.stack([_pad_to(latents[m], mask.shape[-1]) for m in diff]).to(encoded.device)
            else:
                z = torch.randn((len(diff), n, mask.shape[-1]), generator=generator, device=encoded.device)
            z = z * mask

            def eps_fn(x: Tensor, t: Tensor) -> Tensor:
                return self.eps(x, t, cond, index)

            clip = (self.clip_low[index], self.clip_high[index])
            if latents is not None or sampler == "ddim":
                eta_used = 0.0 if latents is not None else eta
                x0 = ddim_sample(eps_fn, self.schedule, z, steps=steps, eta=eta_used, generator=generator, clip=clip)
            elif sampler == "ddpm":
                x0 = ddpm_sample(eps_fn, self.schedule, z, generator=generator, clip=clip)
            else:
                raise ValueError(f"unknown sampler {sampler!r}; choose ddim or ddpm")
            for k, m in enumerate(diff):
                out[m] = self._decode_continuous(m, x0[k])
        cls = [m for m in names if m in self.classifier_nodes]
        if cls:
            index = torch.tensor([self.bank_position[m] for m in cls], device=encoded.device)
            logits = self.logits(encoded, index)
            for k, m in enumerate(cls):
                if latents is not None:
                    out[m] = gumbel_decode(logits[k], latents[m].to(logits.device))
                else:
                    out[m] = gumbel_sample(logits[k], generator)
        return out

    @torch.no_grad()
    def abduct(
        self,
        factual: Mapping[str, Tensor],
        names: Sequence[str],
        generator: torch.Generator | None = None,
        steps: int | None = None,
        refine: int = 2,
    ) -> dict[str, Tensor]:
        """The latent (exogenous noise proxy) of each node in ``names`` given the factual parents."""
        encoded = self.encode(factual)
        out: dict[str, Tensor] = {}
        diff = [m for m in names if m in self.diffusion_nodes]
        if diff:
            index = torch.tensor([self.bank_position[m] for m in diff], device=encoded.device)
            cond = self.gather(encoded, self.diff_cond[index])
            x0 = self.gather(encoded, self.diff_target[index])
            z = ddim_encode(lambda x, t: self.eps(x, t, cond, index), self.schedule, x0, steps=steps, refine=refine)
            for k, m in enumerate(diff):
                out[m] = z[k]
        cls = [m for m in names if m in self.classifier_nodes]
        if cls:
            index = torch.tensor([self.bank_position[m] for m in cls], device=encoded.device)
            logits = self.logits(encoded, index)
            for k, m in enumerate(cls):
                out[m] = gumbel_posterior(logits[k], factual[m].to(logits.device).long(), generator)
        return out


def _pad_to(x: Tensor, width: int) -> Tensor:
    return F.pad(x, (0, width - x.shape[-1]))


def _levels(graph: CausalGraph) -> list[list[str]]:
    """Nodes grouped by the length of the longest directed path from a root (sampling order)."""
    depth: dict[str, int] = {}
    for node in graph.topological_order():
        depth[node] = 1 + max((depth[p] for p in graph.parents(node)), default=-1)
    levels: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    for node in graph.topological_order():
        levels[depth[node]].append(node)
    return levels
