"""The mechanisms of a set of entries over one encoded layout: the banks, the resampled entries, one dispatch.

A DCM models every node of a DAG and an ID-GEN factor network every factor of one dataset; both
are a :class:`BankSet`, and a future family (DIME's heads, IWDD's teacher) can be one too:

1. the encoded layout (:class:`~lightning_causal.variables.EncodedLayout`): every variable's codec
   block side by side in a fixed (topological) order, plus a zero column for padding;
2. the banks: the modelled entries grouped by the bank their target's kind is registered with
   (:func:`~lightning_causal.mechanisms.register_bank`), built in registration order (the order of
   the parameters and of the losses);
3. the resampled entries (entries without inputs when ``roots="empirical"``), drawn from kept rows
   (:class:`~lightning_causal.mechanisms.EmpiricalRows`), all from one row per sample with
   ``joint_rows`` (the DCM's roots).

:meth:`BankSet.loss_vector` trains all banks on one batch, :meth:`BankSet.generate` draws (or decodes)
any entries given the inputs already encoded, :meth:`BankSet.abduct` inverts entries for
counterfactuals; each asks every bank for its share, in bank order, so no caller dispatches on kinds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from lightning_causal.mechanisms.bank import MechanismBank
from lightning_causal.mechanisms.config import MechanismConfig
from lightning_causal.mechanisms.empirical import EmpiricalRows
from lightning_causal.mechanisms.registry import bank_for, registered_banks
from lightning_causal.variables.layout import EncodedLayout
from lightning_causal.variables.spec import VariableSpec

__all__ = ["BankSet"]


class BankSet(nn.Module):
    """The mechanisms of ``entries``: entry ``e`` models ``targets[e]`` given ``inputs[e]``.

    Args:
        entries: the entries, in sampling order.
        inputs: the conditioning variables of every entry.
        variables: the spec of every variable of the layout (codec statistics of the training data); the
            set's ``variables`` keep this order.
        order: the layout's variable order (a topological order).
        config: the architecture (:class:`MechanismConfig`).
        targets: the variable each entry models (default: the entry's own name).
        resampled: the entries drawn from kept training rows instead of a trained mechanism.
        joint_rows: draw the resampled entries of one :meth:`generate` call from the same kept rows (the
            DCM's roots: their joint distribution, not the product of their marginals); else each
            from its own rows (ID-GEN's resampled factors are separate factors of the estimand).
    """

    def __init__(
        self,
        entries: Sequence[str],
        inputs: Mapping[str, Sequence[str]],
        variables: Mapping[str, VariableSpec],
        order: Sequence[str],
        config: MechanismConfig,
        targets: Mapping[str, str] | None = None,
        resampled: Sequence[str] = (),
        joint_rows: bool = False,
    ) -> None:
        super().__init__()
        self.joint_rows = joint_rows
        self.config = config
        self.entries = tuple(entries)
        self.inputs = {e: tuple(inputs[e]) for e in self.entries}
        self.targets = {e: (targets or {}).get(e, e) for e in self.entries}
        laid_out = set(order)
        self.variables = {v: spec for v, spec in variables.items() if v in laid_out}  # in the caller's order
        # 1. the encoded layout
        self.layout = EncodedLayout(self.variables, order)
        # 2. the banks, in registration order (parameters are initialised in this order)
        self.resampled = tuple(e for e in self.entries if e in set(resampled))
        self.rows = EmpiricalRows(config.max_root_samples)
        modelled = [e for e in self.entries if e not in self.resampled]
        by_bank: dict[str, list[str]] = {}
        for e in modelled:
            target = self.targets[e]
            by_bank.setdefault(bank_for(self.variables[target].kind, target), []).append(e)
        self.banks = nn.ModuleDict()
        for name, bank in registered_banks().items():
            if name in by_bank:
                self.banks[name] = bank(by_bank[name], self.inputs, self.layout, self.variables, config, self.targets)
        self._bank_of = {e: name for name, members in by_bank.items() for e in members}

    @property
    def device(self) -> torch.device:
        return self.layout.shift.device

    @property
    def trained(self) -> list[str]:
        """The entries trained by a loss, in the order of :meth:`loss_vector`."""
        return [e for bank in self._banks() for e in bank.entries]

    def _banks(self) -> list[MechanismBank]:
        return [bank for bank in self.banks.values() if isinstance(bank, MechanismBank)]

    def bank(self, entry: str) -> MechanismBank | None:
        """The bank that models ``entry`` (None for a resampled entry)."""
        name = self._bank_of.get(entry)
        bank = self.banks[name] if name is not None else None
        return bank if isinstance(bank, MechanismBank) else None

    def encode(
        self, values: Mapping[str, Tensor], names: Sequence[str] | None = None, out: Tensor | None = None
    ) -> Tensor:
        """The layout's encoding of ``values`` (see :meth:`EncodedLayout.encode`)."""
        return self.layout.encode(values, names, out)

    def blank(self, n: int) -> Tensor:
        """An encoding of ``n`` rows with every column zero (for entries without inputs)."""
        return torch.zeros(n, self.layout.width + 1, device=self.device)

    # ------------------------------------------------------------------ training
    def loss_vector(self, values: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        """Training losses of the trained entries on one batch (each bank's :meth:`batch_loss`), as one vector."""
        encoded = self.encode(values)
        parts = [bank.batch_loss(encoded, values, rng) for bank in self._banks()]
        return torch.cat(parts) if parts else encoded.new_zeros(0)

    def entry_loss(self, entry: str, values: Mapping[str, Tensor], rng: torch.Generator | None = None) -> Tensor:
        """The training loss of one trained entry on a batch holding its target and inputs."""
        bank = self.bank(entry)
        if bank is None:
            raise NotImplementedError(f"entry {entry!r} resamples kept rows and has no loss")
        encoded = self.encode(values, (*self.inputs[entry], self.targets[entry]))
        return bank.batch_loss(encoded, values, rng, bank.index([entry], encoded.device))[0]

    def observe(self, values: Mapping[str, Tensor]) -> None:
        """Keep rows of a batch for the resampled entries (the first ``max_root_samples`` rows seen)."""
        self.rows.observe(values, self.resampled_targets())

    def keep(self, values: Mapping[str, Tensor], rng: torch.Generator) -> None:
        """Keep ``max_root_samples`` random rows of a whole dataset for the resampled entries."""
        self.rows.keep(values, self.resampled_targets(), rng)

    def resampled_targets(self) -> list[str]:
        """The variables whose rows the resampled entries draw (kept from the data)."""
        return list(dict.fromkeys(self.targets[e] for e in self.resampled))

    # ------------------------------------------------------------------ generation
    @torch.no_grad()
    def generate(
        self,
        names: Sequence[str],
        encoded: Tensor,
        rng: torch.Generator | None,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float | None = None,
        guidance: float | None = None,
        latents: Mapping[str, Tensor] | None = None,
        describe: Mapping[str, str] | None = None,
    ) -> dict[str, Tensor]:
        """Values in data space (on the set's device) of the entries ``names`` given the inputs in ``encoded``.

        Resampled entries come first, drawn from the kept rows; then every bank draws its entries, in
        bank order. With ``latents`` (counterfactuals) the banks decode them deterministically.
        ``guidance`` is the classifier-free guidance weight of image entries (default: the config's);
        ``describe`` names resampled entries in the error raised when no rows are kept.
        """
        out: dict[str, Tensor] = {}
        n = encoded.shape[0]
        drawn = [e for e in names if e in self.resampled]
        if self.joint_rows and len(drawn) > 1:
            what = (describe or {}).get(drawn[0])
            rows = self.rows.draw_joint(list(dict.fromkeys(self.targets[e] for e in drawn)), n, rng, what)
            out.update({e: rows[self.targets[e]].to(self.device) for e in drawn})
        else:
            for e in drawn:
                what = (describe or {}).get(e)
                out[e] = self.rows.draw(self.targets[e], n, rng, what).to(self.device)
        for bank in self._banks():
            mine = [e for e in names if e in bank.position]
            if mine:
                out.update(bank.generate(encoded, mine, self.layout, rng, sampler, steps, eta, guidance, latents))
        return out

    @torch.no_grad()
    def abduct(
        self,
        values: Mapping[str, Tensor],
        names: Sequence[str],
        rng: torch.Generator | None = None,
        steps: int | None = None,
        refine: int = 2,
        encoded: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """The latent (exogenous noise proxy) of each trained entry in ``names`` given the factual ``values``.

        ``encoded`` is the encoding of ``values`` when the caller has it (default: all of ``values``).
        """
        encoded = self.encode(values) if encoded is None else encoded
        out: dict[str, Tensor] = {}
        for bank in self._banks():
            mine = [e for e in names if e in bank.position]
            if mine:
                out.update(bank.abduct(encoded, mine, values, rng, steps, refine))
        return out
