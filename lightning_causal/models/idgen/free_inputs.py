"""A learned P(w | x) for a network's discrete free inputs when a fixed input is an image.

ID's line 3 leaves some inputs of the merged network free (the napkin's W2): the answer is the same
for every value w with P(x | w) > 0, so :class:`~lightning_causal.sampling.SamplingNetwork` draws w
to go with the query's x. Where x is discrete, the rows with that x give P(w | x) exactly; where it
is a vector, the nearest rows do (:meth:`~lightning_causal.sampling.data.PlanData.matched_rows`).
Where x is an image, distances between pixels do not: on the napkin digits a vote of the nearest
rows named another digit for thick 8s, and the answer drew Y's digit from that wrong W2.

:class:`FreeInputModel` learns P(w | x) instead: a classifier per free input, each reading the fixed
inputs (images through the small CNN of :class:`~lightning_causal.nets.ConditionEncoder`, vectors
and one-hot classes through an MLP) and the free inputs before it, trained on the observed rows
by cross-entropy after the plan's stages (:func:`~lightning_causal.models.idgen.stages.fit_idgen`,
its own resumable step ``free_inputs`` in the run folder). Queries take each free input's most
probable value given x and the free inputs before it: the value surest to satisfy P(x | w) > 0,
as the vote did, read by a model that sees digits rather than pixels (napkin digits, CPU config,
seed 0: the W2 it names is the held-out rows' own in 98.6%, and it names the digit of every rendered
x of ``benchmarks/napkin_digits_diagnose.py``, where the vote missed a tenth of the thick ones).

:func:`free_input_model` says when a plan gets one: every free input discrete and some fixed input
an image; otherwise the matching of rows stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_causal.mechanisms import MechanismConfig
from lightning_causal.nets.unet import ConditionEncoder
from lightning_causal.plan.sampling_plan import SamplingPlan
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

__all__ = ["FREE_INPUTS", "FREE_INPUT_STEPS", "FreeInputModel", "free_input_model"]

FREE_INPUTS = "free_inputs"
"""The name of the training step of a :class:`FreeInputModel` (run folder entry, checkpoint stage)."""

FREE_INPUT_STEPS = 2000
"""The most optimizer steps of that step (fewer when the stages' ``max_steps`` is smaller): a small classifier
learns P(w | x) in far fewer steps than the stages' diffusion models need (napkin digits: 98.6% of held-out
rows named right after 2000 steps)."""


def free_input_model(
    plan: SamplingPlan, variables: Mapping[str, VariableSpec], config: MechanismConfig
) -> FreeInputModel | None:
    """The model of the plan's free inputs given its fixed ones: where they are discrete and a fixed one is an image."""
    free = tuple(plan.arbitrary)
    fixed = tuple(v for v in plan.wiring.inputs if v not in free)
    if not free or not fixed or not all(variables[v].is_discrete for v in free):
        return None
    if not any(variables[v].is_image for v in fixed):
        return None
    return FreeInputModel(fixed, free, variables, config.image.cond_dim)


class FreeInputModel(nn.Module):
    """Classifiers of the discrete ``free`` inputs given the ``fixed`` ones (see the module docstring).

    Args:
        fixed: the network's fixed inputs (treatment and condition variables it reads).
        free: its free inputs, all discrete, in the order they are drawn.
        variables: the spec of every variable (codec statistics of the observed data).
        dim: the width of each classifier's encoding of its inputs.
    """

    trained: Tensor

    def __init__(
        self, fixed: Sequence[str], free: Sequence[str], variables: Mapping[str, VariableSpec], dim: int = 64
    ) -> None:
        super().__init__()
        self.fixed, self.free = tuple(fixed), tuple(free)
        names = (*self.fixed, *self.free)
        self.layout = EncodedLayout({v: variables[v] for v in names}, names)
        self.shapes = {v: variables[v].image_shape if variables[v].is_image else None for v in names}
        encoders, heads = [], []
        for k, w in enumerate(self.free):
            parts = [self._part(v) for v in self._inputs(k)]
            encoders.append(ConditionEncoder(parts, dim))
            heads.append(nn.Sequential(nn.SiLU(), nn.Linear(dim, variables[w].classes)))
        self.encoders = nn.ModuleList(encoders)
        self.heads = nn.ModuleList(heads)
        self.register_buffer("trained", torch.zeros((), dtype=torch.bool))  # False: queries match rows instead

    def _inputs(self, k: int) -> tuple[str, ...]:
        return (*self.fixed, *self.free[:k])

    def _part(self, name: str) -> tuple[int, int, int] | int:
        shape = self.shapes[name]
        if shape is not None:
            return shape
        a, b = self.layout.slices[name]
        return b - a

    def _logits(self, encoded: Tensor, k: int) -> Tensor:
        parts = []
        for v in self._inputs(k):
            a, b = self.layout.slices[v]
            block = encoded[:, a:b]
            shape = self.shapes[v]
            parts.append(block.reshape(len(block), *shape) if shape is not None else block)
        return self.heads[k](self.encoders[k](parts, len(encoded)))

    def loss_vector(self, values: Mapping[str, Tensor]) -> Tensor:
        """The cross-entropy of each free input on a batch of observed rows, a (len(free),) vector."""
        device = self.layout.shift.device
        encoded = self.layout.encode({v: values[v].to(device) for v in self.layout.order})
        losses = [
            F.cross_entropy(self._logits(encoded, k), values[w].to(device).long().reshape(-1))
            for k, w in enumerate(self.free)
        ]
        return torch.stack(losses)

    @torch.no_grad()
    def draw(self, values: Mapping[str, Tensor], names: Sequence[str]) -> dict[str, Tensor]:
        """The most probable value of each free input in ``names`` given the fixed values (and the free ones before it).

        ``values`` holds one row per query of every fixed input, and of every free input not in ``names``
        (a value the user chose); returns int64 codes on the model's device.
        """
        device = self.layout.shift.device
        n = len(values[self.fixed[0]])
        known = {v: torch.as_tensor(values[v]).to(device) for v in self.layout.order if v in values}
        out: dict[str, Tensor] = {}
        for k, w in enumerate(self.free):
            if w in names:
                rows = {v: known.get(v, torch.zeros(n, dtype=torch.long, device=device)) for v in self.layout.order}
                encoded = self.layout.encode(rows, self._inputs(k))
                known[w] = out[w] = self._logits(encoded, k).argmax(-1)
        return out
